r"""Bronze ingestion of JSON, CSV and Parquet files: schema enforcement, rescue, bad files.

Every record of every new file lands in the bronze table, one row each. A record that does not
fit the declared schema (malformed JSON or CSV, a value that does not parse as its column's
type, a null in a ``NOT NULL`` column, a JSON key or a CSV or Parquet column the schema does
not have, bytes that are not text in the file's encoding) is still written, with the known
columns filled, its raw text in ``_rescued_data`` and the reason in ``_rescue_reason``:
nothing is silently dropped.

A file that cannot be read as a whole (binary content, text not in its encoding, a CSV header
that names none of the schema's columns, a Parquet file without a valid footer) is bad: it is
skipped, recorded with the reason (:mod:`medallion.ingest.records`), and the other files are
ingested. A file without records (zero bytes, a CSV header alone) is recorded as ingested with
0 rows. A file is ingested once: files already in the table (same path and modification time)
or recorded (same path, modification time and size) are skipped, so running an ingestion twice
adds nothing.

Example:
    >>> from pathlib import Path
    >>> from medallion import FileSource, Table, ingest_files
    >>> landing = Path(lakehouse, "landing")
    >>> landing.mkdir()
    >>> _ = (landing / "day1.json").write_text(
    ...     '{"order_id": "o1", "amount": 9.5}\n{"order_id": "o2", "amount": "lots"}\n'
    ... )
    >>> _ = (landing / "day2.json").write_bytes(b"\x1f\x8b\x08\x00 not json \x00\x00")
    >>> raw_orders = Table("orders", "bronze", schema="order_id STRING NOT NULL, amount DOUBLE")
    >>> result = ingest_files(spark, raw_orders, FileSource(landing, "json"), lakehouse)
    >>> result.rows_written, result.rows_rescued, len(result.files_read)
    (2, 1, 1)
    >>> [bad.reason for bad in result.files_bad]
    ['binary content, not text (a NUL byte at offset 3)']
    >>> again = ingest_files(spark, raw_orders, FileSource(landing, "json"), lakehouse)
    >>> again.rows_written, len(again.files_skipped)
    (0, 2)
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import urllib.parse
import uuid
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs
from pyspark.sql import Column, Observation
from pyspark.sql import functions as F
from pyspark.sql import types as T

from medallion._names import quote
from medallion._typing import FileFormat
from medallion.delta._target import Target
from medallion.delta.ops import DeltaOps
from medallion.delta.results import Transaction
from medallion.errors import IngestError
from medallion.ingest.heads import encoding_of, inspect_head, read_heads, stat_files
from medallion.ingest.records import FileRecord, FileStatus, record_files, recorded_files
from medallion.io import WriteResult, create_table, table_exists
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
    "bad_file_from_error",
    "ingest_files",
    "ingest_result",
    "read_new_files",
]

_LOG = logging.getLogger("medallion.ingest")
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
    # Every file's footer is read (and checked) before the data, and no column is dropped
    # because the first file lacks it.
    "parquet": {"mergeSchema": "true"},
}
# Options of the files rather than of their records: not for from_json/from_csv.
_FILE_OPTIONS = {
    "multiline",
    "encoding",
    "charset",
    "linesep",
    "pathglobfilter",
    "recursivefilelookup",
    "modifiedbefore",
    "modifiedafter",
    "ignorecorruptfiles",
    "ignoremissingfiles",
    "mode",
    "columnnameofcorruptrecord",
    "header",
    "enforceschema",
    "samplingratio",
    "inferschema",
}
# Encodings whose JSON medallion reads line by line itself (Spark's decode() takes these).
_LINE_CHARSETS = {
    "utf-8": None,
    "utf8": None,
    "iso-8859-1": "ISO-8859-1",
    "iso8859-1": "ISO-8859-1",
    "latin1": "ISO-8859-1",
    "us-ascii": "US-ASCII",
    "ascii": "US-ASCII",
}
_BAD_ENCODING = (
    "not valid {encoding} text (undecodable bytes became U+FFFD; set the file's encoding: "
    "FileSource(..., options={{'encoding': ...}}))"
)


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
            ``{"multiLine": "true"}`` for JSON documents, ``{"sep": ";"}`` for CSV,
            ``{"encoding": "ISO-8859-1"}`` for text that is not UTF-8, ...).
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
    """What one ingestion did: the write, and the files read, skipped, bad and empty.

    Attributes:
        rows_rescued: Rows written with ``_rescued_data`` set (they did not fit the schema).
        files_read: The files ingested by this call.
        files_skipped: Files found but skipped because the table already holds them, or they
            were recorded before (bad, or without records) and have not changed since.
        files_bad: Files found bad by this call (not read; recorded with the reason).
        files_empty: Files without records found by this call (recorded as ingested, 0 rows).

    Example:
        >>> result = IngestResult("bronze.orders", WriteMode.APPEND, 0, rows_inserted=2,
        ...                       rows_rescued=1, files_read=("landing/day1.json",))
        >>> result.rows_written, result.rows_rescued, result.bad_files_note
        (2, 1, None)
    """

    rows_rescued: int = 0
    files_read: tuple[str, ...] = ()
    files_skipped: tuple[str, ...] = ()
    files_bad: tuple[FileRecord, ...] = ()
    files_empty: tuple[str, ...] = ()

    @property
    def bad_files_note(self) -> str | None:
        """The bad files and their reasons, in one text (for a run's report); ``None`` if none.

        Example:
            >>> import datetime as dt
            >>> from medallion.ingest.records import FileRecord
            >>> bad = FileRecord("file:/in/b.csv", 9, dt.datetime(2026, 3, 1), "bad", "binary")
            >>> IngestResult("bronze.orders", "append", 3, files_bad=(bad,)).bad_files_note
            '1 bad file skipped: file:/in/b.csv: binary'
        """
        return _bad_note(self.files_bad)


def _bad_note(bad: Sequence[FileRecord]) -> str | None:
    if not bad:
        return None
    files = "file" if len(bad) == 1 else "files"
    return f"{len(bad)} bad {files} skipped: " + "; ".join(r.describe() for r in bad)


@attrs.frozen
class _Found:
    """A file as listed: its URI, modification time and size."""

    path: str
    modified: dt.datetime
    size: int

    def record(self, status: FileStatus, reason: str | None = None) -> FileRecord:
        rows = 0 if status is FileStatus.INGESTED else None
        return FileRecord(self.path, self.size, self.modified, status, reason, rows)


def _list_files(spark: SparkSession, source: FileSource) -> list[_Found]:
    reader = spark.read.format("binaryFile").option("recursiveFileLookup", "true")
    if source.glob:
        reader = reader.option("pathGlobFilter", source.glob)
    try:
        listing = reader.load(source.path)
        rows = listing.select("path", "modificationTime", "length").collect()
    except Exception as exc:
        if "PATH_NOT_FOUND" in str(exc) or "Path does not exist" in str(exc):
            raise IngestError(f"source path {source.path!r} does not exist") from exc
        raise
    found = [_Found(str(r[0]), r[1], int(r[2])) for r in rows]
    # The scan leaves out files of zero bytes; the listing behind it has them.
    listed = {_listed_key(f.path) for f in found}
    missing = [p for p in listing.inputFiles() if _path_key(p) not in listed]
    for path, modified_ms, size in stat_files(spark, missing):
        found.append(_Found(path, _local_time(modified_ms), size))
    return found


def _local_time(epoch_ms: int) -> dt.datetime:
    """An epoch time as PySpark returns a TIMESTAMP: naive, in the process's local time."""
    micros = epoch_ms * 1000
    return dt.datetime.fromtimestamp(micros // 1_000_000).replace(microsecond=micros % 1_000_000)


def _ingested_files(
    spark: SparkSession, location: str, version: int | None
) -> set[tuple[str, dt.datetime]]:
    if version is None:
        return set()
    rows = (
        spark.read.format("delta")
        .option("versionAsOf", version)
        .load(location)
        .select("_source_file", "_source_modified_at")
        .where(F.col("_source_file").isNotNull())
        .distinct()
        .collect()
    )
    # Stored as a URI (``_metadata.file_path``: ``my%20lake``); compared as listed (``my lake``).
    return {(_path_key(str(r[0])), r[1]) for r in rows}


# -- why a file failed ---------------------------------------------------------------------------

_FAILED_READ = re.compile(r"\[FAILED_READ_FILE\.[A-Z_]+\] Encountered error while reading file ")
_CAUSE = re.compile(r"^Caused by: [\w.$]+(?:Exception|Error): (.+)$", re.MULTILINE)


def _listed_key(path: str) -> str:
    """A path as the file listing gives it (not URI-encoded) as comparable text."""
    return re.sub(r"^file:/+", "/", path)


def _path_key(path: str) -> str:
    """A file URI as comparable text: ``file:///a``, ``file:/a`` and ``/a`` alike, unquoted."""
    text = urllib.parse.unquote(path)
    return re.sub(r"^file:/+", "/", text)


def _failed_file(exc: BaseException, files: Iterable[_Found]) -> FileRecord | None:
    """The file a failed Spark read names (``FAILED_READ_FILE``), as a bad file with the cause."""
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    text = "\n".join(str(e) for e in chain)
    found = _FAILED_READ.search(text)
    if found is None:
        return None
    rest = text[found.end() :]
    named = _path_key(rest.split("\n", 1)[0])
    for candidate in files:
        key = _path_key(candidate.path)
        if named.startswith(key) and named[len(key) : len(key) + 1] in ("", ".", " "):
            causes = _CAUSE.findall(text)
            detail = causes[-1].strip() if causes else rest.split("\n", 1)[0][len(key) :]
            detail = detail.strip(" .") or "unreadable"
            return candidate.record(FileStatus.BAD, f"cannot be read: {detail}")
    return None


def bad_file_from_error(exc: BaseException, batch: FileBatch) -> FileRecord | None:
    """The file of a batch that made its read fail, as a bad file; ``None`` if none did.

    Spark names the file it could not read (``FAILED_READ_FILE``); when it is one of the
    batch's files, record it (:func:`~medallion.ingest.records.record_files`) and read the
    files again: it is skipped then, and the others are read. :func:`ingest_files` does so.

    Args:
        exc: What the write of :attr:`FileBatch.rows` raised.
        batch: The batch.

    Returns:
        The bad file with the cause, or ``None`` when the error is about no file of the batch.

    Example:
        >>> empty = FileBatch("bronze.events", spark.range(0), (), ())
        >>> bad_file_from_error(RuntimeError("boom"), empty) is None
        True
    """
    return _failed_file(exc, batch.found)


# -- rescue reasons ------------------------------------------------------------------------------


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


def _record_options(options: Mapping[str, str]) -> dict[str, str] | None:
    """The reader's options that apply to one record (for from_json and from_csv).

    ``None`` rather than an empty dict: through Spark Connect an empty options map is sent as
    a ``MAP<VOID, VOID>``, which the functions refuse.
    """
    return {k: v for k, v in options.items() if k.lower() not in _FILE_OPTIONS} or None


def _corrupt_reason(
    fmt: FileFormat,
    raw: Column,
    typed: Sequence[T.StructField],
    text_schema: T.StructType,
    options: Mapping[str, str],
    column_of: Any,
) -> Column:
    """The rescue reason of a record whose raw text Spark put in the corrupt-record column.

    The raw text is parsed again with every column read as a string (and the reader's own
    options): a column that has text but no typed value is one whose value does not fit.
    """
    parse_options = _record_options(options)
    if fmt == "json":
        text = F.from_json(raw, text_schema, parse_options)
        unreadable = F.lit("malformed JSON record")
    else:
        text = F.from_csv(raw, F.lit(to_ddl(text_schema)), parse_options)
        unreadable = F.lit(f"malformed CSV record (expected {len(text_schema.fields)} fields)")
    mismatched = _mismatched(typed, text, column_of)
    return F.when(raw.isNull(), F.lit(None)).otherwise(
        F.when(
            text.isNotNull() & (mismatched != ""),
            F.concat(F.lit("value does not fit its column type: "), mismatched),
        ).otherwise(unreadable)
    )


def _joined(*reasons: Column) -> Column:
    """The reasons that are set, joined by ``"; "``; null when none is."""
    joined = F.concat_ws("; ", *reasons)
    return F.when(joined != "", joined)


def _nullable(schema: T.StructType) -> T.StructType:
    return T.StructType([T.StructField(f.name, f.dataType, True, f.metadata) for f in schema])


def _metadata_columns() -> list[Column]:
    return [
        F.col("_metadata.file_path").alias("_source_file"),
        F.col("_metadata.file_modification_time").alias("_source_modified_at"),
    ]


# -- JSON ----------------------------------------------------------------------------------------


def _read_json(
    spark: SparkSession, source: FileSource, schema: T.StructType, files: Sequence[str]
) -> DataFrame:
    """JSON records, each parsed from its own text: unknown keys are seen, and rescued.

    UTF-8, ISO-8859-1 and US-ASCII files are read as text (one record a line, or the whole
    file with ``multiLine``) and each record is parsed with ``from_json``; other encodings go
    through Spark's JSON reader, which does not tell which keys it did not know.
    """
    options = {**_DEFAULT_OPTIONS["json"], **source.options}
    lowered = {k.lower(): v for k, v in options.items()}
    encoding = encoding_of(options)
    key = encoding.lower().replace("_", "-")
    if key not in _LINE_CHARSETS:
        return _read_with_spark_json(spark, options, schema, files)
    charset = _LINE_CHARSETS[key]
    multiline = lowered.get("multiline", "false").lower() == "true"
    reader = spark.read.format("text")
    if multiline:
        reader = reader.option("wholetext", "true")
    elif "linesep" in lowered:
        reader = reader.option("lineSep", lowered["linesep"])
    lines = reader.load(list(files)).select("value", *_metadata_columns())
    if charset is None:
        valid = F.is_valid_utf8("value")
        text = F.when(valid, F.col("value")).otherwise(F.make_valid_utf8("value"))
    else:
        valid = F.lit(True)
        text = F.decode(F.col("value").cast("binary"), charset)
    text = F.when(text.startswith("\ufeff"), F.substring(text, 2, 1 << 30)).otherwise(text)
    lines = lines.select(
        text.alias("_record"), valid.alias("_valid"), "_source_file", "_source_modified_at"
    )
    if multiline:
        # A document is one record, or an array of records.
        records = F.when(
            F.ltrim(F.col("_record")).startswith("["),
            F.coalesce(F.from_json("_record", T.ArrayType(T.StringType())), F.array("_record")),
        ).otherwise(F.array("_record"))
        lines = lines.select(
            F.explode(records).alias("_record"), "_valid", "_source_file", "_source_modified_at"
        )
    # Blank lines are not records (nor are they to Spark's JSON reader); most lines start a
    # record, and are not trimmed.
    record = F.col("_record")
    lines = lines.where(
        F.when(record.startswith("{"), F.lit(True)).otherwise(
            F.length(F.btrim(record, F.lit(" \t\r\n"))) > 0
        )
    )

    parse_options = {
        **(_record_options(options) or {}),
        "mode": "PERMISSIVE",
        "columnNameOfCorruptRecord": _CORRUPT,
    }
    read_schema = T.StructType([*_nullable(schema).fields, T.StructField(_CORRUPT, T.StringType())])
    known = F.array(*[F.lit(f.name) for f in schema.fields])
    unknown = F.when(
        F.exists(F.json_object_keys(record), lambda k: ~F.array_contains(known, k)),
        F.array_sort(
            F.map_keys(
                F.map_filter(
                    F.from_json(
                        record,
                        "MAP<STRING, STRING>",
                        _record_options(options),
                    ),
                    lambda k, v: v.isNotNull() & ~F.array_contains(known, k),
                )
            )
        ),
    )
    parsed = lines.select(
        F.from_json(record, read_schema, parse_options).alias("_parsed"),
        unknown.alias("_unknown"),
        "_record",
        "_valid",
        "_source_file",
        "_source_modified_at",
    )
    raw = F.col("_parsed").getField(_CORRUPT)
    reason = _joined(
        _corrupt_reason(
            "json",
            raw,
            schema.fields,
            as_string_schema(schema),
            options,
            lambda name: F.col("_parsed").getField(name),
        ),
        F.when(~F.col("_valid"), F.lit(_BAD_ENCODING.format(encoding=encoding))),
        F.when(
            F.size("_unknown") > 0,
            F.concat(F.lit("key(s) not in the schema: "), F.array_join("_unknown", ", ")),
        ),
    )
    return parsed.select(
        *[F.col("_parsed").getField(f.name).alias(f.name) for f in schema.fields],
        F.when(reason.isNotNull(), F.col("_record")).alias("_rescued_data"),
        reason.alias("_rescue_reason"),
        "_source_file",
        "_source_modified_at",
    )


def _read_with_spark_json(
    spark: SparkSession, options: Mapping[str, str], schema: T.StructType, files: Sequence[str]
) -> DataFrame:
    """Spark's JSON reader (an encoding medallion does not decode itself)."""
    read_schema = T.StructType([*_nullable(schema).fields, T.StructField(_CORRUPT, T.StringType())])
    df = spark.read.format("json").options(**options).schema(read_schema).load(list(files))
    raw = F.col(_CORRUPT)
    reason = _corrupt_reason(
        "json", raw, schema.fields, as_string_schema(schema), options, lambda n: F.col(quote(n))
    )
    return df.select(
        *[F.col(quote(f.name)) for f in schema.fields],
        raw.alias("_rescued_data"),
        reason.alias("_rescue_reason"),
        *_metadata_columns(),
    )


# -- CSV -----------------------------------------------------------------------------------------

#: How a CSV file's columns map to the schema: for each column of its header, the declared
#: column it is, or ``None`` (a column the schema lacks); ``None`` for a file read by position.
_Layout = tuple[str | None, ...] | None


def _csv_layout(header: Sequence[str], schema: T.StructType) -> tuple[_Layout, str | None]:
    """A CSV header matched to the schema by name (as Spark does, ignoring case).

    Returns:
        The layout, or ``None`` and why the header cannot be read: it repeats a column, or it
        names none of the schema's columns.
    """
    declared = {f.name.lower(): f.name for f in schema.fields}
    layout: list[str | None] = []
    for name in header:
        column = declared.get(name.lower())
        if column is not None and column in layout:
            return None, f"CSV header repeats column {column!r} (header: {', '.join(header)})"
        layout.append(column)
    if not any(layout):
        return None, (
            f"CSV header names none of the schema's columns (header: {', '.join(header)}; "
            f"schema: {', '.join(schema.fieldNames())})"
        )
    return tuple(layout), None


def _read_csv(
    spark: SparkSession,
    source: FileSource,
    schema: T.StructType,
    files: Sequence[tuple[str, _Layout, tuple[str, ...] | None]],
) -> DataFrame:
    """CSV records, the files of each header layout read with their columns in that order."""
    groups: dict[tuple[_Layout, tuple[str, ...] | None], list[str]] = {}
    for path, layout, header in files:
        groups.setdefault((layout, header), []).append(path)
    frames = [
        _read_csv_group(spark, source, schema, layout, header, paths)
        for (layout, header), paths in groups.items()
    ]
    data = frames[0]
    for more in frames[1:]:
        data = data.unionByName(more)
    return data


def _read_csv_group(
    spark: SparkSession,
    source: FileSource,
    schema: T.StructType,
    layout: _Layout,
    header: tuple[str, ...] | None,
    paths: Sequence[str],
) -> DataFrame:
    options = {**_DEFAULT_OPTIONS["csv"], **source.options}
    by_name = {f.name: f for f in schema.fields}
    if layout is None or header is None:
        read_fields = list(_nullable(schema).fields)
        extras: list[tuple[str, str]] = []
    else:
        # The header was matched by name: read by position in that order, header line skipped.
        options["enforceSchema"] = "true"
        read_fields, extras = [], []
        for i, column in enumerate(layout):
            if column is not None:
                read_fields.append(T.StructField(column, by_name[column].dataType, True))
            else:
                internal = f"_medallion_extra_{i}"
                read_fields.append(T.StructField(internal, T.StringType(), True))
                extras.append((internal, header[i] or f"_c{i}"))
    read_schema = T.StructType([*read_fields, T.StructField(_CORRUPT, T.StringType(), True)])
    df = spark.read.format("csv").options(**options).schema(read_schema).load(list(paths))
    present = [f for f in schema.fields if f.name in {r.name for r in read_fields}]
    raw = F.col(_CORRUPT)
    corrupt = _corrupt_reason(
        "csv",
        raw,
        present,
        as_string_schema(T.StructType(read_fields)),
        options,
        lambda name: F.col(quote(name)),
    )
    # Spark decodes bytes that are not text in the encoding as U+FFFD, silently: say so.
    texts = [(f.name, f.name) for f in present if isinstance(f.dataType, T.StringType)]
    texts += extras
    undecodable = F.concat_ws(
        ", ", *[F.when(F.col(quote(col)).contains("\ufffd"), F.lit(name)) for col, name in texts]
    )
    bad_text = (undecodable != "") | F.coalesce(raw.contains("\ufffd"), F.lit(False))
    named_extras = [F.col(quote(col)).alias(name) for col, name in extras]
    extra_names = F.concat_ws(
        ", ", *[F.when(F.col(quote(col)).isNotNull(), F.lit(name)) for col, name in extras]
    )
    has_extras = raw.isNull() & (extra_names != "") if extras else F.lit(False)
    reason = _joined(
        corrupt,
        F.when(bad_text, F.lit(_BAD_ENCODING.format(encoding=encoding_of(options)))),
        F.when(has_extras, F.concat(F.lit("column(s) not in the schema: "), extra_names)),
    )
    everything = F.to_json(F.struct(*[F.col(quote(f.name)) for f in present], *named_extras))
    rescued = F.coalesce(
        raw,
        F.when(bad_text, everything),
        F.when(has_extras, F.to_json(F.struct(*named_extras))) if extras else F.lit(None),
    )
    return df.select(
        *[
            F.col(quote(f.name)) if f in present else F.lit(None).cast(f.dataType).alias(f.name)
            for f in schema.fields
        ],
        rescued.cast("string").alias("_rescued_data"),
        reason.alias("_rescue_reason"),
        *_metadata_columns(),
    )


# -- Parquet -------------------------------------------------------------------------------------


def _load_parquet(
    spark: SparkSession, source: FileSource, files: Sequence[_Found]
) -> tuple[DataFrame | None, list[FileRecord]]:
    """Load Parquet files, reading every footer first; a file whose footer fails is bad.

    Each failure names its file: it is set aside and the others are loaded again.
    """
    options = {**source.options, **_DEFAULT_OPTIONS["parquet"]}
    remaining, bad = list(files), list[FileRecord]()
    while remaining:
        try:
            df = spark.read.format("parquet").options(**options).load([f.path for f in remaining])
            return df, bad
        except Exception as exc:
            failed = _failed_file(exc, remaining)
            if failed is None:
                raise
            bad.append(failed)
            remaining = [f for f in remaining if f.path != failed.path]
    return None, bad


def _parquet_rows(df: DataFrame, schema: T.StructType) -> DataFrame:
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
        original = F.col(quote(actual.name))
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
        original = F.col(quote(field.name))
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
        *_metadata_columns(),
    )


def _with_not_null_check(df: DataFrame, schema: T.StructType) -> DataFrame:
    required = [f.name for f in schema.fields if not f.nullable]
    if not required:
        return df
    nulls = F.concat_ws(
        ", ", *[F.when(F.col(quote(name)).isNull(), F.lit(name)) for name in required]
    )
    reason = F.concat(F.lit("null in NOT NULL column(s): "), nulls)
    raw = F.to_json(F.struct(*[F.col(quote(f.name)) for f in schema.fields]))
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
        files_read: The new files whose records are in :attr:`rows`.
        files_skipped: Files found but skipped because the table already holds them, or they
            were recorded before (bad, or without records) and have not changed since.
        observation: Counts the rows written (``rows``) and rescued (``rescued``).
        records: The new files that give no row: bad ones (not read, with the reason) and
            those without records; recorded in the lakehouse's file records.
        found: How the files read were listed (path, modification time, size).
        transaction: The Delta transaction to append :attr:`rows` with: keyed by the table
            and the version whose files were compared (``medallion-files/<table>``, that
            version + 1). Of two ingestions that listed the same version, only the first to
            commit appends; Delta skips the other's write, so no file is ingested twice, even
            by runs that overlap without the lakehouse's lease.

    Example:
        >>> from pathlib import Path
        >>> from medallion import FileSource, Table
        >>> landing = Path(lakehouse, "landing")
        >>> landing.mkdir()
        >>> _ = (landing / "day1.json").write_text('{"id": "e1"}\n')
        >>> _ = (landing / "day2.json").write_text('')
        >>> events = Table("events", "bronze", schema="id STRING")
        >>> batch = read_new_files(spark, events, FileSource(landing, "json"), lakehouse)
        >>> batch.is_empty, [Path(f).name for f in batch.files_read]
        (False, ['day1.json'])
        >>> [Path(f).name for f in batch.files_empty], batch.files_bad
        (['day2.json'], ())
    """

    table: str
    rows: DataFrame = attrs.field(eq=False, repr=False)
    files_read: tuple[str, ...]
    files_skipped: tuple[str, ...]
    observation: Observation | None = attrs.field(default=None, eq=False, repr=False)
    records: tuple[FileRecord, ...] = ()
    found: tuple[_Found, ...] = attrs.field(default=(), eq=False, repr=False)
    transaction: Transaction | None = None

    @property
    def is_empty(self) -> bool:
        """Whether no file was new (none read, none found bad or without records)."""
        return not self.files_read and not self.records

    @property
    def files_bad(self) -> tuple[FileRecord, ...]:
        """The new files that cannot be read as a whole: skipped, with the reason."""
        return tuple(r for r in self.records if r.status is FileStatus.BAD)

    @property
    def files_empty(self) -> tuple[str, ...]:
        """The new files without records (recorded as ingested with 0 rows)."""
        return tuple(r.path for r in self.records if r.status is FileStatus.INGESTED)

    @property
    def bad_files_note(self) -> str | None:
        """The bad files and their reasons in one text; ``None`` if there is none."""
        return _bad_note(self.files_bad)

    def counts(self) -> tuple[int, int]:
        """``(rows, rescued)`` once :attr:`rows` has been written; ``(0, 0)`` before.

        Example:
            >>> from medallion import Table
            >>> empty = FileBatch("bronze.events", spark.range(0), (), ())
            >>> empty.counts()
            (0, 0)
        """
        if self.observation is None or not self.files_read:
            return 0, 0
        metrics = self.observation.get
        return int(metrics.get("rows", 0)), int(metrics.get("rescued", 0))


@attrs.frozen
class _Plan:
    """An ingestion's files, listed and sorted: the new ones and the ones skipped."""

    spark: SparkSession = attrs.field(eq=False)
    table: Table
    source: FileSource
    root: str
    run_id: str
    ingested_at: dt.datetime
    new: tuple[_Found, ...]
    skipped: tuple[str, ...]
    version: int | None = None

    @property
    def transaction(self) -> Transaction | None:
        """The idempotent Delta transaction of the append (see :attr:`FileBatch.transaction`)."""
        if self.version is None:
            return None
        return Transaction(f"medallion-files/{self.table.qualified_name}", self.version + 1)


def _plan(
    spark: SparkSession,
    table: Table,
    source: FileSource,
    root: str | os.PathLike[str],
    run_id: str | None,
    ingested_at: dt.datetime | None,
) -> _Plan:
    if table.layer is not Layer.BRONZE:
        raise IngestError(
            f"table {table.qualified_name!r}: files are ingested into bronze tables only"
        )
    table.require_schema()
    now = ingested_at or dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)  # PySpark reads a naive time as local time
    create_table(spark, table, root)
    location = table.location(root)
    # The files the table holds, as of one version: the append is a transaction keyed by it.
    version = Target(spark, location).version() if table_exists(spark, location) else None
    found = _list_files(spark, source)
    seen = _ingested_files(spark, location, version)
    recorded = recorded_files(spark, root, table.qualified_name)

    def known(f: _Found) -> bool:
        listed = (_listed_key(f.path), f.modified) in seen
        return listed or (f.path, f.modified, f.size) in recorded

    return _Plan(
        spark,
        table,
        source,
        resolve_root(root),
        run_id or uuid.uuid4().hex,
        now,
        tuple(sorted((f for f in found if not known(f)), key=lambda f: f.path)),
        tuple(sorted(f.path for f in found if known(f))),
        version,
    )


