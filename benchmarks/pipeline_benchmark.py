"""Benchmark of the e-commerce pipeline: wall time per layer, full and incremental, and memory.

For each size (transactions), in a fresh Python process and JVM:

1. generate the data in 100 transaction batches over 200 days (one batch, two days, is 1% of
   the data);
2. land 99 batches and run the whole pipeline (the *full* run);
3. land the last batch (1% new transactions) and run again (the *incremental* run);
4. report the wall time per layer of both runs and the peak resident memory of the driver
   (the JVM's ``VmHWM`` and the Python process's maximum RSS).

Figures are printed, never asserted: this is not a test. Run it as::

    .venv/bin/python -m benchmarks.pipeline_benchmark                 # 100k and 1M
    .venv/bin/python -m benchmarks.pipeline_benchmark --sizes 100000  # one size
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
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

BATCHES = 100


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


def _layer_seconds(run: object) -> dict[str, float]:
    from medallion import RunResult

    assert isinstance(run, RunResult)
    seconds: dict[str, float] = {}
    for step in run.steps:
        layer = step.table.split(".", 1)[0]
        seconds[layer] = seconds.get(layer, 0.0) + step.seconds
    seconds["total"] = (run.ended_at - run.started_at).total_seconds()
    return seconds


def measure(transactions: int, work: Path) -> dict[str, object]:
    """Run the full and the incremental pipeline once at one size (in this process).

    Args:
        transactions: How many transactions to generate.
        work: A scratch folder.

    Returns:
        The figures.
    """
    from examples.ecommerce.demo import land
    from examples.ecommerce.generator import generate
    from examples.ecommerce.pipeline import pipeline
    from medallion import spark_session

    generated, landing, root = work / "generated", work / "landing", str(work / "lakehouse")
    clock = time.perf_counter()
    manifest = generate(generated, transactions=transactions, batches=BATCHES, days=2 * BATCHES)
    generate_seconds = time.perf_counter() - clock

    clock = time.perf_counter()
    spark = spark_session("medallion-benchmark", log_level="ERROR")
    jvm = _java_pids()
    start_seconds = time.perf_counter() - clock
    params = {"landing": str(landing)}

    land(generated, landing, manifest, BATCHES - 1)
    full = pipeline.run(spark, root, params=params)
    land(generated, landing, manifest, BATCHES)
    incremental = pipeline.run(spark, root, params=params)
    rerun = pipeline.run(spark, root, params=params)
    new_rows = manifest.files_for("transactions")[-1].records
    return {
        "transactions": transactions,
        "new_transactions": new_rows,
        "generate_s": round(generate_seconds, 1),
        "spark_start_s": round(start_seconds, 1),
        "full_s": {k: round(v, 1) for k, v in _layer_seconds(full).items()},
        "incremental_s": {k: round(v, 1) for k, v in _layer_seconds(incremental).items()},
        "rerun_no_new_data_s": round(_layer_seconds(rerun)["total"], 1),
        "silver_rows_read_incremental": incremental.step("silver.transactions").rows_read,
        "driver_jvm_peak_mib": round(max((_peak_kib(p) for p in jvm), default=0) / 1024),
        "driver_python_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _child(transactions: int) -> int:
    work = Path(tempfile.mkdtemp(prefix=f"medallion-bench-{transactions}-"))
    try:
        figures = measure(transactions, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("FIGURES " + json.dumps(figures), flush=True)
    return 0


def _report(figures: dict[str, object]) -> None:
    full = figures["full_s"]
    incremental = figures["incremental_s"]
    assert isinstance(full, dict) and isinstance(incremental, dict)
    print(
        f"\n{figures['transactions']:,} transactions "
        f"(incremental: {figures['new_transactions']:,} new, 1%)"
    )
    print(f"  generate {figures['generate_s']} s, Spark start {figures['spark_start_s']} s")
    print(f"  {'layer':<8}{'full (s)':>10}{'incremental (s)':>17}{'share':>8}")
    for layer in ("bronze", "silver", "gold", "total"):
        f, i = full.get(layer, 0.0), incremental.get(layer, 0.0)
        share = f"{i / f:.0%}" if f else "-"
        print(f"  {layer:<8}{f:>10.1f}{i:>17.1f}{share:>8}")
    print(f"  rerun with no new data: {figures['rerun_no_new_data_s']} s")
    print(f"  silver rows read by the incremental run: {figures['silver_rows_read_incremental']}")
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
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child)
    status = 0
    for size in args.sizes:
        print(f"running {size:,} transactions ...", flush=True)
        clock = time.perf_counter()
        process = subprocess.run(
            [sys.executable, "-m", "benchmarks.pipeline_benchmark", "--child", str(size)],
            capture_output=True,
            text=True,
            check=False,
        )
        lines = [x for x in process.stdout.splitlines() if x.startswith("FIGURES ")]
        if process.returncode != 0 or not lines:
            print(process.stderr[-3000:])
            status = 1
            continue
        _report(json.loads(lines[-1].removeprefix("FIGURES ")))
        print(f"  (wall time of the whole measurement: {time.perf_counter() - clock:.0f} s)")
    return status


if __name__ == "__main__":
    sys.exit(main())
