"""Quality rules on a real Structured Streaming query; its writes are exactly-once on replay."""

from __future__ import annotations

from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from medallion import DeltaOps, Table, read_table
from medallion.delta import Transaction
from medallion.errors import QualityFailedError, RuleDefinitionError
from medallion.quality import checks
from medallion.quality.engine import evaluate_table
from medallion.quality.quarantine import read_quarantine, write_quarantine
from medallion.runner.runlog import read_run_log
from medallion.streaming import CheckedBatchWriter

SCHEMA = "order_id STRING, customer_id STRING, amount DOUBLE"
CUSTOMERS = Table("customers", "silver", schema="customer_id STRING", primary_keys="customer_id")
ORDERS = Table(
    "orders",
    "silver",
    schema=SCHEMA,
    primary_keys="order_id",
    rules=[
        checks.not_null("order_id"),
        checks.unique("order_id", against_target=True),
        checks.in_range("amount", 0, None),
        checks.exists_in("customer_id", CUSTOMERS),
        checks.in_range("amount", None, 1000, name="amount_plausible", action="warn"),
    ],
)


def _land(spark: SparkSession, path: str, rows: list[tuple[object, ...]]) -> None:
    spark.createDataFrame(rows, SCHEMA).write.format("delta").mode("append").save(path)


