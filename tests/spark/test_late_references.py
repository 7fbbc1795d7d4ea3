"""Late-arriving references: rows quarantined only by ``exists_in`` rules are replayed.

A small file-fed pipeline (bronze customers and order lines, silver customers and lines, the
lines checked against silver customers) runs on two lakehouses:

- ``late``: the first delivery has lines of customers C2 and C9 that silver does not hold yet;
  C2 and C9 arrive in the second; the third run has nothing new; the fourth brings another
  customer only.
- ``early``: the customers arrive first, then the same lines.

Both end with the same silver lines; the late one's quarantine row of L2 is resolved by the
second run, and L3 (also a quantity of 0) stays open. A third lakehouse lands the same file
under three names, and a fourth upgrades a quarantine table written before record keys.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import attrs
import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from medallion import (
    DeltaOps,
    FileSource,
    Layer,
    Pipeline,
    RunResult,
    StepContext,
    StepRun,
    StepStatus,
    Table,
    changes,
)
from medallion.cli import main
from medallion.quality import checks
from medallion.quality.quarantine import (
    QUARANTINE_SCHEMA,
    quarantine_location,
    read_quarantine,
    record_key,
)

CDF = {"delta.enableChangeDataFeed": "true"}
BRONZE_CUSTOMERS = Table(
    "customers", Layer.BRONZE, schema="customer_id STRING, name STRING", properties=CDF
)
BRONZE_LINES = Table(
    "lines", Layer.BRONZE, schema="line_id STRING, customer_id STRING, qty INT", properties=CDF
)
SILVER_CUSTOMERS = Table(
    "customers",
    Layer.SILVER,
    schema="customer_id STRING NOT NULL, name STRING",
    primary_keys="customer_id",
    properties=CDF,
)
SILVER_LINES = Table(
    "lines",
    Layer.SILVER,
    schema="line_id STRING NOT NULL, customer_id STRING, qty INT",
    primary_keys="line_id",
    rules=[
        checks.not_null("line_id"),
        checks.in_range("qty", 1, None),
        checks.exists_in("customer_id", SILVER_CUSTOMERS),
    ],
)
#: Kept next to silver's columns (not written): a quarantined record says where it came from.
TRACE = ["_source_file", "_source_position", "_ingested_at", "_commit_version"]

pipeline = Pipeline("late")


@pipeline.step(BRONZE_CUSTOMERS)
def bronze_customers(ctx: StepContext) -> DataFrame:
    return ctx.read_files(FileSource(f"{ctx.param('landing')}/customers", "json"))


@pipeline.step(BRONZE_LINES)
def bronze_lines(ctx: StepContext) -> DataFrame:
    return ctx.read_files(FileSource(f"{ctx.param('landing')}/lines", "json"))


@pipeline.step(SILVER_CUSTOMERS, inputs=[changes(BRONZE_CUSTOMERS)])
def silver_customers(ctx: StepContext) -> DataFrame:
    rows = ctx.changes(BRONZE_CUSTOMERS).upserts()
    return ctx.check(rows.select("customer_id", "name", *TRACE))


@pipeline.step(SILVER_LINES, inputs=[changes(BRONZE_LINES)])
def silver_lines(ctx: StepContext) -> DataFrame:
    rows = ctx.changes(BRONZE_LINES).upserts()
    return ctx.check(rows.select("line_id", "customer_id", "qty", *TRACE))


def _customer(customer_id: str) -> str:
    return json.dumps({"customer_id": customer_id, "name": f"name of {customer_id}"})


def _line(line_id: str, customer_id: str, qty: int) -> str:
    return json.dumps({"line_id": line_id, "customer_id": customer_id, "qty": qty})


LINES = [
    _line("L1", "C1", 2),
    _line("L2", "C2", 1),  # C2 arrives later
    _line("L3", "C9", 0),  # C9 arrives later, but the quantity is wrong too
]


def _land(landing: Path, folder: str, name: str, lines: list[str]) -> None:
    (landing / folder).mkdir(parents=True, exist_ok=True)
    (landing / folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _run(spark: SparkSession, root: str, landing: Path, run_id: str) -> RunResult:
    return pipeline.run(spark, root, run_id=run_id, params={"landing": landing}, log=False)


def _counts(step: StepRun) -> tuple[str, int | None, int, int, int, int | None]:
    """(status, read, inserted, quarantined, dropped, version) of a step."""
    write = step.write
    return (
        step.status.value,
        step.rows_read,
        write.rows_inserted if write is not None else 0,
        step.rows_quarantined,
        step.rows_dropped,
        write.version if write is not None else None,
    )


def _lines(spark: SparkSession, root: str) -> DataFrame:
    return DeltaOps.of(spark, SILVER_LINES, root).read().orderBy("line_id")


def _quarantine(spark: SparkSession, root: str) -> list[tuple[str, str, str, bool, str | None]]:
    """(line, rules, quarantined by, replayable, resolved by) of silver.lines' rows."""
    rows = read_quarantine(spark, root, Layer.SILVER).where(F.col("table") == "silver.lines")
    found = rows.select(
        F.get_json_object("record", "$.line_id").alias("line"),
        F.array_join(F.array_sort(F.col("failures.rule")), ",").alias("rules"),
        "run_id",
        "replayable",
        "resolved_by",
    )
    return sorted(tuple(r) for r in found.collect())


