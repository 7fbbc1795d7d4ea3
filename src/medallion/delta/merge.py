"""MERGE: upserting rows into a table on its keys, one row per key, in one commit.

Before merging, rows with a null key are dropped (they could never match) and each key keeps
its latest row: the greatest ``sequence_by`` values, then the latest by where it came from
(:data:`medallion.columns.SOURCE_ORDER`: a change's commit version, the ingestion time, the
Kafka partition and offset, the file and the record's position in it). Rows of a key that
still tie with different values are refused (:class:`~medallion.errors.DuplicateKeyError`).
Matched rows are updated only when a value differs; a delete condition over the source row
deletes the matched row instead, and such a row is never inserted. The public entry point is
:meth:`DeltaOps.merge <medallion.DeltaOps.merge>`; SCD type 2 is in :mod:`~medallion.delta.scd2`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from pyspark import StorageLevel
from pyspark.sql import Column, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from medallion._names import quote
from medallion.columns import SOURCE_ORDER, is_medallion_column
from medallion.delta._target import Target
from medallion.delta.results import MergeResult, Transaction, WriteResult
from medallion.delta.write import committed, conformed, write
from medallion.errors import DeltaOperationError, DuplicateKeyError, SchemaError
from medallion.policies import Merge, WriteMode

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__: list[str] = []

#: The column holding a source row's delete flag (``delete_when``) during a MERGE.
DELETE_FLAG = "__medallion_delete"
_ROW = "__medallion_row"
_RANK = "__medallion_rank"
_AMBIGUOUS = "__medallion_ambiguous"
#: A checkpointed source (see ``prepare``) needs no materialising again by Delta.
_MATERIALIZE_SOURCE = {"spark.databricks.delta.merge.materializeSource": "none"}


@attrs.frozen
class Prepared:
    """A MERGE source ready to merge: one row per key, and what preparing it found.

    Attributes:
        rows: One row per non-null key, conformed to the table, with the delete flag and the
            columns used on the way (not written) at the end.
        written: The columns the MERGE writes.
        evolves: Whether the rows bring columns the table does not have yet.
        source_rows: Rows in the source.
        null_keys: Source rows with a null key (dropped).
        duplicates: Source rows dropped because a later row had the same key.
    """

    rows: DataFrame = attrs.field(eq=False)
    written: tuple[str, ...]
    evolves: bool
    source_rows: int
    null_keys: int
    duplicates: int


def prepare(
    target: Target,
    source: DataFrame,
    keys: Sequence[str],
    *,
    sequence_by: Sequence[str] = (),
    delete_when: str | None = None,
    uses: Sequence[str] = (),
    checkpoint: bool = True,
) -> Prepared:
    """Conform a MERGE source, flag its deletes, and keep the latest row of each key.

    Args:
        target: The table merged into.
        source: The rows.
        keys: The key columns.
        sequence_by: Columns whose greatest values mark a key's latest row.
        delete_when: A SQL condition over a source row: its key's row is deleted.
        uses: More source columns the MERGE reads but does not write (unless the table does not
            exist yet and has no declared schema: then it is made of the rows' columns, all
            but the delete condition's and medallion's own).
        checkpoint: Compute the source once, in the pass that counts it, into a local
            checkpoint (MEMORY_AND_DISK) that the MERGE's two passes read. SCD2 passes
            ``False``: it joins the source with the table first, which a checkpointed plan
            cannot take part in twice. Spark frees the checkpoint's blocks when its garbage
            collector drops the plan.

    Raises:
        SchemaError: The source lacks a key column.
        SchemaEvolutionError: The source does not fit the table's schema.
        DuplicateKeyError: Rows of a key tie on every ordering column, with different values.
    """
    target.create()
    stored = target.stored_schema()
    known = stored if stored is not None else _declared(target)
    flagged = source
    if delete_when:
        flag = F.coalesce(F.expr(delete_when), F.lit(False))
        flagged = source.alias("s").withColumn(DELETE_FLAG, flag)
    read_only = [*sequence_by, *uses] if known is not None else [*_referenced(delete_when)]
    passthrough = _passthrough(flagged, known, [*read_only, DELETE_FLAG])
    data, evolves = conformed(target, flagged, stored, passthrough)
    missing = [k for k in keys if k not in data.columns]
    if missing:
        raise SchemaError(
            f"table {target.name!r}: the MERGE source lacks key column(s) {', '.join(missing)}"
        )
    written = tuple(c for c in data.columns if c not in passthrough)
    ordering = [*sequence_by, *(c for c in SOURCE_ORDER if c in data.columns)]
    ranked = _ranked(data, keys, ordering, written)
    if checkpoint:
        # A checkpoint, not a cache: Delta refuses a MERGE whose source plan's caching
        # changes while it runs.
        ranked = ranked.localCheckpoint(eager=False, storageLevel=StorageLevel.MEMORY_AND_DISK)
    counts = ranked.agg(
        F.count(F.lit(1)).alias("rows"),
        F.count_if(_null_key(keys)).alias("null_keys"),
        F.count_if(F.col(_AMBIGUOUS)).alias("ambiguous"),
        F.count_if((F.col(_ROW) > 1) & ~_null_key(keys)).alias("duplicates"),
    ).first()
    assert counts is not None
    if counts["ambiguous"]:
        _refuse_ties(target, ranked, keys, ordering, int(counts["ambiguous"]))
    rows = ranked.where((F.col(_ROW) == 1) & ~_null_key(keys)).drop(_ROW, _RANK, _AMBIGUOUS)
    return Prepared(
        rows,
        written,
        evolves,
        int(counts["rows"]),
        int(counts["null_keys"]),
        int(counts["duplicates"]),
    )


def merge(
    target: Target,
    source: DataFrame,
    keys: Sequence[str] | None = None,
    *,
    sequence_by: Sequence[str] = (),
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
        DuplicateKeyError: Rows of a key tie on every ordering column, with different values.
    """
    key_columns = tuple(keys) if keys else _table_keys(target)
    if not key_columns:
        raise DeltaOperationError(f"table {target.name!r}: MERGE needs key columns")
    # The columns the MERGE reads (its delete condition's, say) need not be stored.
    uses = _referenced(delete_when)
    prepared = prepare(
        target, source, key_columns, sequence_by=sequence_by, delete_when=delete_when, uses=uses
    )
    tagged = {"medallion_run_id": run_id, **(tags or {})}
    if prepared.source_rows == 0 and not tagged.get("medallion_consumed"):
        # Nothing to merge and no progress to record: Delta would not commit anyway.
        nothing = WriteResult(target.name, WriteMode.MERGE, None, run_id=run_id)
        return merge_result(nothing, prepared)
    kept = prepared.rows
    if delete_when:
        kept = kept.where(~F.col(DELETE_FLAG))
    if not target.exists():
        first = write(
            target,
            kept.select(*[quote(c) for c in prepared.written]),
            WriteMode.APPEND,
            run_id=run_id,
            tags=tags,
            transaction=transaction,
        )
        return merge_result(first, prepared)
    before = target.version()

    def attempt(session: SparkSession) -> None:
        condition = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in key_columns)
        table = target.commands(session)
        builder = table.merge(prepared.rows, condition)
        stored_now = set(target.read(session).schema.fieldNames())
        # A row older than the stored one (by the stored sequence columns) changes nothing.
        stored_order = list(sequence_by) and all(c in stored_now for c in sequence_by)
        newer = not_older(sequence_by) if stored_order else None
        if delete_when:
            delete = f"s.{DELETE_FLAG}" + (f" AND ({newer})" if newer else "")
            builder = builder.when_matched_delete(delete)
        values = {quote(c): f"s.{quote(c)}" for c in prepared.written}
        others = [c for c in prepared.written if c not in key_columns and c in stored_now]
        new = [c for c in prepared.written if c not in stored_now]
        changed = " OR ".join(
            [differs(others)] * bool(others) + [f"s.{quote(c)} IS NOT NULL" for c in new]
        )
        update = [f"({changed})"] * bool(only_changed and changed) + [f"({newer})"] * bool(newer)
        if update:
            builder = builder.when_matched_update(values, " AND ".join(update))
        elif not only_changed:
            builder = builder.when_matched_update(values)
        if delete_when:
            builder = builder.when_not_matched_insert(values, f"NOT s.{DELETE_FLAG}")
        else:
            builder = builder.when_not_matched_insert(values)
        if prepared.evolves:
            builder = builder.with_schema_evolution()
        builder.execute()

    settings = {**target.merge_settings(prepared.written), **_MATERIALIZE_SOURCE}
    with target.tagged_session(tagged, transaction, settings) as session:
        target.retrying("MERGE", lambda: attempt(session))
    return merge_result(committed(target, WriteMode.MERGE, run_id, before)[0], prepared)


