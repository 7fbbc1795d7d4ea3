"""Time travel: reading a table as it was, restoring it, and comparing two of its versions.

The public entry points are :meth:`DeltaOps.read <medallion.DeltaOps.read>`,
:meth:`~medallion.DeltaOps.restore`, :meth:`~medallion.DeltaOps.diff` and
:meth:`~medallion.DeltaOps.history`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from medallion.delta._target import Target, timestamp_text
from medallion.delta.results import Commit, Diff
from medallion.errors import DeltaOperationError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__: list[str] = []


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
    table = target.delta_table()
    if version is not None:
        current = target.version()
        if not 0 <= version <= current:
            raise DeltaOperationError(
                f"table {target.name!r}: cannot restore version {version} (0 to {current})"
            )
        target.retrying("RESTORE", lambda: table.restoreToVersion(version))
    else:
        assert timestamp is not None
        text = timestamp_text(timestamp, target.spark)
        target.retrying("RESTORE", lambda: table.restoreToTimestamp(text))
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
