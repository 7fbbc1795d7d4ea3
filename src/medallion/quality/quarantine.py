"""The quarantine Delta table of a layer: rows that failed quality rules, with the reasons.

Each row holds the record (its values as JSON), the rules it failed, the table it was meant
for, its source and run, and:

- ``record_key``: a hash of the record without medallion's metadata columns (the file, the
  position in it, the ingestion time...), so the same record has the same key whichever file or
  run brought it. A record whose key is already open in the quarantine of its table is not
  quarantined again (it is still counted as quarantined).
- ``replayable``: whether the rules it failed that sent it there are all reference rules
  (``exists_in``): it may pass once the referenced key arrives.
- ``resolved_at``, ``resolved_by``: null while the row is open; once the runner replayed it and
  wrote it to its table, when and by which run.

The runner replays the open replayable rows of an incrementally built table when a table its
reference rules read has changed (see :mod:`medallion.runner.context`).

Example:
    >>> from medallion import Table, evaluate
    >>> from medallion.quality import checks
    >>> orders = Table("orders", "silver", primary_keys="id", rules=[checks.not_null("cust")])
    >>> df = spark.createDataFrame([("o1", None)], "id STRING, cust STRING")
    >>> for run in ("r1", "r2"):  # the same record twice: quarantined once
    ...     _ = write_quarantine(evaluate(df, orders.rules), orders, lakehouse, run_id=run)
    >>> rows = open_quarantine(spark, lakehouse, orders).collect()
    >>> [(r.run_id, r.record, r.replayable, r.resolved_by) for r in rows]
    [('r1', '{"id":"o1"}', False, None)]
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from medallion._names import quote, quote_path, string_literal
from medallion.columns import CHANGE_COLUMNS, KAFKA_COLUMNS, METADATA_COLUMNS
from medallion.delta._target import Target
from medallion.lakehouse import Lakehouse
from medallion.layers import Layer
from medallion.quality.engine import FAILURE_TYPE, FAILURES_COLUMN, QualityResult
from medallion.rule import RuleKind

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from medallion.delta.ops import Transaction
    from medallion.io import WriteResult
    from medallion.table import Table

__all__ = [
    "QUARANTINE_SCHEMA",
    "REPLAY_KEY",
    "discard_quarantine",
    "open_quarantine",
    "quarantine_location",
    "read_quarantine",
    "record_key",
    "reopen_quarantine",
    "replay_rows",
    "resolve_quarantine",
    "write_quarantine",
]

#: The columns of a quarantine table. The last four came later: a quarantine table made before
#: them gets them when a row is next written or resolved; its older rows read them as null
#: (:func:`open_quarantine` computes their key and whether they can be replayed).
QUARANTINE_SCHEMA = T.StructType(
    [
        T.StructField("table", T.StringType(), False),
        T.StructField("run_id", T.StringType(), True),
        T.StructField("quarantined_at", T.TimestampType(), False),
        T.StructField("source", T.StringType(), True),
        T.StructField("failures", T.ArrayType(FAILURE_TYPE, False), False),
        T.StructField("record", T.StringType(), False),
        T.StructField("record_key", T.StringType(), True),
        T.StructField("replayable", T.BooleanType(), True),
        T.StructField("resolved_at", T.TimestampType(), True),
        T.StructField("resolved_by", T.StringType(), True),
    ]
)
_ADDED = QUARANTINE_SCHEMA.fields[6:]

#: The column that marks the rows of a checked DataFrame replayed from quarantine: their
#: ``record_key`` (null on the step's new rows).
REPLAY_KEY = "__medallion_replay_key"

# Timestamps in a record keep their microseconds (Spark's default JSON keeps milliseconds), so
# that a replayed record is the record that was quarantined.
_JSON = {
    "timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
    "timestampNTZFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSSSS",
}

# What makes two records the same: all but where they came from. The raw text of a record
# bronze could not read (and why) is the record itself.
_NOT_IN_KEY = tuple(
    sorted(
        name.lower()
        for name in (*METADATA_COLUMNS.fieldNames(), *KAFKA_COLUMNS.fieldNames(), *CHANGE_COLUMNS)
        if name not in ("_rescued_data", "_rescue_reason")
    )
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


def record_key(record: Column | str, ignore: Iterable[str] = ()) -> Column:
    """The key of a quarantined record: SHA-256 of its JSON without medallion's columns.

    The JSON (``record``) is read as a map, so the key depends on the text alone: a record
    quarantined before keys were stored gets the same key as when it is quarantined again.

    Args:
        record: The record's JSON (a column or its name).
        ignore: More columns that do not make a record different (a load time a step copies
            from ``_ingested_at``, say).

    Returns:
        The key (64 hex digits), null for a null record.

    Example:
        >>> records = ['{"id":"o1","_source_file":"a.json"}', '{"id":"o1","_source_file":"b.json"}']
        >>> rows = spark.createDataFrame([(r,) for r in records], "record STRING")
        >>> len({r.key for r in rows.select(record_key("record").alias("key")).collect()})
        1
    """
    left_out = _left_out(ignore)
    values = F.from_json(record, "MAP<STRING, STRING>")
    kept = F.map_filter(values, lambda name, _: ~F.lower(name).isin(left_out))
    return F.sha2(F.to_json(kept), 256)


def record_key_sql(record: str, ignore: Iterable[str] = ()) -> str:
    """:func:`record_key` as a SQL expression over ``record`` (a SQL expression itself).

    Example:
        >>> rows = spark.createDataFrame([('{"id":"o1"}',)], "record STRING")
        >>> expected = rows.select(record_key("record")).first()[0]
        >>> rows.selectExpr(record_key_sql("record")).first()[0] == expected
        True
    """
    names = ", ".join(string_literal(n) for n in _left_out(ignore))
    values = f"from_json({record}, 'MAP<STRING, STRING>')"
    kept = f"map_filter({values}, (k, v) -> NOT lower(k) IN ({names}))"
    return f"sha2(to_json({kept}), 256)"


def run_and_table(run_id: str, table: str) -> str:
    """A SQL condition: the rows of one run (``run_id``) for one table (``table``).

    Example:
        >>> print(run_and_table("r1", "silver.orders"))
        run_id = 'r1' AND `table` = 'silver.orders'
    """
    return f"run_id = {string_literal(run_id)} AND `table` = {string_literal(table)}"


def _left_out(ignore: Iterable[str]) -> list[str]:
    return sorted({*_NOT_IN_KEY, *(name.lower() for name in ignore)})


def _replayable(failures: Column, references: Collection[str]) -> Column:
    """Whether the rules a row failed, warnings aside, are all reference rules (one at least)."""
    if not references:
        return F.lit(False)
    names = sorted(references)
    only = F.forall(failures, lambda f: (f["action"] == "warn") | f["rule"].isin(names))
    return only & F.exists(failures, lambda f: f["rule"].isin(names))


def _read(spark: SparkSession, location: str, version: int | None = None) -> DataFrame:
    """A quarantine table, with the columns an older one lacks as nulls."""
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    rows = reader.load(location)
    for field in QUARANTINE_SCHEMA.fields:
        if field.name not in rows.columns:
            rows = rows.withColumn(field.name, F.lit(None).cast(field.dataType))
    return rows


def _open(
    spark: SparkSession,
    location: str,
    table: Table,
    ignore: Iterable[str],
    version: int | None = None,
) -> DataFrame:
    """The open rows of a table, with the key and replayability of older rows computed."""
    references = [r.name for r in table.rules if r.kind is RuleKind.REFERENCE]
    rows = _read(spark, location, version).where(
        (F.col("table") == table.qualified_name) & F.col("resolved_at").isNull()
    )
    return rows.withColumns(
        {
            "record_key": F.coalesce(F.col("record_key"), record_key("record", ignore)),
            "replayable": F.coalesce(
                F.col("replayable"), _replayable(F.col("failures"), references)
            ),
        }
    )


def write_quarantine(
    result: QualityResult,
    table: Table,
    root: str | os.PathLike[str],
    *,
    run_id: str | None = None,
    source: str | None = None,
    at: dt.datetime | None = None,
    transaction: Transaction | None = None,
    key_ignores: Iterable[str] = (),
) -> WriteResult | None:
    """Append a result's quarantined rows to the layer's quarantine table, each record once.

    Each row keeps its values (as JSON in ``record``, timestamps to the microsecond), the rules
    it failed with their messages, the table it was meant for, its source and the run, its
    ``record_key`` and whether it can be replayed. A record already open for the table (the
    same key) is not appended again, nor twice from one result; nor are rows replayed from
    quarantine (those with a :data:`REPLAY_KEY`), which are open already. The anti-join with
    the open rows is part of the append.

    Args:
        result: The evaluation result.
        table: The table the rows were meant for.
        root: The lakehouse root.
        run_id: The run.
        source: Where the rows came from (a table or file).
        at: The quarantine time; now (UTC) by default.
        transaction: Append only if this transaction was not committed before, so a replayed
            micro-batch does not quarantine its rows twice.
        key_ignores: Columns left out of the record key, besides medallion's own (see
            :func:`record_key`).

    Returns:
        The write (``rows_inserted``: the rows new to the quarantine), or ``None`` when
        nothing was quarantined.

    Example:
        >>> from medallion import Table, evaluate
        >>> from medallion.quality import checks
        >>> orders = Table("orders", "silver", primary_keys="id", rules=[checks.not_null("cust")])
        >>> df = spark.createDataFrame([("o1", None), ("o2", "c1")], "id STRING, cust STRING")
        >>> result = evaluate(df, orders.rules)
        >>> write_quarantine(result, orders, lakehouse, run_id="r1", source="bronze.orders").version
        0
        >>> write_quarantine(result, orders, lakehouse, run_id="r2").rows_inserted  # open already
        0
        >>> result.release()
    """
    from medallion.delta.ops import DeltaOps

    if result.rows_quarantined == 0:
        return None
    when = at or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    quarantined = result.quarantined
    if REPLAY_KEY in quarantined.columns:
        quarantined = quarantined.where(F.col(REPLAY_KEY).isNull())
    columns = [c for c in quarantined.columns if c not in (FAILURES_COLUMN, REPLAY_KEY)]
    references = [m.rule for m in result.metrics if m.kind is RuleKind.REFERENCE]
    ignore = tuple(key_ignores)
    rows = quarantined.select(
        F.lit(table.qualified_name).alias("table"),
        F.lit(run_id).cast("string").alias("run_id"),
        F.lit(when).cast("timestamp").alias("quarantined_at"),
        F.lit(source).cast("string").alias("source"),
        F.col(FAILURES_COLUMN).alias("failures"),
        F.to_json(F.struct(*[F.col(quote(c)) for c in columns]), _JSON).alias("record"),
    )
    rows = rows.withColumns(
        {
            "record_key": record_key("record", ignore),
            "replayable": _replayable(F.col("failures"), references),
            "resolved_at": F.lit(None).cast("timestamp"),
            "resolved_by": F.lit(None).cast("string"),
        }
    ).dropDuplicates(["record_key"])
    location = quarantine_location(root, table.layer)
    ops = DeltaOps(rows.sparkSession, location)
    if ops.exists():
        open_keys = _open(rows.sparkSession, location, table, ignore).select("record_key")
        rows = rows.join(open_keys, "record_key", "left_anti")
    rows = rows.select(*QUARANTINE_SCHEMA.fieldNames())
    return ops.write(rows, "append", run_id=run_id, transaction=transaction)


def read_quarantine(spark: SparkSession, root: str | os.PathLike[str], layer: Layer) -> DataFrame:
    """Read a layer's quarantine table (the columns an older table lacks read as null).

    Args:
        spark: The session.
        root: The lakehouse root.
        layer: The layer.

    Returns:
        The quarantined rows, open and resolved.

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
    return _read(spark, quarantine_location(root, layer))


