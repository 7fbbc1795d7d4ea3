"""Delta Lake operations on medallion tables: :class:`DeltaOps` and its result types.

:class:`DeltaOps` is the public facade; each concern has its own module: :mod:`.results`
(what operations return), :mod:`.tables` (creation, stored schema, conforming data),
:mod:`.write` (append, overwrite, replace partitions), :mod:`.merge`, :mod:`.scd2`,
:mod:`.changes` (Change Data Feed, consumed versions), :mod:`.history` (time travel, restore, diff)
and :mod:`.maintenance` (OPTIMIZE, VACUUM, properties, columns).
"""

from medallion.delta.maintenance import SAFE_RETENTION_HOURS
from medallion.delta.ops import DeltaOps
from medallion.delta.results import (
    Commit,
    Diff,
    MergeResult,
    OptimizeResult,
    RetryPolicy,
    TableDetail,
    Transaction,
    VacuumResult,
    WriteResult,
)

__all__ = [
    "SAFE_RETENTION_HOURS",
    "Commit",
    "DeltaOps",
    "Diff",
    "MergeResult",
    "OptimizeResult",
    "RetryPolicy",
    "TableDetail",
    "Transaction",
    "VacuumResult",
    "WriteResult",
]
