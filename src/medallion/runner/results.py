"""What a run did: one :class:`StepRun` per step, gathered in a :class:`RunResult`.

The records of a run, shared by the pipeline runner and the streaming writers; the run log
(:mod:`medallion.runner.runlog`) stores them as rows.

Example:
    >>> import datetime as dt
    >>> from medallion.runner.results import RunResult, StepRun, StepStatus
    >>> at = dt.datetime(2026, 1, 2, 3, 4)
    >>> run = RunResult("r1", "sales", at, at, (StepRun("totals", "gold.totals", "failed"),))
    >>> run.succeeded, run.steps[0].status is StepStatus.FAILED
    (False, True)
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs

from medallion.delta.results import WriteResult
from medallion.quality.engine import RuleMetric

__all__ = ["RunResult", "StepRun", "StepStatus", "describe_step"]


class StepStatus(str, enum.Enum):
    """How a step of a run ended (its value is what the run log stores).

    Attributes:
        SUCCEEDED: It ran and wrote what it had to.
        UP_TO_DATE: Its incremental inputs (changes, new files) had nothing new: it wrote
            nothing.
        FAILED: It raised; nothing of it was committed to its table.
        SKIPPED: It did not run because a step it depends on failed.
        RUNNING: The run is under way (the run log holds its steps from its start).
        ABANDONED: The run died (its driver was killed) before the step ended; the next run
            found it and marked it so. What the step committed, if anything, can be rolled back.
        CANCELLED: The run was stopped by a signal (Ctrl-C, SIGTERM) before the step ended;
            nothing of it was committed.

    Example:
        >>> StepStatus("failed") is StepStatus.FAILED, StepStatus.UP_TO_DATE.value
        (True, 'up_to_date')
        >>> StepStatus.UP_TO_DATE.ok, StepStatus.SKIPPED.ok
        (True, False)
    """

    SUCCEEDED = "succeeded"
    UP_TO_DATE = "up_to_date"
    FAILED = "failed"
    SKIPPED = "skipped"
    RUNNING = "running"
    ABANDONED = "abandoned"
    CANCELLED = "cancelled"

    @property
    def ok(self) -> bool:
        """Whether the step did what it had to (succeeded, or had nothing new)."""
        return self in (StepStatus.SUCCEEDED, StepStatus.UP_TO_DATE)


@attrs.frozen
class StepRun:
    """How one step of a run went.

    Attributes:
        step: The step's name.
        table: The qualified name of its table.
        status: How it ended (a :class:`StepStatus`, or its value).
        seconds: Wall time of the step.
        write: What the step wrote, when it succeeded.
        error: The error's message, when it failed.
        rows_read: Rows the step's quality checks evaluated (``None`` without checks).
        rows_quarantined: Rows sent to the quarantine table.
        rows_dropped: Rows removed by ``drop`` rules, and by a MERGE's de-duplication (duplicate
            and null keys).
        rule_metrics: How each quality rule fared.
        started_at: When the step began (UTC).
        ended_at: When it ended (UTC).
        version_before: The table's Delta version before the step (``None`` if it had none);
            restoring it undoes the step.
        location: Where the step's table lives.
        note: Why the step wrote nothing, when it was up to date; what else it did when it
            succeeded (bad files skipped, quarantined rows replayed).

    Example:
        >>> from medallion import Pipeline, Table
        >>> pipeline = Pipeline("totals")
        >>> @pipeline.step(Table("totals", "gold"))
        ... def totals(ctx):
        ...     return ctx.spark.range(3)
        >>> result = pipeline.run(spark, lakehouse, run_id="r1", log=False)
        >>> run = result.step("totals")
        >>> run.table, run.status.value, run.write.rows_inserted, run.version_before
        ('gold.totals', 'succeeded', 3, None)
    """

    step: str
    table: str
    status: StepStatus = attrs.field(converter=StepStatus)
    seconds: float = 0.0
    write: WriteResult | None = None
    error: str | None = None
    rows_read: int | None = None
    rows_quarantined: int = 0
    rows_dropped: int = 0
    rule_metrics: tuple[RuleMetric, ...] = ()
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    version_before: int | None = None
    location: str | None = None
    note: str | None = None


@attrs.frozen
class RunResult:
    """The outcome of a run: :meth:`Pipeline.run <medallion.Pipeline.run>`, or a streaming batch.

    Attributes:
        run_id: The run's id (also on every row and commit it wrote).
        pipeline: The pipeline's name.
        started_at: When the run began (UTC).
        ended_at: When it ended (UTC).
        steps: One entry per planned step, in run order.

    Example:
        >>> from medallion import Pipeline, Table
        >>> pipeline = Pipeline("totals")
        >>> @pipeline.step(Table("totals", "gold"))
        ... def totals(ctx):
        ...     return ctx.spark.range(3)
        >>> result = pipeline.run(spark, lakehouse, run_id="r1", log=False)
        >>> result.run_id, result.succeeded, [run.status.value for run in result.steps]
        ('r1', True, ['succeeded'])
    """

    run_id: str
    pipeline: str
    started_at: dt.datetime
    ended_at: dt.datetime
    steps: tuple[StepRun, ...]

    @property
    def succeeded(self) -> bool:
        """Whether every step succeeded or was up to date."""
        return all(s.status.ok for s in self.steps)

    def step(self, name: str) -> StepRun:
        """The entry of a step, by step name or qualified table name.

        Args:
            name: The step's name or its table's qualified name.

        Returns:
            The step's entry.

        Raises:
            KeyError: No step of the run has that name.

        Example:
            >>> from medallion import Pipeline, Table
            >>> pipeline = Pipeline("totals")
            >>> @pipeline.step(Table("totals", "gold"))
            ... def totals(ctx):
            ...     return None  # nothing to write
            >>> result = pipeline.run(spark, lakehouse, run_id="r1", log=False)
            >>> result.step("gold.totals") == result.step("totals")
            True
        """
        for run in self.steps:
            if name in (run.step, run.table):
                return run
        raise KeyError(name)

    def render(self) -> str:
        """A readable summary: one line per step with its counts and the version written.

        Returns:
            The text.

        Example:
            >>> from medallion import Pipeline, Table
            >>> pipeline = Pipeline("totals")
            >>> @pipeline.step(Table("totals", "gold"))
            ... def totals(ctx):
            ...     return ctx.spark.range(3)
            >>> result = pipeline.run(spark, lakehouse, run_id="r1", log=False)
            >>> print(result.render())  # doctest: +ELLIPSIS
            run r1 of pipeline 'totals': succeeded in ... s
              succeeded  gold.totals                  3 inserted, version 0 (... s)
        """
        seconds = (self.ended_at - self.started_at).total_seconds()
        cancelled = any(s.status is StepStatus.CANCELLED for s in self.steps)
        status = "succeeded" if self.succeeded else "CANCELLED" if cancelled else "FAILED"
        lines = [f"run {self.run_id} of pipeline {self.pipeline!r}: {status} in {seconds:.1f} s"]
        for s in self.steps:
            lines.append(f"  {s.status.value:<10} {s.table:<28} {describe_step(s)}")
        return "\n".join(lines)


def describe_step(run: StepRun) -> str:
    """One line about what a step did: rows read, inserted, updated, deleted, quarantined...

    Args:
        run: The step's entry.

    Returns:
        The text.

    Example:
        >>> from medallion import MergeResult
        >>> write = MergeResult("silver.orders", "merge", 7, rows_inserted=3, rows_updated=1,
        ...                     rows_deleted=2, duplicates_removed=1)
        >>> describe_step(StepRun("orders", "silver.orders", "succeeded", 1.25, write=write,
        ...                       rows_read=10, rows_quarantined=3, rows_dropped=1))
        '10 read, 3 inserted, 1 updated, 2 deleted, 3 quarantined, 1 dropped, version 7 (1.2 s)'
        >>> describe_step(StepRun("totals", "gold.totals", "up_to_date", note="nothing new"))
        'up to date: nothing new (0.0 s)'
    """
    if run.status is StepStatus.SKIPPED:
        return "(an earlier step failed)"
    if run.status is StepStatus.CANCELLED:
        return f"cancelled{': ' + run.error if run.error else ''}"
    if run.status in (StepStatus.RUNNING, StepStatus.ABANDONED):
        return str(run.status.value)
    if run.status is StepStatus.FAILED:
        return f"{run.seconds:.1f} s: {run.error}"
    if run.status is StepStatus.UP_TO_DATE:
        return f"up to date: {run.note or 'nothing new'} ({run.seconds:.1f} s)"
    parts = []
    if run.rows_read is not None:
        parts.append(f"{run.rows_read:,} read")
    write = run.write
    if write is not None and write.version is not None:
        parts.append(f"{write.rows_inserted:,} inserted")
        if write.rows_updated:
            parts.append(f"{write.rows_updated:,} updated")
        if write.rows_deleted:
            parts.append(f"{write.rows_deleted:,} deleted")
    if run.rows_quarantined:
        parts.append(f"{run.rows_quarantined:,} quarantined")
    if run.rows_dropped:
        parts.append(f"{run.rows_dropped:,} dropped")
    version = (
        f"version {write.version}"
        if write is not None and write.version is not None
        else "nothing to write"
    )
    note = f"; {run.note}" if run.note else ""
    return ", ".join([*parts, version]) + f" ({run.seconds:.1f} s){note}"
