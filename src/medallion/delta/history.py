"""Time travel: reading a table as it was, restoring it, and comparing two of its versions.

The public entry points are :meth:`DeltaOps.read <medallion.DeltaOps.read>`,
:meth:`~medallion.DeltaOps.restore`, :meth:`~medallion.DeltaOps.diff` and
:meth:`~medallion.DeltaOps.history`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from medallion._names import string_literal
from medallion.delta._target import HasTarget, Target, timestamp_text
from medallion.delta.results import Commit, Diff
from medallion.errors import DeltaOperationError

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["HistoryOps"]


def read(
    target: Target, *, version: int | None = None, timestamp: str | dt.datetime | None = None
) -> DataFrame:
    """The table: current, or as of a version or a timestamp.

    Raises:
        DeltaOperationError: Both were given, or the version does not exist.
    """
    if version is not None and timestamp is not None:
        raise DeltaOperationError(
            f"table {target.name!r}: read as of a version or a timestamp, not both"
        )
    reader = target.spark.read.format("delta")
    if version is not None:
        current = target.version()
        if not 0 <= version <= current:
            raise DeltaOperationError(
                f"table {target.name!r}: version {version} does not exist (0 to {current})"
            )
        reader = reader.option("versionAsOf", version)
    elif timestamp is not None:
        reader = reader.option("timestampAsOf", timestamp_text(timestamp, target.spark))
    if target.by_name:
        return reader.table(target.location)
    return reader.load(target.location)


def restore(
    target: Target, *, version: int | None = None, timestamp: str | dt.datetime | None = None
) -> Commit:
    """Restore an earlier version or timestamp as a new commit; return that commit.

    Raises:
        DeltaOperationError: Neither or both were given, or the version does not exist.
    """
    if (version is None) == (timestamp is None):
        raise DeltaOperationError(
            f"table {target.name!r}: restore needs exactly one of version or timestamp"
        )
    table = target.commands()
    if version is not None:
        current = target.version()
        if not 0 <= version <= current:
            raise DeltaOperationError(
                f"table {target.name!r}: cannot restore version {version} (0 to {current})"
            )
        target.retrying("RESTORE", lambda: table.restore_version(version))
    else:
        assert timestamp is not None
        text = string_literal(timestamp_text(timestamp, target.spark))
        target.retrying("RESTORE", lambda: table.restore_timestamp(text))
    return target.last_commit()


def diff(target: Target, from_version: int, to_version: int | None = None) -> Diff:
    """The rows added and removed between two versions (``exceptAll`` of the two snapshots)."""
    later = target.version() if to_version is None else to_version
    before = read(target, version=from_version)
    after = read(target, version=later)
    columns = [c for c in after.columns if c in before.columns]
    return Diff(
        from_version,
        later,
        added=after.select(*columns).exceptAll(before.select(*columns)),
        removed=before.select(*columns).exceptAll(after.select(*columns)),
    )


class HistoryOps(HasTarget):
    """The history and time-travel operations of :class:`~medallion.DeltaOps`.

    Example:
        >>> from medallion import DeltaOps
        >>> issubclass(DeltaOps, HistoryOps)
        True
    """

    def exists(self) -> bool:
        """Whether the Delta table exists.

        Example:
            >>> from medallion import DeltaOps
            >>> ops = DeltaOps.of(spark, f"{lakehouse}/events")
            >>> ops.exists()
            False
            >>> spark.range(3).write.format("delta").save(ops.location)
            >>> ops.exists()
            True
        """
        return self._target.exists()

    def delta_table(self, spark: SparkSession | None = None) -> DeltaTable:
        """The delta-spark ``DeltaTable`` behind these operations.

        Args:
            spark: The session to bind it to; defaults to :attr:`spark`.

        Returns:
            The ``DeltaTable``.

        medallion's own operations run as SQL and work through Spark Connect; this object needs
        Delta's Connect plugin there.

        Raises:
            DeltaOperationError: There is no Delta table there.
            UnsupportedOnConnectError: ``spark`` is a Spark Connect session.

        Example:
            >>> from medallion import DeltaOps
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.delta_table().toDF().count()
            3
        """
        return self._target.delta_table(spark)

    def history(self, limit: int | None = None) -> list[Commit]:
        """The table's commits, newest first.

        Args:
            limit: At most this many commits.

        Returns:
            The commits.

        Example:
            >>> from medallion import DeltaOps
            >>> ops = DeltaOps.of(spark, f"{lakehouse}/events")
            >>> _ = ops.write(spark.range(3), run_id="nightly-7")
            >>> [(c.version, c.operation, c.run_id) for c in ops.history()]
            [(0, 'WRITE', 'nightly-7')]
        """
        return self._target.history(limit)

    def version(self) -> int:
        """The current version of the table.

        For a local table this lists its ``_delta_log`` folder (milliseconds); otherwise it asks
        Delta for the latest commit.

        Example:
            >>> from medallion import DeltaOps
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.version()
            0
        """
        return self._target.version()

    def last_commit(self) -> Commit:
        """The latest commit.

        Example:
            >>> from medallion import DeltaOps
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> commit = ops.last_commit()
            >>> commit.version, commit.operation, commit.metrics["numOutputRows"]
            (0, 'WRITE', 3)
        """
        return self._target.last_commit()

    def read(
        self, *, version: int | None = None, timestamp: str | dt.datetime | None = None
    ) -> DataFrame:
        """Read the table: current, or as of a version or a timestamp (time travel).

        Args:
            version: Read this version.
            timestamp: Read the version current at this time: a datetime (naive means the
                process's local time, aware ones are converted), or a string such as
                ``"2026-01-31 12:00:00"`` in the Spark session's time zone.

        Returns:
            The rows.

        Raises:
            DeltaOperationError: Both a version and a timestamp were given, or the version does
                not exist.

        Example:
            >>> from medallion import DeltaOps
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.read().count(), ops.read(timestamp=ops.last_commit().timestamp).count()
            (3, 3)
        """
        return read(self._target, version=version, timestamp=timestamp)

    def restore(
        self, *, version: int | None = None, timestamp: str | dt.datetime | None = None
    ) -> Commit:
        """Restore the table to an earlier version or timestamp (a new commit; history stays).

        Args:
            version: The version to restore.
            timestamp: Restore the version current at this time.

        Returns:
            The RESTORE commit.

        Raises:
            DeltaOperationError: Neither or both were given, or the version does not exist.

        Example:
            ``ops.restore(version=3).operation`` is ``'RESTORE'``, and ``ops.read()`` then returns
            version 3's rows. A RESTORE takes seconds even on a tiny table, so this example only
            shows the argument check:

            >>> from medallion import DeltaOps
            >>> ops = DeltaOps.of(spark, f"{lakehouse}/events")
            >>> try:
            ...     ops.restore(version=3, timestamp="2026-01-31 12:00:00")
            ... except DeltaOperationError as exc:
            ...     print(str(exc).split(": ")[-1])
            restore needs exactly one of version or timestamp
        """
        return restore(self._target, version=version, timestamp=timestamp)

    def diff(self, from_version: int, to_version: int | None = None) -> Diff:
        """The rows added and removed between two versions, for audits.

        Compares the two snapshots (``exceptAll`` both ways), so it needs no Change Data Feed
        and counts duplicate rows correctly.

        Args:
            from_version: The earlier version.
            to_version: The later version; the current one by default.

        Returns:
            The added and removed rows.

        Example:
            >>> from medallion import DeltaOps
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> spark.range(1, 4).write.format("delta").mode("overwrite").save(path)
            >>> ops.diff(0).added.collect()  # and .removed: [Row(id=0)]
            [Row(id=3)]
        """
        return diff(self._target, from_version, to_version)
