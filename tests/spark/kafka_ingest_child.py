"""A driver process for the exactly-once tests: stream a topic into bronze until stopped.

Run as ``python -m tests.spark.kafka_ingest_child BOOTSTRAP TOPIC ROOT CHECKPOINT MODE``, where
MODE is ``stream`` (a processing-time trigger of small micro-batches, forever: the test kills
the process) or ``catch-up`` (available-now: read the rest, then exit). The test continues a
killed driver's work in its own process, with the same query name and checkpoint.
"""

from __future__ import annotations

import sys

from medallion import Table, spark_session
from medallion.streaming.kafka import KafkaSource, stream_to_bronze

EVENTS = Table("events", "bronze", schema="id STRING NOT NULL, amount DOUBLE, at TIMESTAMP")


def main(argv: list[str]) -> int:
    bootstrap, topic, root, checkpoint, mode = argv
    spark = spark_session(
        "kafka-child", kafka=True, shuffle_partitions=2, driver_memory="1g", log_level="ERROR"
    )
    source = KafkaSource(bootstrap, topic, max_offsets_per_trigger=40)
    query = stream_to_bronze(
        spark,
        source,
        EVENTS,
        root,
        checkpoint=checkpoint,
        query_name="events-child",
        trigger="200 milliseconds",
        available_now=mode == "catch-up",
        log_runs=False,
    )
    print("started", flush=True)
    query.awaitTermination()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
