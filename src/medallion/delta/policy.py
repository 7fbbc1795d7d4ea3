"""Writing rows by a write policy: the one place a table's declared policy becomes a commit.

The runner writes every step's rows through :func:`write_by_policy`, and so does
:meth:`DeltaOps.write <medallion.DeltaOps.write>` when no mode is given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from medallion.delta import merge, scd2, write
from medallion.delta._target import Target
from medallion.delta.results import Transaction, WriteResult
from medallion.policies import SCD2, Merge, WritePolicy

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__: list[str] = []


def write_by_policy(
    target: Target,
    rows: DataFrame,
    policy: WritePolicy,
    *,
    load_time: dt.datetime | None = None,
    run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    transaction: Transaction | None = None,
) -> WriteResult:
    """Write ``rows`` into ``target`` by ``policy``, as one Delta commit.

    Args:
        target: The table.
        rows: The rows.
        policy: How to write them.
        load_time: The effective time of an SCD2 version whose policy names no column.
        run_id: Recorded in the commit's userMetadata.
        tags: More key-values for the commit's userMetadata (consumed source versions).
        transaction: Write only if this transaction was not committed before.

    Returns:
        What the write did (a :class:`~medallion.MergeResult` for MERGE and SCD2).
    """
    if isinstance(policy, Merge):
        return merge.merge(
            target,
            rows,
            policy.keys,
            sequence_by=policy.sequence_by,
            delete_when=policy.delete_when,
            only_changed=policy.only_changed,
            run_id=run_id,
            tags=tags,
            transaction=transaction,
        )
    if isinstance(policy, SCD2):
        return scd2.merge_scd2(
            target,
            rows,
            policy,
            load_time=load_time,
            run_id=run_id,
            tags=tags,
            transaction=transaction,
        )
    return write.write(
        target, rows, policy.mode, run_id=run_id, tags=tags, transaction=transaction
    )
