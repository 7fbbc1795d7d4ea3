"""Keeping a table healthy: compaction and Z-order, VACUUM, properties, columns and details.

The public entry points are :meth:`DeltaOps.optimize <medallion.DeltaOps.optimize>`,
:meth:`~medallion.DeltaOps.vacuum`, :meth:`~medallion.DeltaOps.detail`,
:meth:`~medallion.DeltaOps.set_properties` and :meth:`~medallion.DeltaOps.add_columns`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from pyspark.sql import types as T

from medallion._names import quote, string_literal
from medallion.delta._target import HasTarget, Target, session_with
from medallion.delta.history import read
from medallion.delta.results import OptimizeResult, TableDetail, VacuumResult
from medallion.errors import DeltaOperationError, SchemaEvolutionError
from medallion.schema import SchemaChange, schema_changes, to_ddl, to_struct_type

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from medallion._typing import SchemaLike

__all__ = ["SAFE_RETENTION_HOURS", "MaintenanceOps"]

#: VACUUM refuses a retention shorter than this unless forced (Delta's own default).
SAFE_RETENTION_HOURS = 168.0


def detail(target: Target) -> TableDetail:
    """The table's version, files, size, partitioning and properties (``DESCRIBE DETAIL``)."""
    row = target.commands().detail().first()
    assert row is not None
    return TableDetail(
        location=str(row["location"]),
        version=target.version(),
        num_files=int(row["numFiles"] or 0),
        size_bytes=int(row["sizeInBytes"] or 0),
        partition_columns=tuple(row["partitionColumns"] or ()),
        properties=MappingProxyType(dict(row["properties"] or {})),
    )


def optimize(
    target: Target, where: str | None = None, zorder_by: Iterable[str] | None = None
) -> OptimizeResult:
    """Compact small files (of the partitions ``where`` selects), Z-ordered by ``zorder_by``.

    ``zorder_by`` defaults to the table's declared Z-order columns.
    """
    columns = (
        tuple(zorder_by)
        if zorder_by is not None
        else (target.table.zorder_by if target.table is not None else ())
    )
    for column in columns:
        if "`" in column:
            raise DeltaOperationError(
                f"table {target.name!r}: cannot Z-order by {column!r}: Delta's OPTIMIZE fails on "
                "a column name containing a backtick"
            )
    before = target.version()
    # SQL, not DeltaTable.optimize(): that names a path table without doubling its backticks.
    # Each Z-order column is quoted, so that "a.b" stays one column.
    statement = f"OPTIMIZE {target.sql_identifier()}"
    if where:
        statement += f" WHERE {where}"
    if columns:
        statement += f" ZORDER BY ({', '.join(quote(c) for c in columns)})"
    target.retrying("OPTIMIZE", lambda: target.spark.sql(statement).collect())
    commit = target.last_commit()
    if commit.version == before:
        return OptimizeResult(None, 0, 0, columns)
    return OptimizeResult(
        commit.version,
        commit.metrics.get("numAddedFiles", 0),
        commit.metrics.get("numRemovedFiles", 0),
        columns,
    )


def vacuum(
    target: Target,
    retention_hours: float = SAFE_RETENTION_HOURS,
    *,
    force: bool = False,
    dry_run: bool = False,
) -> VacuumResult:
    """Delete files no version newer than the retention needs (or count them, ``dry_run``).

    Raises:
        DeltaOperationError: The retention is negative, or below the safe minimum without
            ``force``.
    """
    if retention_hours < 0:
        raise DeltaOperationError(f"table {target.name!r}: retention cannot be negative")
    if retention_hours < SAFE_RETENTION_HOURS and not force:
        raise DeltaOperationError(
            f"table {target.name!r}: a VACUUM retention of {retention_hours:g} hours is under "
            f"the safe minimum of {SAFE_RETENTION_HOURS:g}; files that readers or time "
            "travel still need could be deleted. Pass force=True to do it anyway"
        )
    check = "spark.databricks.delta.retentionDurationCheck.enabled"
    settings = {check: "false"} if force else {}
    statement = f"VACUUM {target.sql_identifier()} RETAIN {retention_hours:g} HOURS"
    with session_with(target.spark, settings) as session:
        listed = session.sql(statement + " DRY RUN").count()
        if not dry_run and listed:
            session.sql(statement).collect()
    return VacuumResult(retention_hours, int(listed), dry_run)


def set_properties(target: Target, properties: Mapping[str, str]) -> None:
    """Set table properties (``ALTER TABLE ... SET TBLPROPERTIES``)."""
    pairs = ", ".join(
        f"{string_literal(k)} = {string_literal(str(v))}" for k, v in properties.items()
    )
    target.retrying(
        "ALTER TABLE",
        lambda: target.spark.sql(
            f"ALTER TABLE {target.sql_identifier()} SET TBLPROPERTIES ({pairs})"
        ),
    )


def properties(target: Target) -> Mapping[str, str]:
    """The table's properties."""
    return detail(target).properties


def change_data_feed_enabled(target: Target) -> bool:
    """Whether the table records its row-level changes."""
    return properties(target).get("delta.enableChangeDataFeed", "false").lower() == "true"


def schema(target: Target) -> T.StructType:
    """The table's current schema."""
    return read(target).schema


def changes_of_schema(target: Target, df: DataFrame) -> tuple[SchemaChange, ...]:
    """How ``df``'s schema differs from the table's stored schema."""
    keys = target.table.primary_keys if target.table is not None else ()
    return schema_changes(schema(target), df.schema, keys)


