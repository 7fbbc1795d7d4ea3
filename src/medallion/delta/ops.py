"""``DeltaOps``: every Delta Lake operation a data engineer reaches for, on one typed object.

A thin layer over the public delta-spark API (``DeltaTable``, ``DataFrameReader`` options and
Delta SQL): no private JVM access, so the same code runs on any SparkSession.

Example:
    >>> from medallion import DeltaOps, Table
    >>> customers = Table("customers", "silver", schema="id STRING, tier STRING",
    ...                   primary_keys="id")
    >>> ops = DeltaOps.of(spark, customers, lakehouse)
    >>> ops.merge(spark.createDataFrame([("c1", "gold")], "id STRING, tier STRING")).rows_inserted
    1
    >>> ops.merge(spark.createDataFrame([("c1", "platinum")], "id STRING, tier STRING")).version
    2
    >>> ops.read(version=1).collect(), [c.operation for c in ops.history()]
    ([Row(id='c1', tier='gold')], ['MERGE', 'MERGE', 'CREATE TABLE'])
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from medallion.delta import changes, merge, scd2
from medallion.delta._target import Target
from medallion.delta.history import HistoryOps
from medallion.delta.maintenance import SAFE_RETENTION_HOURS, MaintenanceOps
from medallion.delta.policy import write_by_policy
from medallion.delta.results import (
    Commit,
    Diff,
    MergeResult,
    OptimizeResult,
    RetryPolicy,
    TableDetail,
    Transaction,
    VacuumResult,
    WriteResult,
)
from medallion.errors import DeltaOperationError, TableDefinitionError
from medallion.policies import (
    SCD2,
    Append,
    DeleteAction,
    Merge,
    WriteMode,
    WritePolicy,
    as_policy,
)
from medallion.table import Table, resolve_root

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


__all__ = [
    "SAFE_RETENTION_HOURS",
    "Commit",
    "DeltaOps",
    "Diff",
    "MergeResult",
    "OptimizeResult",
    "RetryPolicy",
    "TableDetail",
    "Transaction",
    "VacuumResult",
]


class DeltaOps(HistoryOps, MaintenanceOps):
    """Typed operations on one Delta table.

    History and time travel, MERGE and SCD2, schema evolution, incremental reads and
    maintenance.

    Build it with :meth:`of` from a :class:`~medallion.Table` and a lakehouse root, from a path,
    or from a catalog name. Writes that conflict with a concurrent write are retried with
    backoff (:class:`RetryPolicy`), then fail with
    :class:`~medallion.errors.ConcurrentWriteError`.

    Args:
        spark: Any Delta-ready SparkSession.
        location: The table's path or URI; or, with ``by_name``, its catalog name.
        table: The medallion table, when there is one (keys, partitioning, Z-order, rules).
        root: The lakehouse root the table lives under, with ``table``.
        by_name: Whether ``location`` is a catalog name.
        retry: The retry policy for conflicting writes.

    Example:
        >>> ops = DeltaOps(spark, f"{lakehouse}/events")
        >>> ops.exists(), ops.name == f"{lakehouse}/events"
        (False, True)
    """

    def __init__(
        self,
        spark: SparkSession,
        location: str,
        *,
        table: Table | None = None,
        root: str | None = None,
        by_name: bool = False,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.spark = spark
        self.location = location
        self.table = table
        self.root = root
        self.by_name = by_name
        self.retry = retry or RetryPolicy()

    @classmethod
    def of(
        cls,
        spark: SparkSession,
        table: Table | str,
        root: str | os.PathLike[str] | None = None,
        *,
        retry: RetryPolicy | None = None,
    ) -> DeltaOps:
        """Operations on a medallion table (with its lakehouse root), a path, or a catalog name.

        Args:
            spark: Any Delta-ready SparkSession.
            table: A :class:`~medallion.Table`; or a path or URI (it contains ``/``; a relative
                local path is made absolute, as a lakehouse root is); or a catalog name
                (``"db.orders"``).
            root: The lakehouse root; required with a ``Table``.
            retry: The retry policy for conflicting writes.

        Returns:
            The operations object.

        Raises:
            DeltaOperationError: A ``Table`` was given without a root.

        Example:
            >>> from medallion import Table
            >>> orders = Table("orders", "silver", schema="id STRING", primary_keys="id")
            >>> DeltaOps.of(spark, orders, "/lake").location
            '/lake/silver/orders'
            >>> DeltaOps.of(spark, "s3a://lake/raw/events").by_name
            False
            >>> DeltaOps.of(spark, "shop.orders").by_name  # a catalog name
            True
        """
        if isinstance(table, Table):
            if root is None:
                raise DeltaOperationError(
                    f"table {table.qualified_name!r}: DeltaOps.of needs the lakehouse root"
                )
            return cls(
                spark, table.location(root), table=table, root=resolve_root(root), retry=retry
            )
        by_name = "/" not in table and "\\" not in table
        return cls(spark, table if by_name else resolve_root(table), by_name=by_name, retry=retry)

    @property
    def name(self) -> str:
        """The table's qualified name, or its location when it is not a medallion table."""
        return self.table.qualified_name if self.table is not None else self.location

    def __repr__(self) -> str:
        return f"DeltaOps({self.name!r}, location={self.location!r})"

    def _policy(self, given: WritePolicy | WriteMode | str | None) -> WritePolicy:
        """A write policy from what a caller gave: a policy, a mode, or nothing."""
        if given is None:
            return self.table.write if self.table is not None else Append()
        keys = self.table.primary_keys if self.table is not None else ()
        try:
            return as_policy(given, keys)
        except TableDefinitionError as exc:
            raise DeltaOperationError(f"table {self.name!r}: {exc}") from exc

    @property
    def _target(self) -> Target:
        return Target(
            self.spark,
            self.location,
            table=self.table,
            root=self.root,
            by_name=self.by_name,
            retry=self.retry,
        )

    def write(
        self,
        df: DataFrame,
        mode: WritePolicy | WriteMode | str | None = None,
        *,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        transaction: Transaction | None = None,
    ) -> WriteResult:
        """Write rows by a write policy, as one Delta commit (conflicts are retried).

        A medallion table is created first; the rows are conformed to its stored schema (new
        columns only with schema evolution), and medallion's own columns are not written
        unless the table stores them.

        Args:
            df: The rows.
            mode: A :data:`~medallion.WritePolicy` (``Merge(sequence_by=...)``), or a mode
                (``"append"``, ``"overwrite"``, ``"replace_partitions"``, ``"merge"`` on the
                table's keys); by default the table's policy (append for a bare path).
            run_id: Recorded in the commit's userMetadata.
            tags: More key-values for the commit's userMetadata.
            transaction: Write only if this transaction was not committed before (see
                :class:`Transaction`); a skipped write returns a version of ``None``.

        Returns:
            What the write did.

        Example:
            >>> ops = DeltaOps.of(spark, f"{lakehouse}/events")
            >>> ops.write(spark.range(3), run_id="nightly-7").rows_inserted
            3
            >>> result = ops.write(spark.range(2), "overwrite")
            >>> result.version, result.mode.value, result.rows_inserted
            (1, 'overwrite', 2)
        """
        return write_by_policy(
            self._target,
            df,
            self._policy(mode),
            run_id=run_id,
            tags=tags,
            transaction=transaction,
        )

    def merge(
        self,
        source: DataFrame,
        keys: str | Sequence[str] | None = None,
        *,
        sequence_by: str | Sequence[str] = (),
        delete_when: str | None = None,
        only_changed: bool = True,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        transaction: Transaction | None = None,
    ) -> MergeResult:
        """Upsert ``source`` into the table on its keys: :class:`~medallion.Merge`, at once.

        Null keys are dropped; each key keeps its latest row (``sequence_by``, then where the
        row came from: see :class:`~medallion.Merge`); matched rows are updated only when a
        value differs. A missing table is created from the source.

        Args:
            source: The new and changed rows.
            keys: The key columns; defaults to the table's primary keys.
            sequence_by: Column(s) whose greatest values mark the latest row of a key.
            delete_when: A SQL condition over a source row (``"op = 'D'"``) that deletes its
                key's row; such a row is never inserted. Its columns need not be stored.
            only_changed: Update a matched row only if one of its values differs.
            run_id: Recorded in the commit's userMetadata.
            tags: More key-values for the commit's userMetadata.
            transaction: MERGE only if this transaction was not committed before.

        Returns:
            The rows inserted, updated and deleted, and what preparing the source removed.

        Raises:
            DuplicateKeyError: Rows of a key tie on every ordering column, with different
                values.
            SchemaEvolutionError: The source does not fit the table's schema.
            ConcurrentWriteError: It kept conflicting with concurrent writes.

        Example:
            >>> ops = DeltaOps.of(spark, f"{lakehouse}/customers")
            >>> rows = spark.createDataFrame(
            ...     [("c1", 1, "gold"), ("c1", 2, "platinum"), (None, 1, "silver")],
            ...     "id STRING, seq INT, tier STRING",
            ... )
            >>> result = ops.merge(rows, keys="id", sequence_by="seq")
            >>> result.rows_inserted, result.duplicates_removed, result.null_keys_dropped
            (1, 1, 1)
            >>> ops.read().collect()
            [Row(id='c1', seq=2, tier='platinum')]
        """
        policy = self._policy(Merge(keys or (), sequence_by, delete_when, only_changed))
        assert isinstance(policy, Merge)
        return merge.merge(
            self._target,
            source,
            policy.keys,
            sequence_by=policy.sequence_by,
            delete_when=policy.delete_when,
            only_changed=policy.only_changed,
            run_id=run_id,
            tags=tags,
            transaction=transaction,
        )

    def merge_scd2(
        self,
        source: DataFrame,
        keys: str | Sequence[str] | None = None,
        *,
        tracked: str | Sequence[str] | None = None,
        in_place: str | Sequence[str] = (),
        effective_at: str | dt.datetime | None = None,
        delete_when: str | None = None,
        on_delete: DeleteAction | str = DeleteAction.CLOSE,
        valid_from: str = "valid_from",
        valid_to: str = "valid_to",
        is_current: str = "is_current",
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> MergeResult:
        """Merge a dimension as a slowly changing dimension of type 2: :class:`~medallion.SCD2`.

        A tracked column's change closes the key's current row and inserts the new version, in
        one commit; an in-place column's change updates the current row.

        Args:
            source: The new versions, without the SCD2 columns.
            keys: The business keys; defaults to the table's primary keys minus ``valid_from``.
            tracked: The columns whose changes make a new version (default: the others).
            in_place: The columns updated on the current row (default, with ``tracked``: the
                others).
            effective_at: When the values took effect: a source column, a datetime, or
                ``None`` for now.
            delete_when: A SQL condition over a source row meaning its key was deleted.
            on_delete: ``"close"`` the deleted key's current row, or ``"ignore"`` the row.
            valid_from: The column that opens a version.
            valid_to: The column that closes it (null while current).
            is_current: The boolean column that marks current rows.
            run_id: Recorded in the commit's userMetadata.
            tags: More key-values for the commit's userMetadata.

        Returns:
            ``rows_inserted``: new keys and versions; ``rows_updated``: closed rows and in-place
            updates.

        Example:
            >>> from datetime import datetime
            >>> dim = DeltaOps.of(spark, f"{lakehouse}/dim_customer")
            >>> def tier(value):
            ...     return spark.createDataFrame([("c1", value)], "id STRING, tier STRING")
            >>> _ = dim.merge_scd2(tier("gold"), keys="id", effective_at=datetime(2026, 1, 1))
            >>> result = dim.merge_scd2(tier("platinum"), keys="id",
            ...                         effective_at=datetime(2026, 2, 1))
            >>> result.rows_inserted, result.rows_updated
            (1, 1)
            >>> rows = dim.read().orderBy("valid_from").collect()
            >>> [(r.tier, r.valid_to, r.is_current) for r in rows]
            [('gold', datetime.datetime(2026, 2, 1, 0, 0), False), ('platinum', None, True)]
        """
        column = effective_at if isinstance(effective_at, str) else None
        policy = SCD2(
            keys or (),
            tracked,
            in_place,
            column,
            delete_when,
            on_delete,
            valid_from,
            valid_to,
            is_current,
        )
        return scd2.merge_scd2(
            self._target,
            source,
            policy,
            load_time=effective_at if isinstance(effective_at, dt.datetime) else None,
            run_id=run_id,
            tags=tags,
        )

    def changes(self, from_version: int, to_version: int | None = None) -> DataFrame:
        """The Change Data Feed between two versions (inclusive).

        Args:
            from_version: The first version.
            to_version: The last version; the current one by default.

        Returns:
            The changed rows with ``_change_type``, ``_commit_version`` and
            ``_commit_timestamp``.

        Raises:
            DeltaOperationError: The table does not record its changes.

        Example:
            >>> path = f"{lakehouse}/events"
            >>> writer = spark.range(2).write.format("delta")
            >>> writer.option("delta.enableChangeDataFeed", "true").save(path)
            >>> changes = DeltaOps.of(spark, path).changes(0)
            >>> sorted((r.id, r._change_type, r._commit_version) for r in changes.collect())
            [(0, 'insert', 0), (1, 'insert', 0)]
        """
        return changes.changes(self._target, from_version, to_version)
