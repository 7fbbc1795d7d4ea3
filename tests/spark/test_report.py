"""The run report on real runs: the page a person opens in a browser (headless Chromium).

A small pipeline runs three times on real Spark and Delta (the second run quarantines and drops
rows, the third fails with an error holding HTML); the report is built from the run log's rows,
written to a file, and opened from disk with Playwright. What the tests check is what the page
shows: the text, the numbers of each step equal to the run log's, the rule failures, the charts
drawn with a size, no console error and no request beyond the file itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from medallion import Overwrite, Pipeline, QualityRule, StepContext, Table
from medallion.errors import RunNotFoundError, StepFailedError
from medallion.quality import checks
from medallion.report import build_report, report_run_id, write_report
from medallion.runner.runlog import read_run_log

CHROMIUM = "/usr/bin/chromium"
ERROR = "the board exploded: <b>score</b> < 0 & more"

SCORES = Table(
    "scores", "silver", schema="id BIGINT, score BIGINT", primary_keys="id",
    rules=[checks.in_range("score", 0, None), QualityRule("not_seven", "id <> 7", action="drop")],
)  # fmt: skip
BOARD = Table("board", "gold", schema="band STRING, players BIGINT", write=Overwrite())


def game() -> Pipeline:
    pipeline = Pipeline("game")

    @pipeline.step(SCORES)
    def scores(ctx: StepContext) -> DataFrame:
        rows = ctx.spark.range(int(ctx.param("n"))).select(
            "id", (F.col("id") * 10 - int(ctx.param("offset"))).alias("score")
        )
        return ctx.check(rows, source="generated")

    @pipeline.step(BOARD, inputs=[SCORES])
    def board(ctx: StepContext) -> DataFrame:
        if ctx.params.get("explode"):
            raise ValueError(ERROR)
        return (
            ctx.read(SCORES)
            .groupBy(F.when(F.col("score") >= 20, "high").otherwise("low").alias("band"))
            .agg(F.count("*").alias("players"))
        )

    return pipeline


@pytest.fixture(scope="module")
def logged(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, list[dict[str, Any]]]:
    """Three runs of the pipeline, and the run log's rows as dicts."""
    root = str(tmp_path_factory.mktemp("report") / "lakehouse")
    pipeline = game()
    pipeline.run(spark, root, params={"n": 5, "offset": 0}, run_id="first")
    # 2 rows quarantined (negative scores), 1 dropped (id 7).
    pipeline.run(spark, root, params={"n": 10, "offset": 15}, run_id="second")
    with pytest.raises(StepFailedError):
        pipeline.run(spark, root, params={"n": 10, "offset": 15, "explode": 1}, run_id="third")
    rows = [row.asDict(recursive=True) for row in read_run_log(spark, root).collect()]
    return root, rows


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


class Opened:
    """A report open in a page, with what the page logged and requested."""

    def __init__(self, browser: Browser, path: Path) -> None:
        self.requests: list[str] = []
        self.problems: list[str] = []
        self.page: Page = browser.new_page(viewport={"width": 1200, "height": 900})
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on(
            "console",
            lambda message: self.problems.append(message.text)
            if message.type in ("error", "warning")
            else None,
        )
        self.page.on("pageerror", lambda error: self.problems.append(str(error)))
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")

    def cell(self, section: str, step: str, column: str) -> str:
        return self.page.locator(f'#{section} tr[data-step="{step}"] td.{column}').inner_text()


def _open(browser: Browser, rows: list[dict[str, Any]], tmp_path: Path, **how: Any) -> Opened:
    path = write_report(build_report(rows, **how), tmp_path / "report.html")
    return Opened(browser, path)


def _shown(value: int | None) -> str:
    return "\u2013" if value is None else f"{value:,}"


def _of(rows: list[dict[str, Any]], run_id: str) -> dict[str, dict[str, Any]]:
    return {r["step"]: r for r in rows if r["run_id"] == run_id}


