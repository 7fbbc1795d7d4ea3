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

from medallion.delta._target import Target, session_with
from medallion.delta.history import read
from medallion.delta.results import OptimizeResult, TableDetail, VacuumResult
from medallion.errors import DeltaOperationError, SchemaEvolutionError
from medallion.schema import SchemaChange, schema_changes, to_ddl, to_struct_type

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from medallion._typing import SchemaLike

__all__ = ["SAFE_RETENTION_HOURS"]

#: VACUUM refuses a retention shorter than this unless forced (Delta's own default).
SAFE_RETENTION_HOURS = 168.0


def detail(target: Target) -> TableDetail:
    """The table's version, files, size, partitioning and properties (``DESCRIBE DETAIL``)."""
    row = target.delta_table().detail().first()
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
    before = target.version()

    def run() -> None:
        builder = target.delta_table().optimize()
        if where:
            builder = builder.where(where)
        if columns:
            builder.executeZOrderBy(*columns)
        else:
            builder.executeCompaction()

    target.retrying("OPTIMIZE", run)
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
        f"'{k}' = '{str(v).replace(chr(39), chr(92) + chr(39))}'" for k, v in properties.items()
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
