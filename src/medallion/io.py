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

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from medallion.delta.ops import DeltaOps
from medallion.delta.results import WriteResult
from medallion.delta.tables import conform, create_table, stored_schema, table_exists
from medallion.policies import WriteMode, WritePolicy
from medallion.table import Table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "WriteResult",
    "conform",
    "create_table",
    "read_table",
    "stored_schema",
    "table_exists",
    "write_table",
]


def read_table(spark: SparkSession, table: Table, root: str | os.PathLike[str]) -> DataFrame:
    """Read a table's current version.

    Args:
        spark: Any Delta-ready SparkSession.
        table: The table to read.
        root: The lakehouse root.

    Returns:
        The table as a DataFrame.

    Example:
        >>> daily = Table("daily_sales", "gold", schema="day STRING, revenue DOUBLE")
        >>> _ = create_table(spark, daily, lakehouse)
        >>> read_table(spark, daily, lakehouse).columns
        ['day', 'revenue']
    """
    return spark.read.format("delta").load(table.location(root))


def write_table(
    df: DataFrame,
    table: Table,
    root: str | os.PathLike[str],
    *,
    mode: WritePolicy | WriteMode | str | None = None,
    run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
) -> WriteResult:
    """Write a DataFrame to a table the way its layer (or declared write mode) prescribes.

    ``APPEND`` adds rows, ``MERGE`` upserts on the primary keys (see
    :meth:`medallion.DeltaOps.merge`), ``OVERWRITE`` replaces the table and
    ``REPLACE_PARTITIONS`` replaces only the partitions present in ``df``. The table is created
    first if needed and the data conformed to its schema (:func:`conform`). Each write is one
    Delta commit, tagged with ``run_id`` in the commit's ``userMetadata``.

    Args:
        df: The rows to write.
        table: The target table.
        root: The lakehouse root.
        mode: Overrides the table's write policy (a policy, or a mode's name).
        run_id: The run the write belongs to, recorded with the commit.
        tags: More key-values for the commit's userMetadata (e.g. ``consumed_tags(...)``).

    Returns:
        What the write did, from the commit's operation metrics.

    Raises:
        SchemaEvolutionError: ``df`` does not fit the table's schema.

    Example:
        >>> events = Table("events", "gold", schema="id STRING, kind STRING")
        >>> df = spark.createDataFrame([("e1", "click")], "id STRING, kind STRING")
        >>> result = write_table(df, events, lakehouse, mode=WriteMode.APPEND, run_id="nightly-7")
        >>> result.mode.value, result.version, result.rows_inserted, result.run_id
        ('append', 1, 1, 'nightly-7')
    """
    return DeltaOps.of(df.sparkSession, table, root).write(df, mode, run_id=run_id, tags=tags)
