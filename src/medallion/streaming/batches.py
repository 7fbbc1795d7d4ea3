"""Quality rules on a stream: a ``foreachBatch`` function whose writes are idempotent on replay.

Spark Structured Streaming replays a micro-batch whose writes it cannot prove finished (a
crash between the write and the checkpoint's commit). :class:`CheckedBatchWriter` applies a
table's rules to each micro-batch and makes its three writes (quarantined rows, valid rows,
run-log row) Delta transactions keyed by the query's name and the batch id, so a replayed
batch is written exactly once.

Which rules apply to a stream, and how:

* Row rules (not null, ranges, sets, patterns, casts, lengths, SQL conditions) judge one row
  at a time: the same as in batch.
* Unique rules see one micro-batch: duplicates within it are caught. With
  ``against_target=True`` the rows already in the target are read for every micro-batch, so a
  key seen in an earlier batch is caught too.
* Reference rules read the referenced table's current version for every micro-batch; a row
  whose reference has not arrived yet is quarantined, not lost.
* Dataset rules (row count, freshness, share of nulls) are batch-only and refused: a
  micro-batch is an arbitrary slice of the stream (its size depends on the trigger and on how
  far behind the query is), so a count or a share over it says nothing about the data. Check
  them in a batch step over the table.

Example:
    Attach it to any streaming DataFrame::

        writer = CheckedBatchWriter(orders, "lakehouse", query_name="orders-bronze-to-silver")
        (spark.readStream.format("delta").load(bronze_location)
            .writeStream.foreachBatch(writer)
            .option("checkpointLocation", "lakehouse/_checkpoints/orders")
            .start())
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import attrs

from medallion.delta.results import Transaction
from medallion.errors import QueryFailedError, RuleDefinitionError
from medallion.lakehouse import Lakehouse, resolve_root
from medallion.policies import WriteMode, WritePolicy, as_policy
from medallion.rule import RuleKind
from medallion.runner.executor import Batch, RunInfo, Work, execute, utcnow
from medallion.runner.results import RunResult
from medallion.runner.runlog import write_run_log
from medallion.table import Table

if TYPE_CHECKING:
    from collections.abc import Callable

    from pyspark.sql import DataFrame
    from pyspark.sql.streaming.query import StreamingQuery

    from medallion.delta.results import WriteResult

__all__ = ["BatchOutcome", "CheckedBatchWriter", "start_micro_batches"]


def _root(value: str | os.PathLike[str]) -> str:
    return resolve_root(os.fspath(value))


@attrs.frozen
class BatchOutcome:
    """What one micro-batch did (kept by the writer for monitoring and tests).

    Attributes:
        batch_id: The micro-batch id.
        rows_read: Rows in the micro-batch.
        rows_quarantined: Rows quarantined.
        rows_dropped: Rows dropped by rules or by a MERGE's de-duplication.
        write: The target write; its version is ``None`` when the batch was a replay that
            Delta skipped.

    Example:
        >>> from medallion import WriteResult
        >>> write = WriteResult("silver.events", "merge", 4, rows_inserted=7)
        >>> outcome = BatchOutcome(batch_id=3, rows_read=10, rows_quarantined=2, rows_dropped=1,
        ...                        write=write)
        >>> outcome.rows_read - outcome.rows_quarantined - outcome.rows_dropped
        7
    """

    batch_id: int
    rows_read: int
    rows_quarantined: int
    rows_dropped: int
    write: WriteResult


def _refuse_dataset_rules(table: Table) -> None:
    batch_only = [r.name for r in table.rules if r.kind is RuleKind.DATASET]
    if batch_only:
        raise RuleDefinitionError(
            f"table {table.qualified_name!r}: dataset rule(s) {', '.join(batch_only)} cannot run "
            "on a stream: a micro-batch is an arbitrary slice of it, so its row count, freshness "
            "or null share says nothing about the data; check them in a batch step instead"
        )


@attrs.define(eq=False)
class CheckedBatchWriter:
    """A ``foreachBatch`` function: apply a table's rules, quarantine, write, log; exactly once.

    For each micro-batch it evaluates the table's rules in one pass, appends the failing rows
    to the layer's quarantine table, writes the valid rows to the table (by its write policy,
    or ``write``) and appends a row to the run log, through the step executor that pipelines
    use. Each of the three writes is a Delta transaction ``(f"{query_name}/<part>",
    batch_id)``: when Spark replays a batch after a failure, the parts that were committed are
    skipped and the rest are written.

    Keep ``query_name`` stable across restarts, and change it when the checkpoint is deleted
    (batch ids start again at 0, and Delta would skip them as already written).

    Attributes:
        table: The target table; its rules are applied.
        root: The lakehouse root.
        query_name: A name for the writer, stable across restarts; also the run log's
            pipeline name.
        source: Recorded with quarantined rows (e.g. the bronze table or topic).
        write: How to write (a policy, or a mode's name); defaults to the table's policy.
        log_runs: Append one run-log row per micro-batch.
        outcomes: What each micro-batch did in this process, latest last.

    Raises:
        RuleDefinitionError: The table has dataset rules, which are batch-only.

    Example:
        A micro-batch can be replayed by hand; the second call writes nothing:

        >>> from medallion import Table
        >>> from medallion import DeltaOps
        >>> from medallion.quality import checks
        >>> events = Table("events", "silver", schema="id STRING, amount DOUBLE",
        ...                primary_keys="id", rules=[checks.in_range("amount", 0, None)])
        >>> writer = CheckedBatchWriter(events, lakehouse, query_name="events-doc")
        >>> batch = spark.createDataFrame([("e1", 5.0), ("e2", -1.0)], "id STRING, amount DOUBLE")
        >>> writer(batch, 0)
        >>> writer(batch, 0)
        >>> [(o.rows_read, o.rows_quarantined, o.write.version) for o in writer.outcomes]
        [(2, 1, 1), (2, 1, None)]
        >>> DeltaOps.of(spark, events, lakehouse).read().count()
        1
    """

    table: Table
    root: str = attrs.field(converter=_root)
    query_name: str = attrs.field(kw_only=True)
    source: str | None = attrs.field(default=None, kw_only=True)
    write: WritePolicy | WriteMode | str | None = attrs.field(default=None, kw_only=True)
    log_runs: bool = attrs.field(default=True, kw_only=True)
    outcomes: list[BatchOutcome] = attrs.field(factory=list, init=False, repr=False)
    _policy: WritePolicy | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not self.query_name.strip():
            raise RuleDefinitionError(
                f"table {self.table.qualified_name!r}: a CheckedBatchWriter needs a query_name"
            )
        _refuse_dataset_rules(self.table)
        if self.write is not None:
            # A mode's name or a policy without keys: the table's keys complete it.
            self._policy = as_policy(self.write, self.table.primary_keys)

    def transaction(self, part: str, batch_id: int) -> Transaction:
        """The Delta transaction of one part (``quarantine``, ``target``, ``runs``) of a batch.

        Args:
            part: Which write.
            batch_id: The micro-batch id.

        Returns:
            The transaction.

        Example:
            >>> from medallion import Table
            >>> events = Table("events", "silver", primary_keys="id")
            >>> writer = CheckedBatchWriter(events, "/lake", query_name="events-stream")
            >>> writer.transaction("target", 7)
            Transaction(app_id='events-stream/target', version=7)
        """
        return Transaction(f"{self.query_name}/{part}", batch_id)

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        """Process one micro-batch (Spark calls this from ``foreachBatch``).

        Args:
            batch: The micro-batch, a static DataFrame.
            batch_id: Its id; Spark gives a replayed batch the same id.

        Raises:
            QualityFailedError: A ``fail`` rule failed; nothing of the batch was written and
                the query stops.
        """
        spark = batch.sparkSession
        run = RunInfo(f"{self.query_name}:{batch_id}", self.query_name, utcnow())
        work = Work(
            f"{self.query_name} batch {batch_id}",
            self.table,
            lambda ctx: ctx.check(batch, source=self.source),
            write=self._policy,
        )
        marker = Batch(self.query_name, batch_id)
        outcome = execute(Lakehouse(spark, self.root), work, run, batch=marker)
        step = outcome.run
        if self.log_runs:
            ended = step.ended_at or utcnow()
            log = RunResult(run.run_id, self.query_name, run.started_at, ended, (step,))
            # A failure is logged without a transaction: the batch's retry must still log.
            done = marker.transaction("runs") if outcome.error is None else None
            write_run_log(spark, self.root, log, transaction=done)
        if outcome.error is not None:
            raise outcome.error
        assert step.write is not None
        self.outcomes.append(
            BatchOutcome(
                batch_id, step.rows_read or 0, step.rows_quarantined, step.rows_dropped, step.write
            )
        )


def start_micro_batches(
    stream: DataFrame,
    writer: Callable[[DataFrame, int], None],
    *,
    query_name: str,
    checkpoint: str | os.PathLike[str],
    trigger: str | None = None,
    available_now: bool = False,
) -> StreamingQuery:
    """Start a ``foreachBatch`` query with a checkpoint and medallion's trigger choices.

    Args:
        stream: The streaming DataFrame.
        writer: The function called with each micro-batch and its id.
        query_name: The query's name (``-`` become ``_`` in Spark's name).
        checkpoint: The checkpoint folder (a relative local path is made absolute).
        trigger: A processing-time interval (``"5 seconds"``); ignored with ``available_now``.
        available_now: Process everything available in micro-batches, then stop; the call
            returns once the query has stopped.

    Returns:
        The query (stopped, with ``available_now``).

    Raises:
        QueryFailedError: With ``available_now``, the query stopped with an error.

    Example:
        >>> from pathlib import Path
        >>> landing = Path(lakehouse, "landing")
        >>> landing.mkdir()
        >>> _ = (landing / "1.json").write_text('{"id": "e1"}')
        >>> seen = []
        >>> query = start_micro_batches(
        ...     spark.readStream.schema("id STRING").json(str(landing)),
        ...     lambda batch, batch_id: seen.append(batch.count()),
        ...     query_name="landing", checkpoint=f"{lakehouse}/_checkpoint", available_now=True)
        >>> seen, query.isActive
        ([1], False)
    """
    started = (
        stream.writeStream.queryName(query_name.replace("-", "_"))
        .foreachBatch(writer)
        .option("checkpointLocation", resolve_root(checkpoint))
    )
    if available_now:
        query = started.trigger(availableNow=True).start()
        query.awaitTermination()
        error = query.exception()
        if error is not None:
            raise QueryFailedError(f"query {query_name!r} stopped with an error: {error}") from None
        return query
    if trigger:
        started = started.trigger(processingTime=trigger)
    return started.start()
