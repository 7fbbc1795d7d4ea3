"""The e-commerce pipeline beyond one machine: a standalone cluster and Spark Connect.

The same generated data runs through the pipeline three times, each time as a full run of two
transaction batches and an incremental run of the third: in this process on local Spark, from
a driver process on a Spark standalone cluster (a master and two workers, pyspark's own
classes, separate JVMs), and from a client process of a Spark Connect server with Delta
(which also rolls the incremental run back and runs it again), and on local Spark with the
lakehouse on ``s3a://`` in an S3-compatible server (moto's, from the package index), rolling
back, running again and VACUUMing there. Every silver and gold table, and what the quarantine
holds, must come out the same; the S3 secret key never appears in what the driver printed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyspark
import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from examples.ecommerce.demo import land
from examples.ecommerce.generator import Manifest, generate
from examples.ecommerce.pipeline import pipeline
from medallion import Layer
from medallion.quality.quarantine import quarantine_location, record_key
from medallion.testing.connect import ConnectServer

#: Columns that differ between runs by nature: the time a run loaded a row (and the SCD2
#: validity that follows it); medallion's own columns (the run id, the file path...) start with _.
_VOLATILE = {"ingested_at", "updated_at", "valid_from", "valid_to"}
_REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(path: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            raise RuntimeError(f"{path.name} exited: {path.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    raise TimeoutError(f"no {text!r} in {path} after {timeout}s")


@dataclasses.dataclass(frozen=True)
class Cluster:
    url: str
    wait_for_workers: Callable[[], None]


@pytest.fixture(scope="module")
def standalone_master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    home = Path(pyspark.__file__).parent
    logs = tmp_path_factory.mktemp("standalone")
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
    }
    port = free_port()
    url = f"spark://127.0.0.1:{port}"
    spark_class = str(home / "bin" / "spark-class")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        master_log = logs / "master.log"
        with master_log.open("wb") as out:
            processes.append(
                subprocess.Popen(
                    [
                        spark_class,
                        "org.apache.spark.deploy.master.Master",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--webui-port",
                        str(free_port()),
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            )
        wait_for(master_log, "I have been elected leader", processes[0], 60)
        workers = []
        for number in (1, 2):
            worker_log = logs / f"worker-{number}.log"
            with worker_log.open("wb") as out:
                processes.append(
                    subprocess.Popen(
                        [
                            spark_class,
                            "org.apache.spark.deploy.worker.Worker",
                            url,
                            "--host",
                            "127.0.0.1",
                            "--cores",
                            "1",
                            "--memory",
                            "1g",
                            "--webui-port",
                            str(free_port()),
                            "--work-dir",
                            str(logs / f"work-{number}"),
                        ],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        env=env,
                    )
                )
            workers.append((worker_log, processes[-1]))

        def wait_for_workers() -> None:
            for log, process in workers:
                wait_for(log, "Successfully registered with master", process, 90)

        # The workers register while the driver starts (a driver waits for executors): the
        # test waits for the registrations themselves, alongside the driver.
        yield Cluster(url, wait_for_workers)
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@dataclasses.dataclass(frozen=True)
class S3:
    endpoint: str
    bucket: str
    key: str
    secret: str

    def storage_options(self) -> dict[str, str]:
        """delta-rs's settings for this server (the test reads the s3a tables with it)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.key,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
        }


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3]:
    """moto's S3 server on a free port of 127.0.0.1, with one bucket."""
    port = free_port()
    log = tmp_path_factory.mktemp("s3") / "moto.log"
    server = Path(sys.executable).parent / "moto_server"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(endpoint + "/", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"moto did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.2)
        # moto does not check signatures: an unsigned PUT creates the bucket.
        request = urllib.request.Request(f"{endpoint}/lakehouse", method="PUT")
        urllib.request.urlopen(request, timeout=10)
        yield S3(endpoint, "lakehouse", "medallion-test", "s3cr3t-never-printed-7f3a")
    finally:
        process.terminate()
        process.wait(timeout=30)


@dataclasses.dataclass(frozen=True)
class Runs:
    local: str
    cluster: str
    connect: str
    s3a: str
    facts: dict[str, dict[str, Any]]
    output: dict[str, str]


def _driver(
    where: str, generated: Path, work: Path, root: str | None = None, s3: S3 | None = None
) -> subprocess.Popen[str]:
    """Start the pipeline's driver process for a cluster, a Connect server or s3a."""
    landing = work / "landing"
    root = root or str(work / "lakehouse")
    secrets = {}
    if s3 is not None:
        secrets = {
            "S3_ENDPOINT": s3.endpoint,
            "AWS_ACCESS_KEY_ID": s3.key,
            "AWS_SECRET_ACCESS_KEY": s3.secret,
        }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.spark.pipeline_child",
            where,
            str(generated),
            str(landing),
            root,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=_REPO,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable, **secrets},
    )


