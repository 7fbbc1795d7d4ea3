"""The Delta table an operation works on, and what every operation needs from it.

:class:`Target` holds the session, the location and the medallion declaration of one table,
and answers the questions every operation asks: does it exist, which version is it at, what
did its last commit do. It also runs an action with retries on commit conflicts, and gives a
session whose commits carry medallion's tags. The operations themselves live in the modules
of their concern (:mod:`~medallion.delta.write`, :mod:`~medallion.delta.merge`, ...);
:class:`~medallion.DeltaOps` is their public facade.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from medallion._names import delta_table
from medallion.delta._commands import TableCommands, is_connect
from medallion.delta.results import Commit, RetryPolicy, Transaction
from medallion.delta.tables import create_table, stored_schema, table_exists
from medallion.errors import ConcurrentWriteError, TableNotFoundError, UnsupportedOnConnectError

if TYPE_CHECKING:
    from delta.tables import DeltaTable
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql import types as T

    from medallion.table import Table

_R = TypeVar("_R")
_USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"
_TXN_APP_ID = "spark.databricks.delta.write.txnAppId"
_TXN_VERSION = "spark.databricks.delta.write.txnVersion"
_EMPTY_COMMITS = "spark.databricks.delta.skipRecordingEmptyCommits"
_MERGE_REPARTITION = "spark.databricks.delta.merge.repartitionBeforeWrite.enabled"
_SHARED_SESSION_LOCK = threading.Lock()
_LOG_FILE = re.compile(r"^(\d{20})\.json$")


class Target:
    """One Delta table: by path or catalog name, with its medallion declaration if any.

    Args:
        spark: Any Delta-ready SparkSession.
        location: The table's path or URI; or, with ``by_name``, its catalog name.
        table: The medallion table, when there is one.
        root: The lakehouse root the table lives under, with ``table``.
        by_name: Whether ``location`` is a catalog name.
        retry: The retry policy for conflicting writes.
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

    @property
    def name(self) -> str:
        """The table's qualified name, or its location when it is not a medallion table."""
        return self.table.qualified_name if self.table is not None else self.location

    def exists(self) -> bool:
        """Whether the Delta table exists."""
        if self.by_name:
            return bool(self.spark.catalog.tableExists(self.location))
        return table_exists(self.spark, self.location)

    def delta_table(self, spark: SparkSession | None = None) -> DeltaTable:
        """The delta-spark ``DeltaTable``, bound to ``spark`` (default: the target's session).

        Raises:
            DeltaOperationError: There is no Delta table there.
        """
        from delta.tables import DeltaTable

        session = spark or self.spark
        if is_connect(session):
            raise UnsupportedOnConnectError(
                f"table {self.name!r}: delta-spark's DeltaTable needs Delta's Connect plugin on "
                "the Spark Connect server; use DeltaOps' methods, which run as SQL"
            )
        if not self.exists():
            raise TableNotFoundError(f"table {self.name!r}: no Delta table at {self.location}")
        if self.by_name:
            return DeltaTable.forName(session, self.location)
        return DeltaTable.forPath(session, self.location)

    def commands(self, spark: SparkSession | None = None) -> TableCommands:
        """The table's SQL commands (MERGE, UPDATE, ...), run on ``spark`` (default: its own).

        Raises:
            TableNotFoundError: There is no Delta table there.
        """
        if not self.exists():
            raise TableNotFoundError(f"table {self.name!r}: no Delta table at {self.location}")
        return TableCommands(spark or self.spark, self.sql_identifier())

    def read(self, spark: SparkSession | None = None) -> DataFrame:
        """The table's current rows, read with ``spark`` (default: the target's session)."""
        reader = (spark or self.spark).read.format("delta")
        return reader.table(self.location) if self.by_name else reader.load(self.location)

    def sql_identifier(self) -> str:
        """The table as a SQL identifier: its catalog name, or ``delta.`<path>```."""
        if self.by_name:
            return self.location
        return delta_table(self.location)

    def history(self, limit: int | None = None) -> list[Commit]:
        """The table's commits, newest first (at most ``limit``)."""
        rows = (
            self.commands()
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
        """The current version: from the ``_delta_log`` listing of a local table, else Delta."""
        if not self.by_name:
            listed = _local_log_version(self.location)
            if listed is not None:
                return listed
        return self.history(1)[0].version

    def last_commit(self) -> Commit:
        """The latest commit (read off the log file of a local table: no Spark job)."""
        return next(self.commits())

    def commits(self) -> Iterator[Commit]:
        """The table's commits, newest first, read as they are needed.

        A local table's commits are read from its ``_delta_log/<version>.json`` files (the
        ``commitInfo`` Delta writes in each), newest first, and only as far as the caller goes:
        no Spark job. Other tables' come from one read of Delta's history.
        """
        latest = None if self.by_name else _local_log_version(self.location)
        if latest is None:
            yield from self.history()
            return
        folder = os.path.join(_local_path(self.location), "_delta_log")
        for version in range(latest, -1, -1):
            commit = _read_commit(folder, version)
            if commit is None:  # cleaned up (older than the log's retention)
                return
            yield commit

    def stored_schema(self) -> T.StructType | None:
        """The schema in the table's Delta log (``None`` for a missing or catalog table)."""
        return stored_schema(self.spark, self.location) if not self.by_name else None

    def create(self) -> None:
        """Create the medallion table with its declared schema, if it has one and is missing."""
        if self.table is not None and self.root is not None:
            create_table(self.spark, self.table, self.root)

    def retrying(self, what: str, action: Callable[[], _R]) -> _R:
        """Run ``action``, again after a commit conflict, as the retry policy allows.

        Raises:
            ConcurrentWriteError: The last try still conflicted.
        """
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

    def tagged_session(
        self,
        tags: Mapping[str, Any],
        transaction: Transaction | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> contextlib.AbstractContextManager[SparkSession]:
        """A session whose commits carry ``tags`` as userMetadata (MERGE reads it only there).

        With a transaction, its commits are also idempotent (Delta's SQL-level txn settings).
        When the tags record consumed source versions, a MERGE that changes no row still
        commits, so that the versions are recorded (Delta skips empty commits otherwise).
        ``settings`` are more SQL settings for the session (:meth:`merge_settings`).
        """
        wanted = dict(settings or {})
        if any(v is not None for v in tags.values()):
            wanted[_USER_METADATA] = metadata_json(tags)
        if tags.get("medallion_consumed"):
            wanted[_EMPTY_COMMITS] = "false"
        if transaction is not None:
            wanted[_TXN_APP_ID] = transaction.app_id
            wanted[_TXN_VERSION] = str(transaction.version)
        if not wanted:
            return contextlib.nullcontext(self.spark)
        return session_with(self.spark, wanted)

    def merge_settings(self, columns: Iterable[str]) -> dict[str, str]:
        """The SQL settings a MERGE writing ``columns`` into this table needs.

        Before writing, Delta repartitions a MERGE's rows by the partition columns, reading
        each name as a column path (``col(name)``): a partition column named with a dot or a
        backtick is not found, or not parsed. Such a table merges without that repartition.
        """
        odd = {c for c in columns if "." in c or "`" in c}
        if not odd:
            return {}
        if self.table is not None:
            partitions: Iterable[str] = self.table.partition_by
        else:
            row = self.commands().detail().select("partitionColumns").first()
            partitions = (row[0] or ()) if row is not None else ()
        if odd.intersection(partitions):
            return {_MERGE_REPARTITION: "false"}
        return {}


class HasTarget:
    """A class whose operations work on a :class:`Target` (the mixins of ``DeltaOps``)."""

    @property
    def _target(self) -> Target:
        raise NotImplementedError


def metadata_json(tags: Mapping[str, Any]) -> str:
    """A commit's userMetadata text: the tags that are set, as sorted JSON."""
    return json.dumps({k: v for k, v in tags.items() if v is not None}, sort_keys=True)


@contextlib.contextmanager
def session_with(spark: SparkSession, settings: Mapping[str, str]) -> Iterator[SparkSession]:
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


def _local_path(location: str) -> str:
    return location.removeprefix("file://").removeprefix("file:")


def _read_commit(folder: str, version: int) -> Commit | None:
    """The commit of one version, from its log file's ``commitInfo`` (``None`` if missing)."""
    try:
        with open(os.path.join(folder, f"{version:020d}.json"), encoding="utf-8") as log:
            for line in log:
                if '"commitInfo"' not in line:
                    continue
                info = json.loads(line).get("commitInfo")
                if info is None:
                    continue
                metrics = info.get("operationMetrics") or {}
                return Commit(
                    version=version,
                    # As Delta's history has it (the in-commit timestamp, else the log file's
                    # modification time), and as PySpark returns it: naive, in local time.
                    timestamp=dt.datetime.fromtimestamp(
                        int(info["inCommitTimestamp"]) / 1000
                        if "inCommitTimestamp" in info
                        else os.fstat(log.fileno()).st_mtime_ns // 1_000_000 / 1000
                    ),
                    operation=str(info.get("operation", "")),
                    # As Delta's history has them: text, and None for a parameter left unset.
                    parameters=MappingProxyType(
                        {
                            k: v if v is None or isinstance(v, str) else json.dumps(v)  # type: ignore[misc]
                            for k, v in (info.get("operationParameters") or {}).items()
                        }
                    ),
                    metrics=MappingProxyType(
                        {k: int(v) for k, v in metrics.items() if str(v).isdigit()}
                    ),
                    user_metadata=info.get("userMetadata"),
                )
    except OSError:
        return None
    return None


def _local_log_version(location: str) -> int | None:
    """The latest version of a local table, from its ``_delta_log`` file names.

    Every commit writes ``<version>.json`` (checkpoints and log cleanup never remove the
    newest), so the largest name is the current version. ``None`` for URIs other than
    ``file:`` and when the folder cannot be listed: the caller asks Delta then.
    """
    if "://" in location and not location.startswith("file:"):
        return None
    try:
        names = os.listdir(os.path.join(_local_path(location), "_delta_log"))
    except OSError:
        return None
    versions = [int(m.group(1)) for m in map(_LOG_FILE.match, names) if m]
    return max(versions) if versions else None


def timestamp_text(value: str | dt.datetime, spark: SparkSession) -> str:
    """A timestamp as text in the session time zone, which is how Spark reads it.

    A naive datetime is taken to be in the Python process's local time zone, as PySpark returns
    timestamps (``Commit.timestamp`` included).
    """
    if isinstance(value, str):
        return value
    zone = spark.conf.get("spark.sql.session.timeZone", None) or "UTC"
    local = value.astimezone(ZoneInfo(zone))
    return local.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
