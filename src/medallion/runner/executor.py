"""The step executor: one way to run a step, record what it did, and write it.

``Pipeline.run``, :class:`~medallion.CheckedBatchWriter` and the Kafka bronze writer all run
their steps through :func:`execute`:

1. read the changes of the step's incremental inputs; when none has anything new, stop there
   (the step is up to date and nothing is committed), unless open quarantined rows are due
   for a replay (below);
2. call the step's function with a :class:`~medallion.StepContext`; it returns the rows;
3. write what the context collected (quarantined rows, dead letters), then the rows by the
   table's write policy, with the run's id and the source versions consumed in that commit;
   then mark the quarantined rows it replayed and wrote resolved;
4. compact the table when it asks for it (``optimize_after_write``), unless an overwrite left
   it one small file;
5. report a :class:`~medallion.StepRun`, failures included (the caller logs it).

Late-arriving references: for an incremental step whose table has ``exists_in`` rules, the
executor pins the referenced tables' versions for the rules and compares them with those the
table's last replay recorded (in its commits, next to the versions consumed). When one has
changed, the step's first check replays the table's open replayable quarantined rows, and its
write records the versions. With nothing new in its inputs the step then runs only if there
are such rows (one small read of the quarantine table); a step without ``exists_in`` rules
costs nothing more.

A streaming micro-batch passes a :class:`Batch`: each of its writes is then a Delta
transaction keyed by the batch, so a replayed batch is written exactly once. As a replay skips
whichever of them was committed, a micro-batch writes its quarantined rows and dead letters in
a thread of their own while its rows are written (a batch step writes them first, and removes
them again if its write fails).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from medallion.delta._target import Target
from medallion.delta.changes import consumed_versions
from medallion.delta.maintenance import optimize
from medallion.delta.policy import write_by_policy
from medallion.delta.results import MergeResult, Transaction, WriteResult
from medallion.errors import PipelineDefinitionError
from medallion.ingest.files import FileBatch, ingest_result
from medallion.lakehouse import Lakehouse
from medallion.policies import Append, WriteMode, WritePolicy
from medallion.quality.quarantine import (
    open_quarantine,
    resolve_quarantine,
    write_quarantine,
)
from medallion.rule import RuleKind
from medallion.runner.cleanup import discard_side_writes
from medallion.runner.context import Replay, StepContext, replay_consumer
from medallion.runner.inputs import Changes, consumed_tags, read_changes
from medallion.runner.jobs import step_jobs
from medallion.runner.results import StepRun, StepStatus
from medallion.table import Table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["Batch", "Outcome", "RunInfo", "Work", "execute", "utcnow"]


def utcnow() -> dt.datetime:
    """The current time in UTC, naive (how medallion records times).

    Example:
        >>> utcnow().tzinfo is None
        True
    """
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


@attrs.frozen
class Work:
    """What the executor runs: a function that makes a table's rows, and how to write them.

    Attributes:
        name: The step's name (``"clean_orders"``, ``"orders-stream batch 7"``).
        table: The table written.
        produce: Makes the rows from a context; ``None`` means nothing to write.
        inputs: The tables it reads (for the context).
        changes_of: The inputs read incrementally (see :func:`~medallion.changes`).
        write: The write policy; by default the table's.

    Example:
        >>> from medallion import Table
        >>> work = Work("numbers", Table("numbers", "gold"), lambda ctx: ctx.spark.range(3))
        >>> work.name, work.write is None
        ('numbers', True)
    """

    name: str
    table: Table
    produce: Callable[[StepContext], DataFrame | None] = attrs.field(eq=False, repr=False)
    inputs: tuple[Table, ...] = ()
    changes_of: tuple[Table, ...] = ()
    write: WritePolicy | None = None


def _frozen(value: Mapping[str, object] | None) -> Mapping[str, str]:
    return MappingProxyType({str(k): str(v) for k, v in dict(value or {}).items()})


@attrs.frozen
class RunInfo:
    """The run a step belongs to.

    Attributes:
        run_id: The run's id, recorded on every row and commit it writes.
        pipeline: The pipeline's (or query's) name.
        started_at: When the run began (UTC, naive); an SCD2 version without an effective
            column takes effect then, and bronze records it as the ingestion time.
        params: The run's parameters.

    Example:
        >>> RunInfo("r1", "shop", utcnow()).params
        mappingproxy({})
    """

    run_id: str
    pipeline: str
    started_at: dt.datetime
    params: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen)


@attrs.frozen
class Batch:
    """A streaming micro-batch: its writes are Delta transactions keyed by the batch.

    Attributes:
        app_id: A name stable across restarts (the query's name).
        version: The micro-batch id (a replay has the same).
        target_part: The name of the table write's part (``"<app_id>/<part>"``).

    Example:
        >>> Batch("orders-stream", 7).transaction("quarantine")
        Transaction(app_id='orders-stream/quarantine', version=7)
    """

    app_id: str
    version: int
    target_part: str = "target"

    def transaction(self, part: str) -> Transaction:
        """The Delta transaction of one part of the batch's writes.

        Args:
            part: ``"quarantine"``, ``"dead_letters"``, the target part or ``"runs"``.

        Returns:
            The transaction.

        Example:
            >>> Batch("orders-stream", 7, target_part="bronze").transaction("bronze").app_id
            'orders-stream/bronze'
        """
        return Transaction(f"{self.app_id}/{part}", self.version)


@attrs.frozen
class Outcome:
    """What :func:`execute` did: the step's run entry, and its error when it failed.

    Attributes:
        run: The step's entry for the run log.
        error: The exception the step raised, if it failed.

    Example:
        >>> outcome = Outcome(StepRun("numbers", "gold.numbers", "succeeded"))
        >>> outcome.run.status.value, outcome.error is None
        ('succeeded', True)
    """

    run: StepRun
    error: BaseException | None = attrs.field(default=None, eq=False)


def execute(
    lakehouse: Lakehouse, work: Work, run: RunInfo, *, batch: Batch | None = None
) -> Outcome:
    """Run a step: read its incremental inputs, make its rows, write them, report.

    The step's failure is reported, not raised (the :class:`Outcome` carries it).

    Args:
        lakehouse: The lakehouse, with the session to use.
        work: The step.
        run: The run it belongs to.
        batch: For a streaming micro-batch: makes every write a transaction of the batch.

    Returns:
        The step's entry and its error, if any.

    Example:
        >>> from medallion import Lakehouse, Table
        >>> numbers = Table("numbers", "gold")
        >>> work = Work("numbers", numbers, lambda ctx: ctx.spark.range(3))
        >>> outcome = execute(Lakehouse(spark, lakehouse), work, RunInfo("r1", "doc", utcnow()))
        >>> outcome.run.status.value, outcome.run.write.rows_inserted
        ('succeeded', 3)
    """
    # The step's jobs (its own code's included) are named after it in Spark's UI and logs.
    with step_jobs(lakehouse.session, run.run_id, work.name, work.table.qualified_name):
        return _execute(lakehouse, work, run, batch)


def _execute(lakehouse: Lakehouse, work: Work, run: RunInfo, batch: Batch | None) -> Outcome:
    started, clock = utcnow(), time.perf_counter()
    table = work.table
    target = Target(
        lakehouse.session, lakehouse.location(table), table=table, root=lakehouse.root
    )
    entry = attrs.evolve(
        StepRun(work.name, table.qualified_name, StepStatus.SUCCEEDED),
        started_at=started,
        location=target.location,
    )
    ctx: StepContext | None = None
    quarantined = False
    try:
        found = read_changes(lakehouse, table, work.changes_of)
        # A micro-batch does not replay: its writes must be the same when Spark replays it.
        replay = _replay(lakehouse, target) if work.changes_of and batch is None else None
        if found and all(c.is_empty for c in found.values()) and not _replay_needed(
            lakehouse, table, replay
        ):
            note = f"nothing new in {', '.join(found)}"
            entry = attrs.evolve(entry, version_before=target.version())
            return Outcome(_ended(entry, clock, StepStatus.UP_TO_DATE, note=note))
        # Created first (a table with a schema), so that restoring the version before the step
        # undoes it, even on its first run.
        target.create()
        entry = attrs.evolve(entry, version_before=target.version() if target.exists() else None)
        ctx = StepContext(
            lakehouse.session,
            lakehouse.root,
            run.run_id,
            run.started_at,
            table,
            work.inputs,
            run.params,
            incremental=found,
            replay=replay,
        )
        rows = work.produce(ctx)
        if isinstance(rows, WriteResult):
            raise PipelineDefinitionError(
                f"step {work.name!r} returned a write's result: a step returns its rows (a "
                "DataFrame) and medallion writes them by the table's policy (for files, "
                "return ctx.read_files(source))"
            )
        if found and not _news(found) and ctx.replayed_against is None:
            # It ran for a replay its checks did not make (ctx.accept alone): as before, up
            # to date, nothing committed.
            note = f"nothing new in {', '.join(found)}"
            return Outcome(_ended(entry, clock, StepStatus.UP_TO_DATE, note=note))
        batches = ctx.file_batches
        if (
            batches
            and all(b.is_empty for b in batches)
            and not _news(found)
            and ctx.replayed_against is None
        ):
            note = f"no new file ({sum(len(b.files_skipped) for b in batches)} seen before)"
            return Outcome(_ended(entry, clock, StepStatus.UP_TO_DATE, note=note))
        written: WriteResult | None = None
        resolved = 0
        if batch is None:
            quarantined = _side_writes(lakehouse, ctx, run, batch)
            if rows is not None:
                written = _write(target, rows, work, run, found, ctx, _files_transaction(batches))
        else:
            # Each write of a micro-batch is a transaction of the batch, which a replay skips
            # once committed: its quarantined rows and dead letters are written in any order,
            # so they go while the rows are written.
            side = _Background(lakehouse.session, lambda: _side_writes(lakehouse, ctx, run, batch))
            try:
                if rows is not None:
                    transaction = batch.transaction(batch.target_part)
                    written = _write(target, rows, work, run, found, ctx, transaction)
            except BaseException:
                side.wait_quietly()
                raise
            side.wait()
        if written is not None:
            quarantined = False  # the rows are written: their quarantined rows stay
            resolved = _resolve(lakehouse, ctx, run)
            if batches:
                written = ingest_result(written, _combined(batches))
            if table.optimize_after_write and _optimizable(target, written):
                optimize(target)
        counted = _counted(entry, ctx, written)
        bad_files = getattr(written, "bad_files_note", None)  # an ingestion's
        notes: list[str | None] = [_replayed(ctx, resolved), bad_files]
        if batches and written is not None and written.version is None:
            notes.append("another run appended these files first (nothing written)")
        said = "; ".join(n for n in notes if n) or None
        return Outcome(_ended(counted, clock, StepStatus.SUCCEEDED, note=said))
    except Exception as exc:
        if quarantined and batch is None:
            # The step's rows were not written: neither are its quarantined rows and dead
            # letters, so that a rerun writes them once. (A micro-batch's replay skips what
            # was committed.)
            discard_side_writes(
                lakehouse.session, lakehouse.root, table.qualified_name, run.run_id
            )
        failed = attrs.evolve(entry, error=f"{type(exc).__name__}: {exc}")
        return Outcome(_ended(failed, clock, StepStatus.FAILED), exc)
    finally:
        if ctx is not None:
            ctx.release()


def _write(
    target: Target,
    rows: DataFrame,
    work: Work,
    run: RunInfo,
    found: Mapping[str, Changes],
    ctx: StepContext,
    transaction: Transaction | None,
) -> WriteResult:
    """Write the step's rows by its table's policy, tagged with what it consumed."""
    return write_by_policy(
        target,
        rows,
        work.write or work.table.write,
        load_time=run.started_at,
        run_id=run.run_id,
        tags=_tags(found, ctx),
        transaction=transaction,
    )


class _Background:
    """An action run in a thread whose Spark jobs keep this thread's properties (job group)."""

    def __init__(self, spark: SparkSession, action: Callable[[], object]) -> None:
        from pyspark import InheritableThread

        self._error: BaseException | None = None

        def run() -> None:
            try:
                action()
            except BaseException as exc:
                self._error = exc

        self._thread = InheritableThread(run, session=spark)
        self._thread.start()

    def wait(self) -> None:
        """Wait for the action; raise its error, if it failed."""
        self._thread.join()
        if self._error is not None:
            raise self._error

    def wait_quietly(self) -> None:
        """Wait for the action, whatever its outcome (another error is on its way)."""
        self._thread.join()


#: A file above this size may hold several Parquet row groups, which Z-ordering sorts.
_ONE_ROW_GROUP = 128 * 1024 * 1024


def _optimizable(target: Target, written: WriteResult) -> bool:
    """Whether OPTIMIZE after the write can change the table.

    Not after an overwrite of an unpartitioned table that left one small file: compacting or
    Z-ordering it would rewrite that file as it is (one row group, nothing to cluster).
    """
    if written.version is None:
        return False
    table = target.table
    if written.mode is not WriteMode.OVERWRITE or table is None or table.partition_by:
        return True
    commit = target.last_commit()
    if commit.version != written.version:
        return True
    files, size = commit.metrics.get("numFiles"), commit.metrics.get("numOutputBytes")
    return files is None or size is None or files > 1 or size > _ONE_ROW_GROUP


def _news(found: Mapping[str, Changes]) -> bool:
    return any(not c.is_empty for c in found.values())


def _replay(lakehouse: Lakehouse, target: Target) -> Replay | None:
    """The versions a table's reference rules are to read, and whether a replay is due.

    ``None`` for a table without ``exists_in`` rules. Due when a referenced table's version
    is past the one the table's last replay recorded, or none was recorded.
    """
    table = target.table
    assert table is not None
    references = {
        r.reference.qualified_name: r.reference.location(lakehouse.root)
        for r in table.rules
        if r.kind is RuleKind.REFERENCE and r.reference is not None
    }
    if not references:
        return None
    versions: dict[str, int] = {}
    for name, location in references.items():
        read = Target(lakehouse.session, location)
        if read.exists():  # else the rule itself reports the missing table
            versions[name] = read.version()
    recorded = consumed_versions(target, [replay_consumer(name, table) for name in versions])
    due = any(
        (last := recorded[replay_consumer(name, table)]) is None or version > last
        for name, version in versions.items()
    )
    return Replay(versions, due=due)


def _replay_needed(lakehouse: Lakehouse, table: Table, replay: Replay | None) -> bool:
    """Whether a step with nothing new must run to replay open quarantined rows."""
    if replay is None or not replay.due:
        return False
    rows = open_quarantine(lakehouse.session, lakehouse.root, table)
    return not rows.where(rows["replayable"]).select("table").isEmpty()


def _tags(found: Mapping[str, Changes], ctx: StepContext) -> dict[str, Any]:
    """The commit tags of the step's write: the versions consumed, and replayed against."""
    tags = consumed_tags(found.values())
    against = ctx.replayed_against
    if against:
        consumed = {replay_consumer(name, ctx.table): v for name, v in against.items()}
        tags = {"medallion_consumed": {**tags.get("medallion_consumed", {}), **consumed}}
    return tags


def _resolve(lakehouse: Lakehouse, ctx: StepContext, run: RunInfo) -> int:
    """Mark resolved the quarantined rows the step replayed and wrote; how many were."""
    resolved = 0
    for check in ctx.checks:
        if check.resolved is not None and check.result.rows_replayed_valid:
            resolved += resolve_quarantine(
                lakehouse.session,
                lakehouse.root,
                ctx.table,
                check.resolved,
                run_id=run.run_id,
                key_ignores=check.key_ignores,
            )
    return resolved


def _replayed(ctx: StepContext, resolved: int) -> str | None:
    """The step's note when it replayed quarantined rows."""
    if ctx.replayed_against is None:
        return None
    replayed = sum(q.rows_replayed for q in ctx.quality)
    if not replayed:
        return None
    return f"{replayed:,} quarantined row(s) replayed, {resolved:,} resolved"


def _side_writes(
    lakehouse: Lakehouse, ctx: StepContext, run: RunInfo, batch: Batch | None
) -> bool:
    """Write the quarantined rows and dead letters the context collected; whether any were."""
    quarantined = False
    for check in ctx.checks:
        wrote = write_quarantine(
            check.result,
            ctx.table,
            lakehouse.root,
            run_id=run.run_id,
            source=check.source,
            transaction=batch.transaction("quarantine") if batch else None,
        )
        quarantined = quarantined or wrote is not None
    if ctx.dead_letters:
        letters = ctx.dead_letters[0]
        for more in ctx.dead_letters[1:]:
            letters = letters.unionByName(more)
        target = Target(lakehouse.session, lakehouse.dead_letters(ctx.table.layer))
        write_by_policy(
            target,
            letters,
            Append(),
            run_id=run.run_id,
            transaction=batch.transaction("dead_letters") if batch else None,
        )
        quarantined = True
    return quarantined


def _files_transaction(batches: Sequence[FileBatch]) -> Transaction | None:
    """The idempotent transaction of an append of new files (see ``FileBatch.transaction``).

    Of two runs that listed the files against the same table version, only the first to
    commit appends them; Delta skips the other's write.
    """
    keyed = [b.transaction for b in batches if b.transaction is not None]
    return max(keyed, key=lambda t: t.version) if keyed else None


def _combined(batches: Sequence[FileBatch]) -> FileBatch:
    """One batch standing for several (their files and counts together)."""
    if len(batches) == 1:
        return batches[0]
    return attrs.evolve(
        batches[0],
        files_read=tuple(f for b in batches for f in b.files_read),
        files_skipped=tuple(f for b in batches for f in b.files_skipped),
        records=tuple(r for b in batches for r in b.records),
        found=tuple(f for b in batches for f in b.found),
        observation=None,  # each batch counted its own rows: take the write's count
    )


def _counted(entry: StepRun, ctx: StepContext, written: WriteResult | None) -> StepRun:
    """The entry with the step's counts: rows read, quarantined and dropped, and its write."""
    quality = ctx.quality
    rows_read: int | None = sum(q.rows_read for q in quality) if quality else None
    if rows_read is None and ctx.file_batches and written is not None:
        rows_read = written.rows_inserted
    dropped = sum(q.rows_dropped for q in quality)
    if isinstance(written, MergeResult):
        dropped += written.duplicates_removed + written.null_keys_dropped
    return attrs.evolve(
        entry,
        write=written,
        rows_read=rows_read,
        rows_quarantined=sum(q.rows_quarantined for q in quality),
        rows_dropped=dropped,
        rule_metrics=tuple(m for q in quality for m in q.metrics),
    )


def _ended(
    entry: StepRun, clock: float, status: StepStatus, *, note: str | None = None
) -> StepRun:
    return attrs.evolve(
        entry,
        status=status,
        seconds=time.perf_counter() - clock,
        ended_at=utcnow(),
        note=note,
    )
