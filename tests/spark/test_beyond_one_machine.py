"""medallion on a real Spark standalone cluster (master + worker from pyspark's own scripts).

The library must not assume local mode: this starts a master and a worker as separate JVMs,
then runs bronze ingestion and a MERGE from a driver process that connects to the master.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyspark
import pytest


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
    wait_for_worker: Callable[[], None]


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
        worker_log = logs / "worker.log"
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
                        "2",
                        "--memory",
                        "1g",
                        "--webui-port",
                        str(free_port()),
                        "--work-dir",
                        str(logs / "work"),
                    ],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            )
        # The worker registers while the driver starts (a driver waits for executors): the
        # test waits for the registration itself, alongside the driver.
        yield Cluster(
            url,
            lambda: wait_for(worker_log, "Successfully registered with master", processes[1], 90),
        )
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_ingestion_and_merge_run_on_a_standalone_cluster(
    standalone_master: Cluster, tmp_path: Path
) -> None:
    url = standalone_master.url
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a.json").write_text(
        '{"id": "1", "n": 1}\n{"id": "2", "n": "two"}\n{"id": "3", "n": 3}\n', encoding="utf-8"
    )
    script = textwrap.dedent(
        f"""
        from medallion import FileSource, Table, ingest_files, read_table, spark_session
        from medallion import write_table

        spark = spark_session(
            "standalone-test",
            master={url!r},
            log_level="ERROR",
            config={{"spark.executor.memory": "768m", "spark.cores.max": "2"}},
        )
        raw = Table("items", "bronze", schema="id STRING NOT NULL, n INT")
        items = Table("items", "silver", schema="id STRING NOT NULL, n INT", primary_keys="id")
        root = {str(tmp_path / "lake")!r}
        result = ingest_files(spark, raw, FileSource({str(landing)!r}, "json"), root)
        print("ingested", result.rows_written, result.rows_rescued)
        write_table(read_table(spark, raw, root).select("id", "n"), items, root)
        merged = write_table(spark.createDataFrame([("2", 2)], "id STRING, n INT"), items, root)
        print("merged", merged.rows_inserted, merged.rows_updated)
        rows = sorted(tuple(r) for r in read_table(spark, items, root).collect())
        print("rows", rows)
        print("master", spark.sparkContext.master)
        spark.stop()
        """
    )
    driver = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable},
    )
    try:
        standalone_master.wait_for_worker()
        stdout, stderr = driver.communicate(timeout=400)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.communicate()
    assert driver.returncode == 0, stderr[-4000:]
    # Spark's package resolver prints its own lines first; ours are the last four.
    assert stdout.strip().splitlines()[-4:] == [
        "ingested 3 1",
        "merged 0 1",
        "rows [('1', 1), ('2', 2), ('3', 3)]",
        f"master {url}",
    ]