def merge_result(
    result: WriteResult, prepared: Prepared, mode: WriteMode = WriteMode.MERGE
) -> MergeResult:
    """A MERGE's write result (``mode``: MERGE or SCD2) with what preparing its source counted."""
    return MergeResult(
        result.table,
        mode,
        result.version,
        rows_inserted=result.rows_inserted,
        rows_updated=result.rows_updated,
        rows_deleted=result.rows_deleted,
        run_id=result.run_id,
        source_rows=prepared.source_rows,
        duplicates_removed=prepared.duplicates if result.version is not None else 0,
        null_keys_dropped=prepared.null_keys,
    )


def not_older(columns: Sequence[str]) -> str:
    """A SQL condition true when the source row ``s`` is not older than the target row ``t``.

    The rows compare by ``columns`` in order (the first that differs decides); a null is older
    than any value.
    """
    condition = "TRUE"
    for column in reversed(columns):
        s, t = f"s.{quote(column)}", f"t.{quote(column)}"
        later = f"({s} IS NOT NULL AND ({t} IS NULL OR {s} > {t}))"
        condition = f"{later} OR ({s} <=> {t} AND ({condition}))"
    return condition


def differs(columns: Sequence[str]) -> str:
    """A SQL condition true when a target row ``t`` and a source row ``s`` differ (null-safe)."""
    return " OR ".join(f"NOT (t.{quote(c)} <=> s.{quote(c)})" for c in columns)