def _run(spark: SparkSession, source: str, writer: CheckedBatchWriter, checkpoint: str) -> None:
    query = (
        spark.readStream.format("delta")
        .load(source)
        .writeStream.foreachBatch(writer)
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination(300)
    if query.exception() is not None:
        raise AssertionError(str(query.exception()))


def _orders(spark: SparkSession, rows: list[tuple[object, ...]]) -> DataFrame:
    return spark.createDataFrame(rows, SCHEMA)


@pytest.fixture
def landing(spark: SparkSession, lakehouse: str) -> str:
    spark.createDataFrame([("c1",), ("c2",)], "customer_id STRING").write.format("delta").save(
        CUSTOMERS.location(lakehouse)
    )
    return f"{lakehouse}/landing_orders"


def test_stream_applies_rules_per_micro_batch_and_replays_exactly_once(
    spark: SparkSession, lakehouse: str, landing: str
) -> None:
    checkpoint = f"{lakehouse}/_checkpoints/orders"
    writer = CheckedBatchWriter(ORDERS, lakehouse, query_name="orders-stream", source="landing")
    _land(
        spark,
        landing,
        [
            ("o1", "c1", 10.0),
            ("o2", "c9", 5.0),  # unknown customer
            (None, "c1", 1.0),  # null key
            ("o3", "c2", -4.0),  # negative amount
            ("o4", "c2", 5000.0),  # implausible: warned, kept
        ],
    )
    _run(spark, landing, writer, checkpoint)
    _land(
        spark,
        landing,
        [
            ("o1", "c1", 11.0),  # key seen in an earlier micro-batch
            ("o5", "c1", 7.0),
        ],
    )
    _run(spark, landing, writer, checkpoint)

    expected = _orders(spark, [("o1", "c1", 10.0), ("o4", "c2", 5000.0), ("o5", "c1", 7.0)])
    assert_df_equality(read_table(spark, ORDERS, lakehouse), expected, ignore_row_order=True)
    quarantine = read_quarantine(spark, lakehouse, ORDERS.layer)
    reasons = sorted(
        (r["record"], sorted(r["rules"]), r["run_id"], r["source"])
        for r in quarantine.select(
            "record", F.col("failures.rule").alias("rules"), "run_id", "source"
        ).collect()
    )
    assert reasons == [
        ('{"customer_id":"c1","amount":1.0}', ["order_id_not_null"], "orders-stream:0", "landing"),
        (
            '{"order_id":"o1","customer_id":"c1","amount":11.0}',
            ["unique_order_id"],
            "orders-stream:1",
            "landing",
        ),
        (
            '{"order_id":"o2","customer_id":"c9","amount":5.0}',
            ["customer_id_exists_in_customers"],
            "orders-stream:0",
            "landing",
        ),
        (
            '{"order_id":"o3","customer_id":"c2","amount":-4.0}',
            ["amount_in_range"],
            "orders-stream:0",
            "landing",
        ),
    ]
    log = read_run_log(spark, lakehouse).where("pipeline = 'orders-stream'")
    counts = sorted(
        tuple(r)
        for r in log.select("run_id", "rows_read", "rows_written", "rows_quarantined").collect()
    )
    assert counts == [("orders-stream:0", 5, 2, 3), ("orders-stream:1", 2, 1, 1)]
    versions = DeltaOps.of(spark, ORDERS, lakehouse).version()

    # The crash Spark guards against: batch 1's writes are done but its commit is not in the
    # checkpoint. On restart Spark replays batch 1 with the same id; every write is skipped.
    for name in ("1", ".1.crc"):
        (Path(checkpoint) / "commits" / name).unlink(missing_ok=True)
    _run(spark, landing, writer, checkpoint)
    assert writer.outcomes[-1].batch_id == 1
    assert writer.outcomes[-1].write.version is None
    assert DeltaOps.of(spark, ORDERS, lakehouse).version() == versions
    assert_df_equality(read_table(spark, ORDERS, lakehouse), expected, ignore_row_order=True)
    assert read_quarantine(spark, lakehouse, ORDERS.layer).count() == 4
    assert read_run_log(spark, lakehouse).where("pipeline = 'orders-stream'").count() == 2


def test_a_batch_that_crashed_after_quarantining_is_completed_without_doubling(
    spark: SparkSession, lakehouse: str, landing: str
) -> None:
    events = Table(
        "events",
        "silver",
        schema=SCHEMA,
        primary_keys="order_id",
        rules=[checks.in_range("amount", 0, None)],
    )
    writer = CheckedBatchWriter(events, lakehouse, query_name="events", log_runs=False)
    batch = _orders(spark, [("e1", "c1", 1.0), ("e2", "c1", -1.0), ("e3", "c2", -2.0)])
    # The first attempt got as far as the quarantine write, then the driver died.
    first = evaluate_table(batch, events, lakehouse)
    write_quarantine(first, events, lakehouse, transaction=writer.transaction("quarantine", 3))
    first.release()
    writer(batch, 3)
    assert read_quarantine(spark, lakehouse, events.layer).count() == 2
    assert_df_equality(
        read_table(spark, events, lakehouse),
        _orders(spark, [("e1", "c1", 1.0)]),
    )
    # A later batch is written normally.
    writer(_orders(spark, [("e4", "c2", -9.0), ("e5", "c2", 9.0)]), 4)
    assert read_quarantine(spark, lakehouse, events.layer).count() == 3
    assert read_table(spark, events, lakehouse).count() == 2


def test_dataset_rules_are_refused_on_streams(lakehouse: str) -> None:
    table = Table(
        "t", "silver", schema=SCHEMA, primary_keys="order_id", rules=[checks.row_count(1, None)]
    )
    with pytest.raises(RuleDefinitionError, match=r"row_count.*batch step"):
        CheckedBatchWriter(table, lakehouse, query_name="q")


def test_a_failing_batch_writes_nothing_and_is_logged(spark: SparkSession, lakehouse: str) -> None:
    strict = Table(
        "strict",
        "silver",
        schema=SCHEMA,
        primary_keys="order_id",
        rules=[checks.in_range("amount", 0, None, action="fail")],
    )
    writer = CheckedBatchWriter(strict, lakehouse, query_name="strict")
    with pytest.raises(QualityFailedError, match="amount_in_range"):
        writer(_orders(spark, [("a", "c1", 1.0), ("b", "c1", -2.0)]), 0)
    assert not DeltaOps.of(spark, strict, lakehouse).exists() or (
        read_table(spark, strict, lakehouse).count() == 0
    )
    log = read_run_log(spark, lakehouse).collect()
    assert [(r["status"], "amount_in_range" in r["error"]) for r in log] == [("failed", True)]


def test_merge_and_append_with_a_transaction_commit_once(
    spark: SparkSession, lakehouse: str
) -> None:
    table = Table("accounts", "silver", schema="id STRING, balance INT", primary_keys="id")
    ops = DeltaOps.of(spark, table, lakehouse)
    first = spark.createDataFrame([("a", 1)], "id STRING, balance INT")
    assert ops.merge(first, transaction=Transaction("loader", 0)).rows_inserted == 1
    changed = spark.createDataFrame([("a", 2), ("b", 1)], "id STRING, balance INT")
    applied = ops.merge(changed, transaction=Transaction("loader", 1))
    assert (applied.rows_updated, applied.rows_inserted) == (1, 1)
    again = ops.merge(
        changed.withColumn("balance", F.lit(99)), transaction=Transaction("loader", 1)
    )
    assert again.version is None
    assert_df_equality(ops.read(), changed, ignore_row_order=True)
    # Another writer has its own sequence.
    assert ops.write(first, "overwrite", transaction=Transaction("other", 0)).version is not None
    assert_df_equality(ops.read(), first)