def open_quarantine(
    spark: SparkSession,
    root: str | os.PathLike[str],
    table: Table,
    *,
    key_ignores: Iterable[str] = (),
) -> DataFrame:
    """The open (unresolved) quarantined rows of a table.

    Rows quarantined before ``record_key`` and ``replayable`` were stored get them computed
    (their key from their record, their replayability from the table's reference rules).

    Args:
        spark: The session.
        root: The lakehouse root.
        table: The table the rows were meant for.
        key_ignores: Columns left out of the key of older rows (see :func:`record_key`).

    Returns:
        The rows, with the columns of :data:`QUARANTINE_SCHEMA`; none when the layer has no
        quarantine table.

    Example:
        >>> from medallion import Table
        >>> open_quarantine(spark, lakehouse, Table("orders", "silver", primary_keys="id")).count()
        0
    """
    location = quarantine_location(root, table.layer)
    if not Target(spark, location).exists():
        return spark.createDataFrame([], QUARANTINE_SCHEMA)
    return _open(spark, location, table, tuple(key_ignores))


def replay_rows(
    spark: SparkSession,
    root: str | os.PathLike[str],
    table: Table,
    schema: T.StructType,
    *,
    key_ignores: Iterable[str] = (),
) -> DataFrame | None:
    """The open replayable rows of a table, as rows of ``schema`` to check again.

    Each record is read back from its JSON into ``schema`` (the checked rows'; a column the
    record lacks is null), once per ``record_key``, which :data:`REPLAY_KEY` holds. The
    quarantine's current version is read, so a recomputation sees the same rows.

    Args:
        spark: The session.
        root: The lakehouse root.
        table: The table the rows were meant for.
        schema: The columns to read the records into.
        key_ignores: Columns left out of the key of older rows (see :func:`record_key`).

    Returns:
        The rows, with ``schema``'s columns and :data:`REPLAY_KEY`; ``None`` when the layer
        has no quarantine table.

    Example:
        >>> from medallion import Table, evaluate_table, write_table
        >>> from medallion.quality import checks
        >>> customers = Table("customers", "silver", schema="id STRING", primary_keys="id")
        >>> _ = write_table(spark.createDataFrame([("c1",)], "id STRING"), customers, lakehouse)
        >>> orders = Table("orders", "silver", primary_keys="id",
        ...                rules=[checks.exists_in("cust", customers, "id")])
        >>> df = spark.createDataFrame([("o1", "c9"), ("o2", "c1")], "id STRING, cust STRING")
        >>> result = evaluate_table(df, orders, lakehouse)
        >>> _ = write_quarantine(result, orders, lakehouse, run_id="r1")
        >>> result.release()
        >>> replay_rows(spark, lakehouse, orders, df.schema).select("id", "cust").collect()
        [Row(id='o1', cust='c9')]
    """
    location = quarantine_location(root, table.layer)
    quarantine = Target(spark, location)
    if not quarantine.exists():
        return None
    rows = _open(spark, location, table, tuple(key_ignores), quarantine.version())
    records = (
        rows.where(F.col("replayable"))
        .select(F.from_json("record", schema).alias("r"), F.col("record_key").alias(REPLAY_KEY))
        .dropDuplicates([REPLAY_KEY])
    )
    return records.select(*[F.col(quote_path(["r", f.name])) for f in schema.fields], REPLAY_KEY)