def _read(plan: _Plan, known_bad: Sequence[FileRecord] = ()) -> FileBatch:
    """The batch of a plan's new files, less those known to be bad."""
    spark, source, table = plan.spark, plan.source, plan.table
    schema = table.require_schema()
    set_aside = {r.path for r in known_bad}
    files = [f for f in plan.new if f.path not in set_aside]
    records = list(known_bad)
    records += [f.record(FileStatus.INGESTED) for f in files if f.size == 0]
    files = [f for f in files if f.size > 0]
    data: DataFrame | None = None
    if files and source.format == "parquet":
        loaded, bad = _load_parquet(spark, source, files)
        records += bad
        files = [f for f in files if f.path not in {r.path for r in bad}]
        data = _parquet_rows(loaded, schema) if loaded is not None else None
    elif files:
        readable, more = _inspect_text(spark, source, schema, files)
        records += more
        files = [f for f, _, _ in readable]
        if readable and source.format == "json":
            data = _read_json(spark, source, schema, [f.path for f in files])
        elif readable:
            data = _read_csv(spark, source, schema, [(f.path, lay, h) for f, lay, h in readable])
    for record in records:
        if record.status is FileStatus.BAD:
            _LOG.warning("%s: bad file skipped: %s", table.qualified_name, record.describe())
    records.sort(key=lambda r: r.path)
    if data is None or not files:
        storage = table.storage_schema
        assert storage is not None
        empty = spark.createDataFrame([], storage)
        return FileBatch(
            table.qualified_name,
            empty,
            (),
            plan.skipped,
            records=tuple(records),
            transaction=plan.transaction,
        )

    data = _with_not_null_check(data, schema).select(
        *[F.col(quote(f.name)) for f in schema.fields],
        F.lit(plan.ingested_at).cast("timestamp").alias("_ingested_at"),
        F.lit(plan.run_id).alias("_run_id"),
        "_source_file",
        "_source_modified_at",
        "_rescued_data",
        "_rescue_reason",
        # Within a file, records are read in order and numbered in the order read.
        F.monotonically_increasing_id().alias("_source_position"),
    )
    observation = Observation(f"ingest_{table.name}_{plan.run_id}_{uuid.uuid4().hex[:8]}")
    observed = data.observe(
        observation,
        F.count(F.lit(1)).alias("rows"),
        F.count("_rescued_data").alias("rescued"),
    )
    return FileBatch(
        table.qualified_name,
        observed,
        tuple(f.path for f in files),
        plan.skipped,
        observation,
        tuple(records),
        tuple(files),
        plan.transaction,
    )


