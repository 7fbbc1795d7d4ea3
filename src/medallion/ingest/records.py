r"""File records: the files bronze ingestion found that left no row in their table.

A bronze table remembers the files it ingested by their rows (``_source_file`` and
``_source_modified_at``). Two kinds of file leave no row, and are recorded here instead, in one
Delta table for the lakehouse at ``<root>/_medallion/files`` (:meth:`Lakehouse.file_records
<medallion.Lakehouse.file_records>`):

- a file without records (zero bytes, a CSV header alone, blank lines): ``ingested``, 0 rows;
- a file that cannot be read as a whole (a CSV header that matches none of the schema's
  columns, binary content, text that is not in its encoding, a Parquet file without a valid
  footer): ``bad``, with the reason. Its records are not read, and the table's other files are.

A recorded file is not read again while its size and modification time stay the same; a bad
file that is replaced (or touched) is read again. Recording is idempotent: a file recorded once
is never recorded twice, whatever reruns happen.

Example:
    >>> import datetime as dt
    >>> at = dt.datetime(2026, 3, 1, 12, 0)
    >>> bad = FileRecord("file:/landing/x.csv", 12, at, FileStatus.BAD, "binary content")
    >>> record_files(spark, lakehouse, "bronze.orders", [bad], run_id="r1")
    1
    >>> record_files(spark, lakehouse, "bronze.orders", [bad], run_id="r2")  # already there
    0
    >>> stored = read_file_records(spark, lakehouse).collect()
    >>> [(r.path, r.status, r.reason, r.run_id) for r in stored]
    [('file:/landing/x.csv', 'bad', 'binary content', 'r1')]
"""

from __future__ import annotations

import datetime as dt
import enum
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs
from pyspark.sql import functions as F
from pyspark.sql import types as T

from medallion._names import delta_table
from medallion.delta._commands import is_connect
from medallion.delta._target import Target
from medallion.delta.tables import create_sql, table_exists
from medallion.lakehouse import Lakehouse

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "FILE_RECORDS_SCHEMA",
    "FileRecord",
    "FileStatus",
    "read_file_records",
    "record_files",
    "recorded_files",
]

#: The columns of the file records table (partitioned by ``table``).
FILE_RECORDS_SCHEMA = T.StructType(
    [
        T.StructField("table", T.StringType(), False),
        T.StructField("path", T.StringType(), False),
        T.StructField("size", T.LongType(), False),
        T.StructField("modified", T.TimestampType(), False),
        T.StructField("status", T.StringType(), False),
        T.StructField("reason", T.StringType(), True),
        T.StructField("rows", T.LongType(), True),
        T.StructField("run_id", T.StringType(), True),
        T.StructField("recorded_at", T.TimestampType(), True),
    ]
)


class FileStatus(str, enum.Enum):
    """What became of a recorded file (its value is what the table stores).

    Attributes:
        INGESTED: Read, without records (``rows`` is 0).
        BAD: Not read: it cannot be read as a whole (``reason`` says why).

    Example:
        >>> FileStatus("bad") is FileStatus.BAD
        True
    """

    INGESTED = "ingested"
    BAD = "bad"


@attrs.frozen
class FileRecord:
    """One file found by an ingestion, as recorded: where, which version, and what became of it.

    Attributes:
        path: The file's URI, as Spark lists it (``file:/landing/a.csv``).
        size: Its size in bytes.
        modified: Its modification time (UTC, naive, as Spark lists it).
        status: What became of it.
        reason: Why it is bad.
        rows: The rows it gave (0 for an ingested file without records; ``None`` when bad).

    Example:
        >>> import datetime as dt
        >>> record = FileRecord("file:/in/a.json", 0, dt.datetime(2026, 3, 1), "ingested", rows=0)
        >>> record.status is FileStatus.INGESTED, record.describe()
        (True, 'file:/in/a.json: no records')
    """

    path: str
    size: int
    modified: dt.datetime
    status: FileStatus = attrs.field(converter=FileStatus)
    reason: str | None = None
    rows: int | None = None

    def describe(self) -> str:
        """The file and what became of it, in a line (``<path>: <reason>``).

        Example:
            >>> import datetime as dt
            >>> at = dt.datetime(2026, 3, 1)
            >>> FileRecord("file:/in/b.csv", 3, at, "bad", "binary content").describe()
            'file:/in/b.csv: binary content'
        """
        if self.status is FileStatus.BAD:
            return f"{self.path}: {self.reason}"
        return f"{self.path}: no records"


def _location(root: str | os.PathLike[str]) -> str:
    return Lakehouse.at(root).file_records()


