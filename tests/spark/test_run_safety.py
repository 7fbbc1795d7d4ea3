"""Runs that overlap, die or are stopped: caused for real, compared with an uninterrupted run.

The drivers killed or signalled here are separate processes running the real ``medallion``
command (their JVM included, killed with them); the pipeline is tests/spark/safety_pipeline.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from medallion import LakehouseBusyError, RunCancelledError, StepStatus
from medallion.cli import main
from medallion.runner.lease import Holder, RunLease
from medallion.runner.runlog import read_run_log
from tests.spark import safety_pipeline as safety

REPO = Path(__file__).resolve().parents[2]

ORDERS_1 = (
    '{"order_id": "o1", "customer": "ada", "amount": 10.0}\n'
    '{"order_id": "o2", "customer": null, "amount": 5.0}\n'
    '{"order_id": "o3", "customer": "bob", "amount": -1.0}\n'
)
ORDERS_2 = (
    '{"order_id": "o4", "customer": "ada", "amount": 2.5}\n'
    '{"order_id": "o5", "customer": "cy", "amount": 7.0}\n'
)


def _landing(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    landing.mkdir(exist_ok=True)
    (landing / "day1.json").write_text(ORDERS_1)
    (landing / "day2.json").write_text(ORDERS_2)
    return landing


def _table(spark: SparkSession, root: str, table: str) -> DataFrame:
    return spark.read.format("delta").load(f"{root}/{table.replace('.', '/')}")


def _quarantine(spark: SparkSession, root: str) -> DataFrame:
    return spark.read.format("delta").load(f"{root}/silver/_quarantine").select("record")


@pytest.fixture(scope="module")
def reference(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A lakehouse that ran the pipeline once, uninterrupted, on the same landing files."""
    base = tmp_path_factory.mktemp("reference")
    root = base / "lakehouse"
    root.mkdir()
    safety.pipeline.run(spark, root, params={"landing": str(_landing(base))})
    return str(root)


def _assert_same_tables(spark: SparkSession, root: str, reference: str) -> None:
    for table in ("silver.orders", "gold.totals"):
        assert_df_equality(
            _table(spark, root, table),
            _table(spark, reference, table),
            ignore_row_order=True,
            ignore_nullable=True,
        )
    bronze = _table(spark, root, "bronze.orders").select("order_id", "customer", "amount")
    expected = _table(spark, reference, "bronze.orders").select("order_id", "customer", "amount")
    assert_df_equality(bronze, expected, ignore_row_order=True, ignore_nullable=True)
    assert_df_equality(
        _quarantine(spark, root), _quarantine(spark, reference), ignore_row_order=True
    )


