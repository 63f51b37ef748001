"""classify_notice on real-world wording: extraction details and precision/recall on the labelled set."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

from detection.rules.notice import MigrationTarget, classify_notice, extract_effective_date

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
    wrong_dates = []
    for item in load_items():
        got = classify_notice(item["title"], item["text"], item["posted"])
        if item["notice"] and got is not None:
            tp += 1
            if got.effective_date != item["effective"]:
                wrong_dates.append((item["title"], got.effective_date, item["effective"]))
        elif item["notice"]:
            fn += 1
            print("missed:", item["title"])
        elif got is not None:
            fp += 1
            print("false alarm:", item["title"], got.sentence)
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    print(
        f"closure detector: precision {precision:.3f}, recall {recall:.3f} (tp={tp} fp={fp} fn={fn} tn={tn})"
    )
    assert precision >= 0.95
    assert recall >= 0.90
    assert not wrong_dates, wrong_dates


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