def _inspect_text(
    spark: SparkSession, source: FileSource, schema: T.StructType, files: Sequence[_Found]
) -> tuple[list[tuple[_Found, _Layout, tuple[str, ...] | None]], list[FileRecord]]:
    """Look at the head of each text file.

    Returns:
        The readable files (with their CSV layout and header), and the bad ones and those
        without records, as records.
    """
    options = {**_DEFAULT_OPTIONS[source.format], **source.options}
    heads = read_heads(spark, [f.path for f in files])
    readable: list[tuple[_Found, _Layout, tuple[str, ...] | None]] = []
    records: list[FileRecord] = []
    for found in files:
        head = heads.get(found.path) if heads is not None else None
        if head is None:
            readable.append((found, None, None))
            continue
        look = inspect_head(head, source.format, options)
        if look.bad is not None:
            records.append(found.record(FileStatus.BAD, look.bad))
        elif look.empty:
            records.append(found.record(FileStatus.INGESTED))
        elif look.header is not None:
            layout, problem = _csv_layout(look.header, schema)
            if problem is not None:
                records.append(found.record(FileStatus.BAD, problem))
            else:
                readable.append((found, layout, look.header))
        else:
            readable.append((found, None, None))
    return readable, records


def read_new_files(
    spark: SparkSession,
    table: Table,
    source: FileSource,
    root: str | os.PathLike[str],
    *,
    run_id: str | None = None,
    ingested_at: dt.datetime | None = None,
    record: bool = True,
) -> FileBatch:
    """Read the records of the files a bronze table does not hold yet, enforcing its schema.

    Files are listed first; those whose path and modification time the table already holds,
    and those recorded before (bad, or without records) that have the same size and
    modification time, are skipped (a changed file is read again: bronze keeps every version
    it saw). The head of each new JSON or CSV file is looked at (binary content, text not in
    its encoding, a CSV header that names none of the schema's columns: the file is bad), and
    every Parquet footer is read; the bad files are set aside with the reason, and the others
    are read in one pass with the declared schema. CSV columns are matched by their header's
    names. Rows that do not fit keep their raw record in ``_rescued_data`` with the reason in
    ``_rescue_reason``. The metadata columns ``_ingested_at``, ``_run_id``, ``_source_file``,
    ``_source_modified_at`` and ``_source_position`` (growing with the record's position in
    its file) are added.

    Args:
        spark: Any Delta-ready SparkSession.
        table: A bronze table with a schema.
        source: The files to read.
        root: The lakehouse root.
        run_id: The run to record on each row; a new UUID if not given.
        ingested_at: The ingestion time to record (naive means UTC); now if not given.
        record: Record the bad files and those without records now (in the lakehouse's file
            records); with ``False`` the caller records :attr:`FileBatch.records`.

    Returns:
        The batch: its rows (no rows when no file is new) and the files read, skipped, bad
        and without records.

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
    plan = _plan(spark, table, source, root, run_id, ingested_at)
    batch = _read(plan)
    if record:
        _record(plan, batch.records)
    return batch


def _record(plan: _Plan, records: Sequence[FileRecord]) -> None:
    record_files(
        plan.spark,
        plan.root,
        plan.table.qualified_name,
        records,
        run_id=plan.run_id,
        recorded_at=plan.ingested_at,
    )


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
    When the write fails on a file that passed the checks made before reading (a Parquet
    file whose data is damaged), that file is recorded as bad and the others are read again.
    In a pipeline, a step returns ``ctx.read_files(source)`` instead, and the runner appends.

    Args:
        spark: Any Delta-ready SparkSession.
        table: A bronze table with a schema.
        source: The files to read.
        root: The lakehouse root.
        run_id: The run to record on each row; a new UUID if not given.
        ingested_at: The ingestion time to record; now (UTC) if not given.

    Returns:
        The counts of rows written and rescued, the Delta version, and the files read,
        skipped, bad and without records.

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
    plan = _plan(spark, table, source, root, run_id, ingested_at)
    failed: list[FileRecord] = []
    while True:
        batch = _read(plan, failed)
        _record(plan, batch.records)
        if not batch.files_read:
            return IngestResult(
                table.qualified_name,
                WriteMode.APPEND,
                None,
                run_id=plan.run_id,
                files_skipped=batch.files_skipped,
                files_bad=batch.files_bad,
                files_empty=batch.files_empty,
            )
        try:
            written = DeltaOps.of(spark, table, root).write(
                batch.rows, WriteMode.APPEND, run_id=plan.run_id, transaction=batch.transaction
            )
        except Exception as exc:
            bad = bad_file_from_error(exc, batch)
            if bad is None:
                raise
            failed.append(bad)
            continue
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
    # A skipped idempotent write (another run appended these files first) ran no query: its
    # observation would never be filled.
    rows, rescued = batch.counts() if written.version is not None else (0, 0)
    return IngestResult(
        written.table,
        WriteMode.APPEND,
        written.version,
        rows_inserted=(
            rows if batch.observation is not None and written.version is not None
            else written.rows_inserted
        ),
        run_id=written.run_id,
        rows_rescued=rescued,
        files_read=batch.files_read,
        files_skipped=batch.files_skipped,
        files_bad=batch.files_bad,
        files_empty=batch.files_empty,
    )