def _add_columns(spark: SparkSession, quarantine: Target) -> None:
    """Add the columns an older quarantine table lacks (additive: no data is rewritten)."""
    stored = quarantine.stored_schema()
    names = set(stored.fieldNames()) if stored is not None else set()
    missing = [f for f in _ADDED if f.name not in names]
    if missing:
        listed = ", ".join(f"{f.name} {f.dataType.simpleString()}" for f in missing)
        spark.sql(f"ALTER TABLE {quarantine.sql_identifier()} ADD COLUMNS ({listed})")


def resolve_quarantine(
    spark: SparkSession,
    root: str | os.PathLike[str],
    table: Table,
    keys: DataFrame,
    *,
    run_id: str | None,
    at: dt.datetime | None = None,
    key_ignores: Iterable[str] = (),
) -> int:
    """Mark open rows of a table resolved: those whose ``record_key`` is in ``keys``.

    Call it once the records are written to their table. Rows resolved already stay as they
    are, so calling it again changes nothing.

    Args:
        spark: The session.
        root: The lakehouse root.
        table: The table the rows were meant for.
        keys: The record keys (its first column).
        run_id: The run that wrote them, recorded as ``resolved_by``.
        at: The time recorded as ``resolved_at``; now (UTC) by default.
        key_ignores: Columns left out of the key of older rows (see :func:`record_key`).

    Returns:
        The number of rows marked resolved.

    Example:
        >>> from medallion import Table, evaluate
        >>> from medallion.quality import checks
        >>> orders = Table("orders", "silver", primary_keys="id", rules=[checks.not_null("cust")])
        >>> df = spark.createDataFrame([("o1", None)], "id STRING, cust STRING")
        >>> _ = write_quarantine(evaluate(df, orders.rules), orders, lakehouse, run_id="r1")
        >>> keys = open_quarantine(spark, lakehouse, orders).select("record_key")
        >>> resolve_quarantine(spark, lakehouse, orders, keys, run_id="r2")
        1
        >>> resolve_quarantine(spark, lakehouse, orders, keys, run_id="r3")
        0
        >>> read_quarantine(spark, lakehouse, orders.layer).select("resolved_by").collect()
        [Row(resolved_by='r2')]
    """
    quarantine = Target(spark, quarantine_location(root, table.layer))
    if not quarantine.exists():
        return 0
    _add_columns(spark, quarantine)
    when = at or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    source = keys.select(F.col(quote(keys.columns[0])).alias("key")).distinct()
    stored_key = f"coalesce(q.record_key, {record_key_sql('q.record', key_ignores)})"
    condition = (
        f"q.`table` = {string_literal(table.qualified_name)} AND q.resolved_at IS NULL "
        f"AND {stored_key} = s.key"
    )
    values = {
        "resolved_at": f"CAST({string_literal(when.isoformat(sep=' '))} AS TIMESTAMP)",
        "resolved_by": "CAST(NULL AS STRING)" if run_id is None else string_literal(run_id),
    }
    before = quarantine.version()

    def attempt(session: SparkSession) -> None:
        quarantine.commands(session).merge(source, condition, target="q").when_matched_update(
            values
        ).execute()

    with quarantine.tagged_session({"medallion_run_id": run_id}) as session:
        quarantine.retrying("resolve", lambda: attempt(session))
    if quarantine.version() == before:
        return 0
    return int(quarantine.last_commit().metrics.get("numTargetRowsUpdated", 0))


