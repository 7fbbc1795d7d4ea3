"""The ``medallion`` command on real Spark and Delta: run, dry-run, runs, history, maintenance,
and rolling a run back with the run log."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from medallion import Layer
from medallion.cli import main
from medallion.quality.quarantine import quarantine_location

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
    assert code == 1 and "run 'missing' is not in the run log" in err
    code, out, _ = _run(capsys, "dry-run", game, "--root", lakehouse, "--select", "board")
    assert code == 0 and "1 step(s)" in out
    code, out, _ = _run(capsys, "dry-run", game, "--root", lakehouse, "--spark")
    assert code == 0 and "plan is valid" in out
