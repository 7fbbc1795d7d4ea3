"""Reading and writing a :class:`~medallion.Table`'s Delta data under a lakehouse root.

Example:
    >>> from medallion import Table, read_table, write_table
    >>> daily = Table("daily_sales", "gold", schema="day STRING, revenue DOUBLE")
    >>> df = spark.createDataFrame([("2026-01-01", 10.5)], "day STRING, revenue DOUBLE")
    >>> result = write_table(df, daily, lakehouse)
    >>> result.mode.value, result.rows_inserted, result.version
    ('overwrite', 1, 1)
    >>> read_table(spark, daily, lakehouse).collect()
    [Row(day='2026-01-01', revenue=10.5)]
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs
from pyspark.sql import functions as F
from pyspark.sql import types as T

from medallion.errors import SchemaError
from medallion.layers import WriteMode
from medallion.table import Table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "WriteResult",
    "conform",
    "create_table",
    "last_commit",
    "read_table",
    "table_exists",
    "write_table",
]


@attrs.frozen
class WriteResult:
    """What one write to a Delta table did.

    Attributes:
        table: The qualified name of the table written (``"silver.orders"``).
        mode: How the rows were written.
        version: The Delta version the write committed, or ``None`` if nothing was committed.
        rows_inserted: Rows added.
        rows_updated: Rows changed in place (MERGE).
        rows_deleted: Rows removed (MERGE deletes, or the rows an overwrite replaced).
        run_id: The run the write belongs to, if any.
    """

    table: str
    mode: WriteMode
    version: int | None
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_deleted: int = 0
    run_id: str | None = None

    @property
    def rows_written(self) -> int:
        """Rows inserted plus rows updated."""
        return self.rows_inserted + self.rows_updated


def table_exists(spark: SparkSession, location: str) -> bool:
    """Whether a Delta table exists at a location.

    Args:
        spark: Any Delta-ready SparkSession.
        location: The table's path or URI.

    Returns:
        ``True`` if the location holds a Delta table.
    """
    from delta.tables import DeltaTable

    return bool(DeltaTable.isDeltaTable(spark, location))


def create_table(spark: SparkSession, table: Table, root: str | os.PathLike[str]) -> bool:
    """Create a table's Delta location with its schema, partitioning, properties and comment.

    Does nothing if the table already exists, or if it has no declared schema (its first write
    creates it then). Registers ``table.catalog_name`` in the catalog when it is set.

    Args:
        spark: Any Delta-ready SparkSession.
        table: The table to create.
        root: The lakehouse root.

    Returns:
        ``True`` if the table was created by this call.
    """
    from delta.tables import DeltaTable

    location = table.location(root)
    schema = table.storage_schema
    created = False
    if schema is not None and not table_exists(spark, location):
        builder = (
            DeltaTable.createIfNotExists(spark).location(location).addColumns(_nullable(schema))
        )
        if table.partition_by:
            builder = builder.partitionedBy(*table.partition_by)
        for key, value in table.properties.items():
            builder = builder.property(key, value)
        if table.comment:
            builder = builder.comment(table.comment)
        builder.execute()
        created = True
    if table.catalog_name is not None and table_exists(spark, location):
        _register(spark, table, location)
    return created


def _register(spark: SparkSession, table: Table, location: str) -> None:
    assert table.catalog_name is not None
    parts = table.catalog_name.split(".")
    if len(parts) > 1:
        spark.sql(f"CREATE SCHEMA IF NOT EXISTS {'.'.join(f'`{p}`' for p in parts[:-1])}")
    quoted = ".".join(f"`{p}`" for p in parts)
    escaped = location.replace("'", "\\'")
    spark.sql(f"CREATE TABLE IF NOT EXISTS {quoted} USING DELTA LOCATION '{escaped}'")


def _nullable(schema: T.StructType) -> T.StructType:
    # Delta enforces NOT NULL on write; medallion declares NOT NULL for keys but lets quality
    # rules, not a failed write, deal with rows that break it.
    return T.StructType(
        [T.StructField(f.name, f.dataType, True, f.metadata) for f in schema.fields]
    )


def read_table(spark: SparkSession, table: Table, root: str | os.PathLike[str]) -> DataFrame:
    """Read a table's current version.

    Args:
        spark: Any Delta-ready SparkSession.
        table: The table to read.
        root: The lakehouse root.

    Returns:
        The table as a DataFrame.
    """
    return spark.read.format("delta").load(table.location(root))


_WIDENINGS: dict[type[T.DataType], tuple[type[T.DataType], ...]] = {
    T.ByteType: (T.ShortType, T.IntegerType, T.LongType, T.DoubleType),
    T.ShortType: (T.IntegerType, T.LongType, T.DoubleType),
    T.IntegerType: (T.LongType, T.DoubleType),
    T.LongType: (),
    T.FloatType: (T.DoubleType,),
    T.DateType: (T.TimestampType,),
}


def conform(df: DataFrame, table: Table) -> DataFrame:
    """Select a DataFrame's columns in the order of the table's schema, widening safe types.

    Integer and float types widen to larger ones and dates to timestamps; any other difference,
    a missing column, or a column the schema lacks is an error.

    Args:
        df: The data to write.
        table: The table it is written to; a table without a schema accepts ``df`` as it is.

    Returns:
        The conformed DataFrame.

    Raises:
        SchemaError: Listing every column that is missing, extra or of an incompatible type.
    """
    schema = table.storage_schema
    if schema is None:
        return df
    actual = {f.name.lower(): f for f in df.schema.fields}
    problems: list[str] = []
    columns = []
    for field in schema.fields:
        source = actual.get(field.name.lower())
        if source is None:
            problems.append(f"column {field.name!r} is missing")
            continue
        if source.dataType == field.dataType:
            columns.append(F.col(f"`{source.name}`").alias(field.name))
        elif type(field.dataType) in _WIDENINGS.get(type(source.dataType), ()):
            columns.append(F.col(f"`{source.name}`").cast(field.dataType).alias(field.name))
        else:
            problems.append(
                f"column {field.name!r} is {source.dataType.simpleString()}, "
                f"the table has {field.dataType.simpleString()}"
            )
    expected = {f.name.lower() for f in schema.fields}
    problems.extend(
        f"column {f.name!r} is not in the table's schema"
        for f in df.schema.fields
        if f.name.lower() not in expected
    )
    if problems:
        raise SchemaError(
            f"table {table.qualified_name!r}: the data does not fit the schema: "
            + "; ".join(problems)
        )
    return df.select(*columns)


def last_commit(spark: SparkSession, location: str) -> tuple[int, str, Mapping[str, str]]:
    """The latest commit of a Delta table: version, operation and operation metrics.

    Args:
        spark: Any Delta-ready SparkSession.
        location: The table's path or URI.

    Returns:
        ``(version, operation, metrics)``.
    """
    from delta.tables import DeltaTable

    row = (
        DeltaTable.forPath(spark, location)
        .history(1)
        .select("version", "operation", "operationMetrics")
        .first()
    )
    assert row is not None
    return int(row["version"]), str(row["operation"]), dict(row["operationMetrics"] or {})


def _commit_metadata(run_id: str | None) -> str:
    return json.dumps({"medallion_run_id": run_id}) if run_id else ""


def write_table(
    df: DataFrame,
    table: Table,
    root: str | os.PathLike[str],
    *,
    mode: WriteMode | None = None,
    run_id: str | None = None,
) -> WriteResult:
    """Write a DataFrame to a table the way its layer (or declared write mode) prescribes.

    ``APPEND`` adds rows, ``MERGE`` upserts on the primary keys, ``OVERWRITE`` replaces the
    table and ``REPLACE_PARTITIONS`` replaces only the partitions present in ``df``. The table
    is created first if needed, and the data is conformed to its schema (:func:`conform`).
    Each write is one Delta commit, tagged with ``run_id`` in the commit's ``userMetadata``.

    Args:
        df: The rows to write.
        table: The target table.
        root: The lakehouse root.
        mode: Overrides the table's write mode.
        run_id: The run the write belongs to, recorded with the commit.

    Returns:
        What the write did, from the commit's operation metrics.

    Raises:
        SchemaError: ``df`` does not fit the table's schema.
    """
    from delta.tables import DeltaTable

    spark = df.sparkSession
    write_mode = mode or table.effective_write_mode
    location = table.location(root)
    create_table(spark, table, root)
    data = conform(df, table)
    exists = table_exists(spark, location)
    if write_mode is WriteMode.MERGE and exists:
        keys = table.primary_keys
        condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
        (
            DeltaTable.forPath(spark, location)
            .alias("t")
            .merge(data.alias("s"), condition)
            .whenMatchedUpdateAll()
            .whenNotMatchedInsertAll()
            .execute()
        )
    else:
        writer = data.write.format("delta")
        if run_id:
            writer = writer.option("userMetadata", _commit_metadata(run_id))
        if write_mode in (WriteMode.APPEND, WriteMode.MERGE):
            writer = writer.mode("append")
        elif write_mode is WriteMode.OVERWRITE:
            writer = writer.mode("overwrite")
        else:
            writer = writer.mode("overwrite").option("partitionOverwriteMode", "dynamic")
        if not exists and table.partition_by:
            writer = writer.partitionBy(*table.partition_by)
        writer.save(location)
        if table.catalog_name is not None:
            _register(spark, table, location)
    version, operation, metrics = last_commit(spark, location)
    return _result(table, write_mode, version, operation, metrics, run_id)


def _metric(metrics: Mapping[str, str], *names: str) -> int:
    return sum(int(metrics.get(name, 0) or 0) for name in names)


def _result(
    table: Table,
    mode: WriteMode,
    version: int,
    operation: str,
    metrics: Mapping[str, str],
    run_id: str | None,
) -> WriteResult:
    if operation == "MERGE":
        return WriteResult(
            table.qualified_name,
            mode,
            version,
            rows_inserted=_metric(metrics, "numTargetRowsInserted"),
            rows_updated=_metric(metrics, "numTargetRowsUpdated"),
            rows_deleted=_metric(metrics, "numTargetRowsDeleted"),
            run_id=run_id,
        )
    return WriteResult(
        table.qualified_name,
        mode,
        version,
        rows_inserted=_metric(metrics, "numOutputRows"),
        rows_deleted=_metric(metrics, "numRemovedRows", "numDeletedRows")
        if mode is not WriteMode.APPEND
        else 0,
        run_id=run_id,
    )
