"""Benchmark of the streaming example: Kafka -> bronze throughput, and end-to-end latency.

Everything runs on this machine and shares its cores: a Kafka broker of its own
(:class:`~medallion.testing.kafka.KafkaBroker`), a local Spark session of its own
(``spark_session(..., kafka=True)``, ``local[*]``) and the producer.

Throughput (catch-up)
    ``--messages`` transactions (the generator's, with its 2% of dirty records) are produced
    to a fresh topic first, as fast as the producer goes. Then
    :func:`examples.ecommerce.streaming.ingest` reads them with an available-now trigger and
    ``maxOffsetsPerTrigger`` = ``--max-offsets``, into a fresh bronze table: the figure is
    messages / wall time of the catch-up (query start to its end, so including the query's
    start), plus the rate inside the micro-batches (messages / their trigger-execution time
    from Spark's progress reports). A small warm-up catch-up runs first, so that the JVM's
    JIT and Spark's caches are warm.

Latency (steady rate)
    For each ``--triggers`` interval, a fresh topic and bronze table: the bronze query is
    started with that processing-time trigger and, once it runs, the producer (its command
    line, in its own process) sends ``--rate`` messages per second for ``--seconds``
    seconds. When every message is in bronze (or its dead letters), the query is stopped and
    each bronze row's latency is computed as *the timestamp of the Delta commit that added
    it* minus *its Kafka timestamp*: the Kafka timestamp is the producer's create time (set
    when the producer hands the message over, on this host's clock); the commit timestamp
    comes from bronze's Change Data Feed (``_commit_timestamp``), the moment the row became
    visible to any Delta reader. The report gives the median, the 95th percentile and the
    maximum, and splits the median into the wait for the micro-batch to start (bronze's
    ``_ingested_at``, the batch's start, minus the Kafka timestamp) and the batch's work
    (commit minus ``_ingested_at``). The first ``--skip-seconds`` seconds of each run are left
    out (the first micro-batches compile their plans).

Figures are printed, never asserted. Run it as::

    .venv/bin/python -m benchmarks.streaming_benchmark
    .venv/bin/python -m benchmarks.streaming_benchmark --messages 100000 --seconds 30
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.streaming.query import StreamingQuery

    from medallion.testing.kafka import KafkaBroker

__all__ = ["main", "measure_latency", "measure_throughput"]

REPO = Path(__file__).resolve().parents[1]
PARTITIONS = 2


def _visible(spark: SparkSession, root: str) -> int:
    """Messages in bronze so far: its rows plus the dead letters."""
    from examples.ecommerce.streaming import BRONZE_TRANSACTION_EVENTS
    from medallion import DeltaOps
    from medallion.streaming.kafka import dead_letter_location, kafka_bronze_table

    total = 0
    for ops in (
        DeltaOps.of(spark, kafka_bronze_table(BRONZE_TRANSACTION_EVENTS), root),
        DeltaOps(spark, dead_letter_location(root)),
    ):
        if ops.exists():
            total += ops.read().count()
    return total


def _batch_rate(query: StreamingQuery) -> tuple[int, float]:
    """(micro-batches with data, messages per second of trigger-execution time)."""
    batches = [p for p in query.recentProgress if p["numInputRows"] > 0]
    rows = sum(int(p["numInputRows"]) for p in batches)
    millis = sum(int(p["durationMs"]["triggerExecution"]) for p in batches)
    return len(batches), rows / (millis / 1000) if millis else 0.0


def measure_throughput(
    spark: SparkSession, broker: KafkaBroker, messages: int, max_offsets: int, work: Path
) -> dict[str, Any]:
    """Produce ``messages`` transactions, then time an available-now catch-up into bronze.

    Args:
        spark: The session (with the Kafka connector).
        broker: The broker.
        messages: How many messages.
        max_offsets: ``maxOffsetsPerTrigger`` of the catch-up.
        work: A scratch folder.

    Returns:
        The figures.
    """
    from examples.ecommerce.producer import produce
    from examples.ecommerce.streaming import ingest

    topic = f"throughput-{messages}"
    broker.create_topic(topic, PARTITIONS)
    produced = produce(broker.bootstrap_servers, topic, count=messages, transactions=messages)
    root = str(work / "throughput")
    clock = time.perf_counter()
    query = ingest(
        spark,
        broker.bootstrap_servers,
        topic,
        root,
        available_now=True,
        max_offsets_per_trigger=max_offsets,
    )
    seconds = time.perf_counter() - clock
    batches, in_batches = _batch_rate(query)
    visible = _visible(spark, root)
    return {
        "messages": messages,
        "produce_per_s": round(produced.rate),
        "delivered": produced.delivered,
        "catch_up_s": round(seconds, 1),
        "catch_up_per_s": round(messages / seconds),
        "micro_batches": batches,
        "in_batches_per_s": round(in_batches),
        "visible": visible,
    }


def _producer(bootstrap: str, topic: str, count: int, rate: float) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "examples.ecommerce.producer",
        "--bootstrap-servers", bootstrap, "--topic", topic,
        "--count", str(count), "--transactions", str(count), "--rate", str(rate),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def measure_latency(
    spark: SparkSession,
    broker: KafkaBroker,
    trigger: str,
    rate: float,
    seconds: float,
    skip_seconds: float,
    work: Path,
) -> dict[str, Any]:
    """Stream at a steady rate with a processing-time trigger; latency from Kafka to Delta.

    Args:
        spark: The session (with the Kafka connector).
        broker: The broker.
        trigger: The bronze query's trigger (``"1 second"``).
        rate: Messages per second.
        seconds: How long the producer sends.
        skip_seconds: Leave out the messages of the first seconds (warm-up).
        work: A scratch folder.

    Returns:
        The figures.
    """
    from pyspark.sql import functions as F

    from examples.ecommerce.streaming import (
        BRONZE_TRANSACTION_EVENTS,
        ingest,
        stop_between_batches,
    )
    from medallion import DeltaOps
    from medallion.streaming.kafka import kafka_bronze_table

    name = trigger.replace(" ", "")
    topic, root = f"latency-{name}", str(work / f"latency-{name}")
    broker.create_topic(topic, PARTITIONS)
    count = int(rate * seconds)
    query = ingest(spark, broker.bootstrap_servers, topic, root, trigger=trigger)
    try:
        deadline = time.monotonic() + 120
        while query.lastProgress is None and time.monotonic() < deadline:
            time.sleep(0.2)
        producer = _producer(broker.bootstrap_servers, topic, count, rate)
        out, err = producer.communicate(timeout=seconds * 3 + 120)
        if producer.returncode != 0:
            raise RuntimeError(f"the producer failed: {err[-2000:]}")
        deadline = time.monotonic() + 300
        while _visible(spark, root) < count:
            if time.monotonic() > deadline or query.exception() is not None:
                raise RuntimeError(f"bronze did not catch up: {query.exception()}")
            time.sleep(2)
    finally:
        stop_between_batches(query)
    batches, _ = _batch_rate(query)
    changes = DeltaOps.of(spark, kafka_bronze_table(BRONZE_TRANSACTION_EVENTS), root).changes(0)
    kafka = F.unix_micros("_kafka_timestamp")
    first = changes.agg(F.min(kafka)).first()
    assert first is not None
    rows = changes.where(kafka >= F.lit(first[0] + int(skip_seconds * 1e6))).select(
        ((F.unix_micros("_commit_timestamp") - kafka) / 1000).alias("total"),
        ((F.unix_micros("_ingested_at") - kafka) / 1000).alias("wait"),
        ((F.unix_micros("_commit_timestamp") - F.unix_micros("_ingested_at")) / 1000).alias("work"),
    )
    figures = rows.agg(
        F.count(F.lit(1)).alias("rows"),
        F.percentile("total", 0.5).alias("median"),
        F.percentile("total", 0.95).alias("p95"),
        F.max("total").alias("max"),
        F.percentile("wait", 0.5).alias("wait_median"),
        F.percentile("work", 0.5).alias("work_median"),
    ).first()
    assert figures is not None
    return {
        "trigger": trigger,
        "rate": rate,
        "seconds": seconds,
        "producer": out.strip(),
        "micro_batches": batches,
        "rows_measured": int(figures["rows"]),
        **{
            f"{k}_ms": round(float(figures[k]))
            for k in ("median", "p95", "max", "wait_median", "work_median")
        },
    }


def _report(throughput: dict[str, Any], latencies: list[dict[str, Any]]) -> None:
    cores = os.cpu_count()
    print(f"\nKafka -> bronze on {cores} cores (broker, Spark and producer on the same machine)")
    print(
        f"  throughput: {throughput['messages']:,} messages produced at "
        f"{throughput['produce_per_s']:,}/s; available-now catch-up in "
        f"{throughput['catch_up_s']} s = {throughput['catch_up_per_s']:,} messages/s "
        f"({throughput['micro_batches']} micro-batches, "
        f"{throughput['in_batches_per_s']:,}/s inside them)"
    )
    print("  latency, Kafka timestamp -> Delta commit (ms):")
    print(
        f"    {'trigger':<11}{'rate/s':>7}{'batches':>9}{'median':>8}{'p95':>8}{'max':>8}"
        f"{'  median wait + work':>22}"
    )
    for f in latencies:
        print(
            f"    {f['trigger']:<11}{f['rate']:>7.0f}{f['micro_batches']:>9}{f['median_ms']:>8}"
            f"{f['p95_ms']:>8}{f['max_ms']:>8}"
            f"{f['wait_median_ms']:>13} + {f['work_median_ms']}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the figures.

    Args:
        argv: Command-line arguments (``--help`` lists them).

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(prog="python -m benchmarks.streaming_benchmark")
    parser.add_argument("--messages", type=int, default=200_000, help="catch-up size")
    parser.add_argument("--max-offsets", type=int, default=100_000, help="per micro-batch")
    parser.add_argument("--rate", type=float, default=500.0, help="steady messages/s")
    parser.add_argument("--seconds", type=float, default=60.0, help="steady-rate duration")
    parser.add_argument("--skip-seconds", type=float, default=5.0, help="warm-up left out")
    parser.add_argument("--triggers", nargs="+", default=["1 second", "5 seconds"])
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)

    from examples.ecommerce.producer import produce
    from examples.ecommerce.streaming import ingest
    from medallion import spark_session
    from medallion.testing.kafka import KafkaBroker

    work = Path(tempfile.mkdtemp(prefix="medallion-streaming-bench-"))
    try:
        with KafkaBroker(num_partitions=PARTITIONS) as broker:
            spark = spark_session(
                "medallion-streaming-benchmark",
                kafka=True,
                shuffle_partitions=PARTITIONS,
                driver_memory="2g",
                log_level="ERROR",
            )
            print("warming up ...", flush=True)
            broker.create_topic("warm-up", PARTITIONS)
            produce(broker.bootstrap_servers, "warm-up", count=5_000, transactions=5_000)
            ingest(spark, broker.bootstrap_servers, "warm-up", str(work / "warm-up"),
                   available_now=True, max_offsets_per_trigger=2_000)  # fmt: skip
            print(f"catch-up of {args.messages:,} messages ...", flush=True)
            throughput = measure_throughput(spark, broker, args.messages, args.max_offsets, work)
            latencies = []
            for trigger in args.triggers:
                print(f"steady {args.rate:.0f}/s for {args.seconds:.0f} s, {trigger!r} ...")
                latencies.append(
                    measure_latency(
                        spark, broker, trigger, args.rate, args.seconds, args.skip_seconds, work
                    )
                )
            spark.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _report(throughput, latencies)
    if args.json:
        print(json.dumps({"throughput": throughput, "latency": latencies}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
