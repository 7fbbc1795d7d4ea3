"""The runner-owned write path: write policies, incremental inputs, duplicates, the run report.

Each test runs real pipelines on Spark and Delta: steps return DataFrames, the runner reads
the changes of their incremental inputs and writes their rows by their tables' policies.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from medallion import (
    SCD2,
    DeltaOps,
    FileSource,
    Merge,
    Overwrite,
    Pipeline,
    StepContext,
    StepStatus,
    Table,
    changes,
)
from medallion.errors import DuplicateKeyError, StepFailedError
from medallion.runner.results import describe_step
from medallion.runner.runlog import read_run_log

CDF = {"delta.enableChangeDataFeed": "true"}


def _rows(df: DataFrame, *columns: str) -> list[tuple[Any, ...]]:
    return sorted(tuple(r) for r in df.select(*columns).collect())


# -- incremental inputs ------------------------------------------------------------------------

ACCOUNTS = Table(
    "accounts",
    "silver",
    schema="id STRING NOT NULL, balance INT",
    primary_keys="id",
    write=Merge(delete_when="op = 'D'"),
    properties=CDF,
)
SEEN = Table("seen_changes", "gold", schema="id STRING, balance INT, change STRING, run STRING")


def _changes_pipeline(calls: list[str], fail: list[bool]) -> Pipeline:
    pipeline = Pipeline("changes")

    @pipeline.step(ACCOUNTS)
    def accounts(ctx: StepContext) -> DataFrame:
        rows = [tuple(r.split(":")) for r in ctx.param("rows").split(",")]
        return ctx.spark.createDataFrame(
            [(i, int(b), op) for i, b, op in rows], "id STRING, balance INT, op STRING"
        )

    @pipeline.step(SEEN, inputs=[changes(ACCOUNTS)])
    def seen_changes(ctx: StepContext) -> DataFrame:
        calls.append(ctx.run_id)
        if fail and fail[0]:
            raise RuntimeError("the step broke after reading its changes")
        found = ctx.changes(ACCOUNTS)
        return found.rows.select(
            "id", "balance", F.col("_change_type").alias("change"), F.lit(ctx.run_id).alias("run")
        )

    return pipeline


def test_after_a_rollback_a_rerun_gets_each_change_once(
    spark: SparkSession, lakehouse: str
) -> None:
    from medallion.runner.rollback import rollback_run

    pipeline = _changes_pipeline([], [])

    def run(rows: str, run_id: str) -> None:
        pipeline.run(spark, lakehouse, params={"rows": rows}, run_id=run_id)

    run("a:1:U", "r1")
    run("b:2:U", "r2")
    rollback_run(spark, lakehouse, "r2")
    # The source's feed now holds b's insert, the RESTORE that took it out, and b again: the
    # consumer gets the difference of the two versions, b once.
    run("b:2:U", "r3")
    seen = DeltaOps.of(spark, SEEN, lakehouse).read()
    assert _rows(seen, "id", "balance", "change", "run") == [("b", 2, "insert", "r3")]


def test_a_step_gets_the_changes_with_pre_images_and_deletes_and_records_what_it_read(
    spark: SparkSession, lakehouse: str
) -> None:
    calls: list[str] = []
    fail: list[bool] = [False]
    pipeline = _changes_pipeline(calls, fail)

    def run(rows: str, run_id: str, select: list[str] | None = None) -> None:
        params = {"rows": rows}
        pipeline.run(spark, lakehouse, select, downstream=False, params=params, run_id=run_id)

    # First run: the whole source table, every row an insert.
    run("a:1:U,b:2:U,c:3:U", "r1")
    seen = DeltaOps.of(spark, SEEN, lakehouse)
    assert _rows(seen.read(), "id", "balance", "change", "run") == [
        ("a", 1, "insert", "r1"),
        ("b", 2, "insert", "r1"),
        ("c", 3, "insert", "r1"),
    ]
    # Then only what changed: both images of an update, a delete, an insert.
    run("a:10:U,b:2:U,c:0:D,d:4:U", "r2")
    assert_df_equality(
        seen.read().where(F.col("run") == "r2"),
        spark.createDataFrame(
            [
                ("a", 1, "update_preimage", "r2"),
                ("a", 10, "update_postimage", "r2"),
                ("c", 3, "delete", "r2"),
                ("d", 4, "insert", "r2"),
            ],
            SEEN.require_schema(),
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    # The source version read is recorded in the commit of the step's write.
    source = DeltaOps.of(spark, ACCOUNTS, lakehouse)
    commit = seen.last_commit()
    assert commit.run_id == "r2"
    assert commit.tags["medallion_consumed"] == {
        "silver.accounts->gold.seen_changes": source.version()
    }

    # Nothing new in the source: the step is not called and nothing is committed.
    before, called = seen.version(), len(calls)
    result = pipeline.run(spark, lakehouse, ["gold.seen_changes"], run_id="r3", log=False)
    step = result.step("gold.seen_changes")
    assert (step.status, step.write, len(calls), seen.version()) == (
        StepStatus.UP_TO_DATE,
        None,
        called,
        before,
    )
    assert step.note == "nothing new in silver.accounts"

    # A step that fails after reading its changes records nothing: the next run reads them again.
    run("e:5:U", "r4", ["silver.accounts"])
    fail[0] = True
    with pytest.raises(StepFailedError, match="the step broke after reading its changes"):
        run("e:5:U", "r5", ["gold.seen_changes"])
    assert seen.version() == before
    fail[0] = False
    run("e:5:U", "r6", ["gold.seen_changes"])
    assert _rows(seen.read().where(F.col("run") == "r6"), "id", "change") == [("e", "insert")]


def test_changes_that_produce_no_rows_still_record_their_progress(
    spark: SparkSession, lakehouse: str
) -> None:
    source = Table(
        "orders", "silver", schema="id STRING, ok BOOLEAN", primary_keys="id", properties=CDF
    )
    target = Table("ok_orders", "gold", schema="id STRING", primary_keys="id", write=Merge())
    pipeline = Pipeline("progress")

    @pipeline.step(source)
    def orders(ctx: StepContext) -> DataFrame:
        return ctx.spark.createDataFrame([(ctx.param("id"), False)], "id STRING, ok BOOLEAN")

    @pipeline.step(target, inputs=[changes(source)])
    def ok_orders(ctx: StepContext) -> DataFrame:
        return ctx.changes(source).upserts().where("ok").select("id")

    pipeline.run(spark, lakehouse, params={"id": "o1"})
    second = pipeline.run(spark, lakehouse, params={"id": "o2"})
    merged = second.step("gold.ok_orders")
    assert merged.status is StepStatus.SUCCEEDED
    assert merged.write is not None and merged.write.version is not None  # an empty commit
    assert merged.write.rows_written == 0
    # ... so that the changes it read are not read again.
    third = pipeline.run(spark, lakehouse, ["gold.ok_orders"])
    assert third.step("gold.ok_orders").status is StepStatus.UP_TO_DATE


# -- duplicates of a key in one batch ----------------------------------------------------------

RAW_CUSTOMERS = Table(
    "customers", "bronze", schema="id STRING NOT NULL, tier STRING", properties=CDF
)
CUSTOMERS = Table(
    "customers",
    "silver",
    schema="id STRING NOT NULL, tier STRING, updated_at TIMESTAMP",
    primary_keys="id",
    write=Merge(sequence_by="updated_at"),
)


def _customers_pipeline() -> Pipeline:
    pipeline = Pipeline("customers")

    @pipeline.step(RAW_CUSTOMERS)
    def raw_customers(ctx: StepContext) -> DataFrame:
        return ctx.read_files(FileSource(ctx.param("landing"), "csv"))

    @pipeline.step(CUSTOMERS, inputs=[changes(RAW_CUSTOMERS)])
    def customers(ctx: StepContext) -> DataFrame:
        rows = ctx.changes(RAW_CUSTOMERS).upserts()
        return rows.withColumnRenamed("_ingested_at", "updated_at").drop("_commit_version")

    return pipeline


def test_the_last_line_of_a_file_wins_then_the_later_file_never_the_smallest_values(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    # c1 twice in one export: the later line wins, although "gold" < "silver".
    (landing / "a.csv").write_text("id,tier\nc1,silver\nc2,bronze\nc1,gold\n")
    # c2 again in a file written later: it wins over a.csv's c2, ingested in the same run.
    (landing / "b.csv").write_text("id,tier\nc2,platinum\n")
    os.utime(landing / "a.csv", (1_700_000_000, 1_700_000_000))
    os.utime(landing / "b.csv", (1_700_000_100, 1_700_000_100))
    result = _customers_pipeline().run(spark, lakehouse, params={"landing": landing})
    silver = DeltaOps.of(spark, CUSTOMERS, lakehouse).read()
    assert _rows(silver, "id", "tier") == [("c1", "gold"), ("c2", "platinum")]
    assert result.step("silver.customers").rows_dropped == 2  # the older c1 and c2


def test_kafka_offsets_and_change_versions_order_duplicates(
    spark: SparkSession, lakehouse: str
) -> None:
    ops = DeltaOps.of(spark, f"{lakehouse}/events")
    kafka = spark.createDataFrame(
        [("k1", "late", 0, 9), ("k1", "early", 0, 3), ("k2", "p1", 1, 1), ("k2", "p0", 0, 7)],
        "id STRING, value STRING, _kafka_partition INT, _kafka_offset BIGINT",
    )
    merged = ops.merge(kafka, keys="id")
    assert _rows(ops.read(), "id", "value") == [("k1", "late"), ("k2", "p1")]
    assert ops.read().columns == ["id", "value"]  # medallion's columns are not written
    assert merged.duplicates_removed == 2

    cdf = spark.createDataFrame(
        [("k1", "v5", 5), ("k1", "v7", 7), ("k1", "v6", 6)],
        "id STRING, value STRING, _commit_version BIGINT",
    )
    ops.merge(cdf, keys="id")
    assert _rows(ops.read(), "id", "value") == [("k1", "v7"), ("k2", "p1")]


def test_rows_of_a_key_that_nothing_orders_are_refused_unless_identical(
    spark: SparkSession, lakehouse: str
) -> None:
    ops = DeltaOps.of(spark, f"{lakehouse}/tiers")
    same = spark.createDataFrame(
        [("c1", 1, "gold"), ("c1", 1, "gold")], "id STRING, seq INT, tier STRING"
    )
    assert ops.merge(same, keys="id", sequence_by="seq").duplicates_removed == 1
    tied = spark.createDataFrame(
        [("c1", 2, "gold"), ("c1", 2, "silver"), ("c2", 1, "bronze")],
        "id STRING, seq INT, tier STRING",
    )
    with pytest.raises(DuplicateKeyError) as info:
        ops.merge(tied, keys="id", sequence_by="seq")
    assert info.value.keys == [{"id": "c1"}]
    assert "table '" in str(info.value) and "on (seq)" in str(info.value)
    assert _rows(ops.read(), "id", "tier") == [("c1", "gold")]  # nothing was written


# -- SCD type 2 as a policy ----------------------------------------------------------------------

PEOPLE = Table(
    "people",
    "silver",
    schema="id STRING NOT NULL, city STRING, email STRING, op STRING",
    primary_keys="id",
    properties=CDF,
)
DIM_PEOPLE = Table(
    "dim_people",
    "gold",
    schema=(
        "id STRING NOT NULL, city STRING, email STRING, valid_from TIMESTAMP, "
        "valid_to TIMESTAMP, is_current BOOLEAN"
    ),
    primary_keys=("id", "valid_from"),
    write=SCD2(tracked="city", delete_when="op = 'D'"),
)


def test_an_scd2_table_closes_versions_updates_in_place_and_closes_deleted_keys(
    spark: SparkSession, lakehouse: str
) -> None:
    pipeline = Pipeline("people")

    @pipeline.step(PEOPLE)
    def people(ctx: StepContext) -> DataFrame:
        rows = [tuple(r.split(":")) for r in ctx.param("rows").split(",")]
        return ctx.spark.createDataFrame(rows, "id STRING, city STRING, email STRING, op STRING")

    @pipeline.step(DIM_PEOPLE, inputs=[changes(PEOPLE)])
    def dim_people(ctx: StepContext) -> DataFrame:
        return ctx.changes(PEOPLE).upserts()

    def run(rows: str) -> dt.datetime:
        return pipeline.run(spark, lakehouse, params={"rows": rows}).started_at

    first = run("p1:Oslo:a@x:U,p2:Rome:b@x:U")
    second = run("p1:Bergen:a@x:U,p2:Rome:b2@x:U")  # p1 moves, p2 changes its e-mail
    third = run("p2:Rome:b2@x:D")  # p2 is deleted
    dim = DeltaOps.of(spark, DIM_PEOPLE, lakehouse).read()
    # The load time (the run's start) is each version's effective time.
    assert_df_equality(
        dim,
        spark.createDataFrame(
            [
                ("p1", "Oslo", "a@x", first, second, False),
                ("p1", "Bergen", "a@x", second, None, True),
                ("p2", "Rome", "b2@x", first, third, False),
            ],
            DIM_PEOPLE.require_schema(),
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )


# -- the run report ----------------------------------------------------------------------------


def test_the_report_shows_rows_inserted_updated_and_deleted(
    spark: SparkSession, lakehouse: str
) -> None:
    calls: list[str] = []
    pipeline = _changes_pipeline(calls, [False])
    select = ["silver.accounts"]
    pipeline.run(spark, lakehouse, select, downstream=False, params={"rows": "a:1:U,b:2:U,c:3:U"})
    result = pipeline.run(
        spark,
        lakehouse,
        select,
        downstream=False,
        params={"rows": "a:1:U,b:5:U,c:0:D,d:4:U"},
        run_id="report",
    )
    step = result.step("silver.accounts")
    write = step.write
    assert write is not None
    assert (write.rows_inserted, write.rows_updated, write.rows_deleted) == (1, 1, 1)
    assert describe_step(step).startswith(
        f"1 inserted, 1 updated, 1 deleted, version {write.version} ("
    )
    assert "1 inserted, 1 updated, 1 deleted" in result.render()
    log = read_run_log(spark, lakehouse).where(F.col("run_id") == "report")
    assert _rows(log, "table", "rows_inserted", "rows_updated", "rows_deleted", "rows_written") == [
        ("silver.accounts", 1, 1, 1, 2)
    ]


def test_a_late_change_record_does_not_undo_a_later_one(
    spark: SparkSession, lakehouse: str
) -> None:
    ops = DeltaOps.of(spark, f"{lakehouse}/crm")
    schema = "id STRING, seq INT, tier STRING, op STRING"

    def merge(rows: list[tuple[Any, ...]]) -> Any:
        feed = spark.createDataFrame(rows, schema)
        return ops.merge(feed, keys="id", sequence_by="seq", delete_when="op = 'D'")

    merge([("c1", 5, "gold", "U"), ("c2", 5, "gold", "U")])
    assert ops.read().columns == ["id", "seq", "tier"]  # op is read, not written
    late = merge([("c1", 3, "silver", "U"), ("c2", 4, "silver", "D"), ("c3", 1, "bronze", "U")])
    assert (late.rows_inserted, late.rows_updated, late.rows_deleted) == (1, 0, 0)
    assert _rows(ops.read(), "id", "seq", "tier") == [
        ("c1", 5, "gold"),
        ("c2", 5, "gold"),
        ("c3", 1, "bronze"),
    ]
    later = merge([("c1", 6, "platinum", "U"), ("c2", 6, None, "D")])
    assert (later.rows_updated, later.rows_deleted) == (1, 1)
    assert _rows(ops.read(), "id", "tier") == [("c1", "platinum"), ("c3", "bronze")]


# -- optimize after write ----------------------------------------------------------------------

BANDS = Table(
    "bands",
    "gold",
    schema="id BIGINT, band STRING",
    write=Overwrite(),
    optimize_after_write=True,
    zorder_by="band",
)


def test_optimize_after_write_z_orders_several_files_and_skips_a_single_small_one(
    spark: SparkSession, lakehouse: str
) -> None:
    pipeline = Pipeline("bands")

    @pipeline.step(BANDS)
    def bands(ctx: StepContext) -> DataFrame:
        rows = ctx.spark.range(40).select("id", (F.col("id") % 4).cast("string").alias("band"))
        return rows.repartition(int(ctx.param("files")))

    ops = DeltaOps.of(spark, BANDS, lakehouse)
    several = pipeline.run(spark, lakehouse, params={"files": "3"})
    assert several.succeeded
    assert [c.operation for c in ops.history()][:2] == ["OPTIMIZE", "WRITE"]
    assert ops.detail().num_files == 1

    # One small file: OPTIMIZE would rewrite it as it is, so no commit follows the write.
    single = pipeline.run(spark, lakehouse, params={"files": "1"})
    assert single.succeeded
    newest = ops.history()[0]
    assert (newest.operation, newest.version) == ("WRITE", single.steps[0].write.version)
    assert _rows(ops.read(), "id", "band") == [(i, str(i % 4)) for i in range(40)]
