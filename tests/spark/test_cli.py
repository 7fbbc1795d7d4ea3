"""The ``medallion`` command on real Spark and Delta: run, dry-run, runs, history, maintenance,
and rolling a run back with the run log.

The read-only commands (runs, history, describe, quarantine) read with delta-rs, without a JVM:
their answers are checked against what Spark reads from the same tables.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from medallion import DeltaOps, Layer
from medallion.cli import main
from medallion.quality.quarantine import quarantine_location, read_quarantine
from medallion.runner.runlog import read_run_log

PIPELINE = textwrap.dedent(
    """
    from pyspark.sql import functions as F

    from medallion import Overwrite, Pipeline, Table
    from medallion.quality import checks

    SCORES = Table(
        "scores", "silver", schema="id BIGINT, score BIGINT", primary_keys="id",
        rules=[checks.in_range("score", 0, None)],
    )
    BOARD = Table("board", "gold", schema="band STRING, players BIGINT", write=Overwrite())
    pipeline = Pipeline("game")


    @pipeline.step(SCORES)
    def scores(ctx):
        n = int(ctx.param("n"))
        offset = int(ctx.param("offset"))
        rows = ctx.spark.range(n).select(
            "id", (F.col("id") * 10 - offset).alias("score")
        )
        return ctx.check(rows, source="generated")


    @pipeline.step(BOARD, inputs=[SCORES])
    def board(ctx):
        if ctx.params.get("explode"):
            raise ValueError("the board exploded")
        return ctx.read(SCORES).groupBy(
            F.when(F.col("score") >= 20, "high").otherwise("low").alias("band")
        ).agg(F.count("*").alias("players"))
    """
)


@pytest.fixture
def game(tmp_path: Path) -> str:
    path = tmp_path / "game.py"
    path.write_text(PIPELINE)
    return f"{path}:pipeline"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_run_history_and_rollback_of_a_run(
    spark: SparkSession, lakehouse: str, game: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        capsys, "run", game, "--root", lakehouse, "--param", "n=3", "--param", "offset=0",
        "--run-id", "first",
    )  # fmt: skip
    assert code == 0
    assert "[1/2] scores -> silver.scores ..." in out
    assert "run first of pipeline 'game': succeeded" in out
    scores = f"{lakehouse}/silver/scores"
    after_first = spark.read.format("delta").load(scores).collect()

    # The second run changes scores (one quarantined) and the board.
    code, out, _ = _run(
        capsys, "run", game, "--root", lakehouse, "--param", "n=4", "--param", "offset=5",
        "--run-id", "second", "--quiet",
    )  # fmt: skip
    assert code == 0 and "1 quarantined" in out
    quarantine = quarantine_location(lakehouse, Layer.SILVER)
    assert spark.read.format("delta").load(quarantine).count() == 1

    code, out, _ = _run(capsys, "runs", "--root", lakehouse)
    assert code == 0 and out.index("second") < out.index("first")
    code, out, _ = _run(capsys, "history", "silver.scores", "--root", lakehouse)
    assert code == 0 and "MERGE" in out and "run second" in out
    code, out, _ = _run(capsys, "quarantine", "--root", lakehouse, "--run", "second")
    assert code == 0 and "silver.scores: 1 open" in out and "score_in_range" in out

    code, out, _ = _run(capsys, "rollback", "second", "--root", lakehouse, "--dry-run")
    assert code == 0
    assert "gold.board: would restore" in out and "would delete 1 row(s)" in out

    code, out, _ = _run(capsys, "rollback", "second", "--root", lakehouse)
    assert code == 0, out
    assert "silver.scores: restored" in out and "gold.board: restored" in out
    assert_df_equality(
        spark.read.format("delta").load(scores),
        spark.createDataFrame(after_first, "id BIGINT, score BIGINT"),
        ignore_row_order=True,
    )
    assert spark.read.format("delta").load(quarantine).count() == 0
    assert_df_equality(
        spark.read.format("delta").load(f"{lakehouse}/gold/board"),
        spark.createDataFrame([("high", 1), ("low", 2)], "band STRING, players BIGINT"),
        ignore_row_order=True,
    )


def test_rollback_refuses_tables_a_later_run_changed(
    spark: SparkSession, lakehouse: str, game: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for run_id, n in (("one", "2"), ("two", "5")):
        assert main(["run", game, "--root", lakehouse, "--param", f"n={n}",
                     "--param", "offset=0", "--run-id", run_id, "--quiet"]) == 0  # fmt: skip
    code, out, _ = _run(capsys, "rollback", "one", "--root", lakehouse)
    assert code == 3
    assert "silver.scores: refused" in out and "run two" in out
    code, out, _ = _run(capsys, "rollback", "one", "--root", lakehouse, "--force")
    assert code == 0 and "silver.scores: restored" in out
    assert spark.read.format("delta").load(f"{lakehouse}/silver/scores").count() == 0


def test_failures_and_bad_usage_give_messages_and_exit_codes(
    lakehouse: str, game: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(
        capsys, "run", game, "--root", lakehouse, "--param", "n=1", "--param", "offset=0",
        "--param", "explode=yes", "--quiet",
    )  # fmt: skip
    assert code == 1
    assert "failed" in out and "skipped" not in out
    assert "step 'board'" in err and "ValueError: the board exploded" in err
    assert "at org.apache" not in err and "Traceback" not in err

    code, _, err = _run(capsys, "run", game, "--root", lakehouse, "--param", "oops")
    assert code == 2 and "--param 'oops' is not KEY=VALUE" in err
    code, _, err = _run(capsys, "run", "no.such.module", "--root", lakehouse)
    assert code == 2 and "cannot import pipeline module 'no.such.module'" in err
    code, _, err = _run(capsys, "rollback", "missing", "--root", lakehouse)
    assert code == 2 and "run 'missing' is not in the run log" in err
    code, out, _ = _run(capsys, "dry-run", game, "--root", lakehouse, "--select", "board")
    assert code == 0 and "1 step(s)" in out
    code, out, _ = _run(capsys, "dry-run", game, "--root", lakehouse, "--spark")
    assert code == 0 and "plan is valid" in out


# --- the read-only commands: delta-rs, no JVM, checked against Spark ------------------------


@pytest.fixture(scope="module")
def played(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A lakehouse after three runs of the game: ok, ok with a quarantined row, failed."""
    folder = tmp_path_factory.mktemp("played")
    (folder / "game.py").write_text(PIPELINE)
    root = str(folder / "lake")
    for run_id, n, offset, code in (("first", 3, 0, 0), ("second", 4, 5, 0), ("third", 2, 0, 1)):
        argv = ["run", f"{folder}/game.py:pipeline", "--root", root, "--param", f"n={n}",
                "--param", f"offset={offset}", "--run-id", run_id, "--quiet"]  # fmt: skip
        if run_id == "third":
            argv += ["--param", "explode=yes"]
        assert main(argv) == code
    return root


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = _run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def _local(value: str | None) -> dt.datetime | None:
    """An ISO time of the JSON answers as PySpark returns times: naive, in local time."""
    if value is None:
        return None
    return dt.datetime.fromisoformat(value).astimezone().replace(tzinfo=None)


