r"""Bronze ingestion of JSON, CSV and Parquet files: schema enforcement, rescue, metadata.

Every record of every new file lands in the bronze table, one row each. A record that does not
fit the declared schema (malformed JSON or CSV, a value that does not parse as its column's
type, a null in a ``NOT NULL`` column, unexpected Parquet columns) is still written, with its
raw text in ``_rescued_data`` and the reason in ``_rescue_reason``: nothing is silently dropped.
A file is ingested once: files already in the table (same path and modification time) are
skipped, so running an ingestion twice adds nothing.

Example:
    >>> from pathlib import Path
    >>> from medallion import FileSource, Table, ingest_files
    >>> landing = Path(lakehouse, "landing")
    >>> landing.mkdir()
    >>> _ = (landing / "day1.json").write_text(
    ...     '{"order_id": "o1", "amount": 9.5}\n{"order_id": "o2", "amount": "lots"}\n'
    ... )
    >>> raw_orders = Table("orders", "bronze", schema="order_id STRING NOT NULL, amount DOUBLE")
    >>> result = ingest_files(spark, raw_orders, FileSource(landing, "json"), lakehouse)
    >>> result.rows_written, result.rows_rescued, len(result.files_read)
    (2, 1, 1)
    >>> ingest_files(spark, raw_orders, FileSource(landing, "json"), lakehouse).rows_written
    0
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs
from pyspark.sql import Column, Observation
from pyspark.sql import functions as F
from pyspark.sql import types as T

from medallion._typing import FileFormat
from medallion.errors import IngestError
from medallion.io import WriteResult, create_table, table_exists, write_table
from medallion.layers import Layer
from medallion.policies import WriteMode
from medallion.schema import as_string_schema, to_ddl
from medallion.table import Table, resolve_root

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "FileBatch",
    "FileSource",
    "IngestResult",
    "ingest_files",
    "ingest_result",
    "read_new_files",
]

_FORMATS = ("json", "csv", "parquet")
_CORRUPT = "_corrupt_record"
_DEFAULT_OPTIONS: dict[str, dict[str, str]] = {
    # Strict JSON: Spark's reader accepts single-quoted strings unless told not to.
    "json": {
        "mode": "PERMISSIVE",
        "columnNameOfCorruptRecord": _CORRUPT,
        "allowSingleQuotes": "false",
    },
    "csv": {
        "mode": "PERMISSIVE",
        "columnNameOfCorruptRecord": _CORRUPT,
        "header": "true",
        "enforceSchema": "false",
    },
    "parquet": {"mergeSchema": "true"},
}


def _format(value: str) -> FileFormat:
    lowered = str(value).lower()
    if lowered not in _FORMATS:
        raise IngestError(f"unknown file format {value!r}; choose one of {', '.join(_FORMATS)}")
    return lowered  # type: ignore[return-value]


def _options(value: Mapping[str, Any] | None) -> Mapping[str, str]:
    return MappingProxyType({str(k): str(v) for k, v in dict(value or {}).items()})


@attrs.frozen
class FileSource:
    """Files to ingest: a folder (or file, or glob) and the format they are in.

    Attributes:
        path: A file, a folder (read recursively) or a glob, local or any Hadoop URI; a
            relative local path is made absolute against the working directory.
        format: ``"json"`` (JSON Lines by default), ``"csv"`` or ``"parquet"``.
        options: Reader options, added to medallion's defaults (for CSV ``header=true``; pass
            ``{"multiLine": "true"}`` for JSON documents, ``{"sep": ";"}`` for CSV, ...).
        glob: Only read files whose name matches this pattern (``"*.json"``).

    Example:
        >>> source = FileSource("landing/customers", "csv", options={"sep": ";"})
        >>> source.format
        'csv'
        >>> source.path == os.path.abspath("landing/customers")
        True
    """

    path: str = attrs.field(converter=resolve_root)
    format: FileFormat = attrs.field(converter=_format)
    options: Mapping[str, str] = attrs.field(factory=dict, converter=_options, hash=False)
    glob: str | None = None


@attrs.frozen
class IngestResult(WriteResult):
    """What one ingestion did: the write, and the files read and skipped.

    Attributes:
        rows_rescued: Rows written with ``_rescued_data`` set (they did not fit the schema).
        files_read: The files ingested by this call.
        files_skipped: Files found but skipped because the table already holds them.

    Example:
        >>> result = IngestResult("bronze.orders", WriteMode.APPEND, 0, rows_inserted=2,
        ...                       rows_rescued=1, files_read=("landing/day1.json",))
        >>> result.rows_written, result.rows_rescued
        (2, 1)
    """

    rows_rescued: int = 0
    files_read: tuple[str, ...] = ()
    files_skipped: tuple[str, ...] = ()


def _list_files(spark: SparkSession, source: FileSource) -> list[tuple[str, dt.datetime]]:
    reader = spark.read.format("binaryFile").option("recursiveFileLookup", "true")
    if source.glob:
        reader = reader.option("pathGlobFilter", source.glob)
    try:
        listing = reader.load(source.path).select("path", "modificationTime")
        return [(str(r["path"]), r["modificationTime"]) for r in listing.collect()]
    except Exception as exc:
        if "PATH_NOT_FOUND" in str(exc) or "Path does not exist" in str(exc):
            raise IngestError(f"source path {source.path!r} does not exist") from exc
        raise


def _ingested_files(spark: SparkSession, location: str) -> set[tuple[str, dt.datetime]]:
    if not table_exists(spark, location):
        return set()
    rows = (
        spark.read.format("delta")
        .load(location)
        .select("_source_file", "_source_modified_at")
        .where(F.col("_source_file").isNotNull())
        .distinct()
        .collect()
    )
    return {(str(r[0]), r[1]) for r in rows}


def _mismatched(typed: Sequence[T.StructField], text: Column, column_of: Any) -> Column:
    """A comma-separated list of the columns whose text is set but whose typed value is null."""
    return F.concat_ws(
        ", ",
        *[
            F.when(
                column_of(f.name).isNull()
                & text[f.name].isNotNull()
                & (F.trim(text[f.name]) != ""),
                F.lit(f"{f.name} ({f.dataType.simpleString()})"),
            )
            for f in typed
            if not isinstance(f.dataType, T.StringType)
        ],
    )


def _reason_for_text(fmt: FileFormat, schema: T.StructType, options: Mapping[str, str]) -> Column:
    """The rescue reason of a record whose raw text Spark put in the corrupt-record column.

    The raw text is parsed again with every column read as a string (and the reader's own
    options): a column that has text but no typed value is one whose value does not fit.
    """
    raw = F.col(_CORRUPT)
    strings = as_string_schema(schema)
    parse_options = {
        k: v for k, v in options.items() if k not in ("mode", "columnNameOfCorruptRecord")
    }
    if fmt == "json":
        text = F.from_json(raw, strings, parse_options)
        unreadable = F.lit("malformed JSON record")
    else:
        parse_options.pop("header", None)
        parse_options.pop("enforceSchema", None)
        text = F.from_csv(raw, F.lit(to_ddl(strings)), parse_options)
        unreadable = F.lit(f"malformed CSV record (expected {len(schema.fields)} fields)")
    mismatched = _mismatched(schema.fields, text, lambda name: F.col(f"`{name}`"))
    return F.when(raw.isNull(), F.lit(None)).otherwise(
        F.when(
            text.isNotNull() & (mismatched != ""),
            F.concat(F.lit("value does not fit its column type: "), mismatched),
        ).otherwise(unreadable)
    )


def _read_text_format(
    spark: SparkSession, source: FileSource, schema: T.StructType, files: Sequence[str]
) -> DataFrame:
    options = {**_DEFAULT_OPTIONS[source.format], **source.options}
    read_schema = T.StructType(
        [T.StructField(f.name, f.dataType, True, f.metadata) for f in schema.fields]
        + [T.StructField(_CORRUPT, T.StringType(), True)]
    )
    df = spark.read.format(source.format).options(**options).schema(read_schema).load(list(files))
    return df.select(
        *[F.col(f"`{f.name}`") for f in schema.fields],
        F.col(_CORRUPT).alias("_rescued_data"),
        _reason_for_text(source.format, schema, options).alias("_rescue_reason"),
        F.col("_metadata.file_path").alias("_source_file"),
        F.col("_metadata.file_modification_time").alias("_source_modified_at"),
    )


def _read_parquet(
    spark: SparkSession, source: FileSource, schema: T.StructType, files: Sequence[str]
) -> DataFrame:
    options = {**_DEFAULT_OPTIONS["parquet"], **source.options}
    df = spark.read.format("parquet").options(**options).load(list(files))
    present = {f.name.lower(): f for f in df.schema.fields}
    declared = {f.name.lower() for f in schema.fields}
    columns: list[Column] = []
    problems: list[Column] = []
    rescued: list[Column] = []
    for field in schema.fields:
        actual = present.get(field.name.lower())
        if actual is None:
            columns.append(F.lit(None).cast(field.dataType).alias(field.name))
            continue
        original = F.col(f"`{actual.name}`")
        if actual.dataType == field.dataType:
            columns.append(original.alias(field.name))
            continue
        cast = original.try_cast(field.dataType)
        columns.append(cast.alias(field.name))
        failed = original.isNotNull() & cast.isNull()
        problems.append(
            F.when(
                failed,
                F.lit(
                    f"{field.name} ({actual.dataType.simpleString()} is not "
                    f"{field.dataType.simpleString()})"
                ),
            )
        )
        rescued.append(F.when(failed, original.cast("string")).alias(field.name))
    extra = [f for f in df.schema.fields if f.name.lower() not in declared]
    for field in extra:
        original = F.col(f"`{field.name}`")
        problems.append(F.when(original.isNotNull(), F.lit(f"{field.name} (not in the schema)")))
        rescued.append(original.alias(field.name))
    reason = F.concat_ws(", ", *problems) if problems else F.lit("")
    data = F.to_json(F.struct(*rescued)) if rescued else F.lit(None).cast("string")
    return df.select(
        *columns,
        F.when(reason != "", data).alias("_rescued_data"),
        F.when(reason != "", F.concat(F.lit("value does not fit its column type: "), reason)).alias(
            "_rescue_reason"
        ),
        F.col("_metadata.file_path").alias("_source_file"),
        F.col("_metadata.file_modification_time").alias("_source_modified_at"),
    )


def _with_not_null_check(df: DataFrame, schema: T.StructType) -> DataFrame:
    required = [f.name for f in schema.fields if not f.nullable]
    if not required:
        return df
    nulls = F.concat_ws(
        ", ", *[F.when(F.col(f"`{name}`").isNull(), F.lit(name)) for name in required]
    )
    reason = F.concat(F.lit("null in NOT NULL column(s): "), nulls)
    raw = F.to_json(F.struct(*[F.col(f"`{f.name}`") for f in schema.fields]))
    return df.withColumns(
        {
            "_rescue_reason": F.when(
                F.col("_rescue_reason").isNull() & (nulls != ""), reason
            ).otherwise(F.col("_rescue_reason")),
            "_rescued_data": F.when(F.col("_rescued_data").isNull() & (nulls != ""), raw).otherwise(
                F.col("_rescued_data")
            ),
        }
    )


@attrs.frozen
class FileBatch:
    r"""The records of the files a bronze table has not ingested yet, ready to append.

    Attributes:
        table: The bronze table's qualified name.
        rows: The records, typed by the table's schema, with the metadata columns; counted
            by :attr:`observation` when they are written.
        files_read: The new files.
        files_skipped: Files found but skipped because the table already holds them.
        observation: Counts the rows written (``rows``) and rescued (``rescued``).

    Example:
        >>> from pathlib import Path
        >>> from medallion import FileSource, Table
        >>> landing = Path(lakehouse, "landing")
        >>> landing.mkdir()
        >>> _ = (landing / "day1.json").write_text('{"id": "e1"}\n')
        >>> events = Table("events", "bronze", schema="id STRING")
        >>> batch = read_new_files(spark, events, FileSource(landing, "json"), lakehouse)
        >>> batch.is_empty, [Path(f).name for f in batch.files_read]
        (False, ['day1.json'])
    """

    table: str
    rows: DataFrame = attrs.field(eq=False, repr=False)
    files_read: tuple[str, ...]
    files_skipped: tuple[str, ...]
    observation: Observation | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def is_empty(self) -> bool:
        """Whether no file was new."""
        return not self.files_read

    def counts(self) -> tuple[int, int]:
        """``(rows, rescued)`` once :attr:`rows` has been written; ``(0, 0)`` before.

        Example:
            >>> from medallion import Table
            >>> empty = FileBatch("bronze.events", spark.range(0), (), ())
            >>> empty.counts()
            (0, 0)
        """
        if self.observation is None or self.is_empty:
            return 0, 0
        metrics = self.observation.get
        return int(metrics.get("rows", 0)), int(metrics.get("rescued", 0))


def read_new_files(
    spark: SparkSession,
    table: Table,
    source: FileSource,
    root: str | os.PathLike[str],
    *,
    run_id: str | None = None,
    ingested_at: dt.datetime | None = None,
) -> FileBatch:
    """Read the records of the files a bronze table does not hold yet, enforcing its schema.

    Files are listed first; those whose path and modification time the table already holds
    are skipped (a changed file is read again: bronze keeps every version it saw). New files
    are read in one pass with the declared schema; rows that do not fit keep their raw record
    in ``_rescued_data`` with the reason in ``_rescue_reason``. The metadata columns
    ``_ingested_at``, ``_run_id``, ``_source_file``, ``_source_modified_at`` and
    ``_source_position`` (growing with the record's position in its file) are added.

    Args:
        spark: Any Delta-ready SparkSession.
        table: A bronze table with a schema.
        source: The files to read.
        root: The lakehouse root.
        run_id: The run to record on each row; a new UUID if not given.
        ingested_at: The ingestion time to record (naive means UTC); now if not given.

    Returns:
        The batch: its rows (no rows when no file is new) and the files read and skipped.

    Raises:
        IngestError: The table is not a bronze table, or the source path does not exist.

    Example:
        Only bronze tables take files:

        >>> clean = Table("events", "silver", schema="id STRING", primary_keys="id")
        >>> try:
        ...     read_new_files(spark, clean, FileSource(f"{lakehouse}/landing", "json"), lakehouse)
        ... except IngestError as exc:
        ...     print(exc)
        table 'silver.events': files are ingested into bronze tables only
    """
    if table.layer is not Layer.BRONZE:
        raise IngestError(
            f"table {table.qualified_name!r}: files are ingested into bronze tables only"
        )
    schema = table.require_schema()
    run = run_id or uuid.uuid4().hex
    now = ingested_at or dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)  # PySpark reads a naive time as local time
    location = table.location(root)
    create_table(spark, table, root)

    found = _list_files(spark, source)
    seen = _ingested_files(spark, location)
    new = sorted(path for path, mtime in found if (path, mtime) not in seen)
    skipped = tuple(sorted(path for path, mtime in found if (path, mtime) in seen))
    if not new:
        storage = table.storage_schema
        assert storage is not None
        empty = spark.createDataFrame([], storage)
        return FileBatch(table.qualified_name, empty, (), skipped)

    if source.format == "parquet":
        data = _read_parquet(spark, source, schema, new)
    else:
        data = _read_text_format(spark, source, schema, new)
    data = _with_not_null_check(data, schema).select(
        *[F.col(f"`{f.name}`") for f in schema.fields],
        F.lit(now).cast("timestamp").alias("_ingested_at"),
        F.lit(run).alias("_run_id"),
        "_source_file",
        "_source_modified_at",
        "_rescued_data",
        "_rescue_reason",
        # Within a file, records are read in order and numbered in the order read.
        F.monotonically_increasing_id().alias("_source_position"),
    )
    observation = Observation(f"ingest_{table.name}_{run}")
    observed = data.observe(
        observation,
        F.count(F.lit(1)).alias("rows"),
        F.count("_rescued_data").alias("rescued"),
    )
    return FileBatch(table.qualified_name, observed, tuple(new), skipped, observation)


def ingest_files(
    spark: SparkSession,
    table: Table,
    source: FileSource,
    root: str | os.PathLike[str],
    *,
    run_id: str | None = None,
    ingested_at: dt.datetime | None = None,
) -> IngestResult:
    """Append the records of new files to a bronze table, in one Delta commit.

    The files are read as :func:`read_new_files` reads them; a failed ingestion adds nothing.
    In a pipeline, a step returns ``ctx.read_files(source)`` instead, and the runner appends.

    Args:
        spark: Any Delta-ready SparkSession.
        table: A bronze table with a schema.
        source: The files to read.
        root: The lakehouse root.
        run_id: The run to record on each row; a new UUID if not given.
        ingested_at: The ingestion time to record; now (UTC) if not given.

    Returns:
        The counts of rows written and rescued, the Delta version, and the files read and
        skipped.

    Raises:
        IngestError: The table is not a bronze table, or the source path does not exist.

    Example:
        The module's example shows a second run skipping the files; a missing folder is an
        error naming it:

        >>> events = Table("events", "bronze", schema="id STRING")
        >>> try:
        ...     ingest_files(spark, events, FileSource(f"{lakehouse}/nowhere", "json"), lakehouse)
        ... except IngestError as exc:
        ...     print(str(exc).replace(lakehouse, "<lake>"))
        source path '<lake>/nowhere' does not exist
    """
    run = run_id or uuid.uuid4().hex
    batch = read_new_files(spark, table, source, root, run_id=run, ingested_at=ingested_at)
    if batch.is_empty:
        return IngestResult(
            table.qualified_name,
            WriteMode.APPEND,
            None,
            run_id=run,
            files_skipped=batch.files_skipped,
        )
    written = write_table(batch.rows, table, root, mode=WriteMode.APPEND, run_id=run)
    return ingest_result(written, batch)


def ingest_result(written: WriteResult, batch: FileBatch) -> IngestResult:
    """The result of writing a file batch: the write, with its rows counted while written.

    Args:
        written: The append of :attr:`FileBatch.rows`.
        batch: The batch.

    Returns:
        The ingestion's result.

    Example:
        >>> from medallion import WriteResult
        >>> empty = FileBatch("bronze.events", spark.range(0), (), ("old.json",))
        >>> ingest_result(WriteResult("bronze.events", "append", None), empty).files_skipped
        ('old.json',)
    """
    rows, rescued = batch.counts()
    return IngestResult(
        written.table,
        WriteMode.APPEND,
        written.version,
        rows_inserted=rows if batch.observation is not None else written.rows_inserted,
        run_id=written.run_id,
        rows_rescued=rescued,
        files_read=batch.files_read,
        files_skipped=batch.files_skipped,
    )