@attrs.frozen
class Lakehouses:
    late: str
    early: str
    late_runs: dict[str, RunResult]
    early_runs: dict[str, RunResult]
    versions: dict[str, int]


@pytest.fixture(scope="module")
def lakehouses(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Lakehouses:
    base = tmp_path_factory.mktemp("late")
    late, late_landing = str(base / "late"), base / "late_landing"
    early, early_landing = str(base / "early"), base / "early_landing"

    late_runs: dict[str, RunResult] = {}
    _land(late_landing, "customers", "customers_1.json", [_customer("C1")])
    _land(late_landing, "lines", "lines_1.json", LINES)
    late_runs["r1"] = _run(spark, late, late_landing, "r1")
    _land(late_landing, "customers", "customers_2.json", [_customer("C2"), _customer("C9")])
    late_runs["r2"] = _run(spark, late, late_landing, "r2")
    late_runs["r3"] = _run(spark, late, late_landing, "r3")
    versions = {"r3": DeltaOps.of(spark, SILVER_LINES, late).version()}
    _land(late_landing, "customers", "customers_3.json", [_customer("C4")])
    late_runs["r4"] = _run(spark, late, late_landing, "r4")
    versions["r4"] = DeltaOps.of(spark, SILVER_LINES, late).version()

    early_runs: dict[str, RunResult] = {}
    everyone = [_customer(c) for c in ("C1", "C2", "C9")]
    _land(early_landing, "customers", "customers_1.json", everyone)
    (early_landing / "lines").mkdir()
    early_runs["e1"] = _run(spark, early, early_landing, "e1")
    _land(early_landing, "lines", "lines_1.json", LINES)
    early_runs["e2"] = _run(spark, early, early_landing, "e2")
    return Lakehouses(late, early, late_runs, early_runs, versions)


def test_a_line_whose_customer_arrives_later_is_replayed_and_resolved(
    spark: SparkSession, lakehouses: Lakehouses
) -> None:
    runs = lakehouses.late_runs
    assert all(run.succeeded for run in runs.values())
    # r1: L2 and L3 quarantined (L3 fails two rules: only L2 can be replayed).
    assert _counts(runs["r1"].step("silver_lines")) == ("succeeded", 3, 1, 2, 0, 1)
    # r2: no new line, but silver.customers changed and L2 is open: the step runs on L2 alone.
    second = runs["r2"].step("silver_lines")
    assert _counts(second) == ("succeeded", 1, 1, 0, 0, 2)
    assert second.note == "1 quarantined row(s) replayed, 1 resolved"
    checked = {m.rule: m.rows_checked for m in second.rule_metrics}
    assert checked["customer_id_exists_in_customers"] == 1
    # r3: nothing new anywhere: up to date, nothing committed.
    third = runs["r3"].step("silver_lines")
    assert (third.status, third.note) == (StepStatus.UP_TO_DATE, "nothing new in bronze.lines")
    assert lakehouses.versions["r3"] == 2
    # r4: a new customer, but no open row can be replayed (L3 also failed its quantity).
    assert runs["r4"].step("silver_customers").status is StepStatus.SUCCEEDED
    assert runs["r4"].step("silver_lines").status is StepStatus.UP_TO_DATE
    assert lakehouses.versions["r4"] == 2

    assert _quarantine(spark, lakehouses.late) == [
        ("L2", "customer_id_exists_in_customers", "r1", True, "r2"),
        ("L3", "customer_id_exists_in_customers,qty_in_range", "r1", False, None),
    ]
    resolved = read_quarantine(spark, lakehouses.late, Layer.SILVER).where("resolved_by = 'r2'")
    assert resolved.where(F.col("resolved_at") >= F.col("quarantined_at")).count() == 1
    # The write of r2 records the version of silver.customers L2 was replayed against.
    commit = DeltaOps.of(spark, SILVER_LINES, lakehouses.late).history(1)[0]
    assert commit.tags["medallion_consumed"] == {
        "bronze.lines->silver.lines": 1,
        "silver.customers->silver.lines:replay": 2,
    }


def test_the_late_lakehouse_ends_as_the_one_whose_customers_came_first(
    spark: SparkSession, lakehouses: Lakehouses
) -> None:
    early = lakehouses.early_runs["e2"].step("silver_lines")
    assert _counts(early) == ("succeeded", 3, 2, 1, 0, 2)
    assert early.note is None
    assert_df_equality(_lines(spark, lakehouses.late), _lines(spark, lakehouses.early))
    assert [tuple(r) for r in _lines(spark, lakehouses.late).collect()] == [
        ("L1", "C1", 2),
        ("L2", "C2", 1),
    ]
    # Every row read is accounted for: the late one read L2 twice (new, then replayed), and
    # quarantined it once; both wrote 2 rows.
    late = [lakehouses.late_runs[r].step("silver_lines") for r in ("r1", "r2")]
    assert sum(s.rows_read or 0 for s in late) == 4
    assert sum(s.write.rows_inserted for s in late if s.write is not None) == 2
    assert sum(s.rows_quarantined for s in late) == 2
    assert _quarantine(spark, lakehouses.early) == [
        ("L3", "qty_in_range", "e2", False, None),
    ]


def test_the_cli_lists_open_and_resolved_rows(
    lakehouses: Lakehouses, capsys: pytest.CaptureFixture[str]
) -> None:
    root = lakehouses.late
    assert main(["quarantine", "--root", root]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "silver.lines: 1 open, 1 resolved"
    assert len(out) == 3
    assert "open" in out[1] or "open" in out[2]
    resolved = next(line for line in out[1:] if "resolved by r2" in line)
    assert "customer_id_exists_in_customers" in resolved
    assert "run r1" in resolved
    assert '"line_id":"L2"' in resolved

    assert main(["quarantine", "--root", root, "--table", "silver.lines", "--open"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "silver.lines: 1 open"
    assert len(out) == 2 and '"line_id":"L3"' in out[1]
    assert "qty_in_range" in out[1]

    assert main(["quarantine", "--root", root, "--resolved", "--limit", "0"]) == 0
    assert capsys.readouterr().out.splitlines() == ["silver.lines: 1 resolved"]

    assert main(["quarantine", "--root", root, "--table", "silver.customers"]) == 0
    assert capsys.readouterr().out.splitlines() == ["silver.customers: nothing quarantined"]

    with pytest.raises(SystemExit) as usage:  # argparse: one or the other
        main(["quarantine", "--root", root, "--open", "--resolved"])
    assert usage.value.code == 2
    assert main(["quarantine", "--root", root, "--table", "lines"]) == 2
    assert "give LAYER.NAME" in capsys.readouterr().err


def test_the_same_record_landed_again_is_quarantined_once(
    spark: SparkSession, tmp_path: Path
) -> None:
    root, landing = str(tmp_path / "lake"), tmp_path / "landing"
    _land(landing, "customers", "customers.json", [_customer("C1")])
    bad = [_line("L5", "C7", 1), _line("L6", "C1", 0)]
    _land(landing, "lines", "a.json", bad)
    shutil.copy(landing / "lines" / "a.json", landing / "lines" / "a_copy.json")
    first = _run(spark, root, landing, "d1").step("silver_lines")
    # Both files are read; each record is quarantined once (and counted each time).
    assert _counts(first) == ("succeeded", 4, 0, 4, 0, 1)
    shutil.copy(landing / "lines" / "a.json", landing / "lines" / "b.json")
    second = _run(spark, root, landing, "d2").step("silver_lines")
    assert _counts(second) == ("succeeded", 2, 0, 2, 0, 2)
    assert _quarantine(spark, root) == [
        ("L5", "customer_id_exists_in_customers", "d1", True, None),
        ("L6", "qty_in_range", "d1", False, None),
    ]
    # C7 arrives: L5 is replayed once, although three files brought it.
    _land(landing, "customers", "customers_2.json", [_customer("C7")])
    third = _run(spark, root, landing, "d3").step("silver_lines")
    assert _counts(third) == ("succeeded", 1, 1, 0, 0, 3)
    assert [r.line_id for r in _lines(spark, root).collect()] == ["L5"]
    reference = "customer_id_exists_in_customers"
    assert _quarantine(spark, root)[0] == ("L5", reference, "d1", True, "d3")


def test_a_quarantine_table_from_before_record_keys_is_replayed(
    spark: SparkSession, tmp_path: Path
) -> None:
    root, landing = str(tmp_path / "lake"), tmp_path / "landing"
    _land(landing, "customers", "customers.json", [_customer("C1")])
    _land(landing, "lines", "lines.json", [_line("L1", "C1", 1)])
    _run(spark, root, landing, "u1")
    # Two rows written the old way (no record_key, replayable, resolved_*), the same record
    # quarantined twice (the bug of a copied file), and one that also failed its quantity.
    failure = [("customer_id_exists_in_customers", "quarantine", "must exist")]
    wrong = [*failure, ("qty_in_range", "quarantine", "q")]
    rows = [
        ("silver.lines", "u0", "old", failure, '{"line_id":"L7","customer_id":"C3","qty":1,"_source_file":"x.json"}'),  # noqa: E501
        ("silver.lines", "u0", "old", failure, '{"line_id":"L7","customer_id":"C3","qty":1,"_source_file":"y.json"}'),  # noqa: E501
        ("silver.lines", "u0", "old", wrong, '{"line_id":"L8","customer_id":"C3","qty":0}'),
    ]  # fmt: skip
    legacy = spark.createDataFrame(
        rows,
        "table STRING, run_id STRING, source STRING, "
        "failures ARRAY<STRUCT<rule: STRING, action: STRING, message: STRING>>, record STRING",
    ).select(
        "table", "run_id", F.current_timestamp().alias("quarantined_at"), "source", "failures",
        "record",
    )  # fmt: skip
    legacy.write.format("delta").mode("append").save(quarantine_location(root, Layer.SILVER))

    _land(landing, "customers", "customers_2.json", [_customer("C3")])
    step = _run(spark, root, landing, "u2").step("silver_lines")
    # L7 once (its two rows have one key), L8 not at all.
    assert _counts(step) == ("succeeded", 1, 1, 0, 0, 2)
    assert [r.line_id for r in _lines(spark, root).collect()] == ["L1", "L7"]
    stored = read_quarantine(spark, root, Layer.SILVER).where("table = 'silver.lines'")
    assert sorted(
        (r.line, r.resolved_by) for r in stored.select(
            F.get_json_object("record", "$.line_id").alias("line"), "resolved_by"
        ).collect()
    ) == [("L7", "u2"), ("L7", "u2"), ("L8", None)]
    assert set(DeltaOps(spark, quarantine_location(root, Layer.SILVER)).read().columns) == set(
        QUARANTINE_SCHEMA.fieldNames()
    )


def test_the_record_key_leaves_out_where_a_record_came_from(spark: SparkSession) -> None:
    records = [
        '{"id":"o1","qty":1,"_source_file":"a.json","_ingested_at":"2026-01-01T00:00:00Z"}',
        '{"id":"o1","qty":1,"_source_file":"b.json","_source_position":7}',
        '{"id":"o1","qty":1,"loaded":"2026-02-02"}',
        '{"id":"o1","qty":2}',
        '{"_rescued_data":"{oops"}',
        '{"_rescued_data":"{other"}',
    ]
    df = spark.createDataFrame([(r,) for r in records], "record STRING")
    keys = [
        r.key
        for r in df.select(record_key("record", ignore=["LOADED"]).alias("key")).collect()
    ]
    assert keys[0] == keys[1] == keys[2]
    assert len({keys[0], keys[3], keys[4], keys[5]}) == 4


def test_a_step_checking_without_ctx_check_commits_nothing_for_a_replay(
    spark: SparkSession, tmp_path: Path
) -> None:
    from medallion import evaluate_table

    accepting = Pipeline("accepting")
    accepting.step(BRONZE_CUSTOMERS)(bronze_customers.fn)
    accepting.step(BRONZE_LINES)(bronze_lines.fn)
    accepting.step(SILVER_CUSTOMERS, inputs=[changes(BRONZE_CUSTOMERS)])(silver_customers.fn)

    @accepting.step(SILVER_LINES, inputs=[changes(BRONZE_LINES)])
    def accepted_lines(ctx: StepContext) -> DataFrame:
        rows = ctx.changes(BRONZE_LINES).upserts().select("line_id", "customer_id", "qty")
        return ctx.accept(evaluate_table(rows, ctx.table, ctx.root))  # no replay here

    root, landing = str(tmp_path / "lake"), tmp_path / "landing"
    params = {"landing": landing}
    _land(landing, "customers", "customers.json", [_customer("C1")])
    _land(landing, "lines", "lines.json", [_line("L2", "C2", 1)])
    first = accepting.run(spark, root, params=params, log=False).step("accepted_lines")
    assert _counts(first) == ("succeeded", 1, 0, 1, 0, 1)
    _land(landing, "customers", "customers_2.json", [_customer("C2")])
    second = accepting.run(spark, root, params=params, log=False).step("accepted_lines")
    assert (second.status, second.note) == (StepStatus.UP_TO_DATE, "nothing new in bronze.lines")
    assert DeltaOps.of(spark, SILVER_LINES, root).version() == 1


def test_rolling_back_the_run_that_resolved_a_row_opens_it_again(
    spark: SparkSession, lakehouses: Lakehouses, tmp_path: Path
) -> None:
    from medallion.runner.rollback import rollback_run
    from medallion.runner.runlog import write_run_log

    copy = tmp_path / "late"
    shutil.copytree(lakehouses.late, copy)  # Delta tables keep relative paths: a true copy
    run = lakehouses.late_runs["r2"]  # (the fixture's runs are not logged: log this one)
    moved = [
        attrs.evolve(s, location=s.location.replace(lakehouses.late, str(copy)))
        for s in run.steps
        if s.location is not None
    ]
    write_run_log(spark, str(copy), attrs.evolve(run, steps=tuple(moved)))
    result = rollback_run(spark, str(copy), "r2")
    actions = {t.table: t.action.value for t in result.tables}
    assert actions["silver.lines"] == "restored"
    # L2 left silver.lines with the run that replayed it: it is open, and replayable, again.
    assert _quarantine(spark, str(copy)) == [
        ("L2", "customer_id_exists_in_customers", "r1", True, None),
        ("L3", "customer_id_exists_in_customers,qty_in_range", "r1", False, None),
    ]
