"""The words closure notices are made of: channels, the stop/close/deregister/merge verbs, and the filler,
mood and government words the detector weighs around them. All in simplified script (text is normalised
first); ``ACTIONS`` and ``STATUS_WORDS`` are the vocabulary ``PREFILTER_WORDS`` must cover.
"""

from __future__ import annotations

import re


def words(text: str) -> tuple[str, ...]:
    """A vocabulary written as space-separated words."""
    return tuple(text.split())


def alternation(words: tuple[str, ...]) -> str:
    """A regex alternation trying longer words first."""
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


# --- channels: what can close -----------------------------------------------------------------------
CHANNEL_WORDS = words(
    "微信公众号 微信公众帐号 微信公众账号 微信公众平台 公众号 公众帐号 公众账号 微信号 订阅号 服务号 "
    "官方微信 政务微信 微信 新浪微博账号 新浪微博帐号 新浪微博 官方微博 政务微博 微博号 微博账号 微博帐号 "
    "微博 官微 抖音号 抖音账号 抖音帐号 抖音 快手号 快手账号 快手 头条号 今日头条号 今日头条 视频号 "
    "百家号 澎湃号 企鹅号 网易号 小红书 哔哩哔哩 客户端 移动客户端 APP App app APPs Apps apps 应用程序 "
    "小程序 应用程式 流动应用程式 手机应用程式 政务新媒体账号 政务新媒体帐号 政务新媒体 新媒体账号 "
    "新媒体帐号 新媒体平台 新媒体 政务号 政务账号 政务帐号 政务平台 账号 帐号 门户网站 网站 官网 站点 "
    "子站 子网站 分站 平台 专页 官方专页"
)
CHANNEL = alternation(CHANNEL_WORDS)
# Words that count as a channel only right after a name: “屏南人事人才网”, “安心出行”系统, “X”政务应用.
NAME_CHANNEL_WORDS = words("网 系统 应用 程序 号")
NAME_CHANNEL = alternation(NAME_CHANNEL_WORDS)
# A channel word inside a quoted name makes the name a channel: “富平县人民政府网站”, “屏南人事人才网”.
ENDS_AS_CHANNEL = re.compile(rf"(?:{CHANNEL}|网|号|发布|系统|客户端)$")

# --- actions ----------------------------------------------------------------------------------------
# Stopping publication: only media do this, so a bare quoted name before one of these is a channel.
MEDIA_STOP = words(
    "停止更新 停更 停止发布信息 停止发布 停止推送 停止发文 不再更新 不再发布 不再推送 停止更新维护 "
    "停止信息发布"
)
OTHER_STOP = words(
    "停止运营 停止运维 停止维护 停止服务 停止使用 停止运作 停止运行 不再运营 不再维护 停用 停运 终止运营 "
    "终止服务 终止运行 停止对外服务"
)
CLOSE = words("关停 关停并转 关闭 永久关闭 关张 下线 永久下线 下架 撤销 撤除 退役 消失 无疾而终")
DEREGISTER = words("注销 申请注销 予以注销 自主注销 系统注销 销号")
MERGE = words(
    "并入 整合并入 合并 合并至 合并到 并转 整合 整合至 整合到 整合进 整合为 划入 迁移 迁移至 迁移到 "
    "整体迁移 迁至 迁入 转移至 转移到 归并 归并至 撤并 划转"
)
ACTIONS = MEDIA_STOP + OTHER_STOP + CLOSE + DEREGISTER + MERGE
FAMILY = {
    **dict.fromkeys(MEDIA_STOP, "stop"),
    **dict.fromkeys(OTHER_STOP, "stop"),
    **dict.fromkeys(CLOSE, "close"),
    **dict.fromkeys(DEREGISTER, "deregister"),
    **dict.fromkeys(MERGE, "merge"),
}
ACTION_WORD = alternation(ACTIONS)
# 停止在本平台发布信息: the stop verb and the publishing verb around where.
SPLIT_STOP = r"(?:停止|不再)(?:在|通过)[^，。,；;“”]{1,12}?(?:发布|更新|推送)(?:信息)?"
# One action may chain several verbs: 停止更新并申请注销, 关停注销, 注销关闭, 整合并入.
ACTION = re.compile(
    rf"(?<!暂)(?<!暂时)(?:{SPLIT_STOP}|{ACTION_WORD})(?:(?:并|和|及|、|或|并且|且|后)?(?:{ACTION_WORD}))*"
)
# 消失 and 无疾而终 describe a channel gone, they never announce one: they need a named channel.
WEAK = frozenset({"消失", "无疾而终", "整合", "合并", "迁移"})

