"""The streaming side of the e-commerce example: Kafka -> bronze -> silver.

The transactions arrive on a Kafka topic, one JSON message per order line (sent by
:mod:`examples.ecommerce.producer`, in the format of the generator's files).

``bronze.transaction_events`` (:data:`BRONZE_TRANSACTION_EVENTS`)
    :func:`ingest` streams the topic into it with
    :func:`~medallion.streaming.kafka.stream_to_bronze`: every message becomes, exactly once,
    either a row (the transaction's columns typed as in ``bronze.transactions``, Kafka's
    metadata, the ingestion metadata and ``_late``) or a dead letter in
    ``bronze/_dead_letters`` (not JSON, a value that does not fit its type, no
    ``transaction_id``). A row whose ``event_time`` is older than the watermark (the latest
    event time of the earlier micro-batches, or of bronze after a restart, minus
    :data:`WATERMARK`) is flagged ``_late``; nothing is dropped. The first micro-batch of a
    new bronze table has no watermark yet: nothing in it is flagged.
``silver.transaction_events`` (:data:`SILVER_TRANSACTION_EVENTS`)
    The same schema and rules as ``silver.transactions``, including the reference rules on
    ``silver.customers`` and ``silver.products``: load those with the batch pipeline first
    (``medallion run examples.ecommerce.pipeline --param landing=data/landing --select
    bronze.customers bronze.products silver.customers silver.products --no-downstream``, on
    the generator's files made with the producer's arguments), or every line is quarantined.
    It is fed from bronze either way:

    * as a stream (:func:`silver_stream`): ``readStream`` on the bronze Delta table, each
      micro-batch standardised with :func:`~examples.ecommerce.silver.standardise_transactions`
      and handed to a :class:`~medallion.CheckedBatchWriter` (rules, quarantine, the table's
      MERGE, run log; exactly once);
    * in batch (:func:`silver_transaction_events`, the step of :data:`pipeline`): the bronze
      rows the step has not processed yet (``changes(...)``, bronze's Change Data Feed),
      checked and MERGEd like ``silver.transactions``.

    Both run the same step executor and give the same table (the tests compare them). Choose
    the stream for freshness (seconds behind bronze) and the batch step for scheduled runs
    that also rebuild gold; do not feed one silver table both ways at once.

Command line (a long-running consumer; Ctrl-C stops the queries cleanly)::

    python -m examples.ecommerce.streaming --bootstrap-servers 127.0.0.1:9092
        --topic transactions --root lakehouse --trigger "5 seconds" --silver stream

``--available-now`` reads what the topic holds, brings silver up to date and exits (a
scheduled catch-up). ``--silver batch`` runs the batch step instead of the silver stream
(after the catch-up, or every ``--batch-interval`` seconds while bronze streams).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING

import attrs
from pyspark.sql import DataFrame, SparkSession

from medallion import (
    CheckedBatchWriter,
    Lakehouse,
    Layer,
    Pipeline,
    RunResult,
    StepContext,
    Table,
    changes,
)
from medallion.lakehouse import resolve_root
from medallion.streaming import start_micro_batches
from medallion.streaming.kafka import KafkaSource, stream_to_bronze

from .schemas import TRANSACTIONS_DDL
from .silver import standardise_transactions
from .tables import CHANGE_FEED, SILVER_TRANSACTIONS

if TYPE_CHECKING:
    from pyspark.sql.streaming.query import StreamingQuery


__all__ = [
    "BRONZE_TRANSACTION_EVENTS",
    "SILVER_TRANSACTION_EVENTS",
    "TRIGGER",
    "WATERMARK",
    "SilverEventsWriter",
    "checkpoint_location",
    "ingest",
    "main",
    "pipeline",
    "silver_stream",
    "silver_transaction_events",
    "stop_between_batches",
]

BRONZE_TRANSACTION_EVENTS = Table(
    "transaction_events",
    Layer.BRONZE,
    schema=TRANSACTIONS_DDL,
    properties=CHANGE_FEED,
    comment="Order lines as they arrived on Kafka, with Kafka's metadata and a _late flag.",
)
SILVER_TRANSACTION_EVENTS = attrs.evolve(
    SILVER_TRANSACTIONS,
    name="transaction_events",
    comment="One row per order line from the Kafka stream; as silver.transactions.",
)

#: How late an event may be before bronze flags it. The generated stream packs 90 days of
#: sales into 20,000 messages, so its event time runs far ahead of the clock: a day here is a
#: few minutes of a real shop's stream.
WATERMARK = "1 day"
#: The processing-time trigger of the long-running queries. On 2 cores a bronze micro-batch
#: takes 3 to 4 s whatever its size (parsing, dead letters, bronze and run-log commits), so
#: "1 second" runs them back to back and is no faster: at 500 messages/s both triggers gave
#: a median of about 4 s and a 95th percentile of about 6.6 s from Kafka to a Delta commit
#: (``benchmarks/streaming_benchmark.py``), and "5 seconds" makes fewer, larger commits.
TRIGGER = "5 seconds"


def checkpoint_location(root: str | os.PathLike[str], name: str) -> str:
    """Where a query of this example keeps its checkpoint: ``<root>/_checkpoints/<name>``.

    Args:
        root: The lakehouse root.
        name: The query's name.

    Returns:
        The folder.

    Example:
        >>> checkpoint_location("s3a://lake", "transaction_events-from-kafka")
        's3a://lake/_checkpoints/transaction_events-from-kafka'
    """
    return Lakehouse.at(root).checkpoint(name)


def ingest(
    spark: SparkSession,
    bootstrap_servers: str,
    topic: str,
    root: str | os.PathLike[str],
    *,
    checkpoint: str | os.PathLike[str] | None = None,
    trigger: str | None = TRIGGER,
    available_now: bool = False,
    watermark: str = WATERMARK,
    max_offsets_per_trigger: int | None = None,
    starting_offsets: str = "earliest",
    query_name: str = "transaction_events-from-kafka",
) -> StreamingQuery:
    """Start streaming the topic into :data:`BRONZE_TRANSACTION_EVENTS`.

    Args:
        spark: A session with Spark's Kafka connector (``spark_session(kafka=True)``).
        bootstrap_servers: ``host:port[,host:port...]``.
        topic: The topic the producer writes.
        root: The lakehouse root.
        checkpoint: The query's checkpoint; defaults to :func:`checkpoint_location`.
        trigger: A processing-time interval; ignored with ``available_now``.
        available_now: Read everything the topic holds, then stop; the call returns when the
            query has stopped.
        watermark: How late an event may be before it is flagged ``_late``.
        max_offsets_per_trigger: At most this many messages per micro-batch.
        starting_offsets: Where a query without a checkpoint starts.
        query_name: Names the query and its Delta transactions; keep it with the checkpoint.

    Returns:
        The query (stopped already with ``available_now``).

    Example:
        A catch-up run::

            ingest(spark, "127.0.0.1:9092", "transactions", "lakehouse", available_now=True)
    """
    source = KafkaSource(
        bootstrap_servers,
        topic,
        starting_offsets=starting_offsets,
        max_offsets_per_trigger=max_offsets_per_trigger,
    )
    return stream_to_bronze(
        spark,
        source,
        BRONZE_TRANSACTION_EVENTS,
        root,
        checkpoint=checkpoint if checkpoint is not None else checkpoint_location(root, query_name),
        query_name=query_name,
        trigger=trigger,
        available_now=available_now,
        event_time="event_time",
        watermark=watermark,
    )


@attrs.define(eq=False)
class SilverEventsWriter:
    """The ``foreachBatch`` function of :func:`silver_stream`.

    For each micro-batch of bronze rows: standardise them (keeping bronze's source columns,
    which order the duplicates of a ``transaction_id``) and hand them to a
    :class:`~medallion.CheckedBatchWriter` of ``table``: rules, quarantine, the table's MERGE
    (the latest row of each key wins) and a run-log row, each written once per batch id.

    Attributes:
        table: The silver table.
        root: The lakehouse root.
        query_name: Names the query's Delta transactions; keep it with the checkpoint.
        checked: The ``CheckedBatchWriter``, with the outcome of each micro-batch.
    """

    table: Table
    root: str
    query_name: str
    checked: CheckedBatchWriter = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.checked = CheckedBatchWriter(
            self.table,
            self.root,
            query_name=self.query_name,
            source=BRONZE_TRANSACTION_EVENTS.qualified_name,
        )

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        """Standardise, check and MERGE one micro-batch.

        Args:
            batch: The micro-batch of bronze rows.
            batch_id: Its id.
        """
        self.checked(standardise_transactions(batch), batch_id)


def silver_stream(
    spark: SparkSession,
    root: str | os.PathLike[str],
    *,
    checkpoint: str | os.PathLike[str] | None = None,
    trigger: str | None = TRIGGER,
    available_now: bool = False,
    table: Table = SILVER_TRANSACTION_EVENTS,
    query_name: str = "transaction_events-to-silver",
) -> StreamingQuery:
    """Start streaming :data:`BRONZE_TRANSACTION_EVENTS` into a silver table.

    Args:
        spark: The session.
        root: The lakehouse root (with ``silver.customers`` and ``silver.products``).
        checkpoint: The query's checkpoint; defaults to :func:`checkpoint_location`.
        trigger: A processing-time interval; ignored with ``available_now``.
        available_now: Process every bronze row not processed yet, then stop; the call
            returns when the query has stopped.
        table: The silver table; :data:`SILVER_TRANSACTION_EVENTS` unless you want another
            table with its schema and rules.
        query_name: Names the query and its Delta transactions; keep it with the checkpoint.

    Returns:
        The query (stopped already with ``available_now``).

    Raises:
        MedallionError: With ``available_now``, the query failed.

    Example:
        While bronze streams::

            query = silver_stream(spark, "lakehouse", trigger="5 seconds")
    """
    resolved = resolve_root(os.fspath(root))
    if checkpoint is None:
        checkpoint = checkpoint_location(resolved, query_name)
    writer = SilverEventsWriter(table, resolved, query_name)
    return start_micro_batches(
        spark.readStream.format("delta").load(BRONZE_TRANSACTION_EVENTS.location(resolved)),
        writer,
        query_name=query_name,
        checkpoint=checkpoint,
        trigger=trigger,
        available_now=available_now,
    )


#: The batch side: ``medallion run examples.ecommerce.streaming --root lakehouse``.
pipeline = Pipeline("ecommerce-streaming")


@pipeline.step(SILVER_TRANSACTION_EVENTS, inputs=[changes(BRONZE_TRANSACTION_EVENTS)])
def silver_transaction_events(ctx: StepContext) -> DataFrame:
    """The bronze events not processed yet, standardised and checked, for silver's MERGE.

    The batch counterpart of :func:`silver_stream`: the rows come from bronze's Change Data
    Feed (all of bronze on the first run), are standardised and checked like
    ``silver.transactions``, and MERGEd by the table's policy (the latest row per
    ``transaction_id``). The target is ``ctx.table``.

    Args:
        ctx: The step's context.

    Returns:
        The rows to MERGE.
    """
    bronze = ctx.changes(BRONZE_TRANSACTION_EVENTS).upserts()
    return ctx.check(standardise_transactions(bronze))


def stop_between_batches(query: StreamingQuery, timeout: float = 120.0) -> bool:
    """Stop a query when no micro-batch is running (or after ``timeout`` seconds anyway).

    Stopping mid-batch is safe (the batch's writes are transactions, replayed next time), but
    Spark interrupts the Python ``foreachBatch`` function, and recognising that interruption
    in the long Py4J error text can fail with a ``StackOverflowError`` in its regular
    expression; waiting for the batch to end avoids it and the replay.

    Args:
        query: The query.
        timeout: Seconds to wait for the running micro-batch to end.

    Returns:
        Whether the query was stopped between micro-batches.
    """
    deadline = time.monotonic() + timeout
    idle = False
    while query.isActive and time.monotonic() < deadline:
        if not query.status["isTriggerActive"]:
            idle = True
            break
        time.sleep(0.1)
    query.stop()
    return idle


# --------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m examples.ecommerce.streaming",
        description="Stream the transactions topic into bronze, and bronze into silver.",
    )
    parser.add_argument("--bootstrap-servers", required=True, help="host:port[,host:port]")
    parser.add_argument("--topic", default="transactions")
    parser.add_argument("--root", default="lakehouse", help="the lakehouse root")
    parser.add_argument(
        "--available-now", action="store_true", help="catch up, then exit (default: run on)"
    )
    parser.add_argument("--trigger", default=TRIGGER, help=f"default: {TRIGGER!r}")
    parser.add_argument(
        "--silver", choices=("stream", "batch", "none"), default="stream",
        help="how silver follows bronze (default: stream)",
    )  # fmt: skip
    parser.add_argument(
        "--batch-interval", type=float, default=60.0,
        help="seconds between batch silver runs while bronze streams (default: 60)",
    )  # fmt: skip
    parser.add_argument("--watermark", default=WATERMARK, help=f"default: {WATERMARK!r}")
    parser.add_argument("--max-offsets-per-trigger", type=int, default=None)
    return parser


def _silver_batch(spark: SparkSession, root: str) -> RunResult:
    result = pipeline.run(spark, root)
    print(result.render(), flush=True)
    return result


def _report(spark: SparkSession, root: str) -> None:
    from medallion import DeltaOps
    from medallion.streaming.kafka import dead_letter_location, kafka_bronze_table

    for label, ops in (
        ("bronze rows", DeltaOps.of(spark, kafka_bronze_table(BRONZE_TRANSACTION_EVENTS), root)),
        ("dead letters", DeltaOps(spark, dead_letter_location(root))),
        ("silver rows", DeltaOps.of(spark, SILVER_TRANSACTION_EVENTS, root)),
    ):
        count = ops.read().count() if ops.exists() else 0
        print(f"{label}: {count}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``python -m examples.ecommerce.streaming`` command.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` when ``None``.

    Returns:
        The exit status: 0 when the queries ended cleanly (a catch-up done, or stopped by
        SIGINT or SIGTERM), 1 when one failed.
    """
    from medallion import spark_session

    args = _parser().parse_args(argv)
    root = resolve_root(args.root)
    spark = spark_session("ecommerce-streaming", kafka=True, log_level="ERROR")

    def bronze(available_now: bool) -> StreamingQuery:
        return ingest(
            spark,
            args.bootstrap_servers,
            args.topic,
            root,
            trigger=args.trigger,
            available_now=available_now,
            watermark=args.watermark,
            max_offsets_per_trigger=args.max_offsets_per_trigger,
        )

    if args.available_now:
        bronze(available_now=True)
        if args.silver == "stream":
            silver_stream(spark, root, available_now=True)
        elif args.silver == "batch":
            _silver_batch(spark, root)
        _report(spark, root)
        return 0

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        print(f"{signal.Signals(signum).name}: stopping the queries", file=sys.stderr)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    queries = [bronze(available_now=False)]
    if args.silver == "stream":
        queries.append(silver_stream(spark, root, trigger=args.trigger))
    failed = False
    try:
        interval = args.batch_interval if args.silver == "batch" else 1.0
        while not stop.wait(interval):
            if any(q.exception() is not None or not q.isActive for q in queries):
                failed = True
                break
            if args.silver == "batch":
                _silver_batch(spark, root)
    finally:
        for query in queries:
            stop_between_batches(query)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    for query in queries:
        error = query.exception()
        if error is not None:
            print(f"query {query.name} failed: {error}", file=sys.stderr)
            failed = True
    if args.silver == "batch" and not failed:
        _silver_batch(spark, root)
    _report(spark, root)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
