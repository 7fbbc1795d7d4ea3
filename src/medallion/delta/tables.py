"""Delta tables of medallion ``Table`` declarations: existence, creation, stored schema, conforming.

Example:
    >>> from medallion import Table
    >>> from medallion.delta.tables import create_table, table_exists
    >>> orders = Table("orders", "silver", schema="id STRING, amount DOUBLE", primary_keys="id")
    >>> create_table(spark, orders, lakehouse)
    True
    >>> table_exists(spark, orders.location(lakehouse))
    True
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from pyspark.sql import functions as F
from pyspark.sql import types as T

from medallion._names import delta_table, quote, quote_path, string_literal
from medallion.columns import is_medallion_column
from medallion.delta._commands import is_connect
from medallion.errors import SchemaEvolutionError
from medallion.schema import SchemaChangeKind, schema_changes
from medallion.table import Table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["conform", "create_sql", "create_table", "stored_schema", "table_exists"]


def table_exists(spark: SparkSession, location: str) -> bool:
    """Whether a Delta table exists at a location.

    Args:
        spark: Any Delta-ready SparkSession.
        location: The table's path or URI.

    Returns:
        ``True`` if the location holds a Delta table.

    Example:
        >>> table_exists(spark, f"{lakehouse}/silver/orders")
        False
    """
    if is_connect(spark):
        # delta-spark's check needs Delta's Connect plugin; DESCRIBE DETAIL needs only Delta.
        try:
            row = spark.sql(f"DESCRIBE DETAIL {delta_table(location)}").first()
        except Exception:  # no table there (Delta's error names the path)
            return False
        return row is not None and str(row["format"]).lower() == "delta"
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

    Example:
        >>> orders = Table("orders", "silver", schema="id STRING, amount DOUBLE", primary_keys="id")
        >>> create_table(spark, orders, lakehouse), create_table(spark, orders, lakehouse)
        (True, False)
        >>> table_exists(spark, orders.location(lakehouse))
        True
    """
    from delta.tables import DeltaTable

    location = table.location(root)
    schema = table.storage_schema
    created = False
    if schema is not None and not table_exists(spark, location) and is_connect(spark):
        statement = create_sql(
            location, _nullable(schema), table.partition_by, table.properties, table.comment
        )
        spark.sql(statement)
        created = True
    elif schema is not None and not table_exists(spark, location):
        # Named explicitly: the builder's own name for a location does not double its backticks.
        builder = (
            DeltaTable.createIfNotExists(spark)
            .tableName(delta_table(location))
            .location(location)
            .addColumns(_nullable(schema))
        )
        if table.partition_by:
            # Column names as they are: the builder takes names, not SQL (unlike Z-order).
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


def create_sql(
    location: str,
    schema: T.StructType,
    partition_by: Sequence[str] = (),
    properties: Mapping[str, str] | None = None,
    comment: str | None = None,
) -> str:
    """A ``CREATE TABLE IF NOT EXISTS`` statement for a Delta table at a location.

    Used through Spark Connect, where delta-spark's table builder needs Delta's Connect plugin.
    Column comments come from the fields' ``comment`` metadata.

    Args:
        location: The table's path or URI.
        schema: Its columns.
        partition_by: Its partition columns.
        properties: Its table properties.
        comment: Its comment.

    Returns:
        The statement.

    Example:
        >>> schema = T.StructType([T.StructField("a b", T.LongType())])
        >>> print(create_sql("/lake/t", schema, ["a b"]))
        CREATE TABLE IF NOT EXISTS delta.`/lake/t` (`a b` BIGINT) USING DELTA PARTITIONED BY (`a b`)
    """
    columns = ", ".join(
        f"{quote(f.name)} {_ddl(f.dataType)}"
        + (
            f" COMMENT {string_literal(str(f.metadata['comment']))}"
            if "comment" in f.metadata
            else ""
        )
        for f in schema.fields
    )
    statement = f"CREATE TABLE IF NOT EXISTS {delta_table(location)} ({columns}) USING DELTA"
    if partition_by:
        statement += f" PARTITIONED BY ({', '.join(quote(c) for c in partition_by)})"
    if comment:
        statement += f" COMMENT {string_literal(comment)}"
    if properties:
        pairs = ", ".join(
            f"{string_literal(k)} = {string_literal(v)}" for k, v in properties.items()
        )
        statement += f" TBLPROPERTIES ({pairs})"
    return statement


def _ddl(data_type: T.DataType) -> str:
    """A data type as SQL, with struct field names quoted."""
    if isinstance(data_type, T.StructType):
        fields = ", ".join(f"{quote(f.name)}: {_ddl(f.dataType)}" for f in data_type.fields)
        return f"STRUCT<{fields}>"
    if isinstance(data_type, T.ArrayType):
        return f"ARRAY<{_ddl(data_type.elementType)}>"
    if isinstance(data_type, T.MapType):
        return f"MAP<{_ddl(data_type.keyType)}, {_ddl(data_type.valueType)}>"
    return data_type.simpleString().upper()


