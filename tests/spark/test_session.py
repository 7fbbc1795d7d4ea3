"""The Delta-ready session: Maven resolution by Spark, or a local folder of jars."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from medallion.errors import JarResolutionError
from medallion.jars import delta_package, fetch_jars
from medallion.session import delta_builder, ensure_delta, is_delta_configured


def test_the_test_session_is_delta_ready(spark: SparkSession) -> None:
    assert is_delta_configured(spark)
    ensure_delta(spark)
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"


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
