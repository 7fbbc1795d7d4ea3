"""Streaming: quality rules on micro-batches, written exactly once."""

from medallion.streaming.batches import BatchOutcome, CheckedBatchWriter

__all__ = ["BatchOutcome", "CheckedBatchWriter"]
