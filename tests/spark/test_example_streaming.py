"""The e-commerce example's streaming side on a real broker: producer -> Kafka -> bronze ->
silver, as a stream and in batch.

The module produces the generator's transactions (with its own dirty records, and with
injected malformed messages and late events) in two rounds, ingests each round with an
available-now run, loads customers and products with the batch pipeline, then builds silver
from the bronze events both ways into two tables and compares them. The lakehouse and the
topic are shared by the module's tests.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from examples.ecommerce.generator import TransactionLine, generate
from examples.ecommerce.pipeline import pipeline as batch_pipeline
from examples.ecommerce.producer import ProduceResult, produce, stream_lines
from examples.ecommerce.streaming import (
    BRONZE_TRANSACTION_EVENTS,
    SILVER_TRANSACTION_EVENTS,
    silver_stream,
    silver_transaction_events,
)
from examples.ecommerce.streaming import ingest as ingest_events
from medallion import DeltaOps, Layer, Pipeline, RunResult, StepStatus, Table, changes
from medallion.quality.quarantine import read_quarantine
from medallion.streaming.kafka import dead_letter_location, kafka_bronze_table
from medallion.testing.kafka import KafkaBroker

#: The generator's arguments, shared by the batch files (customers, products) and the stream.
GENERATOR: dict[str, Any] = dict(transactions=1200, bad_share=0.05, seed=11, batches=1, days=2)
HALF = 600
MALFORMED_SHARE, LATE_SHARE = 0.05, 0.05
#: An hour: the injected late events are days behind, the on-time ones in order.
WATERMARK = "1 hour"
#: The batch way writes to a table of its own, to compare it with the stream's.
SILVER_BATCH = attrs.evolve(SILVER_TRANSACTION_EVENTS, name="transaction_events_batch")
BATCH_PIPELINE = Pipeline("streaming-test-batch-silver")
BATCH_PIPELINE.step(SILVER_BATCH, inputs=[changes(BRONZE_TRANSACTION_EVENTS)])(
    silver_transaction_events.fn
)
#: Generator kinds bronze cannot parse (not JSON; a value that does not fit its type).
UNPARSEABLE = ("malformed_json", "malformed_value")


@attrs.frozen
class Run:
    """The shared lakehouse and what the two rounds produced."""

    root: str
    bootstrap: str
    topic: str
    rounds: tuple[ProduceResult, ProduceResult]
    bronze_versions: tuple[int, int]


def _round(bootstrap: str, topic: str, skip: int, late_share: float) -> ProduceResult:
    return produce(
        bootstrap,
        topic,
        count=HALF,
        skip=skip,
        rate=0,
        malformed_share=MALFORMED_SHARE,
        late_share=late_share,
        **GENERATOR,
    )


def _sent(skip: int, late_share: float) -> list[tuple[TransactionLine, str | None]]:
    """One round's messages, as the producer sends them."""
    return stream_lines(
        count=HALF,
        skip=skip,
        malformed_share=MALFORMED_SHARE,
        late_share=late_share,
        **GENERATOR,
    )


def _ids(
    skip: int, late_share: float, kinds: tuple[str, ...], injected: str | None = None
) -> set[str]:
    """The transaction ids of one round's messages of the given generator kinds or injection."""
    return {
        line.transaction_id
        for line, inj in _sent(skip, late_share)
        if (injected is not None and inj == injected) or (inj is None and line.kind in kinds)
    }


def _single_quoted(skip: int, late_share: float) -> set[str]:
    """The generator's malformed lines written with single quotes (``{'transaction_id': ...}``).

    Spark's JSON parser accepts them unless told not to; the Kafka parser, like file
    ingestion, reads JSON strictly, so these lines are dead letters.
    """
    return {
        line.transaction_id
        for line, inj in _sent(skip, late_share)
        if inj is None and line.kind == "malformed_json" and line.text.startswith("{'")
    }


def _bronze(spark: SparkSession, root: str) -> DataFrame:
    return DeltaOps.of(spark, kafka_bronze_table(BRONZE_TRANSACTION_EVENTS), root).read()


def _dead(spark: SparkSession, root: str) -> DataFrame:
    return spark.read.format("delta").load(dead_letter_location(root))


