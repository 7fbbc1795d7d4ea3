"""Naming a step's Spark jobs: each runs in the job group of its run and step.

While a step runs, the Spark jobs it starts (those of the step's own code included) carry the
job group ``medallion:<run id>:<step>`` and the description ``medallion <table> (step
<step>)``: Spark's UI and event log show which step started each job, and
``sc.statusTracker().getJobIdsForGroup(step_job_group(run_id, step))`` lists them (the
benchmark counts them that way). The thread's previous group and description come back when
the step ends. Through Spark Connect, which has no SparkContext, nothing is set.

Example:
    >>> step_job_group("20261201T000000-ab12", "silver_orders")
    'medallion:20261201T000000-ab12:silver_orders'
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["local_properties", "step_job_group", "step_jobs"]

_GROUP = "spark.jobGroup.id"
_DESCRIPTION = "spark.job.description"


def step_job_group(run_id: str, step: str) -> str:
    """The Spark job group of a step's jobs in a run.

    Args:
        run_id: The run's id.
        step: The step's name.

    Returns:
        ``"medallion:<run_id>:<step>"``.

    Example:
        >>> step_job_group("r1", "bronze_orders")
        'medallion:r1:bronze_orders'
    """
    return f"medallion:{run_id}:{step}"


@contextmanager
def local_properties(spark: SparkSession, values: Mapping[str, str | None]) -> Iterator[None]:
    """Set Spark local properties of this thread's jobs for the block; restore them after.

    Args:
        spark: The session (classic Spark; through Spark Connect nothing is set).
        values: The properties (``None`` removes one).

    Yields:
        Nothing; the thread's previous values are set again on exit.

    Example:
        >>> with local_properties(spark, {"spark.job.description": "nightly"}):
        ...     spark.sparkContext.getLocalProperty("spark.job.description")
        'nightly'
        >>> spark.sparkContext.getLocalProperty("spark.job.description") is None
        True
    """
    try:
        context = spark.sparkContext
    except Exception:  # Spark Connect has no SparkContext
        yield
        return
    previous = {key: context.getLocalProperty(key) for key in values}
    for key, value in values.items():
        context.setLocalProperty(key, value)  # type: ignore[arg-type]
    try:
        yield
    finally:
        for key, old in previous.items():
            context.setLocalProperty(key, old)  # type: ignore[arg-type]


def step_jobs(
    spark: SparkSession, run_id: str, step: str, table: str
) -> contextlib.AbstractContextManager[None]:
    """Run the block's Spark jobs in the step's job group, with a description naming it.

    Args:
        spark: The session (classic Spark; through Spark Connect nothing is set).
        run_id: The run's id.
        step: The step's name.
        table: The qualified name of the step's table.

    Returns:
        A context manager; the thread's previous group and description come back on exit.

    Example:
        >>> with step_jobs(spark, "r1", "numbers", "gold.numbers"):
        ...     group = spark.sparkContext.getLocalProperty("spark.jobGroup.id")
        >>> group
        'medallion:r1:numbers'
        >>> spark.sparkContext.getLocalProperty("spark.jobGroup.id") is None
        True
    """
    return local_properties(
        spark,
        {
            _GROUP: step_job_group(run_id, step),
            _DESCRIPTION: f"medallion {table} (step {step})",
        },
    )
