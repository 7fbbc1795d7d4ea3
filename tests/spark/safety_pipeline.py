"""A small bronze -> silver -> gold pipeline for the fault-injection tests (test_run_safety.py).

Run by the tests in their own session and, as a separate driver, with the real CLI::

    python -m medallion.cli run tests.spark.safety_pipeline --root R --param landing=L

The environment variable ``SAFETY_PAUSE`` names a moment at which the driver announces itself
(it creates the file ``SAFETY_MARKER``) and then waits, for the test to kill or signal it:

``silver-write``
    in silver's step, after its quarantined rows are written, before its MERGE commits;
``gold-job``
    inside the Spark job that writes gold (a job that sleeps), for SIGINT/SIGTERM.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from medallion import FileSource, Merge, Pipeline, StepContext, Table, changes
from medallion.quality import checks
from medallion.runner import executor

RAW_ORDERS = Table(
    "orders",
    "bronze",
    schema="order_id STRING NOT NULL, customer STRING, amount DOUBLE",
    properties={"delta.enableChangeDataFeed": "true"},
)
ORDERS = Table(
    "orders",
    "silver",
    schema="order_id STRING NOT NULL, customer STRING, amount DOUBLE",
    primary_keys="order_id",
    write=Merge(),
    rules=[checks.not_null("customer"), checks.in_range("amount", 0, None)],
    properties={"delta.enableChangeDataFeed": "true"},
)
TOTALS = Table("totals", "gold", schema="customer STRING, orders BIGINT, amount DOUBLE")

pipeline = Pipeline("safety")

PAUSE = os.environ.get("SAFETY_PAUSE", "")
MARKER = os.environ.get("SAFETY_MARKER", "")


def _announce() -> None:
    Path(MARKER).write_text(str(os.getpid()))


@pipeline.step(RAW_ORDERS)
def raw_orders(ctx: StepContext) -> DataFrame:
    """Every new JSON file of the landing folder."""
    return ctx.read_files(FileSource(ctx.param("landing"), "json"))


@pipeline.step(ORDERS, inputs=[changes(RAW_ORDERS)])
def orders(ctx: StepContext) -> DataFrame:
    """The new bronze rows, checked: no customer or a negative amount is quarantined."""
    rows = ctx.changes(RAW_ORDERS).upserts()
    return ctx.check(rows.select("order_id", "customer", "amount"))


@pipeline.step(TOTALS, inputs=[ORDERS])
def totals(ctx: StepContext) -> DataFrame:
    """Orders and amount per customer."""
    totals = (
        ctx.read(ORDERS)
        .groupBy("customer")
        .agg(F.count("*").alias("orders"), F.sum("amount").alias("amount"))
    )
    if PAUSE == "gold-job":
        _announce()
        # A Spark job that sleeps: the signal arrives while it runs.
        nap = F.expr("java_method('java.lang.Thread', 'sleep', 120000L)")
        totals = totals.where(nap.isNull() | nap.isNotNull())
    return totals


if PAUSE == "silver-write":
    _write = executor.write_by_policy

    def _paused(target: Any, rows: DataFrame, *args: Any, **kwargs: Any) -> Any:
        if target.table is not None and target.table.qualified_name == "silver.orders":
            _announce()
            time.sleep(600)  # killed here: the quarantined rows are written, the MERGE is not
        return _write(target, rows, *args, **kwargs)

    executor.write_by_policy = _paused  # type: ignore[assignment]