def _version(spark: SparkSession, root: str, table: Table) -> int:
    stored = kafka_bronze_table(table) if table.layer is Layer.BRONZE else table
    return DeltaOps.of(spark, stored, root).version()


@pytest.fixture(scope="module")
def run(
    spark: SparkSession, kafka_broker: KafkaBroker, tmp_path_factory: pytest.TempPathFactory
) -> Run:
    base = tmp_path_factory.mktemp("streaming")
    root = str(base / "lakehouse")
    topic = "example-transactions"
    kafka_broker.create_topic(topic, partitions=2)
    bootstrap = kafka_broker.bootstrap_servers
    # Round 1: on time (the first micro-batch has no watermark to be late against).
    first = _round(bootstrap, topic, 0, late_share=0.0)
    ingest_events(spark, bootstrap, topic, root, available_now=True, watermark=WATERMARK)
    after_first = _version(spark, root, BRONZE_TRANSACTION_EVENTS)
    # Round 2: later transactions, some of them days late.
    second = _round(bootstrap, topic, HALF, late_share=LATE_SHARE)
    ingest_events(spark, bootstrap, topic, root, available_now=True, watermark=WATERMARK)
    after_second = _version(spark, root, BRONZE_TRANSACTION_EVENTS)
    # The dimensions, from the batch generator's files with the same arguments.
    generate(base / "landing", **GENERATOR)
    dims = batch_pipeline.run(
        spark,
        root,
        ["bronze_customers", "bronze_products", "silver_customers", "silver_products"],
        downstream=False,
        params={"landing": base / "landing"},
        log=False,
    )
    assert dims.succeeded
    return Run(root, bootstrap, topic, (first, second), (after_first, after_second))


def test_every_message_is_a_bronze_row_or_a_dead_letter(spark: SparkSession, run: Run) -> None:
    first, second = run.rounds
    for result in run.rounds:
        assert (result.produced, result.delivered, result.failed, result.pending) == (
            HALF,
            HALF,
            0,
            0,
        )
        assert result.malformed == round(MALFORMED_SHARE * HALF) == 30
    assert (first.late, second.late) == (0, 30)

    bronze, dead = _bronze(spark, run.root), _dead(spark, run.root)
    unparseable = sum(r.dirty.get(k, 0) for r in run.rounds for k in UNPARSEABLE)
    single_quoted = _single_quoted(0, 0.0) | _single_quoted(HALF, LATE_SHARE)
    assert unparseable == 16 and len(single_quoted) == 1
    assert dead.count() == first.malformed + second.malformed + unparseable == 76
    assert bronze.count() + dead.count() == 2 * HALF
    offsets = bronze.select(
        F.col("_kafka_partition").alias("partition"), F.col("_kafka_offset").alias("offset")
    ).unionByName(dead.select("partition", "offset"))
    assert offsets.distinct().count() == 2 * HALF

    # The dead letters are exactly the messages that are not JSON or do not fit the schema.
    expected_dead = _ids(0, 0.0, UNPARSEABLE, "malformed") | _ids(
        HALF, LATE_SHARE, UNPARSEABLE, "malformed"
    )
    # JSON with single quotes is not JSON: dead letters, as in file ingestion.
    assert bronze.where(F.col("transaction_id").isin(*single_quoted)).count() == 0
    assert_df_equality(
        dead.select(F.col("key").cast("string").alias("id")).orderBy("id"),
        spark.createDataFrame([(i,) for i in sorted(expected_dead)], "id STRING"),
        ignore_nullable=True,
    )
    reasons = {r["reason"] for r in dead.select("reason").distinct().collect()}
    assert "malformed JSON message" in reasons
    assert all(
        r == "malformed JSON message" or r.startswith("value does not fit its column type")
        for r in reasons
    )


