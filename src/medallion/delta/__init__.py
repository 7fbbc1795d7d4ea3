"""Delta Lake operations on medallion tables: :class:`DeltaOps` and its result types."""

from medallion.delta.ops import (
    SAFE_RETENTION_HOURS,
    Commit,
    DeltaOps,
    Diff,
    Increment,
    MergeResult,
    OptimizeResult,
    RetryPolicy,
    TableDetail,
    Transaction,
    VacuumResult,
    consumed_tags,
)

__all__ = [
    "SAFE_RETENTION_HOURS",
    "Commit",
    "DeltaOps",
    "Diff",
    "Increment",
    "MergeResult",
    "OptimizeResult",
    "RetryPolicy",
    "TableDetail",
    "Transaction",
    "VacuumResult",
    "consumed_tags",
]
