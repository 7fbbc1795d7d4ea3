"""MERGE: upserting a source into a table on its keys, one row per key, in one commit.

Before merging, rows with a null key are dropped (they could never match) and the source is
de-duplicated on the keys. Matched rows are updated only when a value differs, and a delete
condition over the source removes matched rows instead. The public entry point is
:meth:`DeltaOps.merge <medallion.DeltaOps.merge>`; SCD type 2 is in
:mod:`~medallion.delta.scd2`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pyspark.sql import Column, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from medallion.delta._target import Target
from medallion.delta.results import MergeResult, Transaction, WriteResult
from medallion.delta.write import committed, conformed, write
from medallion.errors import DeltaOperationError, SchemaError
from medallion.layers import WriteMode

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__: list[str] = []


def merge(
    target: Target,
    source: DataFrame,
    keys: Sequence[str] | None = None,
    *,
    order_by: str | Sequence[str] | None = None,
    delete_when: str | None = None,
    only_changed: bool = True,
    run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    transaction: Transaction | None = None,
) -> MergeResult:
    """Upsert ``source`` on ``keys`` (default: the table's primary keys); see ``DeltaOps.merge``.

    Raises:
        DeltaOperationError: No keys were given and the table has none.
        SchemaError: The source lacks a key column.
        SchemaEvolutionError: The source does not fit the table's schema.
    """
    key_columns = (
        tuple(keys)
        if keys is not None
        else (target.table.primary_keys if target.table is not None else ())
    )
    if not key_columns:
        raise DeltaOperationError(f"table {target.name!r}: MERGE needs key columns")
    ordering = [order_by] if isinstance(order_by, str) else list(order_by or [])
    target.create()
    stored = target.stored_schema()
    flags = delete_flag_columns(target, source, delete_when, stored)
    data, evolves = conformed(target, source, stored, flags)
    missing = [k for k in key_columns if k not in data.columns]
    if missing:
        raise SchemaError(
            f"table {target.name!r}: the MERGE source lacks key column(s) {', '.join(missing)}"
        )
    tagged = {"medallion_run_id": run_id, **(tags or {})}
    counts = source_counts(data, key_columns)
    prepared = deduplicate(data, key_columns, ordering)
    # A source row meeting delete_when is never inserted: it deletes, or does nothing.
    keep = f"NOT coalesce(({delete_when}), false)" if delete_when else None
    if not target.exists():
        inserted = prepared.alias("s").where(keep) if keep else prepared
        first = write(
            target,
            inserted.drop(*flags),
            WriteMode.APPEND,
            run_id=run_id,
            tags=tags,
            transaction=transaction,
        )
        return merge_result(first, first.rows_inserted, counts)
    before = target.version()
    written = [c for c in data.columns if c not in flags]

    def attempt(session: SparkSession) -> None:
        condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in key_columns)
        builder = target.delta_table(session).alias("t").merge(prepared.alias("s"), condition)
        if delete_when:
            builder = builder.whenMatchedDelete(condition=delete_when)
        values: dict[str, str | Column] = {f"`{c}`": F.col(f"s.`{c}`") for c in written}
        stored_now = set(target.delta_table(session).toDF().schema.fieldNames())
        others = [c for c in written if c not in key_columns and c in stored_now]
        new = [c for c in written if c not in stored_now]
        if not only_changed:
            builder = builder.whenMatchedUpdate(set=values)
        elif others or new:
            condition = " OR ".join(
                [differs(others)] * bool(others) + [f"s.`{c}` IS NOT NULL" for c in new]
            )
            builder = builder.whenMatchedUpdate(condition=condition, set=values)
        if keep:
            builder = builder.whenNotMatchedInsert(condition=keep, values=values)
        else:
            builder = builder.whenNotMatchedInsert(values=values)
        if evolves:
            builder = builder.withSchemaEvolution()
        builder.execute()

    with target.tagged_session(tagged, transaction) as session:
        target.retrying("MERGE", lambda: attempt(session))
    return merge_outcome(target, run_id, before, counts)


def delete_flag_columns(
    target: Target, source: DataFrame, delete_when: str | None, stored: T.StructType | None
) -> list[str]:
    """The source columns ``delete_when`` uses that the table does not store (``op``)."""
    schema = (
        stored if stored is not None or target.table is None else target.table.storage_schema
    )
    if not delete_when or schema is None:
        return []  # without a schema the table is created from the source, every column
    known = {name.lower() for name in schema.fieldNames()}
    return [
        column
        for column in source.columns
        if column.lower() not in known
        and re.search(rf"\bs\.`?{re.escape(column)}\b`?", delete_when, re.IGNORECASE)
    ]


def merge_outcome(
    target: Target, run_id: str | None, before: int, counts: tuple[int, int]
) -> MergeResult:
    """The result of a MERGE that started at version ``before``, with the source's counts."""
    result, commit = committed(target, WriteMode.MERGE, run_id, before)
    merged = commit.metrics.get("numSourceRows", 0) if commit is not None else 0
    return merge_result(result, merged, counts)


def null_key(keys: Sequence[str]) -> Column:
    """True for a row with a null in any key column."""
    condition = F.lit(False)
    for key in keys:
        condition = condition | F.col(f"`{key}`").isNull()
    return condition


def source_counts(data: DataFrame, keys: Sequence[str]) -> tuple[int, int]:
    """Rows in the source and rows with a null key, in one aggregate."""
    row = data.agg(
        F.count(F.lit(1)).alias("rows"), F.count_if(null_key(keys)).alias("null_keys")
    ).first()
    assert row is not None
    return int(row["rows"]), int(row["null_keys"])


def deduplicate(data: DataFrame, keys: Sequence[str], ordering: Sequence[str]) -> DataFrame:
    """Drop null-key rows and keep the latest row per key (ties broken by the other columns)."""
    others = [c for c in data.columns if c not in keys and c not in ordering]
    order: list[Column] = [F.col(f"`{c}`").desc_nulls_last() for c in ordering]
    order += [F.col(f"`{c}`").asc_nulls_first() for c in others if _orderable(data, c)]
    window = Window.partitionBy(*[F.col(f"`{k}`") for k in keys]).orderBy(*(order or [F.lit(1)]))
    return (
        data.where(~null_key(keys))
        .withColumn("__medallion_rank", F.row_number().over(window))
        .where(F.col("__medallion_rank") == 1)
        .drop("__medallion_rank")
    )


def differs(columns: Sequence[str]) -> str:
    """A SQL condition true when a target row ``t`` and a source row ``s`` differ (null-safe)."""
    return " OR ".join(f"NOT (t.`{c}` <=> s.`{c}`)" for c in columns)


def merge_result(result: WriteResult, merged_rows: int, counts: tuple[int, int]) -> MergeResult:
    """A MERGE's write result with the source's counts and what de-duplication removed."""
    rows, null_keys = counts
    return MergeResult(
        result.table,
        WriteMode.MERGE,
        result.version,
        rows_inserted=result.rows_inserted,
        rows_updated=result.rows_updated,
        rows_deleted=result.rows_deleted,
        run_id=result.run_id,
        source_rows=rows,
        duplicates_removed=max(0, rows - null_keys - merged_rows)
        if result.version is not None
        else 0,
        null_keys_dropped=null_keys,
    )


def _orderable(data: DataFrame, column: str) -> bool:
    data_type = data.schema[column].dataType
    return not isinstance(data_type, (T.MapType, T.VariantType))