# --- platform status texts (the page shown instead of an account) -----------------------------------
STATUS_WORDS = words("注销 销号 回收 封禁 封号 屏蔽 冻结 关闭 无法查看 迁移")
_ACCOUNT = r"(?:此|该|本)?(?:帐号|账号|公众号|微信号|用户|微博账号|微博帐号)"
STATUS = (
    (
        re.compile(rf"^{_ACCOUNT}处于[^，。]{{0,8}}迁移流程"),
        "closing",
    ),
    (
        re.compile(rf"^{_ACCOUNT}(?:已经?)?(?:申请[^，。]{{0,10}}迁移流程|迁移至|迁移到|已?迁移)"),
        "migrated",
    ),
    (
        re.compile(
            rf"^{_ACCOUNT}(?:已经?|现已)(?:被)?(?:用户|系统|平台)?(?:自主|主动|自行)?(?:申请)?"
            r"(?:注销|销号|回收|封禁|封号|屏蔽|冻结|关闭)"
        ),
        "closed",
    ),
    (
        re.compile(
            rf"^{_ACCOUNT}因[^。]{{0,60}}?(?:申请关闭|申请注销|注销|违反|违规|被投诉)[^。]{{0,40}}?"
            r"(?:现已无法查看|已无法查看|无法查看|已被(?:封禁|屏蔽|关闭|注销))"
        ),
        "closed",
    ),
)
# Pages about something other than the account: one post, one article, the reader's own account.
STATUS_NOT = re.compile(r"您的|你的|个人|暂时|暂不|临时|验证|异常")

# --- the words around an action ---------------------------------------------------------------------
# What may stand between a channel and its action: time, aspect, announcing verbs, counts.
FILLER = words(
    "自即日起 即日起 即日 即起 今日起 今天起 今日 今天 即时起 自 从 于 在 起 开始 以来 至今 现已 现在 现 "
    "目前 近日 近期内 近期 日前 此前 今后 后续 届时 同时 随后 此后 正式 业已 已经 已 将会 将要 即将 将 会 "
    "拟 计划 准备 预计 经研究决定 研究决定 经研究 决定 宣布 宣告 选择 申请 启动 进行 予以 实施 履行 陆续 "
    "接连 相继 纷纷 逐步 全面 全部 统一 集中 一并 彻底 永久 均 都 也 还 却 便 就 即 再 被 遭 因 并 和 及 "
    "或 且 后 的 了 等 正在 共 先后 累计 共计 合计 分别 发出 发布 发表 刊发 贴出 称 表示 对外 宣称 一律 "
    "日 号 年 月 时 点 分 天 个工作日 工作日 周 星期 上午 下午 凌晨 零时 整 底 初 中旬 下旬 上旬 月底 "
    "年底 半年 季度 二季度 一季度 "
    "三季度 四季度 上半年 下半年 本月 下月 今年 去年"
)
FILLER_RE = re.compile(rf"(?:{alternation(FILLER)}|\d+|[一二三四五六七八九十百千万两〇零]+|个|[，,、\s:：])*")
# Mood: an action someone must, may or should take is no closure (policies, how-tos, advice).
MODAL = re.compile(
    r"要(?!求|闻|点|素|件|害)|(?<![响反适相回供效对答])应(?![急用对答邀])|须|需要|"
    r"(?<![认许宁])可(?![靠视信持])|能够|能否|(?<![功性职智技本可才效体])能(?![源力])|"
    r"如何|怎么|怎样|是否|建议|鼓励|督促|责令|限期|严禁|禁止|不得|不能|避免|防止|"
    r"坚决|一旦|如果|假如|凡是|前完成|底前|之前完成"
)
# An app store taking an app down is the store's doing, not the owner's closure (被Google Play下架).
APP_STORE = re.compile(
    r"被[^，,。]{0,12}(?:Google|google|谷歌|苹果|Apple|App Store|Play|应用商店|应用市场|商店)"
)
# Negation just before the verb.
NEGATED = re.compile(r"(?:未|没有|没|并未|尚未|不会|无需|不必|不用|无须|非)\s*$")
# Describing staleness, not announcing a closure: 长期停更.
STALE = re.compile(r"(?:长期|长时间|多年|常年|一直|久未|许久|已久)\s*$")
# Temporary stops are not closures: in the verb's clause, or anywhere in its sentence for the words
# that only ever speak of an interruption.
TEMPORARY = re.compile(r"暂时|临时|短暂|暂停|暂缓|检修")
INTERRUPTION = re.compile(
    r"(?:改版|升级|维护|调整|切换)期间|恢复(?:更新|开通|运行|使用|访问|服务)|重新(?:开通|上线|启用)|另行通知|整改后"
)
HOW_TO = re.compile(r"如何|怎么|怎样|教程|指南|步骤|攻略")
# After the verb: a duration (停更2个月) is a pause or a description of staleness.
DURATION = re.compile(
    r"^(?:了)?(?:\d+|[一二三四五六七八九十两半几数多好]+)(?:个)?多?(?:月|天|日|周|星期|年|小时)"
)
# The documents a closure is announced in or decided by: 关停公告, 同意注销…的批复.
NOTICE_DOCS = "公告|通知|通告|声明|说明|告别信|告知书|函|公示|批复|请示|报告"
# A reason between the channel and its verb: 本公众号因工作调整即日起停止更新.
REASON = re.compile(
    r"(?:因|由于|根据|按照|经)[\u4e00-\u9fff]{1,12}?(?:调整|改革|需要|安排|要求|原因|变动|变更|部署|决定|规定)"
)
# After the verb, words that continue a noun phrase or a sentence, not an object of the verb.
CONTINUES = re.compile(
    r"^(?:[\s.~～]*$|[并和及、或且，,:：（(]|[了啦啊呀喽咯哦]+\s*$|同时|后|前|之后|以后|时|程序|手续|工作|流程|事宜|处理|"
    rf"{NOTICE_DOCS}|潮|一事|消息|决定|的(?:{NOTICE_DOCS}|消息|决定)|"
    r"状态?(?=[，,]|$)|超过|已|已经|至今|"
    r"(?:任何|相关|新的|新|各类|一切)?(?:信息|消息|内容|文章|推文|动态|资讯|作品|视频)(?![\u4e00-\u9fff])|"
    r"(?:任何|相关|新的|新|各类|一切)?(?:信息|消息|内容|文章|推文|动态|资讯)(?=[并和及，,]))"
)
# What may follow a channel that is the verb's object: the clause goes on, or a count (政务新媒体13个).
OBJECT_END = re.compile(
    rf"^\s*(?:$|[，,。；;、）)]|和|及|与|并|等|后|前|外|之外|以外|以及|同时|的(?:{NOTICE_DOCS})|"
    r"(?:\d+|[一二三四五六七八九十百千两]+)\s*余?\s*(?:个|家|所))"
)
NOTICE_NOUN = re.compile(rf"^(?:的)?(?:{NOTICE_DOCS})")
# A merge into a column or bulletin moves content inside a site.
COLUMN = re.compile(r"栏目|专栏|板块|版块|频道|专题")

