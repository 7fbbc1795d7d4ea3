"""Benchmark of the e-commerce pipeline: per step and per run, beside the same writes by hand.

For each size (transactions), in a fresh Python process and JVM:

1. generate the data in 100 transaction batches over 200 days (one batch, two days, is 1% of
   the data);
2. start Spark (the time is printed: jars and the JVM's class cache are reused after the
   first start on a machine);
3. land 99 batches and run the whole pipeline (the *full* run); land the last batch (1% new
   transactions) and run again (the *incremental* run); run once more with nothing new (the
   *rerun*);
4. after each run, write by hand, with PySpark and delta-spark on the same session, what each
   step wrote: the same rows, the same way (an append, an overwrite, a MERGE on the same keys
   into a shallow clone of the table as it was before the step). The rows are first copied to
   a scratch Delta table, and the hand-written write reads them from there: it measures the
   write alone, the floor a step can approach (a step also reads its inputs, transforms and
   checks them, and records what it did).

For each step it prints the wall time, the Spark jobs (counted by job group: the runner names
each step's jobs, see :mod:`medallion.runner.jobs`), the Delta commits to the step's table,
rows read and written; the hand-written write's seconds and jobs beside them, and the ratio.
For each run: the totals, the jobs and commits outside the steps (run log, lease), and the
commits to the lakehouse's own tables (quarantine, run log, ingested files). And the peak
resident memory of the driver (the JVM's ``VmHWM``, and the Python process's maximum RSS).

Figures are printed, never asserted: this is not a test. Run it as::

    .venv/bin/python -m benchmarks.pipeline_benchmark                      # 20k, 100k and 1M
    .venv/bin/python -m benchmarks.pipeline_benchmark --sizes 20000        # one size
    .venv/bin/python -m benchmarks.pipeline_benchmark --sizes 10000000 --no-hand
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from medallion import RunResult, StepRun, Table

__all__ = ["main"]

BATCHES = 100
_RUNS = ("full", "incremental", "rerun")


def _java_pids() -> list[int]:
    """The JVMs started by this process (Spark's driver, in local mode)."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")[0]
        except (OSError, IndexError, ValueError):
            continue
        if parent == me and command.endswith(b"java"):
            found.append(int(entry.name))
    return found


def _peak_kib(pid: int) -> int:
    """The peak resident set (VmHWM) of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _commits(root: Path) -> dict[str, int]:
    """The number of commit files of each Delta table under the lakehouse root."""
    found: dict[str, int] = {}
    for log in root.rglob("_delta_log"):
        table = log.parent.relative_to(root).as_posix()
        found[table] = sum(1 for f in log.iterdir() if f.name.endswith(".json"))
    return found


def _jobs(spark: SparkSession, group: str) -> int:
    return len(spark.sparkContext.statusTracker().getJobIdsForGroup(group))


def _job_group(spark: SparkSession, group: str) -> AbstractContextManager[None]:
    from medallion.runner.jobs import local_properties

    return local_properties(spark, {"spark.jobGroup.id": group})


def _rows_written(step: StepRun) -> int:
    write = step.write
    if write is None:
        return 0
    return write.rows_inserted + write.rows_updated + write.rows_deleted


class _Hand:
    """Writes by hand what each step of a run wrote, and counts the cost."""

    def __init__(self, spark: SparkSession, scratch: Path, tables: Mapping[str, Table]) -> None:
        self.spark = spark
        self.scratch = scratch
        self.tables = tables
        self.serial = 0

    def _path(self, name: str) -> str:
        self.serial += 1
        return str(self.scratch / f"{self.serial:03d}-{name}")

    def _changed_rows(self, step: StepRun) -> DataFrame:
        """The rows the step's commit added (new or changed), without Delta's columns."""
        assert step.write is not None and step.location is not None
        reader = self.spark.read.format("delta")
        after = reader.option("versionAsOf", step.write.version).load(step.location)
        if step.version_before is None:
            return after
        before = reader.option("versionAsOf", step.version_before).load(step.location)
        return after.exceptAll(before)

    def write(self, step: StepRun) -> dict[str, Any] | None:
        """Write the step's rows by hand; ``None`` when the step wrote nothing."""
        from delta.tables import DeltaTable

        from medallion import SCD2, Merge, Overwrite, ReplacePartitions

        if step.write is None or step.write.version is None or step.location is None:
            return None
        table = self.tables[step.table]
        policy = table.write
        source = self._path("source")
        # Not measured: the rows are copied to a scratch table the hand-written write reads.
        with _job_group(self.spark, "bench-setup"):
            if isinstance(policy, Overwrite | ReplacePartitions):
                rows = (
                    self.spark.read.format("delta")
                    .option("versionAsOf", step.write.version)
                    .load(step.location)
                )
            else:
                rows = self._changed_rows(step)
            rows.write.format("delta").save(source)
            target = self._path("target")
            merging = isinstance(policy, Merge | SCD2) and step.version_before is not None
            if merging:
                self.spark.sql(
                    f"CREATE TABLE delta.`{target}` SHALLOW CLONE delta.`{step.location}` "
                    f"VERSION AS OF {step.version_before}"
                )
        group = f"bench-hand-{self.serial}"
        clock = time.perf_counter()
        with _job_group(self.spark, group):
            data = self.spark.read.format("delta").load(source)
            if merging:
                assert isinstance(policy, Merge | SCD2)
                keys = policy.keys or table.primary_keys
                condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
                (
                    DeltaTable.forPath(self.spark, target)
                    .alias("t")
                    .merge(data.alias("s"), condition)
                    .whenMatchedUpdateAll()
                    .whenNotMatchedInsertAll()
                    .execute()
                )
                kind = "merge"
            elif isinstance(policy, Overwrite | ReplacePartitions):
                writer = data.write.format("delta").mode("overwrite")
                if table.partition_by:
                    writer = writer.partitionBy(*table.partition_by)
                writer.save(target)
                kind = "overwrite"
            else:
                writer = data.write.format("delta").mode("append")
                if table.partition_by:
                    writer = writer.partitionBy(*table.partition_by)
                writer.save(target)
                kind = "append"
        return {
            "kind": kind,
            "seconds": time.perf_counter() - clock,
            "jobs": _jobs(self.spark, group),
        }


def _run(
    spark: SparkSession,
    name: str,
    root: Path,
    params: Mapping[str, str],
    hand: _Hand | None,
) -> tuple[RunResult, dict[str, Any]]:
    from examples.ecommerce.pipeline import pipeline
    from medallion.runner.jobs import step_job_group

    commits_before = _commits(root)
    group = f"bench-run-{name}"
    clock = time.perf_counter()
    with _job_group(spark, group):
        result = pipeline.run(spark, str(root), params=dict(params))
    wall = time.perf_counter() - clock
    commits_after = _commits(root)
    commits = {t: n - commits_before.get(t, 0) for t, n in commits_after.items()}
    failed = [s.step for s in result.steps if not s.status.ok]
    if failed:
        raise RuntimeError(f"the {name} run failed in {failed}")
    steps = []
    step_tables = set()
    for step in result.steps:
        table_dir = step.table.replace(".", "/")
        step_tables.add(table_dir)
        entry: dict[str, Any] = {
            "step": step.step,
            "status": step.status.value,
            "seconds": step.seconds,
            "jobs": _jobs(spark, step_job_group(result.run_id, step.step)),
            "commits": commits.get(table_dir, 0),
            "rows_read": step.rows_read,
            "rows_written": _rows_written(step),
            "rows_quarantined": step.rows_quarantined,
        }
        if hand is not None:
            entry["hand"] = hand.write(step)
        steps.append(entry)
    other_commits = {t: n for t, n in commits.items() if t not in step_tables and n}
    return result, {
        "wall_s": wall,
        "steps": steps,
        "jobs_outside_steps": _jobs(spark, group),
        "commits": sum(commits.values()),
        "other_commits": other_commits,
    }


def measure(
    transactions: int, work: Path, *, hand: bool = True, conf: Mapping[str, str] | None = None
) -> dict[str, object]:
    """Run the full, incremental and repeated pipeline once at one size (in this process).

    Args:
        transactions: How many transactions to generate.
        work: A scratch folder.
        hand: Also write each step's rows by hand, for comparison.
        conf: Spark settings for the session, over medallion's defaults.

    Returns:
        The figures.
    """
    from examples.ecommerce.demo import land
    from examples.ecommerce.generator import generate
    from examples.ecommerce.pipeline import pipeline
    from medallion import spark_session

    generated, landing, root = work / "generated", work / "landing", work / "lakehouse"
    clock = time.perf_counter()
    manifest = generate(generated, transactions=transactions, batches=BATCHES, days=2 * BATCHES)
    generate_seconds = time.perf_counter() - clock

    clock = time.perf_counter()
    spark = spark_session(
        "medallion-benchmark",
        log_level="ERROR",
        config={"spark.ui.retainedJobs": 1_000_000, **(conf or {})},
    )
    jvm = _java_pids()
    start_seconds = time.perf_counter() - clock
    params = {"landing": str(landing)}
    tables = {s.table.qualified_name: s.table for s in pipeline.steps}
    writer = _Hand(spark, work / "hand", tables) if hand else None

    runs: dict[str, Any] = {}
    land(generated, landing, manifest, BATCHES - 1)
    _, runs["full"] = _run(spark, "full", root, params, writer)
    land(generated, landing, manifest, BATCHES)
    incremental, runs["incremental"] = _run(spark, "incremental", root, params, writer)
    _, runs["rerun"] = _run(spark, "rerun", root, params, writer)
    return {
        "transactions": transactions,
        "new_transactions": manifest.files_for("transactions")[-1].records,
        "generate_s": generate_seconds,
        "spark_start_s": start_seconds,
        "runs": runs,
        "silver_rows_read_incremental": incremental.step("silver.transactions").rows_read,
        "driver_jvm_peak_mib": round(max((_peak_kib(p) for p in jvm), default=0) / 1024),
        "driver_python_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _child(transactions: int, hand: bool, conf: Mapping[str, str]) -> int:
    work = Path(tempfile.mkdtemp(prefix=f"medallion-bench-{transactions}-"))
    try:
        figures = measure(transactions, work, hand=hand, conf=conf)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("FIGURES " + json.dumps(figures), flush=True)
    return 0


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.1f}x" if theirs else "-"


def _report_run(name: str, run: Mapping[str, Any], full_wall: float) -> None:
    share = f" = {run['wall_s'] / full_wall:.0%} of full" if name != "full" else ""
    print(f"\n  {name} run: {run['wall_s']:.1f} s{share}")
    print(
        f"    {'step':<26}{'s':>6}{'jobs':>6}{'commits':>8}{'read':>9}{'written':>9}"
        f"{'hand s':>8}{'hand jobs':>10}{'ratio s':>8}{'jobs-hand':>10}"
    )
    totals = {"seconds": 0.0, "jobs": 0, "commits": 0, "hand_s": 0.0, "hand_jobs": 0}
    for step in run["steps"]:
        hand = step.get("hand")
        read = "-" if step["rows_read"] is None else f"{step['rows_read']:,}"
        line = (
            f"    {step['step']:<26}{step['seconds']:>6.1f}{step['jobs']:>6}{step['commits']:>8}"
            f"{read:>9}{step['rows_written']:>9,}"
        )
        if hand:
            line += (
                f"{hand['seconds']:>8.1f}{hand['jobs']:>10}"
                f"{_ratio(step['seconds'], hand['seconds']):>8}"
                f"{step['jobs'] - hand['jobs']:>+10}  ({hand['kind']})"
            )
            totals["hand_s"] += hand["seconds"]
            totals["hand_jobs"] += hand["jobs"]
        elif step["status"] == "up_to_date":
            line += "  (up to date)"
        print(line)
        totals["seconds"] += step["seconds"]
        totals["jobs"] += step["jobs"]
        totals["commits"] += step["commits"]
    print(
        f"    {'steps':<26}{totals['seconds']:>6.1f}{totals['jobs']:>6}{totals['commits']:>8}"
        f"{'':>18}{totals['hand_s']:>8.1f}{totals['hand_jobs']:>10}"
        f"{_ratio(totals['seconds'], totals['hand_s']):>8}"
    )
    print(
        f"    outside the steps: {run['jobs_outside_steps']} jobs; all commits of the run: "
        f"{run['commits']} (lakehouse tables: {run['other_commits'] or 'none'})"
    )


def _report(figures: dict[str, Any]) -> None:
    runs = figures["runs"]
    print(
        f"\n{figures['transactions']:,} transactions "
        f"(incremental: {figures['new_transactions']:,} new, 1%)"
    )
    print(f"  generate {figures['generate_s']:.1f} s, Spark start {figures['spark_start_s']:.1f} s")
    for name in _RUNS:
        _report_run(name, runs[name], runs["full"]["wall_s"])
    print(f"\n  silver rows read by the incremental run: {figures['silver_rows_read_incremental']}")
    print(
        f"  driver peak memory: JVM {figures['driver_jvm_peak_mib']} MiB (VmHWM), "
        f"Python {figures['driver_python_peak_mib']} MiB"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark at each size in its own process and print the figures.

    Args:
        argv: Command-line arguments (``--help`` lists them).

    Returns:
        0, or 1 if a size failed.
    """
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pipeline_benchmark")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000, 1_000_000])
    parser.add_argument(
        "--no-hand", action="store_true", help="skip the hand-written writes (for 10M)"
    )
    parser.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Spark setting for the benchmark's session (repeatable)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    conf = dict(item.split("=", 1) for item in args.conf)
    if args.child:
        return _child(args.child, not args.no_hand, conf)
    status = 0
    everything = []
    for size in args.sizes:
        print(f"running {size:,} transactions ...", flush=True)
        clock = time.perf_counter()
        command = [sys.executable, "-m", "benchmarks.pipeline_benchmark", "--child", str(size)]
        if args.no_hand:
            command.append("--no-hand")
        for item in args.conf:
            command += ["--conf", item]
        process = subprocess.run(command, capture_output=True, text=True, check=False)
        lines = [x for x in process.stdout.splitlines() if x.startswith("FIGURES ")]
        if process.returncode != 0 or not lines:
            print(process.stderr[-3000:])
            status = 1
            continue
        figures = json.loads(lines[-1].removeprefix("FIGURES "))
        everything.append(figures)
        _report(figures)
        print(f"  (wall time of the whole measurement: {time.perf_counter() - clock:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
