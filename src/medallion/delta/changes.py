"""The Change Data Feed, and what a consumer has not processed yet of a table.

A consumer (a step that reads a table incrementally) records the source version it processed
in the commit of its own write, under ``medallion_consumed`` in the commit's userMetadata. The
next time, it reads the source's Change Data Feed from the version after that one. Because the
position lives in the consumer's table, a failed write re-reads the same changes, and a RESTORE
of the consumer's table rewinds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs
from pyspark.sql import functions as F

from medallion.delta._target import Target
from medallion.delta.history import read
from medallion.delta.maintenance import change_data_feed_enabled
from medallion.errors import DeltaOperationError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["Increment", "consumed_tags"]


@attrs.frozen
class Increment:
    """The rows of a source table a consumer has not processed yet.

    Write what you make of :attr:`rows` with ``tags=increment.tags`` (``DeltaOps.merge`` or
    ``write``): the source version then becomes part of the same commit as the data, so a crash
    before the write re-reads the same changes next time, and a replayed write is not counted
    twice.

    Attributes:
        source: The source table's name.
        consumer: The consumer's name.
        from_version: The first source version included; ``None`` when :attr:`rows` is the
            whole table (the consumer's first run).
        to_version: The last source version included.
        rows: Rows inserted or updated (their new values) since ``from_version``.
        deleted: Rows deleted since ``from_version`` (``None`` on a first run).

    Example:
        >>> increment = Increment("bronze.orders", "orders->sales", 3, 5, spark.range(0))
        >>> increment.is_empty, increment.tags
        (False, {'medallion_consumed': {'orders->sales': 5}})
    """

    source: str
    consumer: str
    from_version: int | None
    to_version: int
    rows: DataFrame = attrs.field(eq=False)
    deleted: DataFrame | None = attrs.field(default=None, eq=False)

    @property
    def is_empty(self) -> bool:
        """Whether the source has no version the consumer has not processed."""
        return self.from_version is not None and self.from_version > self.to_version

    @property
    def tags(self) -> Mapping[str, Any]:
        """The commit tags that record this increment as processed.

        ``{"medallion_consumed": {consumer: source version}}``; to record several increments
        in one commit (a step reading two sources), merge them with :func:`consumed_tags`.
        """
        return {"medallion_consumed": {self.consumer: self.to_version}}


def consumed_tags(*increments: Increment) -> dict[str, Any]:
    """The commit tags recording several increments as processed in the same commit.

    Args:
        *increments: The increments the commit's data was made from.

    Returns:
        The tags for ``DeltaOps.write`` / ``merge``.

    Example:
        >>> orders = Increment("bronze.orders", "orders->sales", 3, 5, spark.range(0))
        >>> items = Increment("bronze.items", "items->sales", 8, 9, spark.range(0))
        >>> consumed_tags(orders, items)
        {'medallion_consumed': {'orders->sales': 5, 'items->sales': 9}}
    """
    return {"medallion_consumed": {i.consumer: i.to_version for i in increments}}

def changes(target: Target, from_version: int, to_version: int | None = None) -> DataFrame:
    """The Change Data Feed between two versions (inclusive).

    Raises:
        DeltaOperationError: The table does not record its changes.
    """
    if not change_data_feed_enabled(target):
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


def consumed_version(target: Target, consumer: str) -> int | None:
    """The last source version ``consumer`` recorded in this table's current state.

    Read from the commit tags, following RESTOREs: after the table is restored to an earlier
    version, the consumer's position is the one that version had.
    """
    if not target.exists():
        return None
    limit: int | None = None
    for commit in target.history():
        if limit is not None and commit.version > limit:
            continue
        if commit.operation == "RESTORE":
            restored = commit.parameters.get("version")
            if restored is not None and restored.isdigit():
                limit = int(restored)
                continue
        consumed = commit.tags.get("medallion_consumed")
        if isinstance(consumed, Mapping) and consumer in consumed:
            return int(consumed[consumer])
    return None


def increment(source: Target, consumer: str, target: Target) -> Increment:
    """What ``consumer`` has not processed yet of ``source``, given what ``target`` records."""
    current = source.version()
    done = consumed_version(target, consumer)
    if done is None:
        return Increment(source.name, consumer, None, current, read(source, version=current))
    if done >= current:
        empty = read(source, version=current).limit(0)
        return Increment(source.name, consumer, done + 1, current, empty, empty)
    found = changes(source, done + 1, current)
    metadata = ["_change_type", "_commit_version", "_commit_timestamp"]
    return Increment(
        source.name,
        consumer,
        done + 1,
        current,
        found.where(F.col("_change_type").isin("insert", "update_postimage")).drop(*metadata),
        found.where(F.col("_change_type") == "delete").drop(*metadata),
    )
