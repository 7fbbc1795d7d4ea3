"""Reading a lakehouse without a JVM: the run log, quarantine tables, tables' history and layout.

The read-only commands (``medallion runs``, ``history``, ``describe``, ``quarantine``) answer
in about a second because they read the Delta tables with delta-rs (the ``deltalake``
package) instead of starting Spark. Nothing here imports pyspark.

The locations are :class:`~medallion.lakehouse.Lakehouse`'s, as the writers use them: the run
log at ``<root>/_medallion/runs``, a layer's quarantine at ``<root>/<layer>/_quarantine``, a
table at ``<root>/<layer>/<name>``. A local root that does not exist is an error
(:class:`LakehouseNotFoundError`), and so is a table that has no Delta table
(:class:`~medallion.errors.TableNotFoundError`, naming the location). Timestamps are aware
datetimes in UTC.

delta-rs reads every kind of table medallion writes, and the table features Spark adds on
request (deletion vectors, column mapping, v2 checkpoints, ``timestamp_ntz``, liquid
clustering, row tracking, in-commit timestamps). It refuses to read the rows of a table with
type widening (``delta.enableTypeWidening``); its history and description still read.

Example:
    >>> import datetime as dt
    >>> from medallion.runner.runlog import write_run_log
    >>> from medallion.runner.results import RunResult, StepRun
    >>> at = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
    >>> step = StepRun("totals", "gold.totals", "succeeded")
    >>> _ = write_run_log(spark, lakehouse, RunResult("r1", "sales", at, at, (step,)))
    >>> [(r.run_id, r.state, r.steps) for r in run_summaries(lakehouse)]
    [('r1', 'ok', 1)]
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

from medallion.errors import (
    DeltaOperationError,
    MedallionError,
    RunNotFoundError,
    TableNotFoundError,
)
from medallion.lakehouse import Lakehouse, resolve_root
from medallion.layers import Layer

if TYPE_CHECKING:
    from deltalake import DeltaTable

__all__ = [
    "QUARANTINE_COLUMNS",
    "RUN_LOG_COLUMNS",
    "ColumnInfo",
    "LakehouseNotFoundError",
    "QuarantinedRow",
    "QuarantinedTable",
    "RunSummary",
    "TableCommit",
    "TableDescription",
    "check_root",
    "describe_table",
    "lakehouse_tables",
    "quarantined",
    "run_log_rows",
    "run_summaries",
    "table_exists",
    "table_history",
]

#: The run log's columns, in order (``RUN_LOG_SCHEMA`` of :mod:`medallion.runner.runlog`).
RUN_LOG_COLUMNS = (
    "run_id",
    "pipeline",
    "step",
    "table",
    "layer",
    "location",
    "run_started_at",
    "started_at",
    "ended_at",
    "status",
    "error",
    "rows_read",
    "rows_written",
    "rows_quarantined",
    "rows_dropped",
    "rule_metrics",
    "delta_version",
    "version_before",
    "rows_inserted",
    "rows_updated",
    "rows_deleted",
    "note",
)

#: A quarantine table's columns, in order (``QUARANTINE_SCHEMA`` of
#: :mod:`medallion.quality.quarantine`).
QUARANTINE_COLUMNS = (
    "table",
    "run_id",
    "quarantined_at",
    "source",
    "failures",
    "record",
    "record_key",
    "replayable",
    "resolved_at",
    "resolved_by",
)

# How a run ended: the first of these statuses any of its steps has, else "ok" (the rule of
# `medallion runs` since it read the run log with Spark).
_RUN_STATES = ("running", "abandoned", "cancelled", "failed")

# The SQL types of the columns an older table may lack (they read as nulls).
_NULL_TYPES = {
    "record_key": "VARCHAR",
    "replayable": "BOOLEAN",
    "resolved_at": "TIMESTAMP",
    "resolved_by": "VARCHAR",
    "location": "VARCHAR",
    "started_at": "TIMESTAMP",
    "ended_at": "TIMESTAMP",
    "error": "VARCHAR",
    "rows_read": "BIGINT",
    "rows_written": "BIGINT",
    "rows_dropped": "BIGINT",
    "delta_version": "BIGINT",
    "version_before": "BIGINT",
    "rows_inserted": "BIGINT",
    "rows_updated": "BIGINT",
    "rows_deleted": "BIGINT",
    "note": "VARCHAR",
}

# Delta's names of primitive types, as Spark shows them (``simpleString``).
_SPARK_TYPES = {"long": "bigint", "integer": "int", "short": "smallint", "byte": "tinyint"}


class LakehouseNotFoundError(MedallionError, FileNotFoundError):
    """A local lakehouse root that does not exist (a typo, not an empty lakehouse).

    Attributes:
        root: The root, as given.

    Example:
        >>> try:
        ...     check_root("/no/such/lakehouse")
        ... except LakehouseNotFoundError as exc:
        ...     print(exc)
        no lakehouse at /no/such/lakehouse: the folder does not exist
    """

    def __init__(self, message: str, root: str = "") -> None:
        super().__init__(message)
        self.root = root

    def __str__(self) -> str:
        # OSError's str() would show its arguments as a tuple.
        return str(self.args[0]) if self.args else ""


@attrs.frozen
class RunSummary:
    """One run, from its steps in the run log.

    Attributes:
        run_id: The run's id.
        pipeline: Its pipeline.
        started_at: When it started.
        ended_at: When its last step ended (``None`` while none has).
        state: How it ended: ``running``, ``abandoned``, ``cancelled`` or ``failed`` when one
            of its steps is, else ``ok``.
        steps: How many steps it had.
        statuses: How many steps ended in each status (``{"succeeded": 3, "skipped": 1}``).
        rows_written: The rows its steps wrote.
        rows_quarantined: The rows its steps quarantined.

    Example:
        >>> at = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
        >>> run = RunSummary("r1", "sales", at, at + dt.timedelta(seconds=90), "ok", 2,
        ...                  {"succeeded": 2}, 10, 0)
        >>> run.elapsed_seconds
        90.0
    """

    run_id: str
    pipeline: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    state: str
    steps: int
    statuses: Mapping[str, int]
    rows_written: int
    rows_quarantined: int

    @property
    def elapsed_seconds(self) -> float | None:
        """Seconds from the run's start to the end of its last step (``None`` if unknown)."""
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