def test_the_page_shows_each_step_with_the_run_log_numbers(
    logged: tuple[str, list[dict[str, Any]]], browser: Browser, tmp_path: Path
) -> None:
    _, rows = logged
    opened = _open(browser, rows, tmp_path, run_id="second")
    page = opened.page
    assert page.title() == "game: run second (succeeded)"
    text = page.inner_text("body")
    for heading in ("Steps", "Where the rows went", "Quality rules", "Recent runs"):
        assert page.get_by_role("heading", name=heading).is_visible()
    assert "game" in text and "second" in text and "succeeded" in text

    steps = _of(rows, "second")
    assert set(steps) == {"scores", "board"}
    for name, row in steps.items():
        line = page.locator(f'#steps tr[data-step="{name}"]')
        assert line.is_visible()
        assert line.locator(".name").inner_text() == name
        assert line.locator(".table").inner_text() == row["table"]
        assert opened.cell("steps", name, "status").strip() == "succeeded"
        for column in (
            "rows_read", "rows_written", "rows_quarantined", "rows_dropped",
            "rows_inserted", "rows_updated", "rows_deleted",
        ):  # fmt: skip
            assert opened.cell("steps", name, column) == _shown(row[column]), (name, column)
        assert opened.cell("steps", name, "version").endswith(f"v{row['delta_version']}")

    scores = steps["scores"]
    assert (scores["rows_read"], scores["rows_quarantined"], scores["rows_dropped"]) == (10, 2, 1)
    # Where the rows went: 10 read = 7 written + 2 quarantined + 1 dropped, drawn to scale.
    balance = page.locator('#conservation .balance[data-step="scores"]')
    assert balance.inner_text().endswith(
        f"✓ 10 read = {scores['rows_written']} written + 2 quarantined + 1 dropped"
    )
    read_bar = balance.locator("rect.c-read").bounding_box()
    kinds = ("written", "quarantined", "dropped")
    parts = [balance.locator(f"rect.c-{kind}").bounding_box() for kind in kinds]
    assert read_bar is not None and all(p is not None and p["width"] > 0 for p in parts)
    stacked = sum(p["width"] for p in parts if p is not None)
    assert stacked == pytest.approx(read_bar["width"], abs=1)
    # The aggregate has no checks: what it read is not counted, so nothing is flagged.
    board = page.locator('#conservation .balance[data-step="board"]').inner_text()
    assert "rows read not counted" in board and "≠" not in board

    rule = page.locator('#rules tr.rule.failing[data-rule="score_in_range"]')
    assert rule.is_visible()
    assert rule.locator(".act").inner_text() == "quarantine"
    assert rule.locator(".rows_checked").inner_text() == "10"
    assert rule.locator(".rows_failed").inner_text() == "2"
    assert rule.locator(".failure_rate").inner_text().strip() == "20%"
    dropped = page.locator('#rules tr.rule[data-rule="not_seven"]')
    assert dropped.locator(".rows_failed").inner_text() == "1"

    assert opened.problems == []
    assert opened.requests and all(url.startswith("file://") for url in opened.requests)


def test_the_trend_charts_are_drawn_for_the_recent_runs(
    logged: tuple[str, list[dict[str, Any]]], browser: Browser, tmp_path: Path
) -> None:
    _, rows = logged
    page = _open(browser, rows, tmp_path).page
    for chart, title in (
        ("chart-duration", "duration"),
        ("chart-written", "rows written"),
        ("chart-quarantined", "rows quarantined"),
    ):
        svg = page.locator(f"svg#{chart}")
        assert svg.is_visible()
        box = svg.bounding_box()
        assert box is not None and box["width"] > 250 and box["height"] > 150
        assert title in (svg.text_content() or "")  # the axis titles
        assert "oldest to latest" in (svg.text_content() or "")
        marks = svg.locator("circle" if chart == "chart-duration" else "rect.bar")
        assert marks.count() == 3  # one per run
        assert "current" in (marks.nth(2).get_attribute("class") or "")  # the latest run
    # The second run quarantined rows: its bar is drawn; the first run's (none) is flat.
    quarantined = page.locator("svg#chart-quarantined rect.bar")
    heights = [quarantined.nth(i).bounding_box() for i in range(3)]
    assert heights[0] is not None and heights[0]["height"] < 1
    assert heights[1] is not None and heights[1]["height"] > 10
    runs = page.locator("#trends table.runs tbody tr")
    assert [runs.nth(i).get_attribute("data-run") for i in range(3)] == [
        "third", "second", "first",
    ]  # fmt: skip

    limited = _open(browser, rows, tmp_path, run_id="second", recent=1).page
    assert limited.locator("svg#chart-written rect.bar").count() == 1
    assert "Only one run of this pipeline so far" in limited.inner_text("#trends")


def test_a_failed_run_shows_its_error_as_text(
    logged: tuple[str, list[dict[str, Any]]], browser: Browser, tmp_path: Path
) -> None:
    _, rows = logged
    assert report_run_id(rows) == "third"
    opened = _open(browser, rows, tmp_path)
    page = opened.page
    assert page.locator("header .badge").inner_text() == "failed"
    failed = _of(rows, "third")["board"]
    assert failed["status"] == "failed" and ERROR in failed["error"]
    # The error's markup is shown as text, never interpreted as HTML.
    error = page.locator("#steps tr.error pre")
    assert error.is_visible() and ERROR in error.inner_text()
    assert page.locator("#steps tr.error pre b").count() == 0
    assert ERROR in page.locator("header .alert").inner_text()
    assert page.locator("header .alert b").inner_text() == "board"  # only the page's own markup
    assert "failed: nothing was committed" in page.inner_text("#conservation")
    assert opened.problems == []


def test_an_unknown_run_is_refused(logged: tuple[str, list[dict[str, Any]]]) -> None:
    _, rows = logged
    with pytest.raises(RunNotFoundError, match="run 'fourth' is not in the run log"):
        build_report(rows, "fourth")
    with pytest.raises(RunNotFoundError, match="holds no run"):
        build_report([])
