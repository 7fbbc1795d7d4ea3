"""Streaming: quality rules on micro-batches, written exactly once."""

from medallion.streaming.batches import BatchOutcome, CheckedBatchWriter, start_micro_batches

__all__ = ["BatchOutcome", "CheckedBatchWriter", "start_micro_batches"]