def test_late_events_are_flagged_against_the_watermark(spark: SparkSession, run: Run) -> None:
    bronze = _bronze(spark, run.root)
    stored = kafka_bronze_table(BRONZE_TRANSACTION_EVENTS)
    first = DeltaOps.of(spark, stored, run.root).read(version=run.bronze_versions[0])
    # Round 1 was the query's first micro-batch: no watermark yet, nothing late.
    unparseable = sum(run.rounds[0].dirty.get(k, 0) for k in UNPARSEABLE)
    dead = run.rounds[0].malformed + unparseable
    assert first.count() == HALF - dead
    assert first.where("_late").count() == 0
    # Round 2 (one micro-batch) is judged against round 1's latest event time minus an hour.
    latest = first.agg(F.max("event_time")).first()
    assert latest is not None
    watermark = latest[0] - dt.timedelta(hours=1)
    position = ["_kafka_partition", "_kafka_offset"]
    second = bronze.join(first.select(*position), position, "left_anti")
    assert second.count() + first.count() == bronze.count()
    assert_df_equality(
        bronze.where("_late").select(*position).orderBy(*position),
        second.where(F.col("event_time") < watermark).select(*position).orderBy(*position),
    )
    # Those are the injected late events, the generator's late records and the generator's
    # duplicates of round-1 lines that arrived in round 2.
    flagged = {r[0] for r in bronze.where("_late").select("transaction_id").collect()}
    late = _ids(HALF, LATE_SHARE, ("late",), "late")
    assert len(late) == run.rounds[1].late + run.rounds[1].dirty["late"] == 30 + 2
    duplicates = _ids(HALF, LATE_SHARE, ("duplicate",))
    assert late <= flagged and flagged - late <= duplicates
    assert bronze.where("_late").count() == len(flagged) == 32 + len(flagged - late) == 33


def _silver(spark: SparkSession, root: str, table: Table) -> DataFrame:
    return DeltaOps.of(spark, table, root).read()


def _quarantined_ids(spark: SparkSession, root: str, table: str) -> DataFrame:
    return (
        read_quarantine(spark, root, Layer.SILVER)
        .where(F.col("table") == table)
        .select(F.get_json_object("record", "$.transaction_id").alias("transaction_id"))
        .distinct()
        .orderBy(F.col("transaction_id").asc_nulls_first())
    )


def test_silver_as_a_stream_and_in_batch_agree_and_reruns_write_nothing(
    spark: SparkSession, run: Run
) -> None:
    root = run.root
    silver_stream(spark, root, available_now=True)
    batch: RunResult = BATCH_PIPELINE.run(spark, root, log=False)
    assert batch.succeeded

    streamed, batched = (
        _silver(spark, root, SILVER_TRANSACTION_EVENTS),
        _silver(spark, root, SILVER_BATCH),
    )
    assert_df_equality(streamed, batched, ignore_row_order=True)
    bronze_ids = _bronze(spark, root).select("transaction_id").distinct().count()
    assert bronze_ids / 2 < streamed.count() < bronze_ids  # some lines were quarantined
    # The same lines were quarantined either way (the stream sees one row per duplicated id).
    assert_df_equality(
        _quarantined_ids(spark, root, SILVER_TRANSACTION_EVENTS.qualified_name),
        _quarantined_ids(spark, root, SILVER_BATCH.qualified_name),
    )

    versions = {
        t.qualified_name: _version(spark, root, t)
        for t in (BRONZE_TRANSACTION_EVENTS, SILVER_TRANSACTION_EVENTS, SILVER_BATCH)
    }
    assert versions[BRONZE_TRANSACTION_EVENTS.qualified_name] == run.bronze_versions[1]
    ingest_events(spark, run.bootstrap, run.topic, root, available_now=True, watermark=WATERMARK)
    silver_stream(spark, root, available_now=True)
    again = BATCH_PIPELINE.run(spark, root, log=False)
    step = again.step(SILVER_BATCH.qualified_name)
    assert step.status is StepStatus.UP_TO_DATE and step.write is None
    assert versions == {
        t.qualified_name: _version(spark, root, t)
        for t in (BRONZE_TRANSACTION_EVENTS, SILVER_TRANSACTION_EVENTS, SILVER_BATCH)
    }


def test_producer_is_deterministic_and_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="malformed_share"):
        stream_lines(count=10, malformed_share=1.5)
    with pytest.raises(ValueError, match="count must be in"):
        stream_lines(count=30, skip=1180, **GENERATOR)
    sent = stream_lines(count=200, late_share=0.1, **GENERATOR)
    assert sent == stream_lines(count=200, late_share=0.1, **GENERATOR)
    assert sum(inj == "late" for _, inj in sent) == 20
