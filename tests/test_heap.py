"""The collector's pace during a crawl, and back to Python's own when the last engine stops."""

from __future__ import annotations

import gc

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawler.heap import CollectorTuning, collector_tuned


def test_the_tuning_holds_while_an_engine_runs_and_is_undone_after_the_last() -> None:
    before = gc.get_threshold()
    first = CollectorTuning.from_crawler(get_crawler(settings_dict={"MONITOR_GC_THRESHOLD": 5000}))
    second = CollectorTuning.from_crawler(get_crawler(settings_dict={"MONITOR_GC_THRESHOLD": 5000}))
    first.engine_started()
    second.engine_started()
    try:
        assert gc.get_threshold() == (5000, *before[1:])
        assert gc.get_freeze_count() > 0
        first.engine_stopped()
        assert gc.get_threshold()[0] == 5000  # another engine still runs
    finally:
        second.engine_stopped()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    second.engine_stopped()  # once only
    assert gc.get_threshold() == before


def test_off_switch() -> None:
    with pytest.raises(NotConfigured):
        CollectorTuning.from_crawler(get_crawler(settings_dict={"MONITOR_GC_TUNE": False}))


def test_a_command_tunes_the_collector_for_its_work_and_gives_it_back() -> None:
    """`scrapy detect` runs detection inside collector_tuned: tuned inside, Python's own after, even
    when the work raises; MONITOR_GC_TUNE = False leaves it alone."""
    before = gc.get_threshold()
    settings = Settings({"MONITOR_GC_THRESHOLD": 7000})
    inside: list[tuple[tuple[int, int, int], int]] = []

    def work() -> None:
        with collector_tuned(settings):
            inside.append((gc.get_threshold(), gc.get_freeze_count()))
            raise RuntimeError("detection failed")

    with pytest.raises(RuntimeError):
        work()
    assert inside[0][0] == (7000, *before[1:])
    assert inside[0][1] > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    with collector_tuned(Settings({"MONITOR_GC_TUNE": False})):
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() == 0