def _facts(driver: subprocess.Popen[str], timeout: float) -> tuple[dict[str, Any], str]:
    try:
        stdout, stderr = driver.communicate(timeout=timeout)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.communicate()
    assert driver.returncode == 0, stderr[-4000:]
    last = stdout.strip().splitlines()[-1]
    assert last.startswith("FACTS "), stdout[-2000:]
    facts: dict[str, Any] = json.loads(last.removeprefix("FACTS "))
    return facts, stdout + stderr


@pytest.fixture(scope="module")
def runs(
    spark: SparkSession,
    standalone_master: Cluster,
    connect_server: ConnectServer,
    s3_server: S3,
    tmp_path_factory: pytest.TempPathFactory,
) -> Runs:
    work = tmp_path_factory.mktemp("beyond")
    generated = work / "generated"
    generate(generated, transactions=1_500, batches=3, days=6, seed=11)
    # The drivers run side by side while this process makes the local reference.
    s3a = f"s3a://{s3_server.bucket}/lakehouse"
    drivers = {
        "cluster": _driver(standalone_master.url, generated, work / "cluster"),
        "connect": _driver(connect_server.url, generated, work / "connect"),
        "s3a": _driver("s3a", generated, work / "s3a", s3a, s3_server),
    }
    manifest = Manifest.read(generated / "manifest.json")
    landing, root = work / "local" / "landing", work / "local" / "lakehouse"
    params = {"landing": str(landing)}
    land(generated, landing, manifest, 2)
    pipeline.run(spark, root, params=params, log=False)
    land(generated, landing, manifest, 3)
    pipeline.run(spark, root, params=params, log=False)
    standalone_master.wait_for_workers()
    results = {name: _facts(driver, 1200) for name, driver in drivers.items()}
    return Runs(
        str(root),
        str(work / "cluster" / "lakehouse"),
        str(work / "connect" / "lakehouse"),
        s3a,
        {name: facts for name, (facts, _) in results.items()},
        {name: output for name, (_, output) in results.items()},
    )


def _read(spark: SparkSession, location: str, s3: S3) -> DataFrame:
    """A Delta table: with Spark, or with delta-rs from S3 (this session has no s3a)."""
    if not location.startswith("s3a://"):
        return spark.read.format("delta").load(location)
    from deltalake import DeltaTable

    uri = "s3://" + location.removeprefix("s3a://")
    rows = DeltaTable(uri, storage_options=s3.storage_options()).to_pyarrow_table()
    return spark.createDataFrame(rows)


def _table(spark: SparkSession, root: str, qualified: str, s3: S3) -> DataFrame:
    layer, name = qualified.split(".")
    rows = _read(spark, f"{root}/{layer}/{name}", s3)
    kept = [c for c in rows.columns if not c.startswith("_") and c not in _VOLATILE]
    return rows.select(*kept)


def _quarantined(spark: SparkSession, root: str, s3: S3) -> DataFrame:
    """What the quarantine holds: the table, the record (by its key) and the rules it failed."""
    return _read(spark, quarantine_location(root, Layer.SILVER), s3).select(
        "table",
        record_key(F.col("record"), sorted(_VOLATILE)).alias("record"),
        F.expr("transform(failures, f -> f.rule)").alias("rules"),
    )


def _like(actual: DataFrame, expected: DataFrame) -> DataFrame:
    """``actual`` with the column types of ``expected`` (delta-rs reads some types otherwise)."""
    return actual.select(
        *[F.col(f.name).cast(f.dataType).alias(f.name) for f in expected.schema.fields]
    )


TABLES = [
    s.table.qualified_name for s in pipeline.steps if s.table.layer.value in ("silver", "gold")
]


