"""The results of Delta operations, and the markers that shape a write.

Every operation of :class:`~medallion.DeltaOps` returns one of these frozen records, always with
the same fields; a write's counts come from its commit's operation metrics.

Example:
    >>> from medallion import WriteMode
    >>> from medallion.delta.results import MergeResult
    >>> result = MergeResult("silver.orders", WriteMode.MERGE, 4, rows_inserted=2, rows_updated=1,
    ...                      rows_deleted=1, source_rows=5, duplicates_removed=1)
    >>> result.rows_written, result.rows_deleted
    (3, 1)
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from medallion.errors import DeltaOperationError
from medallion.policies import WriteMode

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = [
    "Commit",
    "Diff",
    "MergeResult",
    "OptimizeResult",
    "RetryPolicy",
    "TableDetail",
    "Transaction",
    "VacuumResult",
    "WriteResult",
]


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
        >>> from medallion import DeltaOps
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
        >>> from medallion import DeltaOps
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
class WriteResult:
    """What one write to a Delta table did.

    Attributes:
        table: The qualified name of the table written (``"silver.orders"``).
        mode: How the rows were written.
        version: The Delta version the write committed, or ``None`` if nothing was committed.
        rows_inserted: Rows added.
        rows_updated: Rows changed in place (MERGE).
        rows_deleted: Rows a MERGE deleted. An overwrite reports 0: Delta does not record
            how many rows it replaced.
        run_id: The run the write belongs to, if any.

    Example:
        >>> result = WriteResult("silver.orders", WriteMode.MERGE, 3, rows_inserted=2,
        ...                      rows_updated=1)
        >>> result.rows_written
        3
    """

    table: str
    mode: WriteMode = attrs.field(converter=WriteMode)
    version: int | None
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_deleted: int = 0
    run_id: str | None = None

    @property
    def rows_written(self) -> int:
        """Rows inserted plus rows updated."""
        return self.rows_inserted + self.rows_updated


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