@attrs.frozen
class TableCommit:
    """One version of a Delta table, from its log.

    Attributes:
        version: The version the commit created.
        timestamp: When it was committed (its in-commit timestamp if the table keeps them).
        operation: ``WRITE``, ``MERGE``, ``OPTIMIZE``, ``RESTORE``, ...
        run_id: The medallion run that made it (``medallion_run_id`` in its userMetadata).
        parameters: The operation's parameters, as text.
        metrics: The operation's metrics that are counts (``numOutputRows``, ...).
        user_metadata: The commit's ``userMetadata`` text, if any.

    Example:
        >>> at = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
        >>> TableCommit(3, at, "MERGE", "nightly-7").run_id
        'nightly-7'
    """

    version: int
    timestamp: dt.datetime
    operation: str
    run_id: str | None = None
    parameters: Mapping[str, str | None] = attrs.field(factory=dict, hash=False)
    metrics: Mapping[str, int] = attrs.field(factory=dict, hash=False)
    user_metadata: str | None = None


@attrs.frozen
class ColumnInfo:
    """A column of a table's schema.

    Attributes:
        name: Its name.
        type: Its type as Spark writes it (``bigint``, ``array<string>``, ``decimal(10,2)``).
        nullable: Whether it may hold nulls.

    Example:
        >>> ColumnInfo("id", "bigint", False)
        ColumnInfo(name='id', type='bigint', nullable=False)
    """

    name: str
    type: str
    nullable: bool


@attrs.frozen
class TableDescription:
    """A Delta table: its version, schema, layout and latest commit.

    Attributes:
        location: Where it lives.
        version: Its current version.
        columns: Its schema.
        partition_columns: The columns it is partitioned by.
        files: How many data files its current version has.
        size_bytes: Their total size.
        rows: How many rows it has (``None`` when delta-rs cannot read its rows).
        properties: Its table properties (``delta.enableChangeDataFeed``, ...).
        reader_version: The protocol's minimum reader version.
        writer_version: The protocol's minimum writer version.
        features: The table features it uses (readers' and writers').
        created_at: When it was created, if known.
        last_commit: Its latest commit, if its log still has it.

    Example:
        >>> from deltalake import write_deltalake
        >>> from arro3.core import Array, DataType, Table
        >>> path = f"{lakehouse}/events"
        >>> write_deltalake(path, Table.from_pydict({"id": Array([1, 2], DataType.int64())}))
        >>> description = describe_table(path)
        >>> description.rows, description.files, description.columns[0].type
        (2, 1, 'bigint')
    """

    location: str
    version: int
    columns: tuple[ColumnInfo, ...]
    partition_columns: tuple[str, ...]
    files: int
    size_bytes: int
    rows: int | None
    properties: Mapping[str, str]
    reader_version: int
    writer_version: int
    features: tuple[str, ...]
    created_at: dt.datetime | None
    last_commit: TableCommit | None


