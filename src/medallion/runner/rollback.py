"""Rolling a pipeline run back: every table it wrote restored to its version from before the run.

The run log records, for each step, where its table lives and the table's version before the
step. A rollback restores each table the run changed to that version (a Delta RESTORE: a new
commit, the history stays), deletes the run's rows from the quarantine tables, and opens again
the quarantined rows the run replayed and resolved for the tables it restored. Because an
incremental step records the source version it consumed in its own commit, restoring its
table also rewinds it: the next run reads those changes again.

A table that a later run also changed is refused (restoring it would undo that run too)
unless ``force`` is given; commits that change no data (OPTIMIZE, VACUUM) do not count.

Example:
    From the command line::

        medallion rollback 3f2a... --root lakehouse --dry-run
        medallion rollback 3f2a... --root lakehouse
"""

from __future__ import annotations

import enum
import os
from typing import TYPE_CHECKING

import attrs
from pyspark.sql import functions as F

from medallion._names import string_literal
from medallion.delta._target import Target
from medallion.errors import RunNotFoundError
from medallion.layers import Layer
from medallion.quality.quarantine import quarantine_location, reopen_quarantine
from medallion.runner.runlog import read_run_log, run_log_location
from medallion.table import resolve_root

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["RollbackAction", "RollbackResult", "TableRollback", "rollback_run"]

#: Statuses of a step whose run did not log how it ended.
_DIED = frozenset({"running", "abandoned"})

#: Operations that rewrite files without changing a table's rows.
_NEUTRAL = frozenset({"OPTIMIZE", "VACUUM START", "VACUUM END", "SET TBLPROPERTIES"})


class RollbackAction(str, enum.Enum):
    """What a rollback did (or would do) to one table.

    Attributes:
        RESTORED: Restored to its version before the run.
        WOULD_RESTORE: Would be restored (a dry run).
        UNCHANGED: The run did not change it.
        REFUSED: A later run changed it too; restoring would undo that run (use ``force``).
        NOT_RESTORABLE: The run created it without a schema: there is no earlier version.

    Example:
        >>> RollbackAction("would restore") is RollbackAction.WOULD_RESTORE
        True
        >>> RollbackAction.REFUSED.done
        False
    """

    RESTORED = "restored"
    WOULD_RESTORE = "would restore"
    UNCHANGED = "unchanged"
    REFUSED = "refused"
    NOT_RESTORABLE = "not restorable"

    @property
    def done(self) -> bool:
        """Whether the table is back (or would be, for a dry run)."""
        return self in (
            RollbackAction.RESTORED,
            RollbackAction.WOULD_RESTORE,
            RollbackAction.UNCHANGED,
        )


@attrs.frozen
class TableRollback:
    """What a rollback did (or would do) to one table.

    Attributes:
        table: The qualified name.
        location: Where it lives.
        action: What was done (a :class:`RollbackAction`, or its value).
        version_before: The version restored to.
        current_version: The version before the rollback.
        reason: Why it was refused or not restorable.

    Example:
        >>> entry = TableRollback("gold.totals", "/lake/gold/totals", "restored", 3, 5)
        >>> entry.action.value, entry.version_before
        ('restored', 3)
    """

    table: str
    location: str
    action: RollbackAction = attrs.field(converter=RollbackAction)
    version_before: int | None
    current_version: int | None
    reason: str = ""


@attrs.frozen
class RollbackResult:
    """The outcome of :func:`rollback_run`.

    Attributes:
        run_id: The run rolled back.
        pipeline: Its pipeline.
        tables: One entry per table the run's steps wrote.
        quarantine_rows_deleted: The run's rows removed from quarantine tables.
        dry_run: Whether nothing was changed.

    Example:
        >>> entry = TableRollback("gold.totals", "/lake/gold/totals", "would restore", 3, 5)
        >>> result = RollbackResult("r7", "sales", (entry,), 0, dry_run=True)
        >>> result.complete
        True
    """

    run_id: str
    pipeline: str
    tables: tuple[TableRollback, ...]
    quarantine_rows_deleted: int
    dry_run: bool

    @property
    def complete(self) -> bool:
        """Whether every table the run changed is back (or would be, for a dry run)."""
        return all(t.action.done for t in self.tables)

    def render(self) -> str:
        """A readable report, one line per table.

        Returns:
            The text.

        Example:
            >>> entry = TableRollback("gold.totals", "/lake/gold/totals", "would restore", 3, 5)
            >>> print(RollbackResult("r7", "sales", (entry,), 2, dry_run=True).render())
            would roll back run r7 of pipeline 'sales':
              gold.totals: would restore (version 5 -> 3)
              quarantine: would delete 2 row(s) of the run
        """
        head = "would roll back" if self.dry_run else "rolled back"
        lines = [f"{head} run {self.run_id} of pipeline {self.pipeline!r}:"]
        for t in self.tables:
            versions = (
                f"version {t.current_version} -> {t.version_before}"
                if t.action in (RollbackAction.RESTORED, RollbackAction.WOULD_RESTORE)
                else f"version {t.current_version}"
            )
            lines.append(
                f"  {t.table}: {t.action.value} ({versions})"
                + (f": {t.reason}" if t.reason else "")
            )
        verb = "would delete" if self.dry_run else "deleted"
        lines.append(f"  quarantine: {verb} {self.quarantine_rows_deleted} row(s) of the run")
        return "\n".join(lines)