def _register(spark: SparkSession, table: Table, location: str) -> None:
    assert table.catalog_name is not None
    parts = table.catalog_name.split(".")
    if len(parts) > 1:
        spark.sql(f"CREATE SCHEMA IF NOT EXISTS {quote_path(parts[:-1])}")
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {quote_path(parts)} USING DELTA "
        f"LOCATION {string_literal(location)}"
    )


def _nullable(schema: T.StructType) -> T.StructType:
    # Delta enforces NOT NULL on write; medallion declares NOT NULL for keys but lets quality
    # rules, not a failed write, deal with rows that break it.
    return T.StructType(
        [T.StructField(f.name, f.dataType, True, f.metadata) for f in schema.fields]
    )


def conform(
    df: DataFrame,
    table: Table,
    stored: T.StructType | None = None,
    *,
    passthrough: Sequence[str] = (),
) -> DataFrame:
    """Shape a DataFrame to a table's schema: its column order, safe widenings, nulls for gaps.

    Columns come in the order of the table; a type that widens without loss (``INT`` to
    ``BIGINT``, ``DATE`` to ``TIMESTAMP``) is cast; a non-key column the data lacks is written as
    null. New columns are kept (after the table's) only when the table allows schema evolution.
    Anything else, narrowing a type or a missing key above all, is refused.

    Args:
        df: The data to write.
        table: The table it is written to; a table without a schema accepts ``df`` as it is.
        stored: The schema the table has in Delta now, when it exists (it may have more
            columns than declared, after evolution); defaults to the declared schema.
        passthrough: Columns of ``df`` that are not written but used on the way (a MERGE's
            delete flag, say): left out of the comparison and kept, unchanged, at the end.

    Returns:
        The conformed DataFrame.

    Raises:
        SchemaEvolutionError: Listing every difference, when one is not allowed.

    Example:
        >>> orders = Table("orders", "silver", schema="id STRING, amount BIGINT, note STRING",
        ...                primary_keys="id")
        >>> df = spark.createDataFrame([(5, "o1")], "amount INT, id STRING")
        >>> conform(df, orders).schema.simpleString()
        'struct<id:string,amount:bigint,note:string>'
    """
    schema = stored if stored is not None else table.storage_schema
    if schema is None:
        return df
    kept = {name.lower() for name in passthrough}
    written = T.StructType([f for f in df.schema.fields if f.name.lower() not in kept])
    changes = schema_changes(schema, written, table.primary_keys)
    # medallion's own columns are added whenever they are new (a bronze table made before
    # one of them existed); any other new column only with schema evolution.
    refused = [
        c
        for c in changes
        if not c.compatible
        or (
            c.kind is SchemaChangeKind.ADDED
            and not table.schema_evolution
            and not is_medallion_column(c.column)
        )
    ]
    if refused:
        hint = (
            " (declare the table with schema_evolution=True to add new columns)"
            if all(c.kind is SchemaChangeKind.ADDED for c in refused)
            else ""
        )
        raise SchemaEvolutionError(
            f"table {table.qualified_name!r}: the data does not fit the schema: "
            + "; ".join(str(c) for c in refused)
            + hint,
            tuple(refused),
        )
    actual = {f.name.lower(): f for f in df.schema.fields}
    columns = []
    for field in schema.fields:
        source = actual.get(field.name.lower())
        if source is None:
            columns.append(F.lit(None).cast(field.dataType).alias(field.name))
        elif source.dataType == field.dataType or not any(
            c.column == field.name and c.kind is SchemaChangeKind.WIDENED for c in changes
        ):
            columns.append(F.col(quote(source.name)).alias(field.name))
        else:
            columns.append(F.col(quote(source.name)).cast(field.dataType).alias(field.name))
    known = {f.name.lower() for f in schema.fields}
    columns.extend(F.col(quote(f.name)) for f in written.fields if f.name.lower() not in known)
    columns.extend(F.col(quote(f.name)) for f in df.schema.fields if f.name.lower() in kept)
    return df.select(*columns)


def stored_schema(spark: SparkSession, location: str) -> T.StructType | None:
    """The schema a Delta table has now (read from its log), or ``None`` if there is no table.

    Args:
        spark: Any Delta-ready SparkSession.
        location: The table's path or URI.

    Returns:
        The schema, or ``None``.

    Example:
        >>> location = f"{lakehouse}/events"
        >>> stored_schema(spark, location) is None
        True
        >>> spark.range(1).write.format("delta").save(location)
        >>> stored_schema(spark, location).simpleString()
        'struct<id:bigint>'
    """
    if not table_exists(spark, location):
        return None
    return spark.read.format("delta").load(location).schema
