"""The run report's page from run log rows given by hand (no JVM): what it says and draws."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from medallion.errors import RunNotFoundError
from medallion.report import build_report, report_run_id

AT = dt.datetime(2026, 3, 4, 5, 0, tzinfo=dt.timezone.utc)


def row(
    run_id: str, step: str, *, hour: int = 0, seconds: float = 10, **fields: Any
) -> dict[str, Any]:
    started = AT + dt.timedelta(hours=hour)
    values: dict[str, Any] = {
        "run_id": run_id, "pipeline": "shop", "step": step, "table": f"silver.{step}",
        "layer": "silver", "run_started_at": started, "started_at": started,
        "ended_at": started + dt.timedelta(seconds=seconds), "status": "succeeded",
        "error": None, "note": None, "rows_read": None, "rows_written": None,
        "rows_quarantined": 0, "rows_dropped": 0, "rule_metrics": [],
        "delta_version": None, "version_before": None,
        "rows_inserted": None, "rows_updated": None, "rows_deleted": None,
    }  # fmt: skip
    values.update(fields)
    return values


def section(page: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', page, re.S)
    assert match, name
    return match.group(1)


def test_steps_that_do_not_add_up_are_flagged_with_the_difference() -> None:
    page = build_report([
        row("r1", "orders", rows_read=10, rows_written=7, rows_quarantined=2, rows_dropped=1),
        row("r1", "merged", rows_read=10, rows_written=6, rows_updated=2, rows_inserted=4),
        row("r1", "totals", rows_written=3),
    ])  # fmt: skip
    rows = section(page, "conservation")
    assert "✓</span> 10 read = 7 written + 2 quarantined + 1 dropped" in rows
    assert "10 read ≠ 6 written + 0 quarantined + 0 dropped (4 fewer than read): a merge" in rows
    assert "3 written; rows read not counted (no quality checks)" in rows
    assert "1 step(s) do not add up" in rows


def test_every_string_is_escaped() -> None:
    evil = '<script>alert("x")</script>'
    page = build_report([
        row("<r&1>", evil, status="failed", error=f"bad {evil}", note=evil,
            rule_metrics=[{"rule": evil, "action": "warn", "rows_checked": 1, "rows_failed": 1}]),
    ])  # fmt: skip
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "&lt;r&amp;1&gt;" in page and "<r&1>" not in page


def test_the_latest_run_is_shown_and_its_pipeline_only_in_the_trends() -> None:
    rows = [
        row("old", "orders", hour=0, seconds=30, rows_written=5),
        row("other", "orders", hour=1, pipeline="elsewhere"),
        row("new", "orders", hour=2, seconds=300, rows_written=8, rows_quarantined=2),
        row("new", "later", hour=2, seconds=0, status="skipped", started_at=None, ended_at=None),
    ]
    assert report_run_id(rows) == "new"
    page = build_report(list(reversed(rows)), "old")
    assert "<title>shop: run old (succeeded)</title>" in page
    trends = section(page, "trends")
    assert 'data-run="old"' in trends and 'data-run="new"' not in trends  # up to this run

    page = build_report(rows)
    assert "<title>shop: run new (failed)</title>" in page  # a step was skipped
    trends = section(page, "trends")
    assert 'data-run="other"' not in trends
    assert trends.count('class="bar ') == 4  # written and quarantined, 2 runs each
    assert "duration (min)" in trends  # 5 minutes: the axis counts minutes
    assert "skipped: an earlier step failed" in section(page, "conservation")
    assert build_report(rows, recent=1).count('<circle cx=') == 1


def test_spark_rows_and_iso_times_are_accepted() -> None:
    class SparkRow:  # what pyspark's Row offers
        def __init__(self, values: dict[str, Any]) -> None:
            self.values = values

        def asDict(self, recursive: bool = False) -> dict[str, Any]:
            return self.values

    given = row("r1", "orders", rows_read=3, rows_written=3,
                rule_metrics=[("positive", "quarantine", 3, 0)])  # fmt: skip
    given["started_at"] = "2026-03-04T05:00:00Z"
    given["ended_at"] = "2026-03-04T05:01:30+00:00"
    page = build_report([SparkRow(given)])  # type: ignore[list-item]
    assert "1 min 30 s" in section(page, "steps")
    assert "<code>positive</code>" in section(page, "rules")


def test_unknown_runs_are_refused() -> None:
    with pytest.raises(RunNotFoundError, match="run 'nope' is not in the run log"):
        build_report([row("r1", "orders")], "nope")
    with pytest.raises(RunNotFoundError, match="the run log holds no run"):
        report_run_id([])