def _driver(
    root: str, landing: Path, marker: Path | None = None, pause: str = ""
) -> subprocess.Popen[str]:
    """A separate driver running the pipeline with the real CLI (its own JVM)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "SAFETY_PAUSE": pause}
    if marker is not None:
        env["SAFETY_MARKER"] = str(marker)
    command = [sys.executable, "-m", "medallion.cli", "run", "tests.spark.safety_pipeline"]
    return subprocess.Popen(
        [*command, "--root", root, "--param", f"landing={landing}", "--quiet"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for(marker: Path, driver: subprocess.Popen[str], seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not marker.exists():
        if driver.poll() is not None:
            out, err = driver.communicate()
            raise AssertionError(f"the driver ended before the moment: {out}\n{err}")
        if time.monotonic() > deadline:
            raise AssertionError("the driver did not reach the moment in time")
        time.sleep(0.2)


def test_a_second_run_fails_at_once_naming_the_run_that_holds_the_lakehouse(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    params = {"landing": str(_landing(tmp_path))}
    held = RunLease.take(lakehouse, Holder.of("nightly-1", "safety"))
    try:
        with pytest.raises(LakehouseBusyError) as busy:
            safety.pipeline.run(spark, lakehouse, params=params)
        assert "run nightly-1 of pipeline 'safety'" in str(busy.value)
        assert " since " in str(busy.value)
        assert not Path(lakehouse, "bronze").exists()  # nothing was read or written

        # Waiting: the holder ends two seconds later, and the run goes on.
        threading.Timer(2.0, held.release).start()
        result = safety.pipeline.run(spark, lakehouse, params=params, wait=60)
    finally:
        held.release()
    assert result.succeeded
    assert RunLease.holder_of(lakehouse) is None  # given back
    assert _table(spark, lakehouse, "bronze.orders").count() == 5


def test_two_drivers_started_together_ingest_every_file_once(
    spark: SparkSession, lakehouse: str, tmp_path: Path, reference: str
) -> None:
    landing = _landing(tmp_path)
    drivers = [_driver(lakehouse, landing), _driver(lakehouse, landing)]
    outcomes = [(d.wait(600), *d.communicate()) for d in drivers]
    codes = sorted(code for code, _, _ in outcomes)
    if codes == [0, 0]:
        # The first ended before the second took the lease: the second found nothing new.
        pass
    else:
        assert codes == [0, 1], outcomes
        refused = next(err for code, _, err in outcomes if code == 1)
        assert "holds the lakehouse" in refused and "of pipeline 'safety'" in refused, refused
    _assert_same_tables(spark, lakehouse, reference)


def test_a_driver_killed_mid_step_is_abandoned_and_a_rerun_quarantines_once(
    spark: SparkSession,
    lakehouse: str,
    tmp_path: Path,
    reference: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    landing, marker = _landing(tmp_path), tmp_path / "marker"
    driver = _driver(lakehouse, landing, marker, pause="silver-write")
    try:
        _wait_for(marker, driver)
    finally:
        os.killpg(driver.pid, signal.SIGKILL)  # the driver and its JVM
        driver.wait(60)
    log = read_run_log(spark, lakehouse)
    killed = log.first()["run_id"]
    assert {r["status"] for r in log.collect()} == {"running"}
    # It quarantined silver's rows, then died before its MERGE.
    assert _quarantine(spark, lakehouse).count() == 2
    assert RunLease.holder_of(lakehouse).run_id == killed  # its lease outlived it

    code = main(["rollback", killed, "--root", lakehouse, "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "bronze.orders: would restore" in out and "silver.orders: unchanged" in out

    rerun = safety.pipeline.run(spark, lakehouse, params={"landing": str(landing)})
    assert rerun.succeeded
    statuses = {
        (r["run_id"], r["table"]): r["status"] for r in read_run_log(spark, lakehouse).collect()
    }
    assert {s for (run, _), s in statuses.items() if run == killed} == {"abandoned"}
    assert statuses[(rerun.run_id, "bronze.orders")] == StepStatus.UP_TO_DATE.value
    _assert_same_tables(spark, lakehouse, reference)  # quarantined once, nothing lost

    assert main(["runs", "--root", lakehouse]) == 0
    listed = capsys.readouterr().out
    assert f"{killed}  safety  abandoned" in listed


def test_sigint_cancels_the_step_logs_the_run_cancelled_and_exits_130(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    landing, marker = _landing(tmp_path), tmp_path / "marker"
    driver = _driver(lakehouse, landing, marker, pause="gold-job")
    try:
        _wait_for(marker, driver)
        time.sleep(3)  # the gold job is running
        os.killpg(driver.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
        code = driver.wait(120)
        _, err = driver.communicate()
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    assert code == 130, err
    # One line of ours, and no Python traceback (the JVM's own log lines are Spark's).
    ours = [line for line in err.splitlines() if line.startswith("medallion:")]
    assert len(ours) == 1, err
    assert "Traceback" not in err and "Py4J" not in err, err
    assert "cancelled by SIGINT" in ours[0] and "2 of 3 step(s) committed" in ours[0]
    statuses = {r["table"]: r["status"] for r in read_run_log(spark, lakehouse).collect()}
    assert statuses == {
        "bronze.orders": "succeeded",
        "silver.orders": "succeeded",
        "gold.totals": "cancelled",
    }
    gold = Path(lakehouse, "gold", "totals")
    assert not gold.exists() or _table(spark, lakehouse, "gold.totals").count() == 0
    assert RunLease.holder_of(lakehouse) is None


def test_sigterm_in_this_driver_stops_the_run_between_steps(
    spark: SparkSession, lakehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "marker"
    monkeypatch.setattr(safety, "PAUSE", "gold-job")
    monkeypatch.setattr(safety, "MARKER", str(marker))

    sent: list[float] = []

    def terminate_when_gold_runs() -> None:
        while not marker.exists():
            time.sleep(0.1)
        time.sleep(2)
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGTERM)

    handler = signal.getsignal(signal.SIGTERM)
    threading.Thread(target=terminate_when_gold_runs, daemon=True).start()
    with pytest.raises(RunCancelledError) as cancelled:
        safety.pipeline.run(spark, lakehouse, params={"landing": str(_landing(tmp_path))})
    # The job sleeping 120 s was cancelled, not waited for.
    assert time.monotonic() - sent[0] < 60
    assert cancelled.value.exit_code == 143
    steps = {s.table: s.status for s in cancelled.value.result.steps}
    assert steps["gold.totals"] is StepStatus.CANCELLED
    assert steps["silver.orders"] is StepStatus.SUCCEEDED
    logged = read_run_log(spark, lakehouse).where(F.col("table") == "gold.totals").first()
    assert logged["status"] == "cancelled"
    assert signal.getsignal(signal.SIGTERM) is handler  # the handler given back


def test_two_ingestions_that_listed_the_same_version_append_the_files_once(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    """Without the lease (two drivers on an object store, or ingest_files by hand)."""
    from medallion import DeltaOps, FileSource
    from medallion.ingest.files import read_new_files

    source = FileSource(_landing(tmp_path), "json")
    first = read_new_files(spark, safety.RAW_ORDERS, source, lakehouse)
    second = read_new_files(spark, safety.RAW_ORDERS, source, lakehouse)  # the same version
    assert first.transaction == second.transaction is not None
    bronze = DeltaOps.of(spark, safety.RAW_ORDERS, lakehouse)
    assert bronze.write(first.rows, "append", transaction=first.transaction).rows_inserted == 5
    skipped = bronze.write(second.rows, "append", transaction=second.transaction)
    assert skipped.version is None  # Delta skipped it: that transaction was committed
    assert bronze.read().count() == 5


def test_ingestions_started_together_in_threads_ingest_every_file_once(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    from medallion import FileSource, create_table, ingest_files

    source = FileSource(_landing(tmp_path), "json")
    create_table(spark, safety.RAW_ORDERS, lakehouse)
    start = threading.Barrier(2)
    written: list[int] = []

    def ingest() -> None:
        start.wait()
        written.append(ingest_files(spark, safety.RAW_ORDERS, source, lakehouse).rows_written)

    threads = [threading.Thread(target=ingest) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert sorted(written) == [0, 5]
    assert _table(spark, lakehouse, "bronze.orders").count() == 5


def test_a_step_whose_write_fails_leaves_no_quarantined_rows_or_dead_letters(
    spark: SparkSession, lakehouse: str
) -> None:
    import datetime as dt

    from medallion import Pipeline, StepFailedError, Table
    from medallion.quality import checks
    from medallion.streaming.kafka import DEAD_LETTER_SCHEMA

    table = Table(
        "letters",
        "silver",
        schema="id STRING NOT NULL, n INT",
        primary_keys="id",
        rules=[checks.in_range("n", 0, None)],
    )
    pipeline = Pipeline("letters")
    at = dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc)

    @pipeline.step(table)
    def letters(ctx):  # type: ignore[no-untyped-def]
        unreadable = (table.qualified_name, None, None, None, None, None, b"\x00", "garbage")
        ctx.dead_letter(
            spark.createDataFrame([(*unreadable, ctx.run_id, at)], DEAD_LETTER_SCHEMA)
        )
        rows = ctx.check(spark.createDataFrame([("a", 1), ("b", -1)], "id STRING, n INT"))
        # The quarantined row (b) is written first; then the table's write fails.
        boom = F.when(F.col("n") > 0, F.raise_error(F.lit("boom"))).otherwise(F.col("n"))
        return rows.withColumn("n", boom.cast("int"))

    with pytest.raises(StepFailedError):
        pipeline.run(spark, lakehouse)
    for side in ("silver/_quarantine", "silver/_dead_letters"):
        path = Path(lakehouse, side)
        assert path.exists(), side  # written before the table's write failed
        assert spark.read.format("delta").load(str(path)).count() == 0, side