def add_columns(target: Target, columns: SchemaLike) -> T.StructType:
    """Add nullable columns (``ALTER TABLE ... ADD COLUMNS``); return the schema afterwards.

    Raises:
        SchemaEvolutionError: A column already exists.
    """
    new = to_struct_type(columns)
    existing = {c.lower() for c in schema(target).fieldNames()}
    clash = [f.name for f in new.fields if f.name.lower() in existing]
    if clash:
        raise SchemaEvolutionError(
            f"table {target.name!r}: column(s) {', '.join(clash)} already exist"
        )
    nullable = T.StructType([T.StructField(f.name, f.dataType, True) for f in new.fields])
    target.retrying(
        "ALTER TABLE",
        lambda: target.spark.sql(
            f"ALTER TABLE {target.sql_identifier()} ADD COLUMNS ({to_ddl(nullable)})"
        ),
    )
    return schema(target)


class MaintenanceOps(HasTarget):
    """The maintenance, properties and schema operations of :class:`~medallion.DeltaOps`.

    Example:
        >>> from medallion import DeltaOps
        >>> issubclass(DeltaOps, MaintenanceOps)
        True
    """

    def schema(self) -> T.StructType:
        """The table's current schema.

        Example:
            >>> from medallion import DeltaOps
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.schema().simpleString()
            'struct<id:bigint>'
        """
        return schema(self._target)

    def schema_changes(self, df: DataFrame) -> tuple[SchemaChange, ...]:
        """How ``df``'s schema differs from the table's stored schema.

        See :func:`medallion.schema.schema_changes`.

        Args:
            df: The data that would be written.

        Returns:
            Every difference, compatible or not.

        Example:
            >>> from medallion import DeltaOps
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> incoming = spark.createDataFrame([(1, "click")], "id INT, kind STRING")
            >>> [str(change) for change in ops.schema_changes(incoming)]
            ["column 'id' widens from int to bigint", "column 'kind' (string) is new"]
        """
        return changes_of_schema(self._target, df)

    def add_columns(self, columns: SchemaLike) -> T.StructType:
        """Add columns to the table (an explicit schema change; existing rows get null).

        Args:
            columns: The new columns, as a ``StructType`` or DDL (``"channel STRING"``).

        Returns:
            The table's schema afterwards.

        Raises:
            SchemaEvolutionError: A column already exists.

        Example:
            >>> from medallion import DeltaOps
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.add_columns("channel STRING").simpleString()
            'struct<id:bigint,channel:string>'
        """
        return add_columns(self._target, columns)

    def enable_change_data_feed(self) -> None:
        """Record row-level changes from now on (``delta.enableChangeDataFeed``).

        Example:
            >>> from medallion import DeltaOps
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.enable_change_data_feed()
            >>> ops.change_data_feed_enabled()
            True
        """
        set_properties(self._target, {"delta.enableChangeDataFeed": "true"})

    def set_properties(self, properties: Mapping[str, str]) -> None:
        """Set table properties.

        Args:
            properties: The properties to set.

        Example:
            >>> from medallion import DeltaOps
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.set_properties({"delta.appendOnly": "true"})
            >>> ops.properties()["delta.appendOnly"]
            'true'
        """
        set_properties(self._target, properties)

    def properties(self) -> Mapping[str, str]:
        """The table's properties.

        Example:
            >>> from medallion import DeltaOps
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").option("delta.appendOnly", "true").save(path)
            >>> DeltaOps.of(spark, path).properties()["delta.appendOnly"]
            'true'
        """
        return properties(self._target)

    def change_data_feed_enabled(self) -> bool:
        """Whether the table records its row-level changes.

        Example:
            >>> from medallion import DeltaOps
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.change_data_feed_enabled()
            False
        """
        return change_data_feed_enabled(self._target)

    def detail(self) -> TableDetail:
        """The table's version, files, size, partitioning and properties.

        Example:
            >>> from medallion import DeltaOps
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> detail = ops.detail()
            >>> detail.version, detail.num_files > 0, detail.partition_columns
            (0, True, ())
        """
        return detail(self._target)

    def optimize(
        self, where: str | None = None, zorder_by: Iterable[str] | None = None
    ) -> OptimizeResult:
        """Compact small files, and Z-order them by the table's declared columns.

        Args:
            where: A predicate on partition columns limiting the files compacted.
            zorder_by: Columns to Z-order by; defaults to the table's ``zorder_by`` (none: plain
                compaction).

        Returns:
            The files added and removed.

        Example:
            >>> from medallion import DeltaOps
            >>> path = f"{lakehouse}/events"
            >>> spark.range(0, 4, numPartitions=4).write.format("delta").save(path)  # 4 files
            >>> result = DeltaOps.of(spark, path).optimize()
            >>> result.version, result.files_removed, result.files_added
            (1, 4, 1)
        """
        return optimize(self._target, where, zorder_by)

    def vacuum(
        self,
        retention_hours: float = SAFE_RETENTION_HOURS,
        *,
        force: bool = False,
        dry_run: bool = False,
    ) -> VacuumResult:
        """Delete files no longer needed by versions newer than the retention.

        A retention under 168 hours (7 days) is refused unless ``force=True``: it can delete
        files that running readers or time travel still need.

        Args:
            retention_hours: Keep files needed by the versions of this many past hours.
            force: Allow a retention under the safe minimum.
            dry_run: Only count the files that would be deleted.

        Returns:
            The number of files deleted (or that would be).

        Raises:
            DeltaOperationError: The retention is below the safe minimum without ``force``.

        Example:
            >>> from medallion import DeltaOps
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.vacuum(dry_run=True)
            VacuumResult(retention_hours=168.0, files_deleted=0, dry_run=True)
            >>> ops.vacuum(24)  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            medallion.errors.DeltaOperationError: table '...': a VACUUM retention of 24 hours ...
        """
        return vacuum(self._target, retention_hours, force=force, dry_run=dry_run)