# --- government ---------------------------------------------------------------------------------------
# Words that make a generic channel (微信公众号, 网站, 应用程序) a government one when they qualify it or
# stand in the same sentence.
GOV_CONTEXT = re.compile(
    r"政务|政府|党政|党委|机关|部门|单位|事业单位|学校|幼儿园|中小学|医院|街道|乡镇|镇街|街镇|村级|区县|县区|"
    r"镇级|县级|市级|省级|区级|"
    r"[\u4e00-\u9fff](?:局|署|厅|委|办公室|事务中心|融媒体中心)|法院|检察院|人大|政协|公安|交警|消防|税务|当局|网信|全(?:省|市|县|区|镇|乡)"
)
# A name that reads as a government or public body's: a place, a unit or a sector of administration.
GOV_NAME = re.compile(
    r"[\u4e00-\u9fff](?:省|市|区|县|镇|乡|街道|村|社区|州|盟|旗)|"
    r"政府|委员会|局|署|厅|委|办|中心|院|馆|队|所|站|处|学校|小学|中学|幼儿园|大学|医院|卫生院|"
    r"发布|政务|融媒|党建|组工|宣传|统战|纪检|监察|政法|检察|法院|公安|交警|消防|应急|税务|海关|市场监管|"
    r"住建|人社|卫健|卫生|健康|教育|文旅|文化|旅游|农业|农村|农业农村|水务|水利|环保|生态|环境|自然资源|林业|"
    r"气象|统计|发改|财政|司法|民政|交通|运输|城管|医保|社保|审计|档案|信访|网信|商务|工信|科技|科协|体育|"
    r"供电|供水|电力|邮政|团委|共青团|妇联|工会|残联|侨联|红十字|退役军人|不动产|国土|规划|人才|就业|住房|"
    r"安监|质监|食药|药监|粮食|扶贫|乡村振兴|政协|人大|老干部|机关事务|行政审批|政务服务|公共资源|"
    r"平安|警|农机|之窗|之声"
)
# Bodies that are not channels even with a place in their name: their deregistration is business.
NOT_CHANNEL_BODY = re.compile(
    r"(?:协会|学会|商会|基金会|合作社|公司|企业|工作室|个体户|社会组织|店|厂|联合会)$"
)
NOT_GOVERNMENT = re.compile(r"自媒体|个人号|个人账号|个人帐号|个人公众号|粉丝页|粉丝专页|博主|网红")
# Where a sentence names something that is not a channel at the start of the verb's clause.
BOUNDARY = re.compile(
    r".*(?:决定|宣布|称|发现|关于|对于|对|由|是|为|将|已|在|和|与|及|或|等|把|让|给|向|据|经|按照|根据|"
    r"停止使用|出现|有|推出|发出|显示|表示|注意到|获悉|了解到|同意|批准|[，,：:、（(）)])"
)
# Successors named in a notice: where readers are sent, where content moves.
SEND = words(
    "关注 移步至 移步到 移步 搜索 查看 订阅 转至 转到 前往 登录 访问 下载 浏览 收看 改用 改为关注 查阅 "
    "查询 参阅"
)
MOVE = words(
    "整合并入 并入 迁移至 迁移到 整体迁移至 整体迁移到 迁至 迁入 整合至 整合到 整合进 整合入 合并至 "
    "合并到 合并入 转移至 转移到 归并至 归并到 划转至 移交至 纳入 并到 转入 划入 划归"
)
