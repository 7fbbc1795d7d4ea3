"""The Delta-ready session: Maven resolution by Spark, or a local folder of jars."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from medallion.errors import JarResolutionError
from medallion.jars import delta_package, fetch_jars
from medallion.runner.jobs import local_properties
from medallion.session import delta_builder, ensure_delta, is_delta_configured, spark_session


def test_the_test_session_is_delta_ready(spark: SparkSession) -> None:
    assert is_delta_configured(spark)
    ensure_delta(spark)
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"


def test_a_running_session_is_returned_unchanged_even_when_not_this_thread_s_active_one(
    spark: SparkSession,
) -> None:
    before = spark.conf.get("spark.sql.shuffle.partitions")
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    jvm.SparkSession.clearActiveSession()  # as in a thread that never used the session
    try:
        assert SparkSession.getActiveSession() is None
        got = spark_session("other", shuffle_partitions=int(before) + 6)
        assert got.sparkContext is spark.sparkContext
        # A builder with settings would have applied them to the running session.
        assert spark.conf.get("spark.sql.shuffle.partitions") == before
        assert spark.conf.get("spark.app.name") == "medallion-tests"
    finally:
        jvm.SparkSession.setActiveSession(spark._jsparkSession)


def test_a_commit_off_utc_is_not_followed_by_a_read_of_the_whole_table(
    spark: SparkSession, tmp_path: Path
) -> None:
    # Off UTC, Delta would re-read the table's state after each commit to verify its checksum.
    path = str(tmp_path / "numbers")
    rows = spark.range(5)
    rows.write.format("delta").save(path)
    verify = "spark.databricks.delta.allFilesInCrc.verificationMode.forceOnNonUTC.enabled"
    assert spark.conf.get(verify) == "false"

    def jobs_of_an_append(group: str) -> int:
        with local_properties(spark, {"spark.jobGroup.id": group}):
            rows.write.format("delta").mode("append").save(path)
        return len(spark.sparkContext.statusTracker().getJobIdsForGroup(group))

    spark.conf.set("spark.sql.session.timeZone", "Europe/Berlin")
    try:
        ours = jobs_of_an_append("off-utc-medallion")
        spark.conf.set(verify, "true")  # Delta's default
        deltas = jobs_of_an_append("off-utc-delta-default")
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
        spark.conf.set(verify, "false")
    assert (ours, deltas > ours) == (1, True)
    assert spark.read.format("delta").load(path).count() == 15


def test_a_jars_folder_without_delta_is_refused(tmp_path: Path) -> None:
    (tmp_path / "other.jar").write_bytes(b"")
    with pytest.raises(JarResolutionError, match="has no delta-spark jar"):
        delta_builder(jars_dir=tmp_path)
    with pytest.raises(JarResolutionError, match="does not exist"):
        delta_builder(jars_dir=tmp_path / "missing")


def test_a_session_runs_delta_from_a_local_jars_folder(tmp_path: Path) -> None:
    """Fetch Delta's jars with mvn, then start a session in a fresh process from that folder."""
    jars = fetch_jars(tmp_path / "jars")
    names = {Path(j).name for j in jars}
    artifact = delta_package().split(":")[1]
    assert any(n.startswith(artifact) for n in names)
    assert not any(
        n.startswith(("scala-library", "jackson-core", "hadoop-client-api")) for n in names
    )

    script = textwrap.dedent(
        f"""
        from medallion import spark_session
        spark = spark_session("offline", jars_dir={str(tmp_path / "jars")!r}, log_level="ERROR")
        spark.range(3).write.format("delta").save({str(tmp_path / "t")!r})
        print("rows", spark.read.format("delta").load({str(tmp_path / "t")!r}).count())
        print("packages", spark.conf.get("spark.jars.packages", "none"))
        spark.stop()
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "MEDALLION_JARS_DIR"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n")[:2] == ["rows 3", "packages none"]
    assert "resolving dependencies" not in done.stderr


_START = textwrap.dedent(
    """
    import sys
    from medallion import spark_session
    spark = spark_session("cached", log_level="ERROR")
    spark.range(3).write.format("delta").mode("overwrite").save(sys.argv[1])
    print("rows", spark.read.format("delta").load(sys.argv[1]).count())
    print("packages", spark.conf.get("spark.jars.packages", "none"))
    print("options", spark.sparkContext.getConf().get("spark.driver.extraJavaOptions", ""))
    """
)


def _start(cache: Path, table: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MEDALLION_JARS_DIR"}
    env["MEDALLION_CACHE_DIR"] = str(cache)
    return subprocess.run(
        [sys.executable, "-c", _START, str(table)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_later_sessions_start_from_the_jar_and_class_cache(tmp_path: Path) -> None:
    """The first session resolves with Ivy and keeps the jars; the next starts from them.

    The second session (the first from cached jars) writes the JVM's class archive when its
    JVM exits; once settled, a third maps it.
    """
    cache = tmp_path / "cache"
    first = _start(cache, tmp_path / "t")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "resolving dependencies" in first.stderr
    kept = next((cache / "jars").iterdir())
    names = (kept / "jars.txt").read_text().split()
    assert any(n.startswith("io.delta_delta-spark_") for n in names)
    # pyspark ships its own Hadoop client: the cache holds no second copy.
    assert not any("hadoop-client" in n for n in names)

    second = _start(cache, tmp_path / "t")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resolving dependencies" not in second.stderr
    # Quiet from the JVM's first line: no start-up warnings, no "Setting default log level"
    # (only the JVM's own notice of the vector module Spark adds).
    assert [line for line in second.stderr.splitlines() if "incubator" not in line] == []
    lines = second.stdout.splitlines()
    assert lines[:2] == ["rows 3", "packages none"]
    assert "-XX:ArchiveClassesAtExit=" in lines[2]

    # The archive is written when the JVM exits (after Python's); it settles for a minute.
    sizes: list[int] = []
    for _ in range(120):  # until the archive's size stops changing
        found = [p.stat().st_size for p in (cache / "jvm").glob("*.partial")]
        sizes.append(found[0] if found else 0)
        if len(sizes) > 3 and sizes[-1] > 0 and len(set(sizes[-3:])) == 1:
            break
        time.sleep(1)
    partial = list((cache / "jvm").glob("*.partial"))
    assert partial and sizes[-1] > 0, "the JVM wrote no class archive"
    old = time.time() - 3600
    os.utime(partial[0], (old, old))
    third = _start(cache, tmp_path / "t")
    assert third.returncode == 0, third.stderr[-3000:]
    assert third.stdout.splitlines()[:2] == ["rows 3", "packages none"]
    assert "-XX:SharedArchiveFile=" in third.stdout.splitlines()[2]
    assert [p.suffix for p in (cache / "jvm").iterdir()] == [".jsa"]


def test_the_cache_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDALLION_CACHE_DIR", "off")
    monkeypatch.delenv("MEDALLION_JARS_DIR", raising=False)
    settings = dict(delta_builder("no-cache")._options)
    assert "spark.jars.packages" in settings
    assert "SharedArchiveFile" not in settings.get("spark.driver.extraJavaOptions", "")