def reopen_quarantine(
    spark: SparkSession, root: str | os.PathLike[str], table: Table | str, run_id: str
) -> None:
    """Open again the rows a run resolved for a table (its write was rolled back).

    Args:
        spark: The session.
        root: The lakehouse root.
        table: The table (or its qualified name, ``"silver.orders"``).
        run_id: The run that resolved them.

    Example:
        >>> from medallion import Table, evaluate
        >>> from medallion.quality import checks
        >>> orders = Table("orders", "silver", primary_keys="id", rules=[checks.not_null("cust")])
        >>> df = spark.createDataFrame([("o1", None)], "id STRING, cust STRING")
        >>> _ = write_quarantine(evaluate(df, orders.rules), orders, lakehouse, run_id="r1")
        >>> keys = open_quarantine(spark, lakehouse, orders).select("record_key")
        >>> _ = resolve_quarantine(spark, lakehouse, orders, keys, run_id="r2")
        >>> reopen_quarantine(spark, lakehouse, orders, "r2")
        >>> open_quarantine(spark, lakehouse, orders).count()
        1
    """
    layer, name = _layer_and_name(table)
    quarantine = Target(spark, quarantine_location(root, layer))
    stored = quarantine.stored_schema() if quarantine.exists() else None
    if stored is None or "resolved_by" not in stored.fieldNames():
        return
    quarantine.commands().update(
        f"`table` = {string_literal(name)} AND resolved_by = {string_literal(run_id)}",
        {"resolved_at": "CAST(NULL AS TIMESTAMP)", "resolved_by": "CAST(NULL AS STRING)"},
    )


def _layer_and_name(table: Table | str) -> tuple[Layer, str]:
    if isinstance(table, str):
        return Layer(table.split(".", 1)[0]), table
    return table.layer, table.qualified_name


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
    layer, name = _layer_and_name(table)
    ops = Target(spark, quarantine_location(root, layer))
    if ops.exists():
        ops.commands().delete(run_and_table(run_id, name))
