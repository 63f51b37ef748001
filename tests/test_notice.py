"""classify_notice on real-world wording: extraction details and precision/recall on the labelled set."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from detection.rules.notice import (
    MigrationTarget,
    classify_notice,
    extract_effective_date,
    notice_from_json,
    notice_to_json,
)

EVAL_SET = Path(__file__).with_name("data") / "closure_notices.yaml"


def load_items() -> list[dict]:
    return yaml.safe_load(EVAL_SET.read_text(encoding="utf-8"))["items"]


def test_evaluation_set_shape() -> None:
    items = load_items()
    negatives = [i for i in items if not i["notice"]]
    assert len(items) >= 60
    assert len(negatives) * 2 >= len(items)


def test_precision_and_recall() -> None:
    tp = fp = fn = tn = 0
    wrong: list[tuple[str, str, object, object]] = []
    targets_right = targets_named = 0
    for item in load_items():
        got = classify_notice(item["title"], item["text"], item["posted"])
        label = item["title"] or item["text"][:20]
        if item["notice"] and got is not None:
            tp += 1
            if got.effective_date != item["effective"]:
                wrong.append((label, "effective", got.effective_date, item["effective"]))
            if "subjects" in item and got.subjects != item["subjects"]:
                wrong.append((label, "subjects", got.subjects, item["subjects"]))
            if "status" in item and got.state_on(item["posted"]) != item["status"]:
                wrong.append((label, "status", got.state_on(item["posted"]), item["status"]))
            if "targets" in item:
                targets_named += 1
                expected = [MigrationTarget(*t) for t in item["targets"]]
                targets_right += got.migration_targets == expected
                if got.migration_targets != expected:
                    wrong.append((label, "targets", got.migration_targets, expected))
        elif item["notice"]:
            fn += 1
            print("missed:", label)
        elif got is not None:
            fp += 1
            print("false alarm:", label, got.sentence)
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    print(
        f"closure detector on the project's set: precision {precision:.3f}, recall {recall:.3f} "
        f"(tp={tp} fp={fp} fn={fn} tn={tn}); migration targets {targets_right}/{targets_named}"
    )
    assert precision >= 0.95
    assert recall >= 0.90
    assert not wrong, wrong


def test_year_inferred_from_post_date() -> None:
    # 将于4月15日起 posted in December means April of the next year; posted in March, this year.
    assert extract_effective_date("将于4月15日起停止更新", date(2024, 12, 20))[0] == date(2025, 4, 15)
    assert extract_effective_date("将于4月15日起停止更新", date(2024, 3, 20))[0] == date(2024, 4, 15)
    assert extract_effective_date("自即日起停止更新", date(2024, 3, 20)) == (
        date(2024, 3, 20),
        "immediate",
        None,
    )
    assert extract_effective_date("自二〇二四年六月一日起停止更新", date(2024, 5, 1))[0] == date(2024, 6, 1)
    assert extract_effective_date("本号将在30天后关停", date(2024, 5, 1))[0] == date(2024, 5, 31)


def test_migration_targets_and_subject() -> None:
    n = classify_notice(
        "关于“青山住建”政务新媒体账号关停注销的公告",
        "“青山住建”自2026年6月5日起停止发布信息，并申请注销。相关内容并入临江市人民政府门户网站"
        "（http://www.linjiang.gov.cn/），今后可登录临江市人民政府门户网站查询相关信息。",
        date(2026, 5, 31),
    )
    assert n is not None
    assert n.subjects == ["青山住建"]
    assert n.effective_date == date(2026, 6, 5)
    assert n.migration_targets == [
        MigrationTarget("portal", "临江市人民政府门户网站", "http://www.linjiang.gov.cn/")
    ]
    assert n.state_on(date(2026, 6, 4)) == "closing"
    assert n.state_on(date(2026, 6, 5)) == "closed"
    app = classify_notice(
        "“河口教育”客户端下线公告", "即日起正式关闭，请关注“河口发布”APP。", date(2024, 4, 1)
    )
    assert app is not None
    assert MigrationTarget("app", "河口发布") in app.migration_targets


def test_future_notice_is_closing() -> None:
    n = classify_notice(
        "本账号将注销关闭说明", "本账号将于7月20日起停止更新，30天后关停。", date(2026, 6, 27)
    )
    assert n is not None
    assert n.effective_date == date(2026, 7, 20)
    assert n.shutdown_date == date(2026, 8, 19)
    assert n.state_on(date(2026, 6, 30)) == "closing"


def test_successor_is_not_the_subject() -> None:
    n = classify_notice(None, "本公众号自2026年7月1日起停止更新，请关注“临江发布”", date(2026, 6, 20))
    assert n is not None
    assert n.subjects == ["本公众号"]
    assert n.migration_targets == [MigrationTarget("account", "临江发布")]
    assert n.is_about("青山教育")  # 本公众号: the poster itself, whatever its name


def test_past_tense_date_stays_in_the_posting_year() -> None:
    # 已于3月2日起 posted in May: March of that year (a future reading would push it to next March)
    n = classify_notice(None, "“河口统计”微信公众号已于3月2日起停止发布信息。", date(2026, 5, 10))
    assert n is not None
    assert (n.effective_date, n.date_source) == (date(2026, 3, 2), "month_day")
    # 将于 is future: posted in December, next year; a bare date: the nearest
    assert classify_notice(None, "本号将于1月5日起停止更新。", date(2025, 12, 20)).effective_date == date(
        2026, 1, 5
    )
    assert classify_notice(None, "本号自12月28日起停止更新。", date(2026, 1, 3)).effective_date == date(
        2025, 12, 28
    )


def test_every_successor_is_kept_in_every_quote_style() -> None:
    n = classify_notice(
        "停更公告",
        "本号即日起停止更新，请关注‘青山发布’微信公众号、「青山发布」客户端和青山区人民政府门户网站"
        "（http://www.qingshan.gov.cn/），相关职能划入青山区行政审批局。",
        date(2024, 6, 1),
    )
    assert n is not None
    assert n.migration_targets == [
        MigrationTarget("account", "青山发布"),
        MigrationTarget("app", "青山发布"),
        MigrationTarget("portal", "青山区人民政府门户网站", "http://www.qingshan.gov.cn/"),
        MigrationTarget("account", "青山区行政审批局"),  # a body without 网站/发布 is a successor too
    ]


def test_traditional_and_machine_converted_script() -> None:
    # a mirror converted 注销 into 登出 and 登录 into 登入
    n = classify_notice(None, "登出「雲川縣科協」微信公眾號，關註資訊可登入「雲川發布」。", date(2024, 5, 6))
    assert n is not None
    assert n.subjects == ["云川县科协"]
    assert n.migration_targets == [MigrationTarget("account", "云川发布")]
    hk = classify_notice(None, "運輸署表示，「雲川通」流動應用程式已於6月30日停止服務。", date(2024, 7, 5))
    assert hk is not None
    assert (hk.subjects, hk.effective_date) == (["云川通"], date(2024, 6, 30))


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("此帐号已自主注销，内容无法查看。", "closed"),
        ("该帐号已系统注销", "closed"),
        ("帐号已被系统回收", "closed"),
        ("此帐号已被屏蔽, 内容无法查看。", "closed"),
        ("该账号因用户自行申请关闭，现已无法查看。", "closed"),
        ("该公众号已迁移至新帐号", "migrated"),
        ("此帐号处于帐号迁移流程中", "closing"),
        ("該帳號已被系統回收", "closed"),
    ],
)
def test_platform_status_texts(text: str, state: str) -> None:
    n = classify_notice(None, text, date(2024, 6, 1))
    assert n is not None
    assert (n.status, n.state_on(date(2024, 6, 1))) == (state, state)
    assert n.is_about("任何账号")  # the page shown in place of the account speaks of that account


@pytest.mark.parametrize(
    "text",
    [
        "此内容被投诉且经审核涉嫌侵权，无法查看。",
        "该账号行为异常，存在安全风险，用户验证之前暂时不能查看。",
        "抱歉，此微博已被作者删除。",
    ],
)
def test_statuses_that_are_not_closures(text: str) -> None:
    assert classify_notice(None, text, date(2024, 6, 1)) is None


def test_reports_name_what_closes() -> None:
    report = classify_notice(
        None,
        "5月8日，临江市道路运输事务中心在微信公众号宣布，其账号于6月1日起停止更新并关闭，"
        "相关内容整合至“临江交通”微信公众号。",
        date(2024, 5, 8),
    )
    assert report is not None
    assert report.subjects == ["临江市道路运输事务中心"]
    assert report.effective_date == date(2024, 6, 1)
    assert report.migration_targets == [MigrationTarget("account", "临江交通")]
    assert not report.is_about("临江发布")
    assert report.is_about("临江市道路运输事务中心")
    several = classify_notice(None, "注销「石门县林业站、石门县农机站」等2个微信公众号。", date(2024, 4, 30))
    assert several is not None
    assert several.subjects == ["石门县林业站", "石门县农机站"]
    assert several.is_about("石门县农机站")
    group = classify_notice(None, "二季度全县关停注销政务新媒体13个。", date(2024, 7, 1))
    assert group is not None
    assert not group.is_about("全县发布")


def test_a_brand_name_needs_a_government_somewhere() -> None:
    # a named channel is a government one by its name, its qualifier or the text's words
    assert classify_notice(None, "“美食小当家”公众号即日起停止更新，江湖再见！", date(2024, 6, 1)) is None
    assert classify_notice(None, "“云川通”APP已于6月30日停止服务。", date(2024, 7, 5)) is None
    assert classify_notice("市政府办公室公告", "“云川通”APP已于6月30日停止服务。", date(2024, 7, 5))


def test_self_reference_in_a_third_partys_words() -> None:
    many = classify_notice(
        None, "记者了解到，许多单位都主动申请注销本单位的政务新媒体账号。", date(2024, 5, 23)
    )
    assert many is not None
    assert not many.is_about("临江发布")  # each unit's own account, not the reporter's
    quoted = classify_notice(None, "“临淄测试”发布说明，称本账号将注销关闭。", date(2024, 3, 10))
    assert quoted is not None
    assert quoted.subjects == ["临淄测试"]
    own = classify_notice("本账号将注销关闭说明", "接上级通知，本账号将注销关闭。", date(2024, 3, 10))
    assert own is not None
    assert own.is_about("临淄测试")


def test_undated_announcement_is_closing() -> None:
    n = classify_notice(
        "本账号将注销关闭说明", "接上级通知，本账号将注销关闭，正在履行注销关闭程序。", date(2024, 3, 10)
    )
    assert n is not None
    assert n.date_source == "posted"
    assert n.state_on(date(2024, 3, 10)) == "closing"
    assert n.account_state(date(2024, 3, 10)) == "closing"


def test_notice_json_round_trip_and_old_shape() -> None:
    n = classify_notice(
        "关于“青山住建”政务新媒体账号关停注销的公告",
        "“青山住建”自2026年6月5日起停止发布信息，相关内容并入临江市人民政府门户网站（http://www.linjiang.gov.cn/）。",
        date(2026, 5, 31),
    )
    assert n is not None
    assert notice_from_json(notice_to_json(n)) == n
    old = {
        "action": "停止发布信息",
        "sentence": "“青山住建”自2026年6月5日起停止发布信息",
        "subject": "青山住建",
        "effective_date": "2026-06-05",
        "date_source": "explicit",
        "shutdown_date": None,
        "targets": [
            {"kind": "portal", "name": "临江市人民政府门户网站", "url": "http://www.linjiang.gov.cn/"}
        ],
    }
    read = notice_from_json(json.dumps(old, ensure_ascii=False))
    assert read.subjects == ["青山住建"]
    assert read.migration_targets == n.migration_targets
    assert read.state_on(date(2026, 6, 30)) == "closed"
    assert notice_from_json({**old, "subject": None}).subjects == []
