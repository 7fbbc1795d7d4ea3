"""The quarantine Delta table of a layer: rows that failed quality rules, with the reasons."""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING

from pyspark.sql import functions as F
from pyspark.sql import types as T

from medallion._names import quote
from medallion.lakehouse import Lakehouse
from medallion.layers import Layer
from medallion.quality.engine import FAILURE_TYPE, FAILURES_COLUMN, QualityResult

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from medallion.delta.ops import Transaction
    from medallion.io import WriteResult
    from medallion.table import Table

__all__ = [
    "QUARANTINE_SCHEMA",
    "discard_quarantine",
    "quarantine_location",
    "read_quarantine",
    "write_quarantine",
]

#: The columns of a quarantine table.
QUARANTINE_SCHEMA = T.StructType(
    [
        T.StructField("table", T.StringType(), False),
        T.StructField("run_id", T.StringType(), True),
        T.StructField("quarantined_at", T.TimestampType(), False),
        T.StructField("source", T.StringType(), True),
        T.StructField("failures", T.ArrayType(FAILURE_TYPE, False), False),
        T.StructField("record", T.StringType(), False),
    ]
)


def quarantine_location(root: str | os.PathLike[str], layer: Layer) -> str:
    """Where a layer's quarantine table lives: ``<root>/<layer>/_quarantine``.

    Args:
        root: The lakehouse root.
        layer: The layer.

    Returns:
        The location.

    Example:
        >>> from medallion import Layer
        >>> quarantine_location("/data/lakehouse", Layer.SILVER)
        '/data/lakehouse/silver/_quarantine'
    """
    return Lakehouse.at(root).quarantine(layer)


def write_quarantine(
    result: QualityResult,
    table: Table,
    root: str | os.PathLike[str],
    *,
    run_id: str | None = None,
    source: str | None = None,
    at: dt.datetime | None = None,
    transaction: Transaction | None = None,
) -> WriteResult | None:
    """Append a result's quarantined rows to the layer's quarantine table.

    Each row keeps its values (as JSON in ``record``), the rules it failed with their
    messages, the table it was meant for, its source and the run.

    Args:
        result: The evaluation result.
        table: The table the rows were meant for.
        root: The lakehouse root.
        run_id: The run.
        source: Where the rows came from (a table or file).
        at: The quarantine time; now (UTC) by default.
        transaction: Append only if this transaction was not committed before, so a replayed
            micro-batch does not quarantine its rows twice.

    Returns:
        The write, or ``None`` when nothing was quarantined.

    Example:
        >>> from medallion import Table, evaluate
        >>> from medallion.quality import checks
        >>> orders = Table("orders", "silver", primary_keys="id", rules=[checks.not_null("cust")])
        >>> df = spark.createDataFrame([("o1", None), ("o2", "c1")], "id STRING, cust STRING")
        >>> result = evaluate(df, orders.rules)
        >>> write_quarantine(result, orders, lakehouse, run_id="r1", source="bronze.orders").version
        0
        >>> result.release()
    """
    from medallion.delta.ops import DeltaOps

    if result.rows_quarantined == 0:
        return None
    when = at or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    columns = [c for c in result.quarantined.columns if c != FAILURES_COLUMN]
    rows = result.quarantined.select(
        F.lit(table.qualified_name).alias("table"),
        F.lit(run_id).cast("string").alias("run_id"),
        F.lit(when).cast("timestamp").alias("quarantined_at"),
        F.lit(source).cast("string").alias("source"),
        F.col(FAILURES_COLUMN).alias("failures"),
        F.to_json(F.struct(*[F.col(quote(c)) for c in columns])).alias("record"),
    )
    ops = DeltaOps(rows.sparkSession, quarantine_location(root, table.layer))
    return ops.write(rows, "append", run_id=run_id, transaction=transaction)


def read_quarantine(spark: SparkSession, root: str | os.PathLike[str], layer: Layer) -> DataFrame:
    """Read a layer's quarantine table.

    Args:
        spark: The session.
        root: The lakehouse root.
        layer: The layer.

    Returns:
        The quarantined rows.

    Example:
        >>> from medallion import Table, evaluate
        >>> from medallion.quality import checks
        >>> orders = Table("orders", "silver", primary_keys="id", rules=[checks.not_null("cust")])
        >>> df = spark.createDataFrame([("o1", None), ("o2", "c1")], "id STRING, cust STRING")
        >>> result = evaluate(df, orders.rules)
        >>> _ = write_quarantine(result, orders, lakehouse, run_id="r1")
        >>> read_quarantine(spark, lakehouse, orders.layer).select("table", "record").collect()
        [Row(table='silver.orders', record='{"id":"o1"}')]
    """
    return spark.read.format("delta").load(quarantine_location(root, layer))


def discard_quarantine(
    spark: SparkSession, root: str | os.PathLike[str], table: Table | str, run_id: str
) -> None:
    """Delete the rows a run quarantined for a table (its step failed, so they were not final).

    A failed step writes nothing to its table; removing its quarantined rows too means a
    rerun quarantines them once, not twice.

    Args:
        spark: The session.
        root: The lakehouse root.
        table: The table the rows were meant for (or its qualified name, ``"silver.orders"``).
        run_id: The run.

    Example:
        >>> from medallion import Table, evaluate
        >>> from medallion.quality import checks
        >>> orders = Table("orders", "silver", primary_keys="id", rules=[checks.not_null("cust")])
        >>> df = spark.createDataFrame([("o1", None), ("o2", "c1")], "id STRING, cust STRING")
        >>> result = evaluate(df, orders.rules)
        >>> _ = write_quarantine(result, orders, lakehouse, run_id="r1")
        >>> discard_quarantine(spark, lakehouse, orders, "r1")
        >>> read_quarantine(spark, lakehouse, orders.layer).count()
        0
    """
    from medallion.delta.ops import DeltaOps

    if isinstance(table, str):
        layer, name = Layer(table.split(".", 1)[0]), table
    else:
        layer, name = table.layer, table.qualified_name
    ops = DeltaOps(spark, quarantine_location(root, layer))
    if ops.exists():
        ops.delta_table().delete((F.col("run_id") == run_id) & (F.col("table") == name))