def _referenced(condition: str | None) -> tuple[str, ...]:
    """The columns a delete condition reads."""
    return Merge(delete_when=condition).columns()


def _table_keys(target: Target) -> tuple[str, ...]:
    return target.table.primary_keys if target.table is not None else ()


def _declared(target: Target) -> T.StructType | None:
    return target.table.storage_schema if target.table is not None else None


def _passthrough(
    source: DataFrame, known: T.StructType | None, used: Sequence[str]
) -> list[str]:
    """The source columns used on the way and not written.

    They are the columns the MERGE reads that the table does not store, and medallion's own
    columns (bronze, Kafka, change feed) that it does not store.
    """
    if known is None:
        stored: set[str] = set()
    else:
        stored = {name.lower() for name in known.fieldNames()}
    wanted = {name.lower() for name in used}
    return [
        c
        for c in source.columns
        if c.lower() not in stored and (c.lower() in wanted or is_medallion_column(c))
    ]


def _null_key(keys: Sequence[str]) -> Column:
    condition = F.lit(False)
    for key in keys:
        condition = condition | F.col(quote(key)).isNull()
    return condition


def _ranked(
    data: DataFrame, keys: Sequence[str], ordering: Sequence[str], written: Sequence[str]
) -> DataFrame:
    """The rows numbered within their key, latest first.

    A row is marked ambiguous when it ties with its key's latest row on every ordering column
    but differs from it.
    """
    order = [F.col(quote(c)).desc_nulls_last() for c in ordering] or [F.lit(1)]
    window = Window.partitionBy(*[F.col(quote(k)) for k in keys]).orderBy(*order)
    compared = [*written, DELETE_FLAG] if DELETE_FLAG in data.columns else list(written)
    fingerprint = F.xxhash64(*[F.col(quote(c)) for c in compared])
    return data.select(
        "*",
        F.row_number().over(window).alias(_ROW),
        F.rank().over(window).alias(_RANK),
        (
            (F.rank().over(window) == 1)
            & ~_null_key(keys)
            & (fingerprint != F.first(fingerprint).over(window))
        ).alias(_AMBIGUOUS),
    )


def _refuse_ties(
    target: Target,
    ranked: DataFrame,
    keys: Sequence[str],
    ordering: Sequence[str],
    count: int,
) -> None:
    rows = ranked.where(F.col(_AMBIGUOUS)).select(*[quote(k) for k in keys]).limit(3).collect()
    samples = [{k: row[k] for k in keys} for row in rows]
    shown = "; ".join(", ".join(f"{k}={v!r}" for k, v in sample.items()) for sample in samples)
    by = f"on ({', '.join(ordering)})" if ordering else "and nothing orders them"
    raise DuplicateKeyError(
        f"table {target.name!r}: {count} row(s) share their key with a different row that "
        f"ties with it {by} (e.g. {shown}): nothing says which is the latest. Declare "
        "Merge(sequence_by=...) (or SCD2(effective_at=...)), or keep medallion's source "
        f"columns ({', '.join(SOURCE_ORDER)}) in the rows",
        samples,
    )