def _create(spark: SparkSession, location: str) -> None:
    from delta.tables import DeltaTable

    if is_connect(spark):
        spark.sql(create_sql(location, FILE_RECORDS_SCHEMA, ["table"]))
        return

    # Named explicitly: the builder's own name for a location does not double its backticks.
    (
        DeltaTable.createIfNotExists(spark)
        .tableName(delta_table(location))
        .location(location)
        .addColumns(FILE_RECORDS_SCHEMA)
        .partitionedBy("table")
        .execute()
    )


def record_files(
    spark: SparkSession,
    root: str | os.PathLike[str],
    table: str,
    records: Iterable[FileRecord],
    *,
    run_id: str | None = None,
    recorded_at: dt.datetime | None = None,
) -> int:
    """Record files of a bronze table, once each: a file already recorded is left as it is.

    A file is the same file while its path, size and modification time are; recording it
    again (a rerun after a crash) adds nothing. The records are added in one Delta commit
    (an insert-only MERGE on the table's partition), retried after a concurrent commit.

    Args:
        spark: Any Delta-ready SparkSession.
        root: The lakehouse root.
        table: The bronze table's qualified name.
        records: The files.
        run_id: The run that found them.
        recorded_at: When (naive means UTC); now if not given.

    Returns:
        How many files were newly recorded.

    Example:
        >>> import datetime as dt
        >>> empty = FileRecord("file:/in/e.json", 0, dt.datetime(2026, 3, 1), "ingested", rows=0)
        >>> record_files(spark, lakehouse, "bronze.events", [empty, empty], run_id="r1")
        1
    """
    rows = [
        (
            table,
            r.path,
            int(r.size),
            r.modified,
            r.status.value,
            r.reason,
            r.rows,
            run_id,
            _utc(recorded_at or dt.datetime.now(dt.timezone.utc)),
        )
        for r in records
    ]
    if not rows:
        return 0
    location = _location(root)
    if not table_exists(spark, location):
        _create(spark, location)
    source = spark.createDataFrame(rows, FILE_RECORDS_SCHEMA).dropDuplicates(
        ["path", "size", "modified"]
    )
    literal = table.replace("\\", "\\\\").replace("'", "\\'")
    condition = (
        f"t.`table` = '{literal}' AND t.`table` = s.`table` AND t.path = s.path "
        "AND t.size = s.size AND t.modified = s.modified"
    )

    target = Target(spark, location)

    def merge() -> int:
        metrics = target.commands().merge(source, condition).when_not_matched_insert().execute()
        return int(metrics["num_inserted_rows"]) if metrics is not None else 0

    return target.retrying(f"recording the files of {table!r}", merge)


def recorded_files(
    spark: SparkSession, root: str | os.PathLike[str], table: str
) -> set[tuple[str, dt.datetime, int]]:
    """The files recorded for a bronze table, as ``(path, modified, size)``.

    Args:
        spark: Any Delta-ready SparkSession.
        root: The lakehouse root.
        table: The table's qualified name.

    Returns:
        The recorded files (none when nothing was ever recorded).

    Example:
        >>> import datetime as dt
        >>> at = dt.datetime(2026, 3, 1)
        >>> bad = FileRecord("file:/in/b.csv", 3, at, "bad", "binary content")
        >>> _ = record_files(spark, lakehouse, "bronze.events", [bad])
        >>> recorded_files(spark, lakehouse, "bronze.events")
        {('file:/in/b.csv', datetime.datetime(2026, 3, 1, 0, 0), 3)}
        >>> recorded_files(spark, lakehouse, "bronze.other")
        set()
    """
    found = read_file_records(spark, root)
    if found is None:
        return set()
    rows = found.where(F.col("table") == table).select("path", "modified", "size").collect()
    return {(str(r[0]), r[1], int(r[2])) for r in rows}


def read_file_records(spark: SparkSession, root: str | os.PathLike[str]) -> DataFrame | None:
    """The file records of a lakehouse, or ``None`` when none was ever recorded.

    Args:
        spark: Any Delta-ready SparkSession.
        root: The lakehouse root.

    Returns:
        The records (columns :data:`FILE_RECORDS_SCHEMA`).

    Example:
        >>> read_file_records(spark, lakehouse) is None
        True
    """
    location = _location(root)
    if not table_exists(spark, location):
        return None
    return spark.read.format("delta").load(location)


def _utc(value: dt.datetime) -> dt.datetime:
    """A time for a TIMESTAMP column: PySpark reads a naive time as local time, so aware it."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
