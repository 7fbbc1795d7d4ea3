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
    >>> changed = spark.createDataFrame([("c1", "platinum")], "id STRING, tier STRING")
    >>> ops.merge(changed).rows_updated
    1
    >>> ops.read(version=1).collect()
    [Row(id='c1', tier='gold')]
    >>> [c.operation for c in ops.history()]
    ['MERGE', 'MERGE', 'CREATE TABLE']
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from medallion.delta import changes, history, maintenance, merge, scd2, write
from medallion.delta._target import Target
from medallion.delta.changes import Increment, consumed_tags
from medallion.delta.maintenance import SAFE_RETENTION_HOURS
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
from medallion.errors import DeltaOperationError
from medallion.layers import WriteMode
from medallion.table import Table, resolve_root

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql import types as T

    from medallion._typing import SchemaLike
    from medallion.schema import SchemaChange

__all__ = [
    "SAFE_RETENTION_HOURS",
    "Commit",
    "DeltaOps",
    "Diff",
    "Increment",
    "MergeResult",
    "OptimizeResult",
    "RetryPolicy",
    "TableDetail",
    "Transaction",
    "VacuumResult",
    "consumed_tags",
]


class DeltaOps:
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

    def exists(self) -> bool:
        """Whether the Delta table exists.

        Example:
            >>> ops = DeltaOps.of(spark, f"{lakehouse}/events")
            >>> ops.exists()
            False
            >>> spark.range(3).write.format("delta").save(ops.location)
            >>> ops.exists()
            True
        """
        return self._target.exists()

    def delta_table(self, spark: SparkSession | None = None) -> DeltaTable:
        """The delta-spark ``DeltaTable`` behind these operations.

        Args:
            spark: The session to bind it to; defaults to :attr:`spark`.

        Returns:
            The ``DeltaTable``.

        Raises:
            DeltaOperationError: There is no Delta table there.

        Example:
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.delta_table().toDF().count()
            3
        """
        return self._target.delta_table(spark)

    def history(self, limit: int | None = None) -> list[Commit]:
        """The table's commits, newest first.

        Args:
            limit: At most this many commits.

        Returns:
            The commits.

        Example:
            >>> ops = DeltaOps.of(spark, f"{lakehouse}/events")
            >>> _ = ops.write(spark.range(3), run_id="nightly-7")
            >>> [(c.version, c.operation, c.run_id) for c in ops.history()]
            [(0, 'WRITE', 'nightly-7')]
        """
        return self._target.history(limit)

    def version(self) -> int:
        """The current version of the table.

        For a local table this lists its ``_delta_log`` folder (milliseconds); otherwise it asks
        Delta for the latest commit.

        Example:
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.version()
            0
        """
        return self._target.version()

    def last_commit(self) -> Commit:
        """The latest commit.

        Example:
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> commit = ops.last_commit()
            >>> commit.version, commit.operation, commit.metrics["numOutputRows"]
            (0, 'WRITE', 3)
        """
        return self._target.last_commit()

    def read(
        self, *, version: int | None = None, timestamp: str | dt.datetime | None = None
    ) -> DataFrame:
        """Read the table: current, or as of a version or a timestamp (time travel).

        Args:
            version: Read this version.
            timestamp: Read the version current at this time: a datetime (naive means the
                process's local time, aware ones are converted), or a string such as
                ``"2026-01-31 12:00:00"`` in the Spark session's time zone.

        Returns:
            The rows.

        Raises:
            DeltaOperationError: Both a version and a timestamp were given, or the version does
                not exist.

        Example:
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.read().count(), ops.read(timestamp=ops.last_commit().timestamp).count()
            (3, 3)
        """
        return history.read(self._target, version=version, timestamp=timestamp)

    def restore(
        self, *, version: int | None = None, timestamp: str | dt.datetime | None = None
    ) -> Commit:
        """Restore the table to an earlier version or timestamp (a new commit; history stays).

        Args:
            version: The version to restore.
            timestamp: Restore the version current at this time.

        Returns:
            The RESTORE commit.

        Raises:
            DeltaOperationError: Neither or both were given, or the version does not exist.

        Example:
            ``ops.restore(version=3).operation`` is ``'RESTORE'``, and ``ops.read()`` then returns
            version 3's rows. A RESTORE takes seconds even on a tiny table, so this example only
            shows the argument check:

            >>> ops = DeltaOps.of(spark, f"{lakehouse}/events")
            >>> try:
            ...     ops.restore(version=3, timestamp="2026-01-31 12:00:00")
            ... except DeltaOperationError as exc:
            ...     print(str(exc).split(": ")[-1])
            restore needs exactly one of version or timestamp
        """
        return history.restore(self._target, version=version, timestamp=timestamp)

    def diff(self, from_version: int, to_version: int | None = None) -> Diff:
        """The rows added and removed between two versions, for audits.

        Compares the two snapshots (``exceptAll`` both ways), so it needs no Change Data Feed
        and counts duplicate rows correctly.

        Args:
            from_version: The earlier version.
            to_version: The later version; the current one by default.

        Returns:
            The added and removed rows.

        Example:
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> spark.range(1, 4).write.format("delta").mode("overwrite").save(path)
            >>> ops.diff(0).added.collect()  # and .removed: [Row(id=0)]
            [Row(id=3)]
        """
        return history.diff(self._target, from_version, to_version)

    def write(
        self,
        df: DataFrame,
        mode: WriteMode | str | None = None,
        *,
        run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        transaction: Transaction | None = None,
    ) -> WriteResult:
        """Append, overwrite or replace partitions, as one Delta commit (MERGE: see :meth:`merge`).

        The table is created first if it is a medallion table with a schema. The data is
        conformed to the stored schema; new columns are added when the table allows schema
        evolution. Conflicts with concurrent writes are retried.

        Args:
            df: The rows.
            mode: ``append``, ``overwrite``, ``replace_partitions`` or ``merge``; defaults to
                the table's write mode (append for a bare path).
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
        chosen = (
            WriteMode(mode)
            if mode is not None
            else (self.table.effective_write_mode if self.table is not None else WriteMode.APPEND)
        )
        if chosen is WriteMode.MERGE:
            return self.merge(df, run_id=run_id, tags=tags, transaction=transaction)
        return write.write(
            self._target, df, chosen, run_id=run_id, tags=tags, transaction=transaction
        )

    def merge(
        self,
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
        """Upsert ``source`` into the table on its keys.

        Before merging, rows with a null key are dropped (they could never match) and the
        source is de-duplicated on the keys: the latest row by ``order_by`` wins, ties broken by
        the other columns, so a MERGE never fails on duplicate keys and always picks the same
        row. Matched rows are updated only when a value differs (``only_changed``), so
        identical rows are not rewritten; ``delete_when`` deletes matched rows instead. A
        missing table is created from the source. New columns are added when the table allows
        schema evolution.

        Args:
            source: The new and changed rows.
            keys: The key columns; defaults to the table's primary keys.
            order_by: Column(s) whose greatest value marks the latest row of a key.
            delete_when: A SQL condition over the source row (columns as ``s.<name>``) that
                deletes the matched target row, e.g. ``"s.op = 'D'"``. A source row meeting it
                is never inserted. It may use source columns the table does not have (a change
                feed's ``op``): they are not written.
            only_changed: Update a matched row only if one of its values differs.
            run_id: Recorded in the commit's userMetadata.
            tags: More key-values for the commit's userMetadata.
            transaction: MERGE only if this transaction was not committed before (see
                :class:`Transaction`); a skipped MERGE returns a version of ``None``.

        Returns:
            The rows inserted, updated and deleted, and what de-duplication removed.

        Raises:
            DeltaOperationError: No keys were given and the table has none.
            SchemaEvolutionError: The source does not fit the table's schema.
            ConcurrentWriteError: It kept conflicting with concurrent writes.

        Example:
            The latest row of a key wins, and a row with a null key is dropped:

            >>> ops = DeltaOps.of(spark, f"{lakehouse}/customers")
            >>> rows = spark.createDataFrame(
            ...     [("c1", 1, "gold"), ("c1", 2, "platinum"), (None, 1, "silver")],
            ...     "id STRING, seq INT, tier STRING",
            ... )
            >>> result = ops.merge(rows, keys=["id"], order_by="seq")
            >>> result.rows_inserted, result.duplicates_removed, result.null_keys_dropped
            (1, 1, 1)
            >>> ops.read().collect()
            [Row(id='c1', seq=2, tier='platinum')]
        """
        return merge.merge(
            self._target,
            source,
            keys,
            order_by=order_by,
            delete_when=delete_when,
            only_changed=only_changed,
            run_id=run_id,
            tags=tags,
            transaction=transaction,
        )

    def merge_scd2(
        self,
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
        """Merge a dimension as a slowly changing dimension of type 2.

        A key seen for the first time gets a current row. When a tracked column of a key
        changes, its current row is closed (``valid_to`` set, ``is_current`` false) and a new
        current row is inserted, both in one commit. An unchanged key makes no new version;
        a change in an untracked column updates the current row in place (type 1).

        Args:
            source: One row per key (the latest is kept if there are several), without the
                SCD2 columns.
            keys: The business keys; defaults to the table's primary keys minus ``valid_from``.
            tracked: The columns whose changes make a new version; defaults to every non-key
                column.
            effective_at: When the source's values took effect: the name of a source column,
                a datetime, or ``None`` for now.
            valid_from: The name of the table's column that opens a version.
            valid_to: The name of the column that closes it (null while current).
            is_current: The name of the boolean column that marks current rows.
            run_id: Recorded in the commit's userMetadata.
            tags: More key-values for the commit's userMetadata.

        Returns:
            ``rows_inserted`` counts new keys and new versions, ``rows_updated`` closed versions
            and in-place updates.

        Example:
            >>> from datetime import datetime
            >>> dim = DeltaOps.of(spark, f"{lakehouse}/dim_customer")
            >>> def tier(value):
            ...     return spark.createDataFrame([("c1", value)], "id STRING, tier STRING")
            >>> _ = dim.merge_scd2(tier("gold"), keys=["id"], effective_at=datetime(2026, 1, 1))
            >>> result = dim.merge_scd2(tier("platinum"), keys=["id"],
            ...                         effective_at=datetime(2026, 2, 1))
            >>> result.rows_inserted, result.rows_updated
            (1, 1)
            >>> rows = dim.read().orderBy("valid_from").collect()
            >>> [(r.tier, r.valid_to, r.is_current) for r in rows]
            [('gold', datetime.datetime(2026, 2, 1, 0, 0), False), ('platinum', None, True)]
        """
        return scd2.merge_scd2(
            self._target,
            source,
            keys,
            tracked=tracked,
            effective_at=effective_at,
            valid_from=valid_from,
            valid_to=valid_to,
            is_current=is_current,
            run_id=run_id,
            tags=tags,
        )

    def schema(self) -> T.StructType:
        """The table's current schema.

        Example:
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.schema().simpleString()
            'struct<id:bigint>'
        """
        return maintenance.schema(self._target)

    def schema_changes(self, df: DataFrame) -> tuple[SchemaChange, ...]:
        """How ``df``'s schema differs from the table's stored schema.

        See :func:`medallion.schema.schema_changes`.

        Args:
            df: The data that would be written.

        Returns:
            Every difference, compatible or not.

        Example:
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> incoming = spark.createDataFrame([(1, "click")], "id INT, kind STRING")
            >>> [str(change) for change in ops.schema_changes(incoming)]
            ["column 'id' widens from int to bigint", "column 'kind' (string) is new"]
        """
        return maintenance.changes_of_schema(self._target, df)

    def add_columns(self, columns: SchemaLike) -> T.StructType:
        """Add columns to the table (an explicit schema change; existing rows get null).

        Args:
            columns: The new columns, as a ``StructType`` or DDL (``"channel STRING"``).

        Returns:
            The table's schema afterwards.

        Raises:
            SchemaEvolutionError: A column already exists.

        Example:
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.add_columns("channel STRING").simpleString()
            'struct<id:bigint,channel:string>'
        """
        return maintenance.add_columns(self._target, columns)

    def enable_change_data_feed(self) -> None:
        """Record row-level changes from now on (``delta.enableChangeDataFeed``).

        Example:
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.enable_change_data_feed()
            >>> ops.change_data_feed_enabled()
            True
        """
        maintenance.set_properties(self._target, {"delta.enableChangeDataFeed": "true"})

    def set_properties(self, properties: Mapping[str, str]) -> None:
        """Set table properties.

        Args:
            properties: The properties to set.

        Example:
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.set_properties({"delta.appendOnly": "true"})
            >>> ops.properties()["delta.appendOnly"]
            'true'
        """
        maintenance.set_properties(self._target, properties)

    def properties(self) -> Mapping[str, str]:
        """The table's properties.

        Example:
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").option("delta.appendOnly", "true").save(path)
            >>> DeltaOps.of(spark, path).properties()["delta.appendOnly"]
            'true'
        """
        return maintenance.properties(self._target)

    def change_data_feed_enabled(self) -> bool:
        """Whether the table records its row-level changes.

        Example:
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.change_data_feed_enabled()
            False
        """
        return maintenance.change_data_feed_enabled(self._target)

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

    def consumed_version(self, consumer: str) -> int | None:
        """The last source version ``consumer`` recorded in this table's current state.

        Read from the commit tags of :class:`Increment` writes, following RESTOREs: after the
        table is restored to an earlier version, the consumer's position is the one that
        version had.

        Args:
            consumer: The consumer's name.

        Returns:
            The version, or ``None`` if the consumer never wrote here.

        Example:
            >>> sales = DeltaOps.of(spark, f"{lakehouse}/sales")
            >>> _ = sales.write(spark.range(3), tags={"medallion_consumed": {"orders->sales": 4}})
            >>> sales.consumed_version("orders->sales"), sales.consumed_version("items->sales")
            (4, None)
        """
        return changes.consumed_version(self._target, consumer)

    def increment(self, consumer: str, target: DeltaOps) -> Increment:
        """What ``consumer`` has not processed yet of this table, given what ``target`` records.

        On the consumer's first run this is the whole table at its current version; after that
        the Change Data Feed since the version recorded in ``target`` (so the source must have
        the Change Data Feed enabled from that version on).

        Args:
            consumer: A name unique to the reader (``"silver.orders"``, say).
            target: The table the consumer writes, where its progress is recorded.

        Returns:
            The increment; :attr:`Increment.is_empty` when there is nothing new.

        Example:
            >>> orders = DeltaOps.of(spark, f"{lakehouse}/orders")
            >>> sales = DeltaOps.of(spark, f"{lakehouse}/sales")
            >>> spark.range(3).write.format("delta").save(orders.location)
            >>> first = orders.increment("orders->sales", sales)
            >>> first.from_version, first.to_version, first.rows.count()
            (None, 0, 3)
            >>> _ = sales.write(first.rows, tags=first.tags)
            >>> orders.increment("orders->sales", sales).is_empty
            True
        """
        return changes.increment(self._target, consumer, target._target)

    def detail(self) -> TableDetail:
        """The table's version, files, size, partitioning and properties.

        Example:
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> detail = ops.detail()
            >>> detail.version, detail.num_files > 0, detail.partition_columns
            (0, True, ())
        """
        return maintenance.detail(self._target)

    def optimize(
        self, where: str | None = None, zorder_by: Iterable[str] | None = None
    ) -> OptimizeResult:
        """Compact small files, and Z-order them by the table's declared columns.

        Args:
            where: A predicate on partition columns limiting the files compacted.
            zorder_by: Columns to Z-order by; defaults to the table's ``zorder_by`` (none: plain
                compaction).

        Returns:
            The files added and removed.

        Example:
            >>> path = f"{lakehouse}/events"
            >>> spark.range(0, 4, numPartitions=4).write.format("delta").save(path)  # 4 files
            >>> result = DeltaOps.of(spark, path).optimize()
            >>> result.version, result.files_removed, result.files_added
            (1, 4, 1)
        """
        return maintenance.optimize(self._target, where, zorder_by)

    def vacuum(
        self,
        retention_hours: float = SAFE_RETENTION_HOURS,
        *,
        force: bool = False,
        dry_run: bool = False,
    ) -> VacuumResult:
        """Delete files no longer needed by versions newer than the retention.

        A retention under 168 hours (7 days) is refused unless ``force=True``: it can delete
        files that running readers or time travel still need.

        Args:
            retention_hours: Keep files needed by the versions of this many past hours.
            force: Allow a retention under the safe minimum.
            dry_run: Only count the files that would be deleted.

        Returns:
            The number of files deleted (or that would be).

        Raises:
            DeltaOperationError: The retention is below the safe minimum without ``force``.

        Example:
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.vacuum(dry_run=True)
            VacuumResult(retention_hours=168.0, files_deleted=0, dry_run=True)
            >>> ops.vacuum(24)  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            medallion.errors.DeltaOperationError: table '...': a VACUUM retention of 24 hours ...
        """
        return maintenance.vacuum(self._target, retention_hours, force=force, dry_run=dry_run)
