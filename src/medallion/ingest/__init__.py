"""Bronze ingestion: files into append-only Delta tables with metadata columns."""

from medallion.ingest.files import FileSource, IngestResult, ingest_files

__all__ = ["FileSource", "IngestResult", "ingest_files"]