def test_the_cluster_and_connect_drivers_ran_full_and_incremental_runs(runs: Runs) -> None:
    for where in ("cluster", "connect"):
        facts = runs.facts[where]
        full, incremental = facts["runs"][:2]
        assert {status for status, _, _ in full["steps"].values()} == {"succeeded"}, where
        assert incremental["steps"]["silver.transactions"][0] == "succeeded", where
        assert incremental["steps"]["silver.customers"][0] == "up_to_date", where
    assert runs.facts["cluster"]["master"].startswith("spark://")
    assert runs.facts["cluster"]["connect"] is False
    assert runs.facts["connect"]["connect"] is True


@pytest.mark.parametrize("table", TABLES)
def test_every_table_equals_local_mode(
    spark: SparkSession, runs: Runs, s3_server: S3, table: str
) -> None:
    expected = _table(spark, runs.local, table, s3_server)
    for where in (runs.cluster, runs.connect, runs.s3a):
        assert_df_equality(
            _like(_table(spark, where, table, s3_server), expected),
            expected,
            ignore_row_order=True,
            ignore_nullable=True,
        )


def test_the_quarantine_equals_local_mode(spark: SparkSession, runs: Runs, s3_server: S3) -> None:
    expected = _quarantined(spark, runs.local, s3_server)
    assert expected.count() > 0
    for where in (runs.cluster, runs.connect, runs.s3a):
        assert_df_equality(
            _like(_quarantined(spark, where, s3_server), expected),
            expected,
            ignore_row_order=True,
            ignore_nullable=True,
        )


def test_on_s3a_a_run_rolls_back_reruns_and_vacuums_without_printing_the_secret(
    runs: Runs, s3_server: S3
) -> None:
    facts = runs.facts["s3a"]
    incremental, again = facts["runs"][1:]
    assert "silver.transactions" in facts["rolled_back"]
    assert again["steps"]["silver.transactions"][0] == "succeeded"
    assert facts["run_log_rows"] == len(incremental["steps"])
    # The rollback left files behind (the restored-away versions): VACUUM removed them.
    assert facts["vacuumed"]["silver.transactions"] > 0
    for output in runs.output.values():
        assert s3_server.secret not in output


def test_connect_rolls_back_and_reruns_a_run(runs: Runs) -> None:
    facts = runs.facts["connect"]
    incremental, again = facts["runs"][1:]
    assert "silver.transactions" in facts["rolled_back"]
    assert again["steps"]["silver.transactions"][0] == "succeeded"
    assert again["run_id"] != incremental["run_id"]
    # The run log still holds the rolled-back run, one row per step.
    assert facts["run_log_rows"] == len(incremental["steps"])


def test_delta_ops_work_through_connect(runs: Runs) -> None:
    ops = runs.facts["connect"]["ops"]
    assert ops["merged"] == [0, 1]
    assert ops["operations"] == ["MERGE", "MERGE", "CREATE TABLE"]
    assert ops["as_of_first"] == ["Oslo", "Rome"]
    assert ops["changes"] == [["2", "Pisa", "update_postimage"]]
    assert ops["restored"] == ["RESTORE", ["Oslo", "Rome"]]
    assert ops["optimized"] == [True, ["city"]]
    assert ops["vacuum"] is True
    assert ops["scd2"] == [["Bergen", True], ["Oslo", False]]


def test_medallion_run_remote_runs_the_pipeline_through_connect(
    runs: Runs, connect_server: ConnectServer
) -> None:
    # Last in the module: it runs on the Connect lakehouse again (nothing new to read there).
    landing = Path(runs.connect).parent / "landing"
    command = [
        str(Path(sys.executable).parent / "medallion"),
        "run",
        "examples.ecommerce.pipeline",
        "--remote",
        connect_server.url,
        "--root",
        runs.connect,
        "--param",
        f"landing={landing}",
        "--run-id",
        "remote-rerun",
        "--json",
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=_REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout)
    assert (answer["run"]["run_id"], answer["run"]["state"]) == ("remote-rerun", "ok")
    statuses = {step["table"]: step["status"] for step in answer["results"]}
    assert set(statuses) == {s.table.qualified_name for s in pipeline.steps}
    assert set(statuses.values()) == {"up_to_date"}