@attrs.frozen
class QuarantinedRow:
    """One row of a quarantine table.

    Attributes:
        table: The table it was meant for (``silver.orders``).
        run_id: The run that quarantined it.
        quarantined_at: When.
        source: Where it came from, if recorded.
        failures: The rules it failed: ``{"rule", "action", "message"}`` each.
        record: The record's values, as JSON.
        replayable: Whether only reference rules sent it there (``None`` on older rows).
        resolved_at: When it was replayed into its table (``None`` while open).
        resolved_by: The run that replayed it.

    Example:
        >>> at = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
        >>> row = QuarantinedRow("silver.orders", "r1", at, None,
        ...                      ({"rule": "cust_exists", "action": "quarantine", "message": ""},),
        ...                      '{"id":"o1"}', True, None, None)
        >>> row.rules, row.state
        (('cust_exists',), 'open (replayable)')
    """

    table: str
    run_id: str | None
    quarantined_at: dt.datetime | None
    source: str | None
    failures: tuple[Mapping[str, Any], ...]
    record: str
    replayable: bool | None
    resolved_at: dt.datetime | None
    resolved_by: str | None

    @property
    def rules(self) -> tuple[str, ...]:
        """The names of the rules it failed."""
        return tuple(str(f.get("rule")) for f in self.failures)

    @property
    def state(self) -> str:
        """``open``, ``open (replayable)`` or ``resolved by RUN``."""
        if self.resolved_at is None:
            return "open (replayable)" if self.replayable else "open"
        return f"resolved by {self.resolved_by}"


@attrs.frozen
class QuarantinedTable:
    """The quarantined rows of one table: how many are open and resolved, and the newest.

    Attributes:
        table: The table (``silver.orders``).
        open: How many of its rows are open.
        resolved: How many are resolved.
        rows: The newest rows, newest first (at most the ``limit`` asked for).

    Example:
        >>> QuarantinedTable("silver.orders", 2, 1, ()).open
        2
    """

    table: str
    open: int
    resolved: int
    rows: tuple[QuarantinedRow, ...]


def _local(location: str) -> Path | None:
    """A location's local path, ``None`` for other file systems (as the run lease has it)."""
    if location.startswith("file:"):
        return Path("/" + location[len("file:") :].lstrip("/"))
    if "://" in location:
        return None
    return Path(location)


def _uri(location: str) -> str:
    """A location as delta-rs opens it: a local path, or the URI."""
    local = _local(location)
    return str(local) if local is not None else location


def check_root(root: str | os.PathLike[str]) -> str:
    """A lakehouse root, normalised, if it can hold a lakehouse.

    A local root must be an existing folder (an empty one is an empty lakehouse). A URI is not
    checked: a missing table there says so.

    Args:
        root: The lakehouse root.

    Returns:
        The root: a local folder made absolute, or the URI.

    Raises:
        LakehouseNotFoundError: The local folder does not exist.

    Example:
        >>> check_root(lakehouse) == lakehouse, check_root("s3a://bucket/lake/")
        (True, 's3a://bucket/lake')
    """
    resolved = resolve_root(root)
    local = _local(resolved)
    if local is not None and not local.is_dir():
        what = "is not a folder" if local.exists() else "the folder does not exist"
        raise LakehouseNotFoundError(f"no lakehouse at {os.fspath(root)}: {what}", str(root))
    return resolved


def _open(
    location: str,
    storage_options: Mapping[str, str] | None,
    what: str | None = None,
) -> DeltaTable:
    """The Delta table at ``location``.

    Raises:
        TableNotFoundError: There is none (its message names the location).
    """
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError as NoDeltaTable

    options = dict(storage_options) if storage_options else None
    try:
        return DeltaTable(_uri(location), storage_options=options)
    except NoDeltaTable as exc:
        raise TableNotFoundError(
            f"table {what or location!r}: no Delta table at {location}"
        ) from exc