def test_runs_json_agrees_with_spark(
    spark: SparkSession, played: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The aggregation `medallion runs` made with Spark before it read with delta-rs.
    expected = (
        read_run_log(spark, played)
        .groupBy("run_id", "pipeline")
        .agg(
            F.min("run_started_at").alias("started"),
            F.max("ended_at").alias("ended"),
            F.count("*").alias("steps"),
            F.coalesce(
                *[
                    F.max(F.when(F.col("status") == state, F.lit(state)))
                    for state in ("running", "abandoned", "cancelled", "failed")
                ],
                F.lit("ok"),
            ).alias("state"),
            F.sum("rows_written").alias("written"),
            F.sum("rows_quarantined").alias("quarantined"),
        )
        .orderBy(F.col("started").desc())
        .collect()
    )
    answer = _json(capsys, "runs", "--root", played)
    assert answer["metadata"]["root"] == played
    runs = answer["runs"]
    assert [r["run_id"] for r in runs] == ["third", "second", "first"]
    assert [
        (r["run_id"], r["pipeline"], _local(r["started_at"]), _local(r["ended_at"]),
         r["steps"], r["state"], r["rows_written"], r["rows_quarantined"])
        for r in runs
    ] == [
        (e["run_id"], e["pipeline"], e["started"], e["ended"], e["steps"], e["state"],
         e["written"] or 0, e["quarantined"] or 0)
        for e in expected
    ]  # fmt: skip
    assert runs[0]["statuses"] == {"failed": 1, "succeeded": 1}
    assert runs[1]["rows_quarantined"] == 1 and runs[1]["elapsed_seconds"] > 0
    assert [r["run_id"] for r in _json(capsys, "runs", "--root", played, "--limit", "1")["runs"]]\
        == ["third"]  # fmt: skip
    assert _json(capsys, "runs", "--root", played, "--limit", "0")["runs"] == []

    code, out, _ = _run(capsys, "runs", "--root", played)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert "third  game  failed" in lines[0] and "1 quarantined" in lines[1]


def test_one_run_has_its_run_log_rows(
    spark: SparkSession, played: str, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = _json(capsys, "runs", "second", "--root", played)
    assert answer["run"]["run_id"] == "second" and answer["run"]["state"] == "ok"
    results = {r["step"]: r for r in answer["results"]}
    expected = {
        row["step"]: row.asDict(recursive=True)
        for row in read_run_log(spark, played).where("run_id = 'second'").collect()
    }
    assert results.keys() == expected.keys() == {"scores", "board"}
    for step, row in expected.items():
        got = results[step]
        assert got.keys() == row.keys()
        for column, value in row.items():
            if isinstance(value, dt.datetime):
                assert _local(got[column]) == value, column
            else:
                assert got[column] == value, column
    assert results["scores"]["rule_metrics"] == [
        {"rule": "score_in_range", "action": "quarantine", "rows_checked": 4, "rows_failed": 1}
    ]

    code, out, _ = _run(capsys, "runs", "third", "--root", played)
    assert code == 0
    assert "third  game  failed" in out and "ValueError: the board exploded" in out
    code, _, err = _run(capsys, "runs", "fourth", "--root", played)
    assert code == 2 and "run 'fourth' is not in the run log" in err


def test_history_and_describe_agree_with_spark(
    spark: SparkSession, played: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ops = DeltaOps(spark, f"{played}/silver/scores")
    history = _json(capsys, "history", "silver.scores", "--root", played)["history"]
    assert [(c["version"], c["operation"], c["run_id"], c["metrics"]) for c in history] == [
        (c.version, c.operation, c.run_id, dict(c.metrics)) for c in ops.history()
    ]
    assert [c["run_id"] for c in history if c["run_id"]] == ["third", "second", "first"]
    limited = _json(capsys, "history", "silver.scores", "--root", played, "--limit", "1")
    assert [c["version"] for c in limited["history"]] == [ops.version()]

    described = _json(capsys, "describe", "silver.scores", "--root", played)
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{ops.location}`").first()
    assert detail is not None
    assert described["version"] == ops.version()
    assert described["rows"] == ops.read().count()
    assert (described["files"], described["size_bytes"]) == (
        detail["numFiles"], detail["sizeInBytes"]
    )
    assert described["properties"] == dict(detail["properties"])
    assert described["partition_columns"] == list(detail["partitionColumns"])
    assert [(c["name"], c["type"]) for c in described["columns"]] == [
        (f.name, f.dataType.simpleString()) for f in ops.read().schema.fields
    ]
    assert described["last_commit"]["run_id"] == "third"

    # A table looked up in the pipeline: importing it is no reason to start a JVM.
    code, out, _ = _run(
        capsys, "describe", "board", "--root", played, "--pipeline", f"{played}/../game.py"
    )
    assert code == 0 and "gold.board" in out and "band" in out
    code, _, err = _run(capsys, "history", "silver.scors", "--root", played)
    assert code == 2 and "did you mean silver.scores?" in err
    code, _, err = _run(
        capsys, "history", "bord", "--root", played, "--pipeline", f"{played}/../game.py"
    )
    assert code == 2 and "did you mean gold.board?" in err


def test_quarantine_agrees_with_spark(
    spark: SparkSession, played: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = read_quarantine(spark, played, Layer.SILVER).collect()
    assert len(rows) == 1
    [table] = _json(capsys, "quarantine", "--root", played)["tables"]
    assert (table["table"], table["open"], table["resolved"]) == ("silver.scores", 1, 0)
    [listed] = table["rows"]
    expected = rows[0]
    assert listed["record"] == expected["record"] and listed["run_id"] == "second"
    assert _local(listed["quarantined_at"]) == expected["quarantined_at"]
    assert listed["rules"] == [f["rule"] for f in expected["failures"]] == ["score_in_range"]
    assert listed["state"] == "open" and listed["replayable"] is False

    for argv in (
        ["--rule", "score_in_range"],
        ["--run", "second"],
        ["--table", "silver.scores", "--open"],
    ):
        assert len(_json(capsys, "quarantine", "--root", played, *argv)["tables"]) == 1, argv
    for argv in (["--rule", "another"], ["--run", "first"], ["--resolved"]):
        assert _json(capsys, "quarantine", "--root", played, *argv)["tables"] == [], argv
    code, out, _ = _run(capsys, "quarantine", "--root", played, "--run", "first")
    assert code == 0 and out == f"{played} run first: nothing quarantined\n"
    code, out, _ = _run(capsys, "quarantine", "--root", played, "--limit", "0")
    assert code == 0 and out == "silver.scores: 1 open\n"
    code, _, err = _run(capsys, "quarantine", "--root", played, "--run", "fourth")
    assert code == 2 and "run 'fourth' is not in the run log" in err
    code, _, err = _run(capsys, "quarantine", "--root", played, "--table", "silver.score")
    assert code == 2 and "did you mean silver.scores?" in err


_NO_JVM = """
import json, os, sys, time
started = time.perf_counter()
import medallion
before = set(sys.modules)
from medallion.cli import main
code = main(sys.argv[2:])
pid = str(os.getpid())
children = []
for entry in os.listdir("/proc"):
    try:
        with open(f"/proc/{entry}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        continue
    if fields[1] == pid:
        children.append(entry)
gateway = None
if "pyspark" in sys.modules:
    from pyspark import SparkContext
    gateway = repr(SparkContext._gateway) if SparkContext._gateway is not None else None
jvm_modules = ("pyspark", "py4j", "delta")
with open(sys.argv[1], "w") as report:
    json.dump({
        "code": code,
        "seconds": time.perf_counter() - started,
        "children": children,
        "gateway": gateway,
        "pyspark_with_medallion": "pyspark" in before,
        "pyspark": "pyspark" in sys.modules,
        "jvm_modules_added": sorted(
            m for m in set(sys.modules) - before if m.split(".")[0] in jvm_modules
        ),
    }, report)
"""


def test_read_only_commands_start_no_jvm(played: str, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    for argv in (
        ["runs", "--root", played, "--json"],
        ["runs", "second", "--root", played],
        ["history", "silver.scores", "--root", played],
        ["describe", "gold.board", "--root", played],
        ["quarantine", "--root", played, "--rule", "score_in_range"],
    ):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _NO_JVM, str(report), *argv],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYSPARK_SUBMIT_ARGS": "--this-would-fail"},
        )
        seconds = time.perf_counter() - started
        assert done.returncode == 0, done.stderr
        facts = json.loads(report.read_text())
        print(f"medallion {' '.join(argv[:2])}: {seconds:.2f} s in all, {facts['seconds']:.2f} s "
              f"in Python; pyspark imported: {facts['pyspark']} (by `import medallion`: "
              f"{facts['pyspark_with_medallion']})")  # fmt: skip
        assert facts["code"] == 0 and done.stdout
        assert facts["children"] == [] and facts["gateway"] is None  # no JVM was started
        # Nothing on these paths imports pyspark, py4j or delta-spark beyond what importing
        # the package does (nothing at all once `medallion` imports its names lazily).
        assert facts["jvm_modules_added"] == []
        assert facts["pyspark"] == facts["pyspark_with_medallion"]
        assert seconds < 20


def test_tables_with_the_features_spark_adds_are_read(
    spark: SparkSession, lakehouse: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tables = {
        "deletion_vectors": "'delta.enableDeletionVectors' = 'true'",
        "column_mapping": "'delta.columnMapping.mode' = 'name'",
        "v2_checkpoints": "'delta.checkpointPolicy' = 'v2', 'delta.checkpointInterval' = '2'",
        "widened": "'delta.enableTypeWidening' = 'true'",
    }
    for name, properties in tables.items():
        kind = "INT" if name == "widened" else "BIGINT"
        spark.sql(f"CREATE TABLE delta.`{lakehouse}/silver/{name}` (id {kind}, at TIMESTAMP_NTZ) "
                  f"USING delta TBLPROPERTIES ({properties})")  # fmt: skip
        for start in (0, 10):
            at = "TIMESTAMP_NTZ'2026-01-02 03:04:05'"
            spark.sql(f"INSERT INTO delta.`{lakehouse}/silver/{name}` "
                      f"SELECT id, {at} FROM range({start}, {start + 10})")  # fmt: skip
    spark.sql(f"DELETE FROM delta.`{lakehouse}/silver/deletion_vectors` WHERE id % 3 = 0")
    spark.sql(f"ALTER TABLE delta.`{lakehouse}/silver/column_mapping` RENAME COLUMN at TO seen")
    spark.sql(f"ALTER TABLE delta.`{lakehouse}/silver/widened` ALTER COLUMN id TYPE BIGINT")

    for name in tables:
        ops = DeltaOps(spark, f"{lakehouse}/silver/{name}")
        described = _json(capsys, "describe", f"silver.{name}", "--root", lakehouse)
        rows = ops.read().count()
        # delta-rs reads every feature but type widening (it still describes the table).
        assert described["rows"] == (None if name == "widened" else rows), name
        assert described["version"] == ops.version(), name
        assert [(c["name"], c["type"]) for c in described["columns"]] == [
            (f.name, f.dataType.simpleString()) for f in ops.read().schema.fields
        ], name
        history = _json(capsys, "history", f"silver.{name}", "--root", lakehouse)["history"]
        assert [(c["version"], c["operation"]) for c in history] == [
            (c.version, c.operation) for c in ops.history()
        ], name
    assert _json(capsys, "describe", "silver.deletion_vectors", "--root", lakehouse)["rows"] == 13
    features = _json(capsys, "describe", "silver.v2_checkpoints", "--root", lakehouse)
    assert {"v2Checkpoint", "timestampNtz"} <= set(features["protocol"]["features"])


def test_run_takes_its_settings_from_the_project_file_and_answers_in_json(
    spark: SparkSession,
    lakehouse: str,
    game: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        f'[tool.medallion]\npipeline = "{game}"\nroot = "{lakehouse}"\n\n'
        '[tool.medallion.params]\nn = "3"\noffset = "0"\n'
    )
    monkeypatch.chdir(project / "src")  # found from a subfolder
    monkeypatch.delenv("MEDALLION_ROOT", raising=False)
    monkeypatch.delenv("MEDALLION_PIPELINE", raising=False)
    # --param over the file's: offset 10 puts one score below 0 (quarantined).
    code, out, err = _run(capsys, "run", "--json", "--param", "offset=10", "--run-id", "j1")
    assert code == 0, err
    answer = json.loads(out)  # nothing but the JSON on standard output
    assert "[1/2] scores -> silver.scores ..." in err  # progress on standard error
    assert answer["metadata"]["root"] == lakehouse
    assert (answer["run"]["run_id"], answer["run"]["state"]) == ("j1", "ok")
    steps = {step["table"]: step for step in answer["results"]}
    logged = {
        row["table"]: row.asDict()
        for row in read_run_log(spark, lakehouse).where(F.col("run_id") == "j1").collect()
    }
    assert set(steps) == set(logged) == {"silver.scores", "gold.board"}
    for table, step in steps.items():
        for column in ("status", "rows_read", "rows_written", "rows_quarantined", "delta_version"):
            assert step[column] == logged[table][column], (table, column)
    assert steps["silver.scores"]["rows_quarantined"] == 1


def test_report_writes_the_page_of_the_latest_or_a_given_run(
    played: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "latest.html"
    code, out, _ = _run(capsys, "report", "--root", played, "-o", str(page))
    assert (code, out) == (0, f"{page}\n")
    text = page.read_text(encoding="utf-8")
    assert "third" in text and "the board exploded" in text  # the latest run: it failed
    second = tmp_path / "s.html"
    code, out, _ = _run(capsys, "report", "second", "--root", played, "-o", str(second))
    assert code == 0 and "second" in second.read_text(encoding="utf-8")
    code, _, err = _run(capsys, "report", "fourth", "--root", played)
    assert code == 2 and "fourth" in err
