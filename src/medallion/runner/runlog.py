"""The run log: one Delta row per step of every pipeline run, queryable with Spark SQL.

Example:
    After a run, ask which rules quarantined rows::

        from medallion.runner.runlog import run_log_location
        spark.sql(f"SELECT run_id, table, status, rows_read, rows_written, rows_quarantined "
                  f"FROM delta.`{run_log_location('lakehouse')}` ORDER BY started_at")
"""

from __future__ import annotations

import datetime as dt
import os
from typing import TYPE_CHECKING

from pyspark.sql import functions as F
from pyspark.sql import types as T

from medallion._names import string_literal
from medallion.delta._target import Target, metadata_json
from medallion.delta.ops import DeltaOps
from medallion.delta.write import committed
from medallion.lakehouse import Lakehouse
from medallion.policies import WriteMode
from medallion.runner.results import StepStatus

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from medallion.delta.ops import Transaction
    from medallion.io import WriteResult
    from medallion.runner.results import RunResult

__all__ = [
    "RUN_LOG_SCHEMA",
    "abandon_dead_runs",
    "read_run_log",
    "run_log_location",
    "start_run_log",
    "write_run_log",
]

#: The columns of the run log.
RUN_LOG_SCHEMA = T.StructType(
    [
        T.StructField("run_id", T.StringType(), False),
        T.StructField("pipeline", T.StringType(), False),
        T.StructField("step", T.StringType(), False),
        T.StructField("table", T.StringType(), False),
        T.StructField("layer", T.StringType(), False),
        T.StructField("location", T.StringType(), True),
        T.StructField("run_started_at", T.TimestampType(), False),
        T.StructField("started_at", T.TimestampType(), True),
        T.StructField("ended_at", T.TimestampType(), True),
        T.StructField("status", T.StringType(), False),
        T.StructField("error", T.StringType(), True),
        T.StructField("rows_read", T.LongType(), True),
        T.StructField("rows_written", T.LongType(), True),
        T.StructField("rows_quarantined", T.LongType(), False),
        T.StructField("rows_dropped", T.LongType(), False),
        T.StructField(
            "rule_metrics",
            T.ArrayType(
                T.StructType(
                    [
                        T.StructField("rule", T.StringType(), False),
                        T.StructField("action", T.StringType(), False),
                        T.StructField("rows_checked", T.LongType(), False),
                        T.StructField("rows_failed", T.LongType(), False),
                    ]
                ),
                False,
            ),
            False,
        ),
        T.StructField("delta_version", T.LongType(), True),
        T.StructField("version_before", T.LongType(), True),
        T.StructField("rows_inserted", T.LongType(), True),
        T.StructField("rows_updated", T.LongType(), True),
        T.StructField("rows_deleted", T.LongType(), True),
        T.StructField("note", T.StringType(), True),
    ]
)


def run_log_location(root: str | os.PathLike[str]) -> str:
    """Where a lakehouse's run log lives: ``<root>/_medallion/runs``.

    Args:
        root: The lakehouse root.

    Returns:
        The location.

    Example:
        >>> run_log_location("/data/lakehouse")
        '/data/lakehouse/_medallion/runs'
    """
    return Lakehouse.at(root).run_log()


def _rows(run: RunResult) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for step in run.steps:
        write = step.write
        rows.append(
            (
                run.run_id,
                run.pipeline,
                step.step,
                step.table,
                step.table.split(".", 1)[0],
                step.location,
                _utc(run.started_at),
                _utc(step.started_at),
                _utc(step.ended_at),
                step.status.value,
                step.error,
                step.rows_read,
                write.rows_written if write is not None else None,
                step.rows_quarantined,
                step.rows_dropped,
                [
                    (m.rule, m.action.value, m.rows_checked, m.rows_failed)
                    for m in step.rule_metrics
                ],
                write.version if write is not None else None,
                step.version_before,
                write.rows_inserted if write is not None else None,
                write.rows_updated if write is not None else None,
                write.rows_deleted if write is not None else None,
                step.note,
            )
        )
    return rows


def write_run_log(
    spark: SparkSession,
    root: str | os.PathLike[str],
    run: RunResult,
    *,
    transaction: Transaction | None = None,
    replace: bool = False,
) -> WriteResult:
    """Append one row per step of a run to the run log (one commit).

    Args:
        spark: The session.
        root: The lakehouse root.
        run: The run's result.
        transaction: Append only if this transaction was not committed before (a replayed
            streaming micro-batch is logged once).
        replace: Replace the run's rows already logged (its ``running`` rows, written when it
            started) in the same commit.

    Returns:
        The write.

    Example:
        >>> import datetime as dt
        >>> from medallion.runner.results import RunResult, StepRun
        >>> at = dt.datetime(2026, 1, 2, 3, 4)
        >>> run = RunResult("r1", "sales", at, at, (StepRun("totals", "gold.totals", "failed"),))
        >>> write_run_log(spark, lakehouse, run).rows_inserted
        1
    """
    frame = spark.createDataFrame(_rows(run), RUN_LOG_SCHEMA)
    ops = DeltaOps(spark, run_log_location(root))
    if not replace or not ops.exists():
        return ops.write(frame, "append", run_id=run.run_id, transaction=transaction)
    literal = run.run_id.replace("\\", "\\\\").replace("'", "\\'")
    writer = (
        frame.write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", f"run_id = '{literal}'")
        .option("mergeSchema", "true")  # a run log written by an older medallion
        .option("userMetadata", metadata_json({"medallion_run_id": run.run_id}))
    )
    target = Target(spark, run_log_location(root))
    before = target.version()
    target.retrying("run log write", lambda: writer.save(target.location))
    return committed(target, WriteMode.OVERWRITE, run.run_id, before)[0]


