"""SCD type 2: a dimension that keeps every version of a key, with validity times.

A key seen for the first time gets a current row. When a tracked column of a key changes, its
current row is closed (``valid_to`` set, ``is_current`` false) and a new current row is
inserted, both in one commit; a change in an untracked column updates the current row in
place. The public entry point is :meth:`DeltaOps.merge_scd2 <medallion.DeltaOps.merge_scd2>`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from pyspark.sql import Column
from pyspark.sql import functions as F

from medallion.delta._target import Target
from medallion.delta.merge import deduplicate, differs, merge_outcome, merge_result, source_counts
from medallion.delta.results import MergeResult
from medallion.delta.write import conformed, write
from medallion.errors import DeltaOperationError, SchemaError
from medallion.layers import WriteMode

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__: list[str] = []


def merge_scd2(
    target: Target,
    source: DataFrame,
    keys: Sequence[str] | None = None,
    *,
    tracked: Sequence[str] | None = None,
    effective_at: str | dt.datetime | None = None,
    valid_from: str = "valid_from",
    valid_to: str = "valid_to",
    is_current: str = "is_current",
    run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
) -> MergeResult:
    """Merge ``source`` (one row per key) as an SCD type 2 dimension; see ``DeltaOps.merge_scd2``.

    Raises:
        DeltaOperationError: No keys were given and the table has none besides ``valid_from``.
        SchemaError: ``effective_at`` or a tracked column is not a source column.
    """
    scd = (valid_from, valid_to, is_current)
    key_columns = (
        tuple(keys)
        if keys is not None
        else tuple(
            k
            for k in (target.table.primary_keys if target.table is not None else ())
            if k not in scd
        )
    )
    if not key_columns:
        raise DeltaOperationError(f"table {target.name!r}: an SCD2 merge needs key columns")
    effective_column = (
        effective_at
        if isinstance(effective_at, str) and effective_at in source.columns
        else None
    )
    if effective_column is not None:
        effective = F.col(f"`{effective_column}`").cast("timestamp")
    elif isinstance(effective_at, dt.datetime):
        effective = F.lit(effective_at).cast("timestamp")
    elif effective_at is None:
        effective = F.current_timestamp()
    else:
        raise SchemaError(
            f"table {target.name!r}: effective_at {effective_at!r} is not a source column"
        )
    attributes = [c for c in source.columns if c not in key_columns and c not in scd]
    changing = list(tracked) if tracked is not None else attributes
    unknown = [c for c in changing if c not in attributes]
    if unknown:
        raise SchemaError(
            f"table {target.name!r}: tracked column(s) {', '.join(unknown)} are not source "
            "columns"
        )
    in_place = [c for c in attributes if c not in changing]
    counts = source_counts(source, key_columns)
    latest = deduplicate(
        source, key_columns, [effective_column] if effective_column else []
    ).withColumn("__medallion_effective", effective)
    rows = latest.select(
        *[F.col(f"`{c}`") for c in source.columns if c not in scd],
        F.col("__medallion_effective").alias(valid_from),
        F.lit(None).cast("timestamp").alias(valid_to),
        F.lit(True).alias(is_current),
    )
    target.create()
    if not target.exists():
        first = write(target, rows, WriteMode.APPEND, run_id=run_id, tags=tags)
        return merge_result(first, first.rows_inserted, counts)
    data, evolves = conformed(target, rows, target.stored_schema())
    before = target.version()
    merge_keys = [f"__medallion_key_{i}" for i in range(len(key_columns))]

    def attempt(session: SparkSession) -> None:
        current = target.delta_table(session).toDF().where(F.col(f"`{is_current}`"))
        changed = (
            data.alias("s")
            .join(
                current.alias("t"),
                [F.col(f"s.`{k}`") == F.col(f"t.`{k}`") for k in key_columns],
            )
            .where(differs(changing) if changing else F.lit(False))
            .select("s.*")
        )
        staged = data.select(
            *[F.col(f"`{k}`").alias(m) for k, m in zip(key_columns, merge_keys, strict=True)],
            "*",
        ).unionByName(
            changed.select(
                *[
                    F.lit(None).cast(data.schema[k].dataType).alias(m)
                    for k, m in zip(key_columns, merge_keys, strict=True)
                ],
                "*",
            )
        )
        condition = " AND ".join(
            [f"t.`{k}` = s.`{m}`" for k, m in zip(key_columns, merge_keys, strict=True)]
            + [f"t.`{is_current}`"]
        )
        builder = target.delta_table(session).alias("t").merge(staged.alias("s"), condition)
        if changing:
            close: dict[str, str | Column] = {
                f"`{is_current}`": F.lit(False),
                f"`{valid_to}`": F.col(f"s.`{valid_from}`"),
            }
            builder = builder.whenMatchedUpdate(condition=differs(changing), set=close)
        if in_place:
            update: dict[str, str | Column] = {f"`{c}`": F.col(f"s.`{c}`") for c in in_place}
            builder = builder.whenMatchedUpdate(condition=differs(in_place), set=update)
        insert: dict[str, str | Column] = {f"`{c}`": F.col(f"s.`{c}`") for c in data.columns}
        builder = builder.whenNotMatchedInsert(values=insert)
        if evolves:
            builder = builder.withSchemaEvolution()
        builder.execute()

    with target.tagged_session({"medallion_run_id": run_id, **(tags or {})}) as session:
        target.retrying("SCD2 MERGE", lambda: attempt(session))
    outcome = merge_outcome(target, run_id, before, counts)
    # The staged source holds changed keys twice (close + new version): count keys once.
    return attrs.evolve(
        outcome,
        duplicates_removed=max(0, counts[0] - counts[1] - latest.count())
        if outcome.version is not None
        else 0,
    )
