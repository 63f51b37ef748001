"""Findings and scores through Datasette's HTTP API, after a crawl that ran detection on close."""

from __future__ import annotations

from tests.test_datasette import datasette, get_json  # noqa: F401  (the fixture is used by name)


def test_scores_and_findings_over_http(datasette: str) -> None:  # noqa: F811
    # Other platforms reuse some account names: the feed targets by name.
    rows = get_json(datasette, "/monitor/target_scores.json", _shape="array")
    scores = {r["name"]: r for r in rows if r["platform"] == "feed"}
    assert scores["青山教育"]["verdict"] == "不合格"
    assert scores["青山教育"]["veto_labels"] == "监测时间点前2周内无更新"
    assert scores["临江发布"]["score"] == 100
    assert scores["青山住建"]["score"] == 95
    levels = get_json(datasette, "/monitor/level_scores.json", _shape="array")
    assert sum(r["targets"] for r in levels) == len(rows)
    zombies = get_json(
        datasette, "/monitor/open_findings.json", _shape="array", rule="account.zombie", platform="feed"
    )
    assert [z["target_name"] for z in zombies] == ["河口科协"]
    meta = get_json(datasette, "/-/metadata.json")
    assert meta["databases"]["monitor"]["tables"]["findings"]["title"] == "问题清单 · findings"
