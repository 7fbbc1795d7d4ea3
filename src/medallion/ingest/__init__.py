"""Bronze ingestion: files into append-only Delta tables with metadata columns."""

from medallion.ingest.files import FileSource, IngestResult, ingest_files
from medallion.ingest.records import FileRecord, FileStatus, read_file_records

__all__ = [
    "FileRecord",
    "FileSource",
    "FileStatus",
    "IngestResult",
    "ingest_files",
    "read_file_records",
]
