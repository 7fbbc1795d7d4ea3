"""DeltaOps on real Delta tables: history, time travel, restore, diff, MERGE, SCD2, evolution,
incremental reads, maintenance, concurrency and atomicity."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from medallion import Changes, DeltaOps, Lakehouse, RetryPolicy, Table
from medallion.delta._target import Target
from medallion.errors import (
    ConcurrentWriteError,
    DeltaOperationError,
    SchemaEvolutionError,
)
from medallion.runner import consumed_tags, read_changes

SCHEMA = "id STRING NOT NULL, name STRING, amount DOUBLE"
COLUMNS = ["id", "name", "amount"]
ITEMS = Table("items", "silver", schema=SCHEMA, primary_keys="id")


def frame(spark: SparkSession, rows: list[tuple[Any, ...]], schema: str = SCHEMA) -> DataFrame:
    return spark.createDataFrame(rows, schema.replace(" NOT NULL", ""))


def same(actual: DataFrame, expected: DataFrame) -> None:
    assert_df_equality(
        actual,
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
        ignore_column_order=True,
    )


@pytest.fixture
def items(spark: SparkSession, lakehouse: str) -> DeltaOps:
    ops = DeltaOps.of(spark, ITEMS, lakehouse)
    ops.write(frame(spark, [("a", "apple", 1.0), ("b", "bread", 2.0)]), "append", run_id="r1")
    ops.merge(frame(spark, [("b", "bagel", 2.5), ("c", "cake", 3.0)]), run_id="r2")  # v2
    return ops


# -- history, time travel, restore, diff ---------------------------------------------------------


def test_history_lists_commits_with_metrics_and_run_ids(items: DeltaOps) -> None:
    history = items.history()
    assert [(c.version, c.operation, c.run_id) for c in history] == [
        (2, "MERGE", "r2"),
        (1, "WRITE", "r1"),
        (0, "CREATE TABLE", None),
    ]
    assert history[0].metrics["numTargetRowsInserted"] == 1
    assert history[0].metrics["numTargetRowsUpdated"] == 1
    assert history[1].metrics["numOutputRows"] == 2
    assert items.version() == 2


def test_time_travel_by_version_and_by_timestamp(spark: SparkSession, items: DeltaOps) -> None:
    same(items.read(version=1), frame(spark, [("a", "apple", 1.0), ("b", "bread", 2.0)]))
    commits = {c.version: c.timestamp for c in items.history()}
    between = commits[1] + (commits[2] - commits[1]) / 2
    same(items.read(timestamp=between), items.read(version=1))
    same(items.read(timestamp=commits[2]), items.read())
    with pytest.raises(DeltaOperationError, match=r"version 7 does not exist \(0 to 2\)"):
        items.read(version=7)
    with pytest.raises(DeltaOperationError, match="not both"):
        items.read(version=1, timestamp=between)


def test_restore_to_a_version_and_to_a_timestamp(spark: SparkSession, items: DeltaOps) -> None:
    v1_time = {c.version: c.timestamp for c in items.history()}[1]
    commit = items.restore(version=1)
    assert (commit.version, commit.operation) == (3, "RESTORE")
    same(items.read(), frame(spark, [("a", "apple", 1.0), ("b", "bread", 2.0)]))
    items.restore(version=2)
    same(items.read(), items.read(version=2))
    items.restore(timestamp=v1_time)
    same(items.read(), items.read(version=1))
    with pytest.raises(DeltaOperationError, match="exactly one of version or timestamp"):
        items.restore()
    with pytest.raises(DeltaOperationError, match="cannot restore version 99"):
        items.restore(version=99)


def test_diff_shows_rows_added_and_removed(spark: SparkSession, items: DeltaOps) -> None:
    diff = items.diff(1, 2)
    same(diff.added, frame(spark, [("b", "bagel", 2.5), ("c", "cake", 3.0)]))
    same(diff.removed, frame(spark, [("b", "bread", 2.0)]))
    assert (diff.from_version, diff.to_version) == (1, 2)


# -- MERGE -------------------------------------------------------------------------------


def test_merge_updates_only_changed_rows(spark: SparkSession, items: DeltaOps) -> None:
    result = items.merge(
        frame(spark, [("a", "apple", 1.0), ("b", "bagel", 2.5), ("c", "cupcake", 3.0)])
    )
    assert (result.rows_inserted, result.rows_updated, result.rows_deleted) == (0, 1, 0)
    unchanged = items.merge(frame(spark, [("a", "apple", 1.0)]))
    assert (unchanged.rows_inserted, unchanged.rows_updated) == (0, 0)
    same(
        items.read(),
        frame(spark, [("a", "apple", 1.0), ("b", "bagel", 2.5), ("c", "cupcake", 3.0)]),
    )


def test_merge_deduplicates_the_source_by_an_ordering_column(
    spark: SparkSession, lakehouse: str
) -> None:
    schema = "id STRING, name STRING, amount DOUBLE, updated_at TIMESTAMP"
    table = Table("events", "silver", schema=schema, primary_keys="id")
    ops = DeltaOps.of(spark, table, lakehouse)
    t = dt.datetime(2026, 1, 1)
    source = spark.createDataFrame(
        [
            ("a", "old", 1.0, t),
            ("a", "new", 2.0, t + dt.timedelta(hours=1)),
            ("a", "older", 0.5, t - dt.timedelta(hours=1)),
            ("b", "only", 5.0, t),
            (None, "no key", 9.0, t),
        ],
        schema,
    )
    result = ops.merge(source, sequence_by="updated_at")
    assert (result.source_rows, result.duplicates_removed, result.null_keys_dropped) == (5, 2, 1)
    assert result.rows_inserted == 2
    again = ops.merge(source, sequence_by="updated_at")
    assert (again.rows_inserted, again.rows_updated, again.duplicates_removed) == (0, 0, 2)
    same(
        ops.read(),
        spark.createDataFrame(
            [("a", "new", 2.0, t + dt.timedelta(hours=1)), ("b", "only", 5.0, t)], schema
        ),
    )


def test_merge_with_a_delete_condition(spark: SparkSession, items: DeltaOps) -> None:
    source = spark.createDataFrame(
        [("a", "apple", 1.0, "D"), ("d", "donut", 4.0, "U")],
        "id STRING, name STRING, amount DOUBLE, op STRING",
    )
    result = items.merge(source.drop("op"), delete_when="s.name = 'apple'")
    assert (result.rows_deleted, result.rows_inserted) == (1, 1)
    same(
        items.read(),
        frame(spark, [("b", "bagel", 2.5), ("c", "cake", 3.0), ("d", "donut", 4.0)]),
    )


def test_merge_needs_keys(spark: SparkSession, lakehouse: str) -> None:
    ops = DeltaOps.of(spark, f"{lakehouse}/bare")
    with pytest.raises(DeltaOperationError, match="MERGE needs key columns"):
        ops.merge(frame(spark, [("a", "x", 1.0)]))


# -- SCD type 2 ----------------------------------------------------------------------------

DIM = Table(
    "dim_customers",
    "gold",
    schema="customer_id STRING, city STRING, tier STRING, email STRING, "
    "valid_from TIMESTAMP, valid_to TIMESTAMP, is_current BOOLEAN",
    primary_keys=["customer_id", "valid_from"],
)
DIM_SOURCE = "customer_id STRING, city STRING, tier STRING, email STRING"


def test_scd2_versions_a_changed_customer_and_ignores_unchanged_ones(
    spark: SparkSession, lakehouse: str
) -> None:
    ops = DeltaOps.of(spark, DIM, lakehouse)
    day1, day2, day3 = dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2), dt.datetime(2026, 1, 3)
    first = ops.merge_scd2(
        spark.createDataFrame(
            [("c1", "Oslo", "gold", "a@x"), ("c2", "Rome", "silver", "b@x")], DIM_SOURCE
        ),
        keys=["customer_id"],
        tracked=["city", "tier"],
        effective_at=day1,
    )
    assert first.rows_inserted == 2
    second = ops.merge_scd2(
        spark.createDataFrame(
            [
                ("c1", "Bergen", "gold", "a@x"),
                ("c2", "Rome", "silver", "b@y"),
                ("c3", "Nice", "gold", "c@x"),
            ],
            DIM_SOURCE,
        ),
        keys=["customer_id"],
        tracked=["city", "tier"],
        effective_at=day2,
    )
    # c1 moved: its row is closed and a new one inserted; c2 changed only its (untracked) email,
    # updated in place; c3 is new.
    assert (second.rows_inserted, second.rows_updated) == (2, 2)
    unchanged = ops.merge_scd2(
        spark.createDataFrame([("c1", "Bergen", "gold", "a@x")], DIM_SOURCE),
        keys=["customer_id"],
        tracked=["city", "tier"],
        effective_at=day3,
    )
    assert (unchanged.rows_inserted, unchanged.rows_updated) == (0, 0)
    same(
        ops.read(),
        spark.createDataFrame(
            [
                ("c1", "Oslo", "gold", "a@x", day1, day2, False),
                ("c1", "Bergen", "gold", "a@x", day2, None, True),
                ("c2", "Rome", "silver", "b@y", day1, None, True),
                ("c3", "Nice", "gold", "c@x", day2, None, True),
            ],
            "customer_id STRING, city STRING, tier STRING, email STRING, "
            "valid_from TIMESTAMP, valid_to TIMESTAMP, is_current BOOLEAN",
        ),
    )


# -- schema evolution ----------------------------------------------------------------------


def test_new_columns_are_added_only_when_the_table_allows_evolution(
    spark: SparkSession, lakehouse: str
) -> None:
    wider = frame(spark, [("e", "egg", 5.0, 7)], SCHEMA + ", points INT")
    strict = DeltaOps.of(spark, ITEMS, lakehouse)
    strict.merge(frame(spark, [("a", "apple", 1.0)]))
    with pytest.raises(
        SchemaEvolutionError, match=r"column 'points' \(int\) is new .*schema_evolution=True"
    ):
        strict.merge(wider)

    evolving = Table("items", "silver", schema=SCHEMA, primary_keys="id", schema_evolution=True)
    ops = DeltaOps.of(spark, evolving, lakehouse)
    merged = ops.merge(wider)
    assert merged.rows_inserted == 1
    ops.write(frame(spark, [("f", "fig", 6.0, 8)], SCHEMA + ", points INT"), "append")
    same(
        ops.read(),
        frame(
            spark,
            [("a", "apple", 1.0, None), ("e", "egg", 5.0, 7), ("f", "fig", 6.0, 8)],
            SCHEMA + ", points INT",
        ),
    )


def test_incompatible_changes_fail_listing_each_difference(
    spark: SparkSession, items: DeltaOps
) -> None:
    bad = spark.createDataFrame([("x", "1")], "name STRING, amount STRING")
    with pytest.raises(SchemaEvolutionError) as caught:
        items.write(bad, "append")
    assert str(caught.value) == (
        "table 'silver.items': the data does not fit the schema: "
        "key column 'id' (string) is missing from the data; "
        "column 'amount': string in the data cannot be stored as double without loss"
    )
    narrowed = spark.createDataFrame([("x", "n", 1)], "id STRING, name STRING, amount INT")
    assert [str(c) for c in items.schema_changes(narrowed)] == [
        "column 'amount' widens from int to double"
    ]


def test_add_columns_explicitly(spark: SparkSession, items: DeltaOps) -> None:
    schema = items.add_columns("channel STRING, score DOUBLE")
    assert schema.fieldNames() == ["id", "name", "amount", "channel", "score"]
    assert items.read().where("channel IS NOT NULL").count() == 0
    with pytest.raises(SchemaEvolutionError, match="channel already exist"):
        items.add_columns("channel STRING")


# -- incremental processing ----------------------------------------------------------------

RAW = Table(
    "items",
    "bronze",
    schema="id STRING, name STRING, amount DOUBLE",
    properties={"delta.enableChangeDataFeed": "true"},
)


def _upserts(found: Changes) -> DataFrame:
    return found.upserts().select(*COLUMNS)


def test_a_consumer_reads_only_what_it_has_not_processed(
    spark: SparkSession, lakehouse: str
) -> None:
    lake = Lakehouse(spark, lakehouse)
    source = DeltaOps.of(spark, RAW, lakehouse)
    target = DeltaOps.of(spark, ITEMS, lakehouse)
    source.write(frame(spark, [("a", "apple", 1.0), ("b", "bread", 2.0)]), "append")

    first = read_changes(lake, ITEMS, [RAW])["bronze.items"]
    assert first.is_full and not first.is_empty
    target.merge(_upserts(first), tags=consumed_tags([first]))

    nothing = read_changes(lake, ITEMS, [RAW])["bronze.items"]
    assert nothing.is_empty and nothing.rows.count() == 0

    source.write(frame(spark, [("c", "cake", 3.0)]), "append")
    source.write(frame(spark, [("a", "apricot", 1.5)]), "append")
    second = read_changes(lake, ITEMS, [RAW])["bronze.items"]
    assert (second.from_version, second.to_version) == (first.to_version + 1, first.to_version + 2)
    same(_upserts(second), frame(spark, [("c", "cake", 3.0), ("a", "apricot", 1.5)]))

    # A crash after reading, before writing, loses nothing: the same rows come again.
    again = read_changes(lake, ITEMS, [RAW])["bronze.items"]
    same(again.rows, second.rows)
    result = target.merge(_upserts(again), tags=consumed_tags([again]))
    assert (result.rows_inserted, result.rows_updated) == (1, 1)
    assert read_changes(lake, ITEMS, [RAW])["bronze.items"].is_empty
    same(
        target.read(),
        frame(spark, [("a", "apricot", 1.5), ("b", "bread", 2.0), ("c", "cake", 3.0)]),
    )


def test_restoring_the_target_rewinds_the_consumer(spark: SparkSession, lakehouse: str) -> None:
    lake = Lakehouse(spark, lakehouse)
    source = DeltaOps.of(spark, RAW, lakehouse)
    target = DeltaOps.of(spark, ITEMS, lakehouse)
    source.write(frame(spark, [("a", "apple", 1.0)]), "append")
    first = read_changes(lake, ITEMS, [RAW])["bronze.items"]
    target.merge(_upserts(first), tags=consumed_tags([first]))
    before = target.version()
    source.write(frame(spark, [("b", "bread", 2.0)]), "append")
    second = read_changes(lake, ITEMS, [RAW])["bronze.items"]
    target.merge(_upserts(second), tags=consumed_tags([second]))
    target.restore(version=before)
    rewound = read_changes(lake, ITEMS, [RAW])["bronze.items"]
    assert rewound.from_version == first.to_version + 1
    same(_upserts(rewound), frame(spark, [("b", "bread", 2.0)]))


def test_changes_need_the_change_data_feed(spark: SparkSession, items: DeltaOps) -> None:
    with pytest.raises(DeltaOperationError, match="Change Data Feed is not enabled"):
        items.changes(1)
    items.enable_change_data_feed()
    assert items.change_data_feed_enabled()
    items.merge(frame(spark, [("a", "avocado", 1.0)]))
    changes = items.changes(items.version())
    assert sorted(r["_change_type"] for r in changes.collect()) == [
        "update_postimage",
        "update_preimage",
    ]


# -- maintenance ---------------------------------------------------------------------------


def test_optimize_compacts_and_zorders(spark: SparkSession, lakehouse: str) -> None:
    table = Table(
        "facts",
        "gold",
        schema="day STRING, shop STRING, amount DOUBLE",
        partition_by="day",
        zorder_by="shop",
    )
    ops = DeltaOps.of(spark, table, lakehouse)
    for i in range(4):
        ops.write(
            spark.createDataFrame(
                [("d1", f"s{i}", float(i)), ("d2", f"s{i}", 1.0)],
                "day STRING, shop STRING, amount DOUBLE",
            ).repartition(2),
            "append",
        )
    before = ops.detail()
    assert before.num_files >= 8 and before.partition_columns == ("day",)
    result = ops.optimize()
    assert result.zorder_by == ("shop",) and result.files_added == 2
    assert result.files_removed == before.num_files
    assert ops.detail().num_files == 2
    assert ops.last_commit().parameters["zOrderBy"] == '["shop"]'
    assert ops.optimize(where="day = 'd1'").version is None or ops.detail().num_files == 2


def test_vacuum_refuses_a_short_retention_unless_forced(
    spark: SparkSession, lakehouse: str
) -> None:
    table = Table("facts", "gold", schema="k STRING")
    ops = DeltaOps.of(spark, table, lakehouse)
    for i in range(3):
        ops.write(spark.createDataFrame([(str(i),)], "k STRING"), "overwrite")
    with pytest.raises(DeltaOperationError, match="under the safe minimum of 168"):
        ops.vacuum(1)
    assert ops.vacuum().files_deleted == 0
    dry = ops.vacuum(0, force=True, dry_run=True)
    assert dry.dry_run and dry.files_deleted > 0
    files = ops.detail().num_files
    assert ops.vacuum(0, force=True).files_deleted == dry.files_deleted
    assert ops.detail().num_files == files
    assert ops.vacuum(0, force=True, dry_run=True).files_deleted == 0
    assert ops.read().collect() == [("2",)]
    assert spark.conf.get("spark.databricks.delta.retentionDurationCheck.enabled", "true") == "true"


# -- concurrency and atomicity -------------------------------------------------------------


def test_concurrent_merges_end_as_if_run_one_after_the_other(
    spark: SparkSession, lakehouse: str
) -> None:
    ops = DeltaOps.of(spark, ITEMS, lakehouse, retry=RetryPolicy(attempts=8, initial_delay=0.1))
    ops.merge(frame(spark, [(f"k{i}", "base", 0.0) for i in range(20)]))
    batches = [
        frame(spark, [(f"k{i}", "left", 1.0) for i in range(0, 12)] + [("l-new", "left", 1.0)]),
        frame(spark, [(f"k{i}", "right", 2.0) for i in range(12, 20)] + [("r-new", "right", 2.0)]),
    ]
    errors: list[BaseException] = []

    def run(batch: DataFrame) -> None:
        try:
            ops.merge(batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    expected = (
        [(f"k{i}", "left", 1.0) for i in range(12)]
        + [(f"k{i}", "right", 2.0) for i in range(12, 20)]
        + [("l-new", "left", 1.0), ("r-new", "right", 2.0)]
    )
    same(ops.read(), frame(spark, expected))
    assert [c.operation for c in ops.history(2)] == ["MERGE", "MERGE"]


def test_conflicts_are_retried_then_fail_clearly(spark: SparkSession, items: DeltaOps) -> None:
    from delta.exceptions import ConcurrentAppendException

    calls: list[float] = []

    def always_conflicts() -> None:
        calls.append(time.monotonic())
        raise ConcurrentAppendException("simulated conflict")

    impatient = Target(spark, items.location, table=ITEMS, retry=RetryPolicy(3, 0.01, 0.05))
    with pytest.raises(ConcurrentWriteError, match=r"still conflicted .* after 3 attempts"):
        impatient.retrying("MERGE", always_conflicts)
    assert len(calls) == 3


def test_a_failed_write_leaves_the_previous_version(spark: SparkSession, items: DeltaOps) -> None:
    before = items.version()
    rows = frame(spark, [(f"n{i}", "new", float(i)) for i in range(1000)]).repartition(4)
    failing = rows.withColumn(
        "amount",
        F.when(F.col("id") == "n700", F.raise_error(F.lit("simulated failure"))).otherwise(
            F.col("amount")
        ),
    )
    with pytest.raises(Exception, match="simulated failure"):
        items.write(failing, "append")
    assert items.version() == before
    same(items.read(), items.read(version=before))
    assert items.read().count() == 3


def test_time_travel_with_a_session_time_zone_other_than_the_process_one(
    spark: SparkSession, items: DeltaOps
) -> None:
    commits = {c.version: c.timestamp for c in items.history()}
    between = commits[1] + (commits[2] - commits[1]) / 2
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        same(items.read(timestamp=between), items.read(version=1))
        aware = between.astimezone(dt.timezone.utc)
        same(items.read(timestamp=aware), items.read(version=1))
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
