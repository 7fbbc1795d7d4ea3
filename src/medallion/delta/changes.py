"""The Change Data Feed, and what a consumer has not processed yet of a table.

A consumer (a step that reads a table incrementally) records the source version it processed
in the commit of its own write, under ``medallion_consumed`` in the commit's userMetadata. The
next time, it reads the source's Change Data Feed from the version after that one. Because the
position lives in the consumer's table, a failed write re-reads the same changes, and a RESTORE
of the consumer's table rewinds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from medallion.delta._target import Target
from medallion.delta.history import read
from medallion.delta.maintenance import change_data_feed_enabled
from medallion.errors import DeltaOperationError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__: list[str] = []


def changes(target: Target, from_version: int, to_version: int | None = None) -> DataFrame:
    """The Change Data Feed between two versions (inclusive).

    Raises:
        DeltaOperationError: The table does not record its changes.
    """
    declared = target.table is not None and (
        target.table.properties.get("delta.enableChangeDataFeed", "").lower() == "true"
    )
    # A table declared with the feed was created with it: no DESCRIBE DETAIL (a Spark job).
    if not declared and not change_data_feed_enabled(target):
        raise DeltaOperationError(
            f"table {target.name!r}: the Change Data Feed is not enabled; declare the table "
            "with properties={'delta.enableChangeDataFeed': 'true'} or call "
            "enable_change_data_feed()"
        )
    reader = (
        target.spark.read.format("delta")
        .option("readChangeFeed", "true")
        .option("startingVersion", from_version)
    )
    if to_version is not None:
        reader = reader.option("endingVersion", to_version)
    return reader.table(target.location) if target.by_name else reader.load(target.location)


def consumed_versions(target: Target, consumers: Iterable[str]) -> dict[str, int | None]:
    """The last source version each consumer recorded in this table's current state.

    Read from the commit tags, in one read of the table's history, following RESTOREs: after
    the table is restored to an earlier version, a consumer's position is the one that version
    had. ``None`` for a consumer that never wrote here.
    """
    found: dict[str, int | None] = dict.fromkeys(consumers)
    if not target.exists():
        return found
    missing = set(found)
    limit: int | None = None
    for commit in target.commits():
        if not missing:
            break
        if limit is not None and commit.version > limit:
            continue
        if commit.operation == "RESTORE":
            restored = commit.parameters.get("version")
            if restored is not None and restored.isdigit():
                limit = int(restored)
                continue
        consumed = commit.tags.get("medallion_consumed")
        if isinstance(consumed, Mapping):
            for consumer in list(missing):
                if consumer in consumed:
                    found[consumer] = int(consumed[consumer])
                    missing.discard(consumer)
    return found


def consumed_version(target: Target, consumer: str) -> int | None:
    """The last source version ``consumer`` recorded in this table's current state."""
    return consumed_versions(target, [consumer])[consumer]


def change_rows(source: Target, after: int | None, to_version: int) -> DataFrame:
    """The changes of ``source`` after version ``after``, up to ``to_version``.

    Every change of the Change Data Feed, with its ``_change_type``, ``_commit_version`` and
    ``_commit_timestamp``; when ``after`` is ``None``, the whole table at ``to_version``, each
    row an ``insert`` of that version; no rows when ``after`` is ``to_version`` or later.
    """
    if after is not None and after < to_version:
        if not _restored_between(source, after + 1, to_version):
            return changes(source, after + 1, to_version)
        # A RESTORE in the range: the feed reports the rows it took out as deletes and the
        # rows the restored version had as inserts again, so rows added and taken out in the
        # range would come twice. The difference of the two versions is what changed.
        before, now = read(source, version=after), read(source, version=to_version)
        return _typed(now.exceptAll(before), "insert", to_version).unionByName(
            _typed(before.exceptAll(now), "delete", to_version)
        )
    rows = read(source, version=to_version)
    if after is not None:
        rows = rows.limit(0)
    return _typed(rows, "insert", to_version)


def _typed(rows: DataFrame, change: str, version: int) -> DataFrame:
    """Rows as changes of one type at one version (the feed's columns, no commit time)."""
    return rows.select(
        "*",
        F.lit(change).alias("_change_type"),
        F.lit(version).cast("bigint").alias("_commit_version"),
        F.lit(None).cast("timestamp").alias("_commit_timestamp"),
    )


def _restored_between(source: Target, first: int, last: int) -> bool:
    """Whether a commit from ``first`` to ``last`` (inclusive) is a RESTORE."""
    for commit in source.commits():
        if commit.version < first:
            return False
        if commit.version <= last and commit.operation == "RESTORE":
            return True
    return False
