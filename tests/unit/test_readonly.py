"""medallion.readonly and the read-only commands without a JVM: tables written with delta-rs.

The commands on tables Spark wrote (the run log, quarantine tables, a pipeline's tables, and the
table features Spark adds) are tested in ``tests/spark/test_cli.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from arro3.core import Array, DataType, Table
from deltalake import CommitProperties, write_deltalake

from medallion import Lakehouse, Layer
from medallion.cli import main
from medallion.errors import TableNotFoundError
from medallion.quality.quarantine import QUARANTINE_SCHEMA, quarantine_location
from medallion.readonly import (
    QUARANTINE_COLUMNS,
    RUN_LOG_COLUMNS,
    LakehouseNotFoundError,
    check_root,
    describe_table,
    lakehouse_tables,
    quarantined,
    run_log_rows,
    run_summaries,
    table_history,
)
from medallion.runner.runlog import RUN_LOG_SCHEMA, run_log_location


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _write(path: str | Path, ids: list[int], run_id: str | None = None, **options: object) -> None:
    rows = Table.from_pydict({"id": Array(ids, DataType.int64())})
    tags = {"userMetadata": json.dumps({"medallion_run_id": run_id})} if run_id else None
    write_deltalake(
        str(path), rows, commit_properties=CommitProperties(custom_metadata=tags), **options
    )  # type: ignore[arg-type]


def test_columns_and_locations_are_the_writers() -> None:
    assert tuple(RUN_LOG_SCHEMA.fieldNames()) == RUN_LOG_COLUMNS
    assert tuple(QUARANTINE_SCHEMA.fieldNames()) == QUARANTINE_COLUMNS
    for root in ("/data/lake", "/data/lake/", "relative/lake", "s3a://bucket/lake/", "file:/x"):
        lake = Lakehouse.at(root)
        assert lake.run_log() == run_log_location(root)
        for layer in Layer:
            assert lake.quarantine(layer) == quarantine_location(root, layer)


def test_a_missing_root_is_an_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nothing")
    for read in (run_summaries, run_log_rows, quarantined):
        with pytest.raises(LakehouseNotFoundError, match="the folder does not exist"):
            read(missing)  # type: ignore[operator]
    (tmp_path / "file").write_text("")
    with pytest.raises(LakehouseNotFoundError, match="is not a folder"):
        check_root(tmp_path / "file")
    assert check_root(f"file:{tmp_path}") == f"file:{tmp_path}"
    # An empty lakehouse: nothing logged, nothing quarantined.
    assert run_summaries(tmp_path) == [] and run_log_rows(tmp_path) == []
    assert quarantined(tmp_path) == [] and lakehouse_tables(tmp_path) == []


def test_history_and_description_of_a_table(tmp_path: Path) -> None:
    path = tmp_path / "silver" / "orders"
    _write(path, [1, 2, 3], run_id="r1", partition_by=None)
    _write(path, [4], run_id="r2", mode="append")
    _write(path, [5], mode="append")
    history = table_history(str(path))
    assert [(c.version, c.operation, c.run_id) for c in history] == [
        (2, "WRITE", None),
        (1, "WRITE", "r2"),
        (0, "WRITE", "r1"),
    ]
    assert history[1].metrics["num_added_rows"] == 1
    assert history[0].timestamp.tzinfo is not None
    assert [c.version for c in table_history(str(path), limit=1)] == [2]
    description = describe_table(f"file://{path}")
    assert (description.version, description.rows, description.files) == (2, 5, 3)
    assert description.last_commit is not None and description.last_commit.version == 2
    assert lakehouse_tables(tmp_path) == ["silver.orders"]
    with pytest.raises(TableNotFoundError, match=f"no Delta table at {tmp_path}/gold/x"):
        table_history(f"{tmp_path}/gold/x")
    with pytest.raises(TableNotFoundError):
        describe_table(f"{tmp_path}/gold/x")


def test_history_and_describe_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(tmp_path)
    _write(tmp_path / "silver" / "orders", [1, 2], run_id="r1")
    code, out, _ = _run(capsys, "history", "silver.orders", "--root", root)
    assert code == 0 and "v0" in out and "WRITE" in out and "run r1" in out
    code, out, _ = _run(capsys, "history", f"{root}/silver/orders", "--json")
    assert code == 0
    assert [(c["version"], c["run_id"]) for c in json.loads(out)["history"]] == [(0, "r1")]
    code, out, _ = _run(capsys, "describe", "silver.orders", "--root", root, "--json")
    described = json.loads(out)
    assert code == 0 and described["rows"] == 2 and described["version"] == 0
    assert described["columns"] == [{"name": "id", "type": "bigint", "nullable": True}]
    code, out, _ = _run(capsys, "describe", "silver.orders", "--root", root)
    assert code == 0 and "2 row(s) in 1 file(s)" in out and "id  bigint" in out

    # Mistyped: exit code 2, with the closest tables.
    code, _, err = _run(capsys, "history", "silver.ordrs", "--root", root)
    assert code == 2
    assert f"table 'silver.ordrs': no Delta table at {root}/silver/ordrs" in err
    assert "did you mean silver.orders?" in err
    code, _, err = _run(capsys, "describe", "ordes", "--root", root)
    assert code == 2 and "give LAYER.NAME" in err and "did you mean silver.orders?" in err
    code, _, err = _run(capsys, "history", f"{root}/elsewhere")  # a path: no suggestion
    assert code == 2 and "no Delta table at" in err and "did you mean" not in err


def test_exit_codes_of_missing_roots_and_negative_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "nothing")
    for argv in (
        ["runs"],
        ["runs", "r1"],
        ["history", "silver.orders"],
        ["describe", "silver.orders"],
        ["quarantine"],
    ):
        code, out, err = _run(capsys, *argv, "--root", missing)
        assert (code, out) == (2, ""), argv
        assert f"no lakehouse at {missing}: the folder does not exist" in err
    for argv in (["runs"], ["history", "silver.orders"], ["quarantine"]):
        with pytest.raises(SystemExit) as exit_:
            main([*argv, "--root", str(tmp_path), "--limit", "-1"])
        assert exit_.value.code == 2
        assert "argument --limit: -1 is negative" in capsys.readouterr().err
    code, out, _ = _run(capsys, "runs", "--root", str(tmp_path))
    assert code == 0 and "no run has been logged there" in out
    code, out, _ = _run(capsys, "runs", "--root", str(tmp_path), "--json")
    assert code == 0 and json.loads(out)["runs"] == []
    code, _, err = _run(capsys, "runs", "r1", "--root", str(tmp_path))
    assert code == 2 and "run 'r1' is not in the run log" in err
    code, _, err = _run(capsys, "quarantine", "--root", str(tmp_path), "--table", "orders")
    assert code == 2 and "give LAYER.NAME" in err


def test_secret_storage_options_are_not_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(
        capsys, "runs", "--root", str(tmp_path), "--storage-option", "AWS_SECRET_ACCESS_KEY"
    )
    assert code == 2 and "is not KEY=VALUE" in err and "AWS_SECRET_ACCESS_KEY" not in err