def table_exists(location: str, *, storage_options: Mapping[str, str] | None = None) -> bool:
    """Whether a Delta table is at ``location``.

    Args:
        location: A path or URI.
        storage_options: delta-rs storage options (credentials of an object store).

    Returns:
        Whether it holds a Delta table.

    Example:
        >>> from deltalake import write_deltalake
        >>> from arro3.core import Array, DataType, Table
        >>> path = f"{lakehouse}/events"
        >>> table_exists(path)
        False
        >>> write_deltalake(path, Table.from_pydict({"id": Array([1], DataType.int64())}))
        >>> table_exists(path)
        True
    """
    from deltalake import DeltaTable

    options = dict(storage_options) if storage_options else None
    return DeltaTable.is_deltatable(_uri(location), storage_options=options)


def _quote(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _columns(table: DeltaTable, wanted: Sequence[str]) -> str:
    """A select list of ``wanted``: the table's column, or a null where an older table lacks it."""
    names = {f.name for f in table.schema().fields}
    return ", ".join(
        f'"{c}"' if c in names else f'CAST(NULL AS {_NULL_TYPES.get(c, "VARCHAR")}) AS "{c}"'
        for c in wanted
    )


def _query(table: DeltaTable, sql: str) -> list[dict[str, Any]]:
    """The rows of a SQL query over ``table`` (registered as ``t``), as dicts."""
    from deltalake import QueryBuilder

    result = QueryBuilder().register("t", table).execute(sql).read_all()
    columns = {name: result.column(name).to_pylist() for name in result.column_names}
    return [
        {name: _value(values[i]) for name, values in columns.items()}
        for i in range(result.num_rows)
    ]


def _value(value: Any) -> Any:
    """A value read by delta-rs, with its datetimes in ``datetime.timezone.utc``."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc)
    if isinstance(value, list):
        return [_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _value(v) for k, v in value.items()}
    return value


def lakehouse_tables(
    root: str | os.PathLike[str], *, storage_options: Mapping[str, str] | None = None
) -> list[str]:
    """The tables a local lakehouse holds, as ``LAYER.NAME``.

    A table is a folder of a layer's folder with a ``_delta_log``; the quarantine and
    dead-letter tables (``_quarantine``, ``_dead_letters``) are not listed. A lakehouse on an
    object store is not listed (the list is empty).

    Args:
        root: The lakehouse root.
        storage_options: Unused for local roots; accepted for symmetry with the readers.

    Returns:
        The tables, sorted.

    Example:
        >>> from deltalake import write_deltalake
        >>> from arro3.core import Array, DataType, Table
        >>> rows = Table.from_pydict({"id": Array([1], DataType.int64())})
        >>> write_deltalake(f"{lakehouse}/silver/orders", rows)
        >>> lakehouse_tables(lakehouse)
        ['silver.orders']
    """
    del storage_options
    local = _local(resolve_root(root))
    if local is None:
        return []
    found: list[str] = []
    for layer in Layer:
        folder = local / layer.value
        if not folder.is_dir():
            continue
        for child in folder.iterdir():
            if not child.name.startswith("_") and (child / "_delta_log").is_dir():
                found.append(f"{layer.value}.{child.name}")
    return sorted(found)


def run_summaries(
    root: str | os.PathLike[str],
    *,
    limit: int | None = None,
    storage_options: Mapping[str, str] | None = None,
) -> list[RunSummary]:
    """The runs in a lakehouse's run log, latest first.

    A run's state is the first of ``running``, ``abandoned``, ``cancelled``, ``failed`` that
    one of its steps has, else ``ok``; its rows are the sums over its steps.

    Args:
        root: The lakehouse root.
        limit: At most this many runs.
        storage_options: delta-rs storage options (credentials of an object store).

    Returns:
        The runs; none when the lakehouse has no run log yet.

    Raises:
        LakehouseNotFoundError: The local root does not exist.

    Example:
        >>> from medallion.runner.runlog import write_run_log
        >>> from medallion.runner.results import RunResult, StepRun
        >>> at = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
        >>> for run_id, minutes, status in (("r1", 0, "succeeded"), ("r2", 5, "failed")):
        ...     start = at + dt.timedelta(minutes=minutes)
        ...     run = RunResult(run_id, "sales", start, start, (StepRun("t", "gold.t", status),))
        ...     _ = write_run_log(spark, lakehouse, run)
        >>> [(r.run_id, r.state, r.statuses) for r in run_summaries(lakehouse)]
        [('r2', 'failed', {'failed': 1}), ('r1', 'ok', {'succeeded': 1})]
        >>> run_summaries(lakehouse, limit=0)
        []
    """
    lakehouse = Lakehouse.at(check_root(root))
    location = lakehouse.run_log()
    if not table_exists(location, storage_options=storage_options) or limit == 0:
        return []
    log = _open(location, storage_options)
    states = ", ".join(
        f"MAX(CASE WHEN status = {_quote(s)} THEN {_quote(s)} END)" for s in _RUN_STATES
    )
    top = f"LIMIT {int(limit)}" if limit is not None else ""
    runs = _query(
        log,
        f"""
        SELECT run_id, pipeline, MIN(run_started_at) AS started_at, MAX(ended_at) AS ended_at,
               COALESCE({states}, 'ok') AS state, COUNT(*) AS steps,
               SUM(rows_written) AS rows_written, SUM(rows_quarantined) AS rows_quarantined
        FROM (SELECT {_columns(log, ("run_id", "pipeline", "run_started_at", "ended_at",
                                      "status", "rows_written", "rows_quarantined"))} FROM t)
        GROUP BY run_id, pipeline
        ORDER BY started_at DESC NULLS LAST, run_id
        {top}
        """,
    )  # fmt: skip
    if not runs:
        return []
    ids = ", ".join(_quote(str(r["run_id"])) for r in runs)
    statuses: dict[tuple[str, str], dict[str, int]] = {}
    for r in _query(
        log,
        f"SELECT run_id, pipeline, status, COUNT(*) AS n FROM t WHERE run_id IN ({ids}) "
        "GROUP BY run_id, pipeline, status ORDER BY status",
    ):
        key = (str(r["run_id"]), str(r["pipeline"]))
        statuses.setdefault(key, {})[str(r["status"])] = int(r["n"])
    return [
        RunSummary(
            run_id=str(r["run_id"]),
            pipeline=str(r["pipeline"]),
            started_at=r["started_at"],
            ended_at=r["ended_at"],
            state=str(r["state"]),
            steps=int(r["steps"]),
            statuses=statuses.get((str(r["run_id"]), str(r["pipeline"])), {}),
            rows_written=int(r["rows_written"] or 0),
            rows_quarantined=int(r["rows_quarantined"] or 0),
        )
        for r in runs
    ]


def run_log_rows(
    root: str | os.PathLike[str],
    run_id: str | None = None,
    *,
    storage_options: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The run log's rows (one per step of a run) as plain dicts, as Spark would read them.

    Each dict has the run log's columns (:data:`RUN_LOG_COLUMNS`; those an older run log lacks
    are ``None``); ``rule_metrics`` is a list of ``{"rule", "action", "rows_checked",
    "rows_failed"}`` dicts; timestamps are aware datetimes in UTC. Rows are ordered by run
    start, then by step start (steps that did not start last), then by step name.

    Args:
        root: The lakehouse root.
        run_id: Only this run's steps.
        storage_options: delta-rs storage options (credentials of an object store).

    Returns:
        The rows; none when no run is logged (and no ``run_id`` is asked for).

    Raises:
        LakehouseNotFoundError: The local root does not exist.
        RunNotFoundError: ``run_id`` is not in the run log.

    Example:
        >>> from medallion.runner.runlog import write_run_log
        >>> from medallion.runner.results import RunResult, StepRun
        >>> at = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
        >>> step = StepRun("totals", "gold.totals", "succeeded", rows_quarantined=2)
        >>> _ = write_run_log(spark, lakehouse, RunResult("r1", "sales", at, at, (step,)))
        >>> row = run_log_rows(lakehouse, "r1")[0]
        >>> row["table"], row["status"], row["rows_quarantined"], row["run_started_at"] == at
        ('gold.totals', 'succeeded', 2, True)
        >>> try:
        ...     run_log_rows(lakehouse, "r9")
        ... except RunNotFoundError as exc:
        ...     print(str(exc).replace(lakehouse, "<lake>"))
        run 'r9' is not in the run log at <lake>/_medallion/runs
    """
    location = Lakehouse.at(check_root(root)).run_log()
    if not table_exists(location, storage_options=storage_options):
        if run_id is not None:
            raise RunNotFoundError(f"run {run_id!r} is not in the run log at {location}")
        return []
    log = _open(location, storage_options)
    where = f"WHERE run_id = {_quote(run_id)}" if run_id is not None else ""
    rows = _query(
        log,
        f"SELECT {_columns(log, RUN_LOG_COLUMNS)} FROM t {where} "
        "ORDER BY run_started_at, run_id, started_at NULLS LAST, step",
    )
    if run_id is not None and not rows:
        raise RunNotFoundError(f"run {run_id!r} is not in the run log at {location}")
    for row in rows:
        row["rule_metrics"] = list(row["rule_metrics"] or [])
    return rows


def _commit(entry: Mapping[str, Any]) -> TableCommit:
    """A commit from delta-rs's history entry (its ``commitInfo``)."""
    metadata = entry.get("userMetadata")
    tags: Any = {}
    if isinstance(metadata, str) and metadata:
        try:
            tags = json.loads(metadata)
        except ValueError:
            tags = {}
    run_id = tags.get("medallion_run_id") if isinstance(tags, dict) else None
    millis = entry.get("inCommitTimestamp", entry.get("timestamp", 0))
    return TableCommit(
        version=int(entry.get("version", -1)),
        timestamp=dt.datetime.fromtimestamp(int(millis) / 1000, dt.timezone.utc),
        operation=str(entry.get("operation", "")),
        run_id=str(run_id) if run_id is not None else None,
        # As Delta's history has them: text, and None for a parameter left unset.
        parameters={
            str(k): v if v is None or isinstance(v, str) else json.dumps(v)
            for k, v in (entry.get("operationParameters") or {}).items()
        },
        metrics={
            str(k): int(v)
            for k, v in (entry.get("operationMetrics") or {}).items()
            if not isinstance(v, bool) and str(v).isdigit()
        },
        user_metadata=metadata if isinstance(metadata, str) else None,
    )


def table_history(
    location: str,
    *,
    limit: int | None = None,
    storage_options: Mapping[str, str] | None = None,
) -> list[TableCommit]:
    """A Delta table's commits, newest first, with the medallion run of each.

    Args:
        location: The table's path or URI.
        limit: At most this many commits.
        storage_options: delta-rs storage options (credentials of an object store).

    Returns:
        The commits its log still holds.

    Raises:
        TableNotFoundError: There is no Delta table there.

    Example:
        >>> from deltalake import CommitProperties, write_deltalake
        >>> from arro3.core import Array, DataType, Table
        >>> path = f"{lakehouse}/events"
        >>> rows = Table.from_pydict({"id": Array([1, 2], DataType.int64())})
        >>> tag = CommitProperties(custom_metadata={"userMetadata": '{"medallion_run_id": "r7"}'})
        >>> write_deltalake(path, rows, commit_properties=tag)
        >>> [(c.version, c.operation, c.run_id) for c in table_history(path)]
        [(0, 'WRITE', 'r7')]
    """
    if limit == 0:
        _open(location, storage_options)  # still an error when there is no table
        return []
    table = _open(location, storage_options)
    entries = table.history(limit)
    commits = [_commit(e) for e in entries]
    return sorted(commits, key=lambda c: c.version, reverse=True)


def _type_text(value: Any) -> str:
    """A type of Delta's schema JSON, as Spark writes it (``array<bigint>``)."""
    if isinstance(value, str):
        return _SPARK_TYPES.get(value, value)
    kind = value.get("type")
    if kind == "array":
        return f"array<{_type_text(value['elementType'])}>"
    if kind == "map":
        return f"map<{_type_text(value['keyType'])},{_type_text(value['valueType'])}>"
    if kind == "struct":
        fields = ",".join(f"{f['name']}:{_type_text(f['type'])}" for f in value["fields"])
        return f"struct<{fields}>"
    return str(kind)


def _count(table: DeltaTable, column: str | None) -> int | None:
    """The rows of a table, deletion vectors deducted; ``None`` if delta-rs cannot read them."""
    queries = ["SELECT COUNT(*) AS n FROM t"]  # from the files' statistics when they have them
    if column is not None:
        # delta-rs 1.6 fails to count a table with column mapping and no statistics without
        # reading a column: read one.
        name = column.replace('"', '""')
        queries.append(f'SELECT COALESCE(SUM(CASE WHEN "{name}" IS NULL THEN 1 ELSE 1 END), 0) '
                       "AS n FROM t")  # fmt: skip
    for query in queries:
        try:
            return int(_query(table, query)[0]["n"])
        except Exception:  # delta-rs raises DeltaError, DataFusion a plain Exception
            continue
    return None


def describe_table(
    location: str, *, storage_options: Mapping[str, str] | None = None
) -> TableDescription:
    """A Delta table's current version, schema, partitioning, files, properties and last commit.

    Args:
        location: The table's path or URI.
        storage_options: delta-rs storage options (credentials of an object store).

    Returns:
        The description.

    Raises:
        TableNotFoundError: There is no Delta table there.

    Example:
        >>> from deltalake import write_deltalake
        >>> from arro3.core import Array, DataType, Table
        >>> path = f"{lakehouse}/silver/orders"
        >>> rows = Table.from_pydict({"id": Array(["o1", "o2"], DataType.string()),
        ...                           "day": Array(["d1", "d2"], DataType.string())})
        >>> write_deltalake(path, rows, partition_by="day",
        ...                 configuration={"delta.enableChangeDataFeed": "true"})
        >>> d = describe_table(path)
        >>> d.version, d.partition_columns, d.files, d.rows, d.last_commit.operation
        (0, ('day',), 2, 2, 'WRITE')
        >>> [(c.name, c.type) for c in d.columns], d.properties
        ([('id', 'string'), ('day', 'string')], {'delta.enableChangeDataFeed': 'true'})
    """
    table = _open(location, storage_options)
    metadata = table.metadata()
    protocol = table.protocol()
    schema = json.loads(table.schema().to_json())
    files = table.get_add_actions(flatten=True)
    sizes = list(files.column("size_bytes").to_pylist()) if files.num_rows else []
    rows = _count(table, schema["fields"][0]["name"] if schema["fields"] else None)
    history = table.history(1)
    created = metadata.created_time
    return TableDescription(
        location=location,
        version=int(table.version()),
        columns=tuple(
            ColumnInfo(str(f["name"]), _type_text(f["type"]), bool(f.get("nullable", True)))
            for f in schema["fields"]
        ),
        partition_columns=tuple(metadata.partition_columns),
        files=int(files.num_rows),
        size_bytes=sum(int(s or 0) for s in sizes),
        rows=rows,
        properties={str(k): str(v) for k, v in metadata.configuration.items()},
        reader_version=int(protocol.min_reader_version),
        writer_version=int(protocol.min_writer_version),
        features=tuple(
            sorted({*(protocol.reader_features or ()), *(protocol.writer_features or ())})
        ),
        created_at=(
            dt.datetime.fromtimestamp(created / 1000, dt.timezone.utc) if created else None
        ),
        last_commit=_commit(history[0]) if history else None,
    )


def quarantined(
    root: str | os.PathLike[str],
    *,
    table: str | None = None,
    rule: str | None = None,
    run_id: str | None = None,
    state: Literal["open", "resolved"] | None = None,
    limit: int = 20,
    storage_options: Mapping[str, str] | None = None,
) -> list[QuarantinedTable]:
    """The quarantined rows of a lakehouse by table: counts, and the newest rows of each.

    Rows of each table are listed newest first (then by run and record), at most ``limit``
    of them; the counts cover every row that passes the filters.

    Args:
        root: The lakehouse root.
        table: Only this table's rows (``LAYER.NAME``).
        rule: Only the rows that failed this rule.
        run_id: Only the rows this run quarantined.
        state: Only the ``open`` rows, or only the ``resolved`` ones.
        limit: Rows listed per table (0: counts only).
        storage_options: delta-rs storage options (credentials of an object store).

    Returns:
        The tables with rows, sorted by name; none when nothing matches.

    Raises:
        LakehouseNotFoundError: The local root does not exist.
        DeltaOperationError: ``table`` is not ``LAYER.NAME``.

    Example:
        >>> from medallion import Table, evaluate
        >>> from medallion.quality import checks
        >>> from medallion.quality.quarantine import write_quarantine
        >>> orders = Table("orders", "silver", primary_keys="id", rules=[checks.not_null("cust")])
        >>> df = spark.createDataFrame([("o1", None), ("o2", "c1")], "id STRING, cust STRING")
        >>> _ = write_quarantine(evaluate(df, orders.rules), orders, lakehouse, run_id="r1")
        >>> [found] = quarantined(lakehouse, state="open")
        >>> found.table, found.open, found.resolved, [r.record for r in found.rows]
        ('silver.orders', 1, 0, ['{"id":"o1"}'])
        >>> found.rows[0].rules, found.rows[0].state
        (('cust_not_null',), 'open')
        >>> quarantined(lakehouse, rule="another_rule")
        []
    """
    lakehouse = Lakehouse.at(check_root(root))
    layers = list(Layer)
    if table is not None:
        layer, dot, name = table.partition(".")
        if not dot or not name or layer not in {x.value for x in Layer}:
            raise DeltaOperationError(f"table {table!r}: give LAYER.NAME (silver.orders)")
        layers = [Layer(layer)]
    found: list[QuarantinedTable] = []
    for layer in layers:
        location = lakehouse.quarantine(layer)
        if not table_exists(location, storage_options=storage_options):
            continue
        quarantine = _open(location, storage_options)
        found.extend(_quarantined(quarantine, table, rule, run_id, state, limit))
    return sorted(found, key=lambda t: t.table)


def _quarantined(
    quarantine: DeltaTable,
    table: str | None,
    rule: str | None,
    run_id: str | None,
    state: str | None,
    limit: int,
) -> list[QuarantinedTable]:
    """The rows of one quarantine table (see :func:`quarantined`)."""
    conditions = []
    if table is not None:
        conditions.append(f'"table" = {_quote(table)}')
    if run_id is not None:
        conditions.append(f"run_id = {_quote(run_id)}")
    if state is not None:
        conditions.append(f"resolved_at IS {'' if state == 'open' else 'NOT '}NULL")
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    listed = ", ".join(f'"{c}"' for c in QUARANTINE_COLUMNS)
    rows = f"SELECT {_columns(quarantine, QUARANTINE_COLUMNS)} FROM t {where}"
    if rule is not None:
        # A row fails each rule once: keeping the row's copy of its failure of the rule keeps
        # the row once.
        rows = (
            f"SELECT {listed} FROM (SELECT {listed}, UNNEST(failures) AS failure FROM ({rows})) "
            f"WHERE failure['rule'] = {_quote(rule)}"
        )
    counts: dict[str, dict[bool, int]] = {}
    for r in _query(
        quarantine,
        f'SELECT "table", resolved_at IS NULL AS is_open, COUNT(*) AS n FROM ({rows}) '
        'GROUP BY "table", resolved_at IS NULL',
    ):
        counts.setdefault(str(r["table"]), {})[bool(r["is_open"])] = int(r["n"])
    newest: dict[str, list[QuarantinedRow]] = {}
    if limit > 0 and counts:
        for r in _query(
            quarantine,
            f"""
            SELECT * FROM (
                SELECT {listed}, ROW_NUMBER() OVER (
                    PARTITION BY "table"
                    ORDER BY quarantined_at DESC NULLS LAST, run_id NULLS FIRST,
                             record NULLS FIRST
                ) AS n
                FROM ({rows})
            ) WHERE n <= {int(limit)} ORDER BY "table", n
            """,
        ):  # fmt: skip
            newest.setdefault(str(r["table"]), []).append(
                QuarantinedRow(
                    table=str(r["table"]),
                    run_id=r["run_id"],
                    quarantined_at=r["quarantined_at"],
                    source=r["source"],
                    failures=tuple(r["failures"] or ()),
                    record=str(r["record"]),
                    replayable=r["replayable"],
                    resolved_at=r["resolved_at"],
                    resolved_by=r["resolved_by"],
                )
            )
    return [
        QuarantinedTable(
            table=name,
            open=counts[name].get(True, 0),
            resolved=counts[name].get(False, 0),
            rows=tuple(newest.get(name, ())),
        )
        for name in counts
    ]
