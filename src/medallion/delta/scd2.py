"""SCD type 2: a dimension that keeps every version of a key, with validity times.

A key seen for the first time gets a current row. When a tracked column of a key changes, its
current row is closed (``valid_to`` set to the new version's effective time, ``is_current``
false) and the new version inserted as current, both in one commit; a change in an in-place
column updates the current row (type 1). A source row meeting the delete condition closes
the key's current row (or is ignored). The public entry point is
:meth:`DeltaOps.merge_scd2 <medallion.DeltaOps.merge_scd2>`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pyspark.sql import Column
from pyspark.sql import functions as F

from medallion._names import quote
from medallion.delta._target import Target
from medallion.delta.merge import DELETE_FLAG, differs, merge_result, prepare
from medallion.delta.results import MergeResult, Transaction
from medallion.delta.write import committed, write
from medallion.errors import DeltaOperationError, SchemaError
from medallion.policies import SCD2, DeleteAction, WriteMode

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__: list[str] = []

_MERGE_KEY = "__medallion_key_{}"


def merge_scd2(
    target: Target,
    source: DataFrame,
    policy: SCD2,
    *,
    load_time: dt.datetime | None = None,
    run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    transaction: Transaction | None = None,
) -> MergeResult:
    """Merge ``source`` as an SCD type 2 dimension by ``policy``; see ``DeltaOps.merge_scd2``.

    Args:
        target: The dimension.
        source: The new versions (several of a key: its latest is merged).
        policy: Keys, tracked and in-place columns, effective time, deletes, column names.
        load_time: The effective time of rows when the policy names no column (the run's
            start); the current time when ``None``.
        run_id: Recorded in the commit's userMetadata.
        tags: More key-values for the commit's userMetadata.
        transaction: MERGE only if this transaction was not committed before.

    Raises:
        DeltaOperationError: No keys were given and the table has none besides ``valid_from``.
        SchemaError: The effective-time column or a tracked column is not a source column.
    """
    scd = policy.scd_columns
    keys = policy.keys or tuple(
        k for k in (target.table.primary_keys if target.table else ()) if k not in scd
    )
    if not keys:
        raise DeltaOperationError(f"table {target.name!r}: an SCD2 merge needs key columns")
    if policy.effective_at is not None and policy.effective_at not in source.columns:
        raise SchemaError(
            f"table {target.name!r}: effective_at {policy.effective_at!r} is not a source column"
        )
    effective: Column
    if policy.effective_at is not None:
        effective = F.col(quote(policy.effective_at)).cast("timestamp")
    elif load_time is not None:
        # A naive time is UTC (how medallion records times); PySpark would read it as local.
        aware = load_time if load_time.tzinfo else load_time.replace(tzinfo=dt.timezone.utc)
        effective = F.lit(aware).cast("timestamp")
    else:
        effective = F.current_timestamp()
    versions = source.drop(*[c for c in scd if c in source.columns]).select(
        "*",
        effective.alias(policy.valid_from),
        F.lit(None).cast("timestamp").alias(policy.valid_to),
        F.lit(True).alias(policy.is_current),
    )
    prepared = prepare(
        target,
        versions,
        keys,
        sequence_by=[policy.valid_from],
        delete_when=policy.delete_when,
        uses=policy.columns(),
        checkpoint=False,
    )
    attributes = [c for c in prepared.written if c not in keys and c not in scd]
    tracked = _tracked(target, policy, attributes)
    in_place = list(policy.in_place) or (
        [c for c in attributes if c not in tracked] if policy.tracked is not None else []
    )
    rows = prepared.rows
    flagged = DELETE_FLAG in rows.columns
    if flagged and policy.on_delete is DeleteAction.IGNORE:
        rows = rows.where(~F.col(DELETE_FLAG))
    if not flagged:
        rows = rows.withColumn(DELETE_FLAG, F.lit(False))
    if not target.exists():
        first = write(
            target,
            rows.where(~F.col(DELETE_FLAG)).select(*[quote(c) for c in prepared.written]),
            WriteMode.APPEND,
            run_id=run_id,
            tags=tags,
            transaction=transaction,
        )
        return merge_result(first, prepared, WriteMode.SCD2)
    before = target.version()
    merge_keys = [_MERGE_KEY.format(i) for i in range(len(keys))]

    def attempt(session: SparkSession) -> None:
        table = target.commands(session)
        current = target.read(session).where(F.col(quote(policy.is_current)))
        on_keys = [F.col(f"s.{quote(k)}") == F.col(f"t.{quote(k)}") for k in keys]
        changed = (
            rows.where(~F.col(DELETE_FLAG))
            .alias("s")
            .join(current.alias("t"), on_keys)
            .where(differs(tracked) if tracked else F.lit(False))
            .select("s.*")
        )
        staged = rows.select(
            *[F.col(quote(k)).alias(m) for k, m in zip(keys, merge_keys, strict=True)], "*"
        ).unionByName(
            changed.select(
                *[
                    F.lit(None).cast(rows.schema[k].dataType).alias(m)
                    for k, m in zip(keys, merge_keys, strict=True)
                ],
                "*",
            )
        )
        condition = " AND ".join(
            [f"t.{quote(k)} = s.{quote(m)}" for k, m in zip(keys, merge_keys, strict=True)]
            + [f"t.{quote(policy.is_current)}"]
        )
        builder = table.merge(staged, condition)
        close = {
            quote(policy.is_current): "false",
            quote(policy.valid_to): f"s.{quote(policy.valid_from)}",
        }
        closing = [f"s.{DELETE_FLAG}"] + ([f"({differs(tracked)})"] if tracked else [])
        builder = builder.when_matched_update(close, " OR ".join(closing))
        if in_place:
            update = {quote(c): f"s.{quote(c)}" for c in in_place}
            builder = builder.when_matched_update(update, differs(in_place))
        insert = {quote(c): f"s.{quote(c)}" for c in prepared.written}
        builder = builder.when_not_matched_insert(insert, f"NOT s.{DELETE_FLAG}")
        if prepared.evolves:
            builder = builder.with_schema_evolution()
        builder.execute()

    tagged = {"medallion_run_id": run_id, **(tags or {})}
    settings = target.merge_settings(prepared.written)
    with target.tagged_session(tagged, transaction, settings) as session:
        target.retrying("SCD2 MERGE", lambda: attempt(session))
    result = committed(target, WriteMode.SCD2, run_id, before)[0]
    return merge_result(result, prepared, WriteMode.SCD2)


def _tracked(target: Target, policy: SCD2, attributes: Sequence[str]) -> list[str]:
    """The columns whose change makes a new version: declared, else every other attribute."""
    if policy.tracked is None:
        return [c for c in attributes if c not in policy.in_place]
    unknown = [c for c in policy.tracked if c not in attributes]
    if unknown:
        raise SchemaError(
            f"table {target.name!r}: tracked column(s) {', '.join(unknown)} are not source "
            "columns"
        )
    return list(policy.tracked)
