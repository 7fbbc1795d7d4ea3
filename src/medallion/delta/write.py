"""Appending, overwriting and replacing partitions: one Delta commit each, counted from its log.

The data is conformed to the table's stored schema first (:func:`~medallion.delta.tables.conform`)
and the table created if it is a medallion table with a schema. The public entry point is
:meth:`DeltaOps.write <medallion.DeltaOps.write>`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pyspark.sql import types as T

from medallion.columns import is_medallion_column
from medallion.delta._target import Target, metadata_json
from medallion.delta.results import Commit, Transaction, WriteResult
from medallion.delta.tables import conform
from medallion.errors import SchemaEvolutionError
from medallion.policies import WriteMode
from medallion.schema import SchemaChangeKind, schema_changes

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__: list[str] = []


def write(
    target: Target,
    df: DataFrame,
    mode: WriteMode,
    *,
    run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    transaction: Transaction | None = None,
) -> WriteResult:
    """Append, overwrite or replace the partitions of ``df`` (not MERGE), as one commit.

    medallion's own columns (bronze, Kafka and change-feed metadata) that the table does not
    store are not written.
    """
    target.create()
    stored = target.stored_schema()
    declared = target.table.storage_schema if target.table is not None else None
    names = {n.lower() for known in (stored, declared) if known for n in known.fieldNames()}
    unstored = [c for c in df.columns if is_medallion_column(c) and c.lower() not in names]
    data, evolves = conformed(target, df.drop(*unstored), stored)
    existed = target.exists()
    before = target.version() if existed else None
    writer = data.write.format("delta")
    metadata = {"medallion_run_id": run_id, **(tags or {})}
    if any(v is not None for v in metadata.values()):
        writer = writer.option("userMetadata", metadata_json(metadata))
    if evolves:
        writer = writer.option("mergeSchema", "true")
    if transaction is not None:
        writer = writer.option("txnAppId", transaction.app_id).option(
            "txnVersion", str(transaction.version)
        )
    if mode is WriteMode.APPEND:
        writer = writer.mode("append")
    elif mode is WriteMode.OVERWRITE:
        writer = writer.mode("overwrite")
    else:
        writer = writer.mode("overwrite").option("partitionOverwriteMode", "dynamic")
    if not existed and target.table is not None and target.table.partition_by:
        writer = writer.partitionBy(*target.table.partition_by)
    if target.by_name:
        target.retrying("write", lambda: writer.saveAsTable(target.location))
    else:
        target.retrying("write", lambda: writer.save(target.location))
    if not existed:
        # A table without a declared schema exists only now: register it in the catalog.
        target.create()
    ours = metadata_json(metadata) if transaction is not None and run_id is not None else None
    return committed(target, mode, run_id, before, ours=ours)[0]


def committed(
    target: Target,
    mode: WriteMode,
    run_id: str | None,
    before: int | None,
    *,
    ours: str | None = None,
) -> tuple[WriteResult, Commit | None]:
    """What a write that started at version ``before`` committed, and its commit (if any).

    With ``ours`` (the write's userMetadata), the commit is the one carrying it: another
    writer may have committed since, and an idempotent write that Delta skipped (its
    transaction was committed by another run) has none.
    """
    if before is not None and target.version() == before:
        return WriteResult(target.name, mode, None, run_id=run_id), None
    commit = target.last_commit()
    if ours is not None and commit.user_metadata != ours:
        mine = None
        for c in target.commits():
            if before is not None and c.version <= before:
                break
            if c.user_metadata == ours:
                mine = c
                break
        if mine is None:
            return WriteResult(target.name, mode, None, run_id=run_id), None
        commit = mine
    return from_commit(target, commit, mode, run_id), commit


def from_commit(target: Target, commit: Commit, mode: WriteMode, run_id: str | None) -> WriteResult:
    """A write's result read off its commit's operation metrics."""
    m = commit.metrics
    if commit.operation == "MERGE":
        return WriteResult(
            target.name,
            mode,
            commit.version,
            rows_inserted=m.get("numTargetRowsInserted", 0),
            rows_updated=m.get("numTargetRowsUpdated", 0),
            rows_deleted=m.get("numTargetRowsDeleted", 0),
            run_id=run_id,
        )
    return WriteResult(
        target.name,
        mode,
        commit.version,
        rows_inserted=m.get("numOutputRows", 0),
        rows_deleted=0
        if mode is WriteMode.APPEND
        else m.get("numRemovedRows", 0) + m.get("numDeletedRows", 0),
        run_id=run_id,
    )


def conformed(
    target: Target,
    df: DataFrame,
    stored: T.StructType | None,
    passthrough: Sequence[str] = (),
) -> tuple[DataFrame, bool]:
    """The data shaped to the stored schema; and whether it brings new columns.

    ``passthrough`` columns are not compared with the schema and stay at the end.

    Raises:
        SchemaEvolutionError: The data does not fit, listing every difference.
    """
    if target.table is None:
        if stored is None:
            return df, False
        kept = {name.lower() for name in passthrough}
        written = T.StructType([f for f in df.schema.fields if f.name.lower() not in kept])
        changes = schema_changes(stored, written)
        refused = [c for c in changes if not c.compatible]
        if refused:
            raise SchemaEvolutionError(
                f"table {target.name!r}: the data does not fit the schema: "
                + "; ".join(str(c) for c in refused),
                tuple(refused),
            )
        return df, any(c.kind is SchemaChangeKind.ADDED for c in changes)
    data = conform(df, target.table, stored, passthrough=passthrough)
    known = stored if stored is not None else target.table.storage_schema
    new = known is not None and len(data.columns) - len(passthrough) > len(known.fields)
    return data, new
