"""Undoing a step's side writes: the rows it quarantined and dead-lettered for a table.

A step writes its quarantined rows and dead letters before its table's commit. When that
commit never happens (the step failed, or its driver died), those rows were not final: a rerun
reads the same input and writes them again. They are deleted, by table and run, so that each
row ends up quarantined or dead-lettered once.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from medallion.delta._target import Target
from medallion.lakehouse import Lakehouse
from medallion.layers import Layer
from medallion.quality.quarantine import discard_quarantine, run_and_table

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["discard_side_writes"]


def discard_side_writes(
    spark: SparkSession, root: str | os.PathLike[str], table: str, run_id: str
) -> None:
    """Delete what a run quarantined and dead-lettered for a table it did not commit to.

    Args:
        spark: The session.
        root: The lakehouse root.
        table: The table's qualified name (``"silver.orders"``).
        run_id: The run.

    Example:
        >>> discard_side_writes(spark, lakehouse, "silver.orders", "r1")  # nothing there: a no-op
    """
    discard_quarantine(spark, root, table, run_id)
    letters = Target(spark, Lakehouse.at(root).dead_letters(Layer(table.split(".", 1)[0])))
    if letters.exists():
        letters.commands().delete(run_and_table(run_id, table))
