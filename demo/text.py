"""Chinese text for the demo world: ordinary posts, hard negatives, and closure notices."""

from __future__ import annotations

import random
from datetime import datetime

TOPICS = (
    "安全生产",
    "防汛救灾",
    "营商环境",
    "乡村振兴",
    "垃圾分类",
    "医保政策",
    "人才引进",
    "文明城市创建",
    "消防安全",
    "学生资助",
    "养老服务",
    "河长制",
    "森林防火",
    "就业创业",
    "义务教育",
    "食品安全",
)
TITLES = (
    "{org}召开{topic}工作推进会",
    "{topic}政策解读",
    "关于做好{topic}工作的通知",
    "{region}开展{topic}专项行动",
    "图解：{topic}十问十答",
    "{topic}｜你关心的问题都在这里",
    "{region}{topic}工作取得阶段性成效",
)
SENTENCES = (
    "近日，{org}围绕{topic}工作进行专题部署，要求各单位压实责任、狠抓落实。",
    "会议指出，要坚持以人民为中心，切实把{topic}各项措施落到实处。",
    "市民如有疑问，可拨打12345政务服务便民热线咨询。",
    "下一步，{region}将持续推进{topic}，不断提升群众获得感、幸福感、安全感。",
    "据统计，今年以来全{region}共开展{topic}检查120余次，发现并整改问题86个。",
    "相关政策自发布之日起施行，具体办理流程详见{region}人民政府门户网站。",
)
# Ordinary government posts full of the words a naive closure detector fires on.
HARD_NEGATIVES = (
    (
        "关于暂停办理不动产登记业务的通知",
        "因系统升级，{region}不动产登记中心将于本周六暂停办理相关业务，周一恢复正常。",
    ),
    (
        "个体工商户注销营业执照办理指南",
        "个体工商户申请注销营业执照的，可通过政务服务网在线办理，无需到现场。",
    ),
    (
        "青山路部分路段道路封闭施工的公告",
        "因管网改造，青山路部分路段将实行道路封闭，请过往车辆绕行。",
    ),
    ("关于临时停水停电的通知", "因线路检修，部分小区将临时停水停电，给您带来不便敬请谅解。"),
    (
        "关于关闭部分景区的公告",
        "受强降雨影响，为保障游客安全，即日起关闭部分景区，开放时间另行通知。",
    ),
    ("户口注销办理流程", "公民死亡、出国定居等情形需注销户口，请携带相关材料到派出所办理。"),
)


def ordinary_post(rng: random.Random, *, org: str, region: str) -> tuple[str, str]:
    topic = rng.choice(TOPICS)
    title = rng.choice(TITLES).format(org=org, topic=topic, region=region)
    body = "".join(s.format(org=org, topic=topic, region=region) for s in rng.sample(SENTENCES, k=3))
    return title, body


def cn_date(d: datetime) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def stop_notice(*, name: str, successor: str) -> tuple[str, str]:
    """An immediate stop-update notice (即日起), pointing readers to a successor account."""
    return (
        f"关于“{name}”微信公众号停止更新的公告",
        "根据《国务院办公厅关于推进政务新媒体健康有序发展的意见》（国办发〔2018〕123号）和"
        "《关于防治“指尖上的形式主义”的若干意见》要求，经研究决定，"
        f"“{name}”自即日起停止更新，并将启动注销程序。"
        f"后续相关信息敬请关注“{successor}”微信公众号。感谢广大网友一直以来的关注和支持！",
    )


def closure_notice(*, name: str, effective: datetime, portal: str, portal_url: str) -> tuple[str, str]:
    """A closure/merger notice with a dated effect and the portal that takes over."""
    return (
        f"关于“{name}”政务新媒体账号关停注销的公告",
        f"为进一步推进政务新媒体集约化建设，按照国办秘函〔2019〕19号有关要求，“{name}”"
        f"自{cn_date(effective)}起停止发布信息，并申请注销。相关内容并入{portal}（{portal_url}），"
        f"今后可登录{portal}查询相关信息。特此公告。",
    )


def future_closure_notice(*, name: str, effective: datetime, successor: str) -> tuple[str, str]:
    """A notice announcing a future date (将于M月D日起), the year left for the reader to infer."""
    return (
        "本账号将注销关闭说明",
        f"各位关注者：根据政务新媒体整合工作安排，“{name}”将于{effective.month}月{effective.day}日起"
        f"停止更新，30天后关停。请移步“{successor}”相关账号获取权威信息。",
    )


def weekly_report(n: int, *, org: str) -> tuple[str, str]:
    return (f"{org}第{n}周工作周报", f"本周，{org}完成日常工作若干项，下周将继续做好各项工作。")
