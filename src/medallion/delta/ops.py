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

import contextlib
import datetime as dt
import json
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import attrs
from pyspark.sql import Column, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from medallion.errors import (
    ConcurrentWriteError,
    DeltaOperationError,
    SchemaError,
    SchemaEvolutionError,
)
from medallion.io import WriteResult, conform, create_table, stored_schema, table_exists
from medallion.layers import WriteMode
from medallion.schema import SchemaChange, schema_changes, to_ddl, to_struct_type
from medallion.table import Table, resolve_root

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import DataFrame, SparkSession

    from medallion._typing import SchemaLike

__all__ = [
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

_R = TypeVar("_R")
#: VACUUM refuses a retention shorter than this unless forced (Delta's own default).
SAFE_RETENTION_HOURS = 168.0
_USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"
_TXN_APP_ID = "spark.databricks.delta.write.txnAppId"
_TXN_VERSION = "spark.databricks.delta.write.txnVersion"
_SHARED_SESSION_LOCK = threading.Lock()


@attrs.frozen
class Transaction:
    """An idempotent-write marker: Delta commits a write of ``(app_id, version)`` at most once.

    Delta records the highest ``version`` written by each ``app_id`` in the table's log and
    skips any later write whose version is not higher. A streaming ``foreachBatch`` function
    passes its query's name and the micro-batch id, so a replayed micro-batch is not written
    twice.

    Attributes:
        app_id: A name stable across restarts of the writer (e.g. the query's name).
        version: A number that grows with every write of that writer (e.g. the batch id).

    Example:
        >>> ops = DeltaOps.of(spark, f"{lakehouse}/txn_example")
        >>> rows = spark.range(3)
        >>> ops.write(rows, "append", transaction=Transaction("loader", 7)).version
        0
        >>> ops.write(rows, "append", transaction=Transaction("loader", 7)).version is None
        True
        >>> ops.read().count()
        3
    """

    app_id: str = attrs.field()
    version: int = attrs.field()

    @app_id.validator
    def _check_app_id(self, _: attrs.Attribute[str], value: str) -> None:
        if not value.strip():
            raise DeltaOperationError("a transaction needs a non-empty app_id")

    @version.validator
    def _check_version(self, _: attrs.Attribute[int], value: int) -> None:
        if value < 0:
            raise DeltaOperationError(
                f"transaction {self.app_id!r}: the version must be 0 or more, not {value}"
            )


@attrs.frozen
class RetryPolicy:
    """How often a write that conflicts with a concurrent write is tried again.

    Attributes:
        attempts: Tries in all, the first included.
        initial_delay: Seconds before the second try; doubled before each following one.
        max_delay: The longest wait between tries.

    Example:
        >>> patient = RetryPolicy(attempts=8, initial_delay=1.0, max_delay=30.0)
        >>> DeltaOps.of(spark, f"{lakehouse}/orders", retry=patient).retry.attempts
        8
    """

    attempts: int = 5
    initial_delay: float = 0.2
    max_delay: float = 5.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based), with jitter.

        Args:
            attempt: The number of the try that failed, from 1.

        Returns:
            Between half and all of ``initial_delay * 2 ** (attempt - 1)``, at most
            ``max_delay``.

        Example:
            >>> policy = RetryPolicy(initial_delay=0.2, max_delay=5.0)
            >>> 0.2 <= policy.delay(2) <= 0.4, policy.delay(10) <= 5.0
            (True, True)
        """
        base = min(self.max_delay, self.initial_delay * 2 ** (attempt - 1))
        return float(base * (0.5 + random.random() / 2))


@attrs.frozen
class Commit:
    """One version of a Delta table, from its history.

    Attributes:
        version: The version the commit created.
        timestamp: When it was committed: a naive datetime in the Python process's local time
            zone, as PySpark returns timestamps (``read(timestamp=...)`` accepts it as is).
        operation: ``WRITE``, ``MERGE``, ``OPTIMIZE``, ``RESTORE``, ...
        parameters: The operation's parameters.
        metrics: The operation's metrics (``numOutputRows``, ``numTargetRowsUpdated``, ...).
        user_metadata: The commit's ``userMetadata`` text, if any.

    Example:
        >>> from datetime import datetime
        >>> commit = Commit(3, datetime(2026, 1, 31, 12, 0), "MERGE",
        ...                 user_metadata='{"medallion_run_id": "nightly-7"}')
        >>> commit.run_id, commit.tags
        ('nightly-7', {'medallion_run_id': 'nightly-7'})
    """

    version: int
    timestamp: dt.datetime
    operation: str
    parameters: Mapping[str, str] = attrs.field(factory=dict, hash=False)
    metrics: Mapping[str, int] = attrs.field(factory=dict, hash=False)
    user_metadata: str | None = None

    @property
    def tags(self) -> Mapping[str, Any]:
        """The medallion tags of the commit (run id, consumer, source version), if any."""
        if not self.user_metadata:
            return {}
        try:
            value = json.loads(self.user_metadata)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    @property
    def run_id(self) -> str | None:
        """The medallion run that made the commit, if it was one."""
        value = self.tags.get("medallion_run_id")
        return str(value) if value is not None else None


@attrs.frozen
class MergeResult(WriteResult):
    """What a MERGE did.

    Attributes:
        source_rows: Rows in the source before de-duplication.
        duplicates_removed: Source rows dropped because a later row had the same keys.
        null_keys_dropped: Source rows dropped because a key was null (they can match nothing).

    Example:
        >>> result = MergeResult("silver.orders", WriteMode.MERGE, 4, rows_inserted=2,
        ...                      rows_updated=1, source_rows=5, duplicates_removed=1,
        ...                      null_keys_dropped=1)
        >>> result.rows_written
        3
    """

    source_rows: int = 0
    duplicates_removed: int = 0
    null_keys_dropped: int = 0


@attrs.frozen
class Diff:
    """The rows added and removed between two versions of a table.

    A row updated in place appears once in each: its old values removed, its new ones added.

    Attributes:
        from_version: The earlier version.
        to_version: The later version.
        added: Rows in ``to_version`` that ``from_version`` lacks.
        removed: Rows in ``from_version`` that ``to_version`` lacks.

    Example:
        >>> diff = Diff(0, 1, added=spark.range(3, 4), removed=spark.range(0))
        >>> diff.added.count(), diff.removed.count()
        (1, 0)
    """

    from_version: int
    to_version: int
    added: DataFrame = attrs.field(eq=False)
    removed: DataFrame = attrs.field(eq=False)


@attrs.frozen
class TableDetail:
    """A Delta table's current state, from ``DESCRIBE DETAIL`` and its history.

    Attributes:
        location: Where the table lives.
        version: The current version.
        num_files: Data files in the current version.
        size_bytes: Their total size.
        partition_columns: The partition columns.
        properties: The table properties.

    Example:
        >>> detail = TableDetail("/lake/gold/daily", 4, num_files=2, size_bytes=2048,
        ...                      partition_columns=("day",))
        >>> detail.size_bytes // detail.num_files
        1024
    """

    location: str
    version: int
    num_files: int
    size_bytes: int
    partition_columns: tuple[str, ...]
    properties: Mapping[str, str] = attrs.field(factory=dict, hash=False)


@attrs.frozen
class OptimizeResult:
    """What OPTIMIZE did.

    Attributes:
        version: The version it committed, or ``None`` when there was nothing to compact.
        files_added: Files written.
        files_removed: Files compacted away.
        zorder_by: The Z-order columns used.

    Example:
        >>> result = OptimizeResult(version=5, files_added=1, files_removed=8, zorder_by=("tier",))
        >>> result.files_removed - result.files_added
        7
    """

    version: int | None
    files_added: int
    files_removed: int
    zorder_by: tuple[str, ...] = ()


@attrs.frozen
class VacuumResult:
    """What VACUUM did.

    Attributes:
        retention_hours: The retention used.
        files_deleted: Files deleted (or, for a dry run, that would be).
        dry_run: Whether files were only listed.

    Example:
        >>> VacuumResult(retention_hours=168.0, files_deleted=0, dry_run=True)
        VacuumResult(retention_hours=168.0, files_deleted=0, dry_run=True)
    """

    retention_hours: float
    files_deleted: int
    dry_run: bool


@attrs.frozen
class Increment:
    """The rows of a source table a consumer has not processed yet.

    Write what you make of :attr:`rows` with ``tags=increment.tags`` (``DeltaOps.merge`` or
    ``write``): the source version then becomes part of the same commit as the data, so a crash
    before the write re-reads the same changes next time, and a replayed write is not counted
    twice.

    Attributes:
        source: The source table's name.
        consumer: The consumer's name.
        from_version: The first source version included; ``None`` when :attr:`rows` is the
            whole table (the consumer's first run).
        to_version: The last source version included.
        rows: Rows inserted or updated (their new values) since ``from_version``.
        deleted: Rows deleted since ``from_version`` (``None`` on a first run).

    Example:
        >>> increment = Increment("bronze.orders", "orders->sales", 3, 5, spark.range(0))
        >>> increment.is_empty, increment.tags
        (False, {'medallion_consumed': {'orders->sales': 5}})
    """

    source: str
    consumer: str
    from_version: int | None
    to_version: int
    rows: DataFrame = attrs.field(eq=False)
    deleted: DataFrame | None = attrs.field(default=None, eq=False)

    @property
    def is_empty(self) -> bool:
        """Whether the source has no version the consumer has not processed."""
        return self.from_version is not None and self.from_version > self.to_version

    @property
    def tags(self) -> Mapping[str, Any]:
        """The commit tags that record this increment as processed.

        ``{"medallion_consumed": {consumer: source version}}``; to record several increments
        in one commit (a step reading two sources), merge them with :func:`consumed_tags`.
        """
        return {"medallion_consumed": {self.consumer: self.to_version}}


def consumed_tags(*increments: Increment) -> dict[str, Any]:
    """The commit tags recording several increments as processed in the same commit.

    Args:
        *increments: The increments the commit's data was made from.

    Returns:
        The tags for ``DeltaOps.write`` / ``merge``.

    Example:
        >>> orders = Increment("bronze.orders", "orders->sales", 3, 5, spark.range(0))
        >>> items = Increment("bronze.items", "items->sales", 8, 9, spark.range(0))
        >>> consumed_tags(orders, items)
        {'medallion_consumed': {'orders->sales': 5, 'items->sales': 9}}
    """
    return {"medallion_consumed": {i.consumer: i.to_version for i in increments}}


def _metadata_json(tags: Mapping[str, Any]) -> str:
    return json.dumps({k: v for k, v in tags.items() if v is not None}, sort_keys=True)


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

    # -- identity ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The table's qualified name, or its location when it is not a medallion table."""
        return self.table.qualified_name if self.table is not None else self.location

    def __repr__(self) -> str:
        return f"DeltaOps({self.name!r}, location={self.location!r})"

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
        if self.by_name:
            return bool(self.spark.catalog.tableExists(self.location))
        return table_exists(self.spark, self.location)

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
        from delta.tables import DeltaTable

        session = spark or self.spark
        if not self.exists():
            raise DeltaOperationError(f"table {self.name!r}: no Delta table at {self.location}")
        if self.by_name:
            return DeltaTable.forName(session, self.location)
        return DeltaTable.forPath(session, self.location)

    def _sql_identifier(self) -> str:
        if self.by_name:
            return self.location
        return "delta.`" + self.location.replace("`", "``") + "`"

    # -- history and time travel ----------------------------------------------------------------

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
        rows = (
            self.delta_table()
            .history(limit)
            .select(
                "version",
                "timestamp",
                "operation",
                "operationParameters",
                "operationMetrics",
                "userMetadata",
            )
            .collect()
        )
        return [
            Commit(
                version=int(r["version"]),
                timestamp=r["timestamp"],
                operation=str(r["operation"]),
                parameters=MappingProxyType(dict(r["operationParameters"] or {})),
                metrics=MappingProxyType(
                    {k: int(v) for k, v in (r["operationMetrics"] or {}).items() if v.isdigit()}
                ),
                user_metadata=r["userMetadata"],
            )
            for r in rows
        ]

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
        if not self.by_name:
            listed = _local_log_version(self.location)
            if listed is not None:
                return listed
        return self.history(1)[0].version

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
        return self.history(1)[0]

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
        if version is not None and timestamp is not None:
            raise DeltaOperationError(
                f"table {self.name!r}: read as of a version or a timestamp, not both"
            )
        reader = self.spark.read.format("delta")
        if version is not None:
            current = self.version()
            if not 0 <= version <= current:
                raise DeltaOperationError(
                    f"table {self.name!r}: version {version} does not exist (0 to {current})"
                )
            reader = reader.option("versionAsOf", version)
        elif timestamp is not None:
            reader = reader.option("timestampAsOf", _timestamp_text(timestamp, self.spark))
        if self.by_name:
            return reader.table(self.location)
        return reader.load(self.location)

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
        if (version is None) == (timestamp is None):
            raise DeltaOperationError(
                f"table {self.name!r}: restore needs exactly one of version or timestamp"
            )
        target = self.delta_table()
        if version is not None:
            current = self.version()
            if not 0 <= version <= current:
                raise DeltaOperationError(
                    f"table {self.name!r}: cannot restore version {version} (0 to {current})"
                )
            self._retrying("RESTORE", lambda: target.restoreToVersion(version))
        else:
            assert timestamp is not None
            text = _timestamp_text(timestamp, self.spark)
            self._retrying("RESTORE", lambda: target.restoreToTimestamp(text))
        return self.last_commit()

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
        later = self.version() if to_version is None else to_version
        before = self.read(version=from_version)
        after = self.read(version=later)
        columns = [c for c in after.columns if c in before.columns]
        return Diff(
            from_version,
            later,
            added=after.select(*columns).exceptAll(before.select(*columns)),
            removed=before.select(*columns).exceptAll(after.select(*columns)),
        )

    # -- writes ------------------------------------------------------------------------------

    def _retrying(self, what: str, action: Callable[[], _R]) -> _R:
        import delta.exceptions as conflicts_module

        # Every exception delta-spark exports is a commit conflict.
        conflicts = tuple(getattr(conflicts_module, name) for name in conflicts_module.__all__)
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return action()
            except conflicts as exc:
                if attempt == self.retry.attempts:
                    raise ConcurrentWriteError(
                        f"table {self.name!r}: {what} still conflicted with concurrent writes "
                        f"after {attempt} attempts: {type(exc).__name__}"
                    ) from exc
                time.sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")

    def _session_with_tags(
        self, tags: Mapping[str, Any], transaction: Transaction | None = None
    ) -> contextlib.AbstractContextManager[SparkSession]:
        """A session whose commits carry ``tags`` as userMetadata (MERGE reads it only there).

        With a transaction, its commits are also idempotent (Delta's SQL-level txn settings).
        """
        settings: dict[str, str] = {}
        if any(v is not None for v in tags.values()):
            settings[_USER_METADATA] = _metadata_json(tags)
        if transaction is not None:
            settings[_TXN_APP_ID] = transaction.app_id
            settings[_TXN_VERSION] = str(transaction.version)
        if not settings:
            return contextlib.nullcontext(self.spark)
        return _session_with(self.spark, settings)

    def _result(self, mode: WriteMode, run_id: str | None, before: int | None) -> WriteResult:
        return self._committed(mode, run_id, before)[0]

    def _committed(
        self, mode: WriteMode, run_id: str | None, before: int | None
    ) -> tuple[WriteResult, Commit | None]:
        if before is not None and self.version() == before:
            return WriteResult(self.name, mode, None, run_id=run_id), None
        commit = self.last_commit()
        return self._from_commit(commit, mode, run_id), commit

    def _from_commit(self, commit: Commit, mode: WriteMode, run_id: str | None) -> WriteResult:
        m = commit.metrics
        if commit.operation == "MERGE":
            return WriteResult(
                self.name,
                mode,
                commit.version,
                rows_inserted=m.get("numTargetRowsInserted", 0),
                rows_updated=m.get("numTargetRowsUpdated", 0),
                rows_deleted=m.get("numTargetRowsDeleted", 0),
                run_id=run_id,
            )
        return WriteResult(
            self.name,
            mode,
            commit.version,
            rows_inserted=m.get("numOutputRows", 0),
            rows_deleted=0
            if mode is WriteMode.APPEND
            else m.get("numRemovedRows", 0) + m.get("numDeletedRows", 0),
            run_id=run_id,
        )

    def _merge_outcome(
        self, run_id: str | None, before: int, counts: tuple[int, int]
    ) -> MergeResult:
        result, commit = self._committed(WriteMode.MERGE, run_id, before)
        merged = commit.metrics.get("numSourceRows", 0) if commit is not None else 0
        return _merge_result(result, merged, counts)

    def _create(self) -> None:
        if self.table is not None and self.root is not None:
            create_table(self.spark, self.table, self.root)

    def _stored_schema(self) -> T.StructType | None:
        """The schema in the table's Delta log (``None`` for a missing or catalog table)."""
        return stored_schema(self.spark, self.location) if not self.by_name else None

    def _conformed(
        self, df: DataFrame, stored: T.StructType | None, passthrough: Sequence[str] = ()
    ) -> tuple[DataFrame, bool]:
        """The data shaped to the stored schema; and whether it brings new columns.

        ``passthrough`` columns are not compared with the schema and stay at the end.
        """
        if self.table is None:
            if stored is None:
                return df, False
            kept = {name.lower() for name in passthrough}
            written = T.StructType([f for f in df.schema.fields if f.name.lower() not in kept])
            changes = schema_changes(stored, written)
            refused = [c for c in changes if not c.compatible]
            if refused:
                raise SchemaEvolutionError(
                    f"table {self.name!r}: the data does not fit the schema: "
                    + "; ".join(str(c) for c in refused),
                    tuple(refused),
                )
            return df, any(c.kind == "added" for c in changes)
        data = conform(df, self.table, stored, passthrough=passthrough)
        known = stored if stored is not None else self.table.storage_schema
        new = known is not None and len(data.columns) - len(passthrough) > len(known.fields)
        return data, new

    def _delete_flag_columns(
        self, source: DataFrame, delete_when: str | None, stored: T.StructType | None
    ) -> list[str]:
        """The source columns ``delete_when`` uses that the table does not store (``op``)."""
        schema = stored if stored is not None or self.table is None else self.table.storage_schema
        if not delete_when or schema is None:
            return []  # without a schema the table is created from the source, every column
        known = {name.lower() for name in schema.fieldNames()}
        return [
            column
            for column in source.columns
            if column.lower() not in known
            and re.search(rf"\bs\.`?{re.escape(column)}\b`?", delete_when, re.IGNORECASE)
        ]

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
        self._create()
        data, evolves = self._conformed(df, self._stored_schema())
        existed = self.exists()
        before = self.version() if existed else None
        writer = data.write.format("delta")
        metadata = {"medallion_run_id": run_id, **(tags or {})}
        if any(v is not None for v in metadata.values()):
            writer = writer.option("userMetadata", _metadata_json(metadata))
        if evolves:
            writer = writer.option("mergeSchema", "true")
        if transaction is not None:
            writer = writer.option("txnAppId", transaction.app_id).option(
                "txnVersion", str(transaction.version)
            )
        if chosen is WriteMode.APPEND:
            writer = writer.mode("append")
        elif chosen is WriteMode.OVERWRITE:
            writer = writer.mode("overwrite")
        else:
            writer = writer.mode("overwrite").option("partitionOverwriteMode", "dynamic")
        if not existed and self.table is not None and self.table.partition_by:
            writer = writer.partitionBy(*self.table.partition_by)
        if self.by_name:
            self._retrying("write", lambda: writer.saveAsTable(self.location))
        else:
            self._retrying("write", lambda: writer.save(self.location))
        if not existed:
            # A table without a declared schema exists only now: register it in the catalog.
            self._create()
        return self._result(chosen, run_id, before)

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
        key_columns = (
            tuple(keys)
            if keys is not None
            else (self.table.primary_keys if self.table is not None else ())
        )
        if not key_columns:
            raise DeltaOperationError(f"table {self.name!r}: MERGE needs key columns")
        ordering = [order_by] if isinstance(order_by, str) else list(order_by or [])
        self._create()
        stored = self._stored_schema()
        flags = self._delete_flag_columns(source, delete_when, stored)
        data, evolves = self._conformed(source, stored, flags)
        missing = [k for k in key_columns if k not in data.columns]
        if missing:
            raise SchemaError(
                f"table {self.name!r}: the MERGE source lacks key column(s) {', '.join(missing)}"
            )
        tagged = {"medallion_run_id": run_id, **(tags or {})}
        counts = _source_counts(data, key_columns)
        prepared = _deduplicate(data, key_columns, ordering)
        # A source row meeting delete_when is never inserted: it deletes, or does nothing.
        keep = f"NOT coalesce(({delete_when}), false)" if delete_when else None
        if not self.exists():
            inserted = prepared.alias("s").where(keep) if keep else prepared
            first = self.write(
                inserted.drop(*flags),
                WriteMode.APPEND,
                run_id=run_id,
                tags=tags,
                transaction=transaction,
            )
            return _merge_result(first, first.rows_inserted, counts)
        before = self.version()
        written = [c for c in data.columns if c not in flags]

        def attempt(session: SparkSession) -> None:
            condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in key_columns)
            builder = self.delta_table(session).alias("t").merge(prepared.alias("s"), condition)
            if delete_when:
                builder = builder.whenMatchedDelete(condition=delete_when)
            values: dict[str, str | Column] = {f"`{c}`": F.col(f"s.`{c}`") for c in written}
            stored = set(self.schema().fieldNames())
            others = [c for c in written if c not in key_columns and c in stored]
            new = [c for c in written if c not in stored]
            if not only_changed:
                builder = builder.whenMatchedUpdate(set=values)
            elif others or new:
                condition = " OR ".join(
                    [_differs(others)] * bool(others) + [f"s.`{c}` IS NOT NULL" for c in new]
                )
                builder = builder.whenMatchedUpdate(condition=condition, set=values)
            if keep:
                builder = builder.whenNotMatchedInsert(condition=keep, values=values)
            else:
                builder = builder.whenNotMatchedInsert(values=values)
            if evolves:
                builder = builder.withSchemaEvolution()
            builder.execute()

        with self._session_with_tags(tagged, transaction) as session:
            self._retrying("MERGE", lambda: attempt(session))
        return self._merge_outcome(run_id, before, counts)

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
        scd = (valid_from, valid_to, is_current)
        key_columns = (
            tuple(keys)
            if keys is not None
            else tuple(
                k
                for k in (self.table.primary_keys if self.table is not None else ())
                if k not in scd
            )
        )
        if not key_columns:
            raise DeltaOperationError(f"table {self.name!r}: an SCD2 merge needs key columns")
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
                f"table {self.name!r}: effective_at {effective_at!r} is not a source column"
            )
        attributes = [c for c in source.columns if c not in key_columns and c not in scd]
        changing = list(tracked) if tracked is not None else attributes
        unknown = [c for c in changing if c not in attributes]
        if unknown:
            raise SchemaError(
                f"table {self.name!r}: tracked column(s) {', '.join(unknown)} are not source "
                "columns"
            )
        in_place = [c for c in attributes if c not in changing]
        counts = _source_counts(source, key_columns)
        latest = _deduplicate(
            source, key_columns, [effective_column] if effective_column else []
        ).withColumn("__medallion_effective", effective)
        rows = latest.select(
            *[F.col(f"`{c}`") for c in source.columns if c not in scd],
            F.col("__medallion_effective").alias(valid_from),
            F.lit(None).cast("timestamp").alias(valid_to),
            F.lit(True).alias(is_current),
        )
        self._create()
        if not self.exists():
            first = self.write(rows, WriteMode.APPEND, run_id=run_id, tags=tags)
            return _merge_result(first, first.rows_inserted, counts)
        data, evolves = self._conformed(rows, self._stored_schema())
        before = self.version()
        merge_keys = [f"__medallion_key_{i}" for i in range(len(key_columns))]

        def attempt(session: SparkSession) -> None:
            current = self.delta_table(session).toDF().where(F.col(f"`{is_current}`"))
            changed = (
                data.alias("s")
                .join(
                    current.alias("t"),
                    [F.col(f"s.`{k}`") == F.col(f"t.`{k}`") for k in key_columns],
                )
                .where(_differs(changing) if changing else F.lit(False))
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
            builder = self.delta_table(session).alias("t").merge(staged.alias("s"), condition)
            if changing:
                close: dict[str, str | Column] = {
                    f"`{is_current}`": F.lit(False),
                    f"`{valid_to}`": F.col(f"s.`{valid_from}`"),
                }
                builder = builder.whenMatchedUpdate(condition=_differs(changing), set=close)
            if in_place:
                update: dict[str, str | Column] = {f"`{c}`": F.col(f"s.`{c}`") for c in in_place}
                builder = builder.whenMatchedUpdate(condition=_differs(in_place), set=update)
            insert: dict[str, str | Column] = {f"`{c}`": F.col(f"s.`{c}`") for c in data.columns}
            builder = builder.whenNotMatchedInsert(values=insert)
            if evolves:
                builder = builder.withSchemaEvolution()
            builder.execute()

        with self._session_with_tags({"medallion_run_id": run_id, **(tags or {})}) as session:
            self._retrying("SCD2 MERGE", lambda: attempt(session))
        outcome = self._merge_outcome(run_id, before, counts)
        # The staged source holds changed keys twice (close + new version): count keys once.
        return attrs.evolve(
            outcome,
            duplicates_removed=max(0, counts[0] - counts[1] - latest.count())
            if outcome.version is not None
            else 0,
        )

    # -- schema evolution -------------------------------------------------------------------

    def schema(self) -> T.StructType:
        """The table's current schema.

        Example:
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.schema().simpleString()
            'struct<id:bigint>'
        """
        return self.read().schema

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
        keys = self.table.primary_keys if self.table is not None else ()
        return schema_changes(self.schema(), df.schema, keys)

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
        new = to_struct_type(columns)
        existing = {c.lower() for c in self.schema().fieldNames()}
        clash = [f.name for f in new.fields if f.name.lower() in existing]
        if clash:
            raise SchemaEvolutionError(
                f"table {self.name!r}: column(s) {', '.join(clash)} already exist"
            )
        nullable = T.StructType([T.StructField(f.name, f.dataType, True) for f in new.fields])
        self._retrying(
            "ALTER TABLE",
            lambda: self.spark.sql(
                f"ALTER TABLE {self._sql_identifier()} ADD COLUMNS ({to_ddl(nullable)})"
            ),
        )
        return self.schema()

    # -- change data feed and incremental reads ------------------------------------------------

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
        self.set_properties({"delta.enableChangeDataFeed": "true"})

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
        pairs = ", ".join(
            f"'{k}' = '{str(v).replace(chr(39), chr(92) + chr(39))}'" for k, v in properties.items()
        )
        self._retrying(
            "ALTER TABLE",
            lambda: self.spark.sql(
                f"ALTER TABLE {self._sql_identifier()} SET TBLPROPERTIES ({pairs})"
            ),
        )

    def properties(self) -> Mapping[str, str]:
        """The table's properties.

        Example:
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").option("delta.appendOnly", "true").save(path)
            >>> DeltaOps.of(spark, path).properties()["delta.appendOnly"]
            'true'
        """
        return self.detail().properties

    def change_data_feed_enabled(self) -> bool:
        """Whether the table records its row-level changes.

        Example:
            >>> path = f"{lakehouse}/events"
            >>> spark.range(3).write.format("delta").save(path)
            >>> ops = DeltaOps.of(spark, path)
            >>> ops.change_data_feed_enabled()
            False
        """
        return self.properties().get("delta.enableChangeDataFeed", "false").lower() == "true"

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
        if not self.change_data_feed_enabled():
            raise DeltaOperationError(
                f"table {self.name!r}: the Change Data Feed is not enabled; declare the table "
                "with properties={'delta.enableChangeDataFeed': 'true'} or call "
                "enable_change_data_feed()"
            )
        reader = (
            self.spark.read.format("delta")
            .option("readChangeFeed", "true")
            .option("startingVersion", from_version)
        )
        if to_version is not None:
            reader = reader.option("endingVersion", to_version)
        return reader.table(self.location) if self.by_name else reader.load(self.location)

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
        if not self.exists():
            return None
        limit: int | None = None
        for commit in self.history():
            if limit is not None and commit.version > limit:
                continue
            if commit.operation == "RESTORE":
                restored = commit.parameters.get("version")
                if restored is not None and restored.isdigit():
                    limit = int(restored)
                    continue
            consumed = commit.tags.get("medallion_consumed")
            if isinstance(consumed, Mapping) and consumer in consumed:
                return int(consumed[consumer])
        return None

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
        current = self.version()
        done = target.consumed_version(consumer)
        if done is None:
            return Increment(self.name, consumer, None, current, self.read(version=current))
        if done >= current:
            empty = self.read(version=current).limit(0)
            return Increment(self.name, consumer, done + 1, current, empty, empty)
        changes = self.changes(done + 1, current)
        metadata = ["_change_type", "_commit_version", "_commit_timestamp"]
        return Increment(
            self.name,
            consumer,
            done + 1,
            current,
            changes.where(F.col("_change_type").isin("insert", "update_postimage")).drop(*metadata),
            changes.where(F.col("_change_type") == "delete").drop(*metadata),
        )

    # -- maintenance -------------------------------------------------------------------------

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
        row = self.delta_table().detail().first()
        assert row is not None
        return TableDetail(
            location=str(row["location"]),
            version=self.version(),
            num_files=int(row["numFiles"] or 0),
            size_bytes=int(row["sizeInBytes"] or 0),
            partition_columns=tuple(row["partitionColumns"] or ()),
            properties=MappingProxyType(dict(row["properties"] or {})),
        )

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
        columns = (
            tuple(zorder_by)
            if zorder_by is not None
            else (self.table.zorder_by if self.table is not None else ())
        )
        before = self.version()

        def run() -> None:
            builder = self.delta_table().optimize()
            if where:
                builder = builder.where(where)
            if columns:
                builder.executeZOrderBy(*columns)
            else:
                builder.executeCompaction()

        self._retrying("OPTIMIZE", run)
        commit = self.last_commit()
        if commit.version == before:
            return OptimizeResult(None, 0, 0, columns)
        return OptimizeResult(
            commit.version,
            commit.metrics.get("numAddedFiles", 0),
            commit.metrics.get("numRemovedFiles", 0),
            columns,
        )

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
        if retention_hours < 0:
            raise DeltaOperationError(f"table {self.name!r}: retention cannot be negative")
        if retention_hours < SAFE_RETENTION_HOURS and not force:
            raise DeltaOperationError(
                f"table {self.name!r}: a VACUUM retention of {retention_hours:g} hours is under "
                f"the safe minimum of {SAFE_RETENTION_HOURS:g}; files that readers or time "
                "travel still need could be deleted. Pass force=True to do it anyway"
            )
        check = "spark.databricks.delta.retentionDurationCheck.enabled"
        settings = {check: "false"} if force else {}
        statement = f"VACUUM {self._sql_identifier()} RETAIN {retention_hours:g} HOURS"
        with _session_with(self.spark, settings) as session:
            listed = session.sql(statement + " DRY RUN").count()
            if not dry_run and listed:
                session.sql(statement).collect()
        return VacuumResult(retention_hours, int(listed), dry_run)


@contextlib.contextmanager
def _session_with(spark: SparkSession, settings: Mapping[str, str]) -> Iterator[SparkSession]:
    """A session with some SQL settings changed, leaving ``spark`` itself untouched.

    A child session keeps the settings away from concurrent work on ``spark``. Where child
    sessions are not available (Spark Connect) the settings are made on ``spark`` itself, under
    a lock, and restored afterwards.
    """
    if not settings:
        yield spark
        return
    try:
        child = spark.newSession()
    except Exception:  # Spark Connect sessions cannot spawn children.
        with _SHARED_SESSION_LOCK:
            previous = {key: spark.conf.get(key, None) for key in settings}
            for key, value in settings.items():
                spark.conf.set(key, value)
            try:
                yield spark
            finally:
                for key, old in previous.items():
                    if old is None:
                        spark.conf.unset(key)
                    else:
                        spark.conf.set(key, old)
        return
    # A child starts from the static configuration: carry over what was set at runtime.
    for key, value in spark.conf.getAll.items():
        if key not in settings and spark.conf.isModifiable(key):
            child.conf.set(key, value)
    for key, value in settings.items():
        child.conf.set(key, value)
    yield child


_LOG_FILE = re.compile(r"^(\d{20})\.json$")


def _local_log_version(location: str) -> int | None:
    """The latest version of a local table, from its ``_delta_log`` file names.

    Every commit writes ``<version>.json`` (checkpoints and log cleanup never remove the
    newest), so the largest name is the current version. ``None`` for URIs other than
    ``file:`` and when the folder cannot be listed: the caller asks Delta then.
    """
    if "://" in location and not location.startswith("file:"):
        return None
    path = location.removeprefix("file://").removeprefix("file:")
    try:
        names = os.listdir(os.path.join(path, "_delta_log"))
    except OSError:
        return None
    versions = [int(m.group(1)) for m in map(_LOG_FILE.match, names) if m]
    return max(versions) if versions else None


def _null_key(keys: Sequence[str]) -> Column:
    condition = F.lit(False)
    for key in keys:
        condition = condition | F.col(f"`{key}`").isNull()
    return condition


def _source_counts(data: DataFrame, keys: Sequence[str]) -> tuple[int, int]:
    """Rows in the source and rows with a null key, in one aggregate."""
    row = data.agg(
        F.count(F.lit(1)).alias("rows"), F.count_if(_null_key(keys)).alias("null_keys")
    ).first()
    assert row is not None
    return int(row["rows"]), int(row["null_keys"])


def _deduplicate(data: DataFrame, keys: Sequence[str], ordering: Sequence[str]) -> DataFrame:
    """Drop null-key rows and keep the latest row per key (ties broken by the other columns)."""
    others = [c for c in data.columns if c not in keys and c not in ordering]
    order: list[Column] = [F.col(f"`{c}`").desc_nulls_last() for c in ordering]
    order += [F.col(f"`{c}`").asc_nulls_first() for c in others if _orderable(data, c)]
    window = Window.partitionBy(*[F.col(f"`{k}`") for k in keys]).orderBy(*(order or [F.lit(1)]))
    return (
        data.where(~_null_key(keys))
        .withColumn("__medallion_rank", F.row_number().over(window))
        .where(F.col("__medallion_rank") == 1)
        .drop("__medallion_rank")
    )


def _differs(columns: Sequence[str]) -> str:
    """A SQL condition true when a target row ``t`` and a source row ``s`` differ (null-safe)."""
    return " OR ".join(f"NOT (t.`{c}` <=> s.`{c}`)" for c in columns)


def _merge_result(result: WriteResult, merged_rows: int, counts: tuple[int, int]) -> MergeResult:
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


def _timestamp_text(value: str | dt.datetime, spark: SparkSession) -> str:
    """A timestamp as text in the session time zone, which is how Spark reads it.

    A naive datetime is taken to be in the Python process's local time zone, as PySpark returns
    timestamps (``Commit.timestamp`` included).
    """
    if isinstance(value, str):
        return value
    zone = spark.conf.get("spark.sql.session.timeZone", None) or "UTC"
    local = value.astimezone(ZoneInfo(zone))
    return local.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