def start_run_log(spark: SparkSession, root: str | os.PathLike[str], run: RunResult) -> None:
    """Log a run as it starts: one ``running`` row per planned step.

    :func:`write_run_log` with ``replace=True`` replaces them when the run ends; if its driver
    dies first, they stay ``running`` until the next run marks them ``abandoned``
    (:func:`abandon_dead_runs`).

    Args:
        spark: The session.
        root: The lakehouse root.
        run: The run, its steps ``running``.

    Example:
        >>> import datetime as dt
        >>> from medallion.runner.results import RunResult, StepRun
        >>> at = dt.datetime(2026, 1, 2, 3, 4)
        >>> run = RunResult("r1", "sales", at, at, (StepRun("totals", "gold.totals", "running"),))
        >>> start_run_log(spark, lakehouse, run)
        >>> read_run_log(spark, lakehouse).select("run_id", "status").collect()
        [Row(run_id='r1', status='running')]
    """
    frame = spark.createDataFrame(_rows(run), RUN_LOG_SCHEMA)
    DeltaOps(spark, run_log_location(root)).write(frame, "append", run_id=run.run_id)


def abandon_dead_runs(
    spark: SparkSession, root: str | os.PathLike[str], found_by: str
) -> tuple[str, ...]:
    """Mark the runs still ``running`` in the log as ``abandoned``: their drivers died.

    Call it only while holding the lakehouse's lease (no other run is live then). For each step
    of such a run whose table holds no commit of the run, the rows the run quarantined and
    dead-lettered for it are deleted: they were never final, and the next run writes them again.

    Args:
        spark: The session.
        root: The lakehouse root.
        found_by: The run that found them (named in their note).

    Returns:
        The ids of the runs marked abandoned.

    Example:
        >>> import datetime as dt
        >>> from medallion.runner.results import RunResult, StepRun
        >>> at = dt.datetime(2026, 1, 2, 3, 4)
        >>> dead = RunResult("r1", "sales", at, at, (StepRun("totals", "gold.totals", "running"),))
        >>> start_run_log(spark, lakehouse, dead)
        >>> abandon_dead_runs(spark, lakehouse, found_by="r2")
        ('r1',)
        >>> read_run_log(spark, lakehouse).select("status").collect()
        [Row(status='abandoned')]
    """
    from medallion.runner.cleanup import discard_side_writes

    ops = Target(spark, run_log_location(root))
    if not ops.exists():
        return ()
    running = F.col("status") == StepStatus.RUNNING.value
    rows = (
        ops.read()
        .where(running & (F.col("run_id") != found_by))
        .select("run_id", "table", "location")
        .collect()
    )
    if not rows:
        return ()
    dead = tuple(sorted({str(r["run_id"]) for r in rows}))
    for row in rows:
        location, run_id = row["location"], str(row["run_id"])
        table = DeltaOps(spark, location) if location else None
        committed_by_run = (
            table is not None
            and table.exists()
            and any(c.run_id == run_id for c in table.history())
        )
        if not committed_by_run:
            discard_side_writes(spark, root, str(row["table"]), run_id)
    ids = ", ".join(string_literal(run) for run in dead)
    note = f"the run's driver died before the step ended (found by run {found_by})"
    ops.commands().update(
        f"status = {string_literal(StepStatus.RUNNING.value)} AND run_id IN ({ids})",
        {"status": string_literal(StepStatus.ABANDONED.value), "note": string_literal(note)},
    )
    return dead


def read_run_log(spark: SparkSession, root: str | os.PathLike[str]) -> DataFrame:
    """Read the run log.

    Args:
        spark: The session.
        root: The lakehouse root.

    Returns:
        One row per step of every run.

    Example:
        >>> from medallion import Pipeline, Table
        >>> pipeline = Pipeline("sales")
        >>> _ = pipeline.step(Table("totals", "gold"), name="totals")(lambda ctx: None)
        >>> _ = pipeline.run(spark, lakehouse, run_id="r1")
        >>> read_run_log(spark, lakehouse).select("run_id", "table", "status").collect()
        [Row(run_id='r1', table='gold.totals', status='succeeded')]
    """
    return spark.read.format("delta").load(run_log_location(root))


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """A naive UTC time made aware: PySpark would read a naive one as the machine's local time."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.timezone.utc)