def rollback_run(
    spark: SparkSession,
    root: str | os.PathLike[str],
    run_id: str,
    *,
    force: bool = False,
    dry_run: bool = False,
) -> RollbackResult:
    """Restore every table a run wrote to its version from before the run.

    Args:
        spark: The session.
        root: The lakehouse root whose run log holds the run.
        run_id: The run's id.
        force: Restore tables that later runs changed too (undoing those runs' writes).
        dry_run: Only report what would be done.

    Returns:
        What was done to each table.

    Raises:
        RunNotFoundError: The run is not in the run log.

    Example:
        >>> from medallion import Pipeline, Table
        >>> pipeline = Pipeline("numbers")
        >>> numbers = Table("numbers", "gold", schema="n BIGINT")
        >>> @pipeline.step(numbers)
        ... def make(ctx):
        ...     return ctx.spark.range(3).withColumnRenamed("id", "n")
        >>> _ = pipeline.run(spark, lakehouse, run_id="first")
        >>> _ = pipeline.run(spark, lakehouse, run_id="second")
        >>> rollback_run(spark, lakehouse, "second").tables[0].action.value
        'restored'
        >>> spark.read.format("delta").load(numbers.location(lakehouse)).count()
        3
    """
    from medallion.delta.ops import DeltaOps

    base = resolve_root(root)
    if not DeltaOps(spark, run_log_location(base)).exists():
        raise RunNotFoundError(
            f"run {run_id!r}: there is no run log at {run_log_location(base)} (no run has been "
            f"logged in the lakehouse at {base})"
        )
    log = (
        read_run_log(spark, base)
        .where(F.col("run_id") == run_id)
        .orderBy(F.col("started_at").desc_nulls_last())
        .collect()
    )
    if not log:
        raise RunNotFoundError(f"run {run_id!r} is not in the run log at {run_log_location(base)}")
    pipeline = str(log[0]["pipeline"])
    tables: list[TableRollback] = []
    layers: set[str] = set()
    for row in log:
        location = row["location"]
        if location is None or row["status"] == "skipped":
            continue
        layers.add(str(row["layer"]))
        table = str(row["table"])
        ops = DeltaOps(spark, location)
        before = row["version_before"]
        if not ops.exists():
            tables.append(TableRollback(table, location, RollbackAction.UNCHANGED, before, None))
            continue
        current = ops.version()
        history = ops.history()
        if before is None and row["status"] in _DIED:
            # Its driver died before logging the step: its first commit tells the version.
            first = min((c.version for c in history if c.run_id == run_id), default=None)
            before = None if first is None or first == 0 else first - 1
        later = [c for c in history if before is None or c.version > before]
        ours = [c for c in later if c.run_id == run_id]
        others = [c for c in later if c.run_id != run_id and c.operation not in _NEUTRAL]
        if not ours:
            tables.append(
                TableRollback(table, location, RollbackAction.UNCHANGED, before, current)
            )
            continue
        if before is None:
            reason = "the run created it (no schema was declared), so it has no earlier version"
            tables.append(
                TableRollback(
                    table, location, RollbackAction.NOT_RESTORABLE, None, current, reason
                )
            )
            continue
        if others and not force:
            newest = max(others, key=lambda c: c.version)
            reason = (
                f"version {newest.version} ({newest.operation}"
                + (f", run {newest.run_id}" if newest.run_id else "")
                + ") came after the run; restoring would undo it too (use force)"
            )
            tables.append(
                TableRollback(table, location, RollbackAction.REFUSED, before, current, reason)
            )
            continue
        if not dry_run:
            ops.restore(version=int(before))
            # Rows the run replayed from quarantine and resolved are out of the table again.
            reopen_quarantine(spark, base, table, run_id)
        action = RollbackAction.WOULD_RESTORE if dry_run else RollbackAction.RESTORED
        tables.append(TableRollback(table, location, action, int(before), current))
    deleted = 0
    for layer in sorted(layers):
        quarantine = Target(spark, quarantine_location(base, Layer(layer)))
        if not quarantine.exists():
            continue
        condition = F.col("run_id") == run_id
        count = quarantine.read().where(condition).count()
        if count and not dry_run:
            quarantine.commands().delete(f"run_id = {string_literal(run_id)}")
        deleted += count
    return RollbackResult(run_id, pipeline, tuple(tables), deleted, dry_run)
