"""Kafka → Structured Streaming → bronze Delta on a real broker: parsing, dead letters, late
rows, and exactly-once across a stopped query and a killed driver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chispa import assert_df_equality
from confluent_kafka import Producer
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from medallion import Table
from medallion.errors import MedallionError
from medallion.runner.runlog import read_run_log
from medallion.streaming.kafka import (
    BronzeStreamWriter,
    KafkaSource,
    dead_letter_location,
    kafka_bronze_table,
    stream_to_bronze,
)
from medallion.testing.kafka import KafkaBroker

EVENTS = Table("events", "bronze", schema="id STRING NOT NULL, amount DOUBLE, at TIMESTAMP")
REPO = Path(__file__).resolve().parents[2]


def _produce(broker: KafkaBroker, topic: str, messages: list[tuple[str | None, bytes]]) -> None:
    delivered: list[object] = []
    failed: list[object] = []

    def report(error: object, message: object) -> None:
        (failed if error is not None else delivered).append(error or message)

    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 5})
    for key, value in messages:
        producer.produce(topic, key=key, value=value, on_delivery=report)
        producer.poll(0)
    producer.flush(30)
    assert not failed and len(delivered) == len(messages)


def _event(i: int) -> tuple[str, bytes]:
    at = f"2026-03-01T{i // 60:02d}:{i % 60:02d}:00"
    return f"e{i}", json.dumps({"id": f"e{i}", "amount": i * 1.5, "at": at}).encode()


def _bronze(spark: SparkSession, root: str) -> DataFrame:
    return spark.read.format("delta").load(EVENTS.location(root))


def _dead(spark: SparkSession, root: str) -> DataFrame:
    return spark.read.format("delta").load(dead_letter_location(root))


def _wait_for_batches(query: object, batches: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = [p for p in query.recentProgress if p["numInputRows"] > 0]  # type: ignore[attr-defined]
        if len(progress) >= batches:
            return
        time.sleep(0.2)
    raise AssertionError(f"the query did not process {batches} batches in {timeout} s")


def test_stream_parses_dead_letters_flags_late_rows_and_resumes_exactly_once(
    spark: SparkSession, lakehouse: str, kafka_broker: KafkaBroker
) -> None:
    topic = "events-resume"
    kafka_broker.create_topic(topic, partitions=2)
    good = [_event(i) for i in range(100)]
    _produce(kafka_broker, topic, good)
    source = KafkaSource(kafka_broker.bootstrap_servers, topic, max_offsets_per_trigger=30)
    checkpoint = f"{lakehouse}/_checkpoints/events"
    options = dict(checkpoint=checkpoint, query_name="events", event_time="at", watermark="1 hour")

    query = stream_to_bronze(
        spark, source, EVENTS, lakehouse, trigger="500 milliseconds", **options
    )  # type: ignore[arg-type]
    _wait_for_batches(query, 2)
    query.stop()
    stopped_at = _bronze(spark, lakehouse).count()
    assert 0 < stopped_at < 100

    bad = [
        *[(None, b"not json {") for _ in range(6)],
        *[("m", b'{"id": "m", "amount": "lots", "at": "2026-03-01T00:00:00"}') for _ in range(4)],
        *[(None, b'{"amount": 1.0}') for _ in range(3)],
        (None, b"[1, 2]"),
    ]
    late = [  # a day behind everything else
        (f"e{i}", json.dumps({"id": f"e{i}", "amount": 1.0, "at": "2026-02-28T12:00:00"}).encode())
        for i in (1000, 1001, 1002)
    ]
    _produce(kafka_broker, topic, bad + late)
    query = stream_to_bronze(spark, source, EVENTS, lakehouse, available_now=True, **options)  # type: ignore[arg-type]
    query.awaitTermination(180)
    assert query.exception() is None

    bronze = _bronze(spark, lakehouse)
    dead = _dead(spark, lakehouse)
    total = len(good) + len(bad) + len(late)
    assert bronze.count() + dead.count() == total
    offsets = bronze.select(
        F.col("_kafka_topic").alias("topic"),
        F.col("_kafka_partition").alias("partition"),
        F.col("_kafka_offset").alias("offset"),
    ).unionByName(dead.select("topic", "partition", "offset"))
    assert offsets.distinct().count() == total

    assert_df_equality(
        bronze.where("_late").select("id").orderBy("id"),
        spark.createDataFrame([("e1000",), ("e1001",), ("e1002",)], "id STRING"),
        ignore_nullable=True,
    )
    assert bronze.where("NOT _late").count() == 100
    reasons = {r["reason"]: r["count"] for r in dead.groupBy("reason").count().collect()}
    assert reasons == {
        "malformed JSON message": 7,
        "value does not fit its column type: amount (double)": 4,
        "null in NOT NULL column(s): id": 3,
    }
    assert dead.where("value = CAST('not json {' AS BINARY)").count() == 6
    row = bronze.where("id = 'e7'").first()
    assert row is not None and row["amount"] == 10.5 and row["_kafka_key"] == "e7"
    assert row["_source_file"].startswith(f"kafka:{topic}/")

    log = read_run_log(spark, lakehouse).where("pipeline = 'events'")
    totals = log.agg(F.sum("rows_read"), F.sum("rows_written")).first()
    assert totals is not None and (totals[0], totals[1]) == (total, 103)


def test_killing_the_driver_mid_stream_loses_and_doubles_nothing(
    spark: SparkSession, lakehouse: str, kafka_broker: KafkaBroker
) -> None:
    topic = "events-kill"
    kafka_broker.create_topic(topic, partitions=2)
    messages = [_event(i) for i in range(400)]
    _produce(kafka_broker, topic, messages)
    checkpoint = f"{lakehouse}/_checkpoints/events-kill"
    args = [kafka_broker.bootstrap_servers, topic, lakehouse, checkpoint]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.spark.kafka_ingest_child", *args, "stream"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    log = Path(EVENTS.location(lakehouse)) / "_delta_log"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            commits = list(log.glob("*.json")) if log.exists() else []
            if len(commits) >= 4:  # the CREATE and three micro-batches
                break
            assert child.poll() is None, "the streaming driver exited early"
            time.sleep(0.1)
        else:
            raise AssertionError("the streaming driver wrote nothing in time")
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the driver and its JVM, mid-stream
        child.wait(30)
    killed_at = _bronze(spark, lakehouse).count()
    assert 0 < killed_at < len(messages)

    # A new driver (this process) continues from the dead one's checkpoint. A micro-batch the
    # dead driver planned but did not commit is replayed with its logged offsets; the rest is
    # read without the child's 40-message cap (fewer micro-batches, the same guarantees).
    source = KafkaSource(kafka_broker.bootstrap_servers, topic)
    stream_to_bronze(
        spark,
        source,
        EVENTS,
        lakehouse,
        checkpoint=checkpoint,
        query_name="events-child",
        available_now=True,
        log_runs=False,
    )
    bronze = _bronze(spark, lakehouse)
    assert bronze.count() == len(messages)
    assert bronze.select("_kafka_partition", "_kafka_offset").distinct().count() == len(messages)
    assert bronze.select("id").distinct().count() == len(messages)


def test_secrets_stay_out_of_repr_and_errors_name_the_table(lakehouse: str) -> None:
    source = KafkaSource(
        "b:9092",
        ["a", "b"],
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        username="svc",
        password="s3cr3t",
        options={"kafka.ssl.truststore.password": "changeit", "kafka.client.id": "x"},
    )
    shown = repr(source)
    assert "s3cr3t" not in shown and "changeit" not in shown and "'kafka.client.id': 'x'" in shown
    options = source.spark_options()
    assert "ScramLoginModule" in options["kafka.sasl.jaas.config"]
    assert 'password="s3cr3t"' in options["kafka.sasl.jaas.config"]
    assert options["kafka.ssl.truststore.password"] == "changeit"
    assert options["subscribe"] == "a,b"
    silver = Table("t", "silver", schema="id STRING", primary_keys="id")
    with pytest.raises(MedallionError, match=r"'silver\.t': Kafka ingestion needs a bronze table"):
        kafka_bronze_table(silver)


def test_a_micro_batch_whose_dead_letters_fail_fails_and_its_replay_writes_each_message_once(
    spark: SparkSession, lakehouse: str
) -> None:
    # The dead letters are written while the rows are: their failure still fails the batch.
    messages = [_event(1), _event(2), ("bad", b"not json")]
    batch = spark.createDataFrame(
        [(k.encode(), v, "events", 0, i) for i, (k, v) in enumerate(messages)],
        "key BINARY, value BINARY, topic STRING, partition INT, offset LONG",
    ).withColumn("timestamp", F.lit("2026-03-01 12:00:00").cast("timestamp"))
    writer = BronzeStreamWriter(EVENTS, lakehouse, "events-from-kafka", log_runs=False)
    blocker = Path(dead_letter_location(lakehouse))
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where the dead-letter table goes")

    with pytest.raises(Exception, match="_dead_letters"):
        writer(batch, 0)
    assert writer.batches == []

    blocker.unlink()
    writer(batch, 0)  # Spark replays the batch: what was committed is skipped
    assert writer.batches == [(0, 2, 1)]
    assert sorted(r["id"] for r in _bronze(spark, lakehouse).collect()) == ["e1", "e2"]
    dead = _dead(spark, lakehouse).select("offset", "reason")
    assert [tuple(r) for r in dead.collect()] == [(2, "malformed JSON message")]
