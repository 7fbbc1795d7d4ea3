r"""The first bytes of text files, looked at before their records are read.

Bronze ingestion reads the head (64 KiB, decompressed) of each new JSON or CSV file from the
driver, before the one pass over the data: a file whose head is binary or not text in its
encoding is bad as a whole, a file with nothing but blank lines (or a CSV header alone) has no
records, and a CSV file's header tells which of its columns are which.

Example:
    >>> look = inspect_head(Head(b"id,amount\n", complete=True), "csv", {"header": "true"})
    >>> look.empty, look.header
    (True, ('id', 'amount'))
    >>> inspect_head(Head(b"\x89PNG\r\n\x1a\n\x00\x00", complete=True), "json", {}).bad
    'binary content, not text (a NUL byte at offset 8)'
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import attrs

from medallion._typing import FileFormat
from medallion.errors import IngestError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "HEAD_BYTES",
    "Head",
    "Look",
    "encoding_of",
    "inspect_head",
    "read_heads",
    "stat_files",
]

#: How many bytes of a file's (decompressed) content are looked at.
HEAD_BYTES = 64 * 1024
_THREADS = 8


@attrs.frozen
class Head:
    r"""The first bytes of a file's content.

    Attributes:
        data: Up to :data:`HEAD_BYTES` bytes, decompressed.
        complete: Whether ``data`` is the whole content.
        error: Why the content could not be read (a corrupt compressed file), if it could not.

    Example:
        >>> Head(b"id,amount\n", complete=True).complete
        True
    """

    data: bytes
    complete: bool
    error: str | None = None


@attrs.frozen
class Look:
    """What the head of a file says about it.

    Attributes:
        bad: Why the file cannot be read as a whole, if it cannot.
        empty: Whether the file has no records (blank lines, or a CSV header alone).
        header: A CSV file's column names, when it has a header line.

    Example:
        >>> Look(bad="binary content").bad
        'binary content'
    """

    bad: str | None = None
    empty: bool = False
    header: tuple[str, ...] | None = None


def encoding_of(options: Mapping[str, str]) -> str:
    """The text encoding a reader's options declare (UTF-8 by default).

    Args:
        options: The reader's options (``encoding``, or its alias ``charset``).

    Returns:
        The encoding's name, as given.

    Example:
        >>> encoding_of({"encoding": "ISO-8859-1"}), encoding_of({})
        ('ISO-8859-1', 'UTF-8')
    """
    for key, value in options.items():
        if key.lower() in ("encoding", "charset") and value:
            return value
    return "UTF-8"


def _option(options: Mapping[str, str], *names: str, default: str) -> str:
    lowered = {k.lower(): v for k, v in options.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return default


def read_heads(spark: SparkSession, paths: Sequence[str]) -> dict[str, Head] | None:
    r"""Read the head of each file through Hadoop's file systems (any URI Spark reads).

    Compressed files (``.gz``, ``.bz2``, ... as Hadoop knows them by their extension) are
    decompressed. The files are read from the driver, a few at a time.

    Args:
        spark: A classic SparkSession (Spark Connect has no driver-side JVM: ``None``).
        paths: The files' URIs, as Spark lists them.

    Returns:
        The heads by path, or ``None`` when they cannot be read from here.

    Raises:
        IngestError: A file cannot be opened (it vanished, or storage failed).

    Example:
        >>> from pathlib import Path
        >>> _ = Path(lakehouse, "a.json").write_text('{"id": 1}\n')
        >>> read_heads(spark, [f"file:{lakehouse}/a.json"])[f"file:{lakehouse}/a.json"]
        Head(data=b'{"id": 1}\n', complete=True, error=None)
    """
    try:
        jvm: Any = spark._jvm
        conf = spark._jsc.hadoopConfiguration()
    except Exception:  # Spark Connect
        return None
    if jvm is None:
        return None
    codecs_by_name = jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(conf)

    def head(path: str) -> Head:
        hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
        try:
            stream = hadoop_path.getFileSystem(conf).open(hadoop_path)
        except Exception as exc:
            raise IngestError(f"file {path} cannot be opened: {_first_line(exc)}") from exc
        try:
            codec = codecs_by_name.getCodec(hadoop_path)
            if codec is not None:
                stream = codec.createInputStream(stream)
            data = bytes(stream.readNBytes(HEAD_BYTES + 1))
        except Exception as exc:
            return Head(b"", False, f"cannot be read: {_first_line(exc)}")
        finally:
            stream.close()
        return Head(data[:HEAD_BYTES], len(data) <= HEAD_BYTES)

    if len(paths) <= 1:
        return {path: head(path) for path in paths}
    with ThreadPoolExecutor(max_workers=min(_THREADS, len(paths))) as pool:
        return dict(zip(paths, pool.map(head, paths), strict=True))


def stat_files(spark: SparkSession, paths: Sequence[str]) -> list[tuple[str, int, int]]:
    """The URI, modification time (epoch milliseconds) and size of files, from their file system.

    Spark's listing of a folder's contents leaves out files of zero bytes; their status comes
    from here. Nothing (an empty list) with Spark Connect, which has no driver-side JVM.

    Args:
        spark: A classic SparkSession.
        paths: The files' URIs.

    Returns:
        One ``(uri, modified_ms, size)`` per file that still exists.

    Example:
        >>> from pathlib import Path
        >>> _ = Path(lakehouse, "empty.json").write_text("")
        >>> [(uri.endswith("/empty.json"), size) for uri, _, size in stat_files(
        ...     spark, [f"file://{lakehouse}/empty.json"])]
        [(True, 0)]
    """
    try:
        jvm: Any = spark._jvm
        conf = spark._jsc.hadoopConfiguration()
    except Exception:  # Spark Connect
        return []
    found = []
    for path in paths:
        hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
        try:
            status = hadoop_path.getFileSystem(conf).getFileStatus(hadoop_path)
        except Exception:  # gone since it was listed
            continue
        found.append(
            (
                str(status.getPath().toString()),
                int(status.getModificationTime()),
                int(status.getLen()),
            )
        )
    return found


def _first_line(exc: BaseException) -> str:
    """The gist of a (Java) exception: its first line, without the py4j preamble."""
    text = str(exc)
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("An error occurred while calling"):
            return line.removeprefix(": ")
    return type(exc).__name__


def _ascii_compatible(encoding: str) -> bool:
    try:
        return "\x00a\n".encode(encoding) == b"\x00a\n"
    except (LookupError, UnicodeError):
        return False


def inspect_head(head: Head, fmt: FileFormat, options: Mapping[str, str]) -> Look:
    r"""What a text file's head says: bad (and why), without records, its CSV header.

    Args:
        head: The file's head.
        fmt: ``"json"`` or ``"csv"``.
        options: The reader's options (``encoding``, CSV ``header``, ``sep``, ``quote``).

    Returns:
        What it says.

    Example:
        >>> latin1 = Head(b'{"name": "caf\xe9"}\n', complete=True)
        >>> print(inspect_head(latin1, "json", {}).bad)  # doctest: +ELLIPSIS
        not UTF-8 text: byte 0xE9 at offset 13 cannot be decoded (set the file's encoding: ...)
        >>> inspect_head(latin1, "json", {"encoding": "ISO-8859-1"}).bad is None
        True
    """
    if head.error is not None:
        return Look(bad=head.error)
    encoding = encoding_of(options)
    data = head.data
    if _ascii_compatible(encoding) and b"\x00" in data:
        return Look(bad=f"binary content, not text (a NUL byte at offset {data.index(0)})")
    try:
        decoder = codecs.getincrementaldecoder(encoding)("strict")
    except LookupError:
        return Look()  # an encoding Python does not know: Spark reads it as it can
    try:
        text = decoder.decode(data, final=head.complete)
    except UnicodeDecodeError as exc:
        byte = data[exc.start]
        return Look(
            bad=(
                f"not {encoding} text: byte 0x{byte:02X} at offset {exc.start} cannot be "
                "decoded (set the file's encoding: FileSource(..., options={'encoding': ...}))"
            )
        )
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        return Look(bad=f"binary content, not text (a NUL character at {text.index(chr(0))})")
    header: tuple[str, ...] | None = None
    rest = text
    if fmt == "csv" and _option(options, "header", default="false").lower() == "true":
        line, _, rest = text.partition("\n")
        header = _csv_header(line.rstrip("\r"), options)
    return Look(empty=head.complete and not rest.strip(), header=header)


def _csv_header(line: str, options: Mapping[str, str]) -> tuple[str, ...]:
    """The names in a CSV header line, as the reader's separator and quote split it."""
    sep = _option(options, "sep", "delimiter", default=",")
    sep = sep.encode().decode("unicode_escape") if sep.startswith("\\") else sep
    quote = _option(options, "quote", default='"')
    if len(sep) != 1 or len(quote) > 1:
        return tuple(name.strip() for name in line.split(sep))
    if quote in ("", "\x00"):
        rows = csv.reader([line], delimiter=sep, quoting=csv.QUOTE_NONE)
    else:
        rows = csv.reader([line], delimiter=sep, quotechar=quote)
    return tuple(name.strip() for name in next(rows, []))
