"""The ``medallion`` command's plumbing that needs no JVM: the project file, parameters checked
before Spark starts, ``graph``, ``init`` and its messages."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from medallion.cli import build_parser, main
from medallion.graph import build_graph, to_mermaid
from medallion.scaffold import create_project
from tests.docblocks import ROOT

EXAMPLE = "examples.ecommerce.pipeline"


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MEDALLION_ROOT", "MEDALLION_PIPELINE", "MEDALLION_JARS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.syspath_prepend(str(ROOT))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_missing_parameter_is_named_in_command_line_terms_before_spark_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    started = "pyspark.sql.session" in sys.modules and _active_context()
    code, out, err = _run(capsys, "run", EXAMPLE, "--root", str(tmp_path / "lake"))
    assert (code, out) == (2, "")
    assert err == (
        "medallion: error: pipeline 'ecommerce' needs --param landing=VALUE "
        "(or [tool.medallion.params] in pyproject.toml)\n"
    )
    assert _active_context() == started  # no session was started for it
    assert not (tmp_path / "lake").exists()  # no lease, no run log
    # A selection without the bronze steps does not need it (checked by a dry run).
    code, out, _ = _run(
        capsys, "dry-run", EXAMPLE, "--root", str(tmp_path / "lake"), "--select", "gold.*",
        "--no-downstream",
    )  # fmt: skip
    assert code == 0 and "plan is valid" in out
    code, out, _ = _run(capsys, "dry-run", EXAMPLE, "--root", str(tmp_path / "lake"))
    assert code == 1 and "needs the run parameter 'landing'" in out


def _active_context() -> bool:
    from pyspark import SparkContext

    return SparkContext._active_spark_context is not None


def test_a_mistyped_pipeline_attribute_gets_a_suggestion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = _run(capsys, "graph", f"{EXAMPLE}:pipelin")
    assert code == 2
    assert err == (
        f"medallion: error: {EXAMPLE} has no attribute 'pipelin'; did you mean "
        f"{EXAMPLE}:pipeline?\n"
    )


def test_graph_prints_the_example_s_lineage(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from examples.ecommerce.pipeline import pipeline

    code, out, _ = _run(capsys, "graph", EXAMPLE)
    assert code == 0 and out == to_mermaid(build_graph(pipeline)) + "\n"
    code, out, _ = _run(capsys, "graph", EXAMPLE, "--format", "json", "--output",
                        str(tmp_path / "g.json"))  # fmt: skip
    assert (code, out) == (0, "")
    nodes = {n["id"] for n in json.loads((tmp_path / "g.json").read_text())["nodes"]}
    assert {"bronze.transactions", "silver.transactions", "gold.customer_rfm"} <= nodes
    with pytest.raises(SystemExit):
        build_parser().parse_args(["graph", EXAMPLE, "--format", "svg"])


def test_a_project_file_supplies_pipeline_root_and_params(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = create_project("shop", tmp_path)
    monkeypatch.chdir(project / "data")  # any folder of the project
    code, out, err = _run(capsys, "dry-run")
    assert code == 0, err
    assert f"lakehouse {project / 'lakehouse'}" in out and "plan is valid" in out
    code, out, _ = _run(capsys, "dry-run", "--root", str(tmp_path / "other"))
    assert code == 0 and f"lakehouse {tmp_path / 'other'}" in out  # a flag wins
    monkeypatch.setenv("MEDALLION_ROOT", str(tmp_path / "env"))
    code, out, _ = _run(capsys, "dry-run")
    assert code == 0 and f"lakehouse {tmp_path / 'env'}" in out  # then the environment
    code, out, _ = _run(capsys, "graph")
    assert code == 0 and "%% pipeline 'shop'" in out


def test_without_a_pipeline_the_command_says_where_to_give_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, "dry-run")
    assert code == 2 and "give PIPELINE" in err and "[tool.medallion]" in err
    (tmp_path / "pyproject.toml").write_text('[tool.medallion]\npipelines = "x"\n')
    code, _, err = _run(capsys, "dry-run")
    assert code == 2 and "unknown key 'pipelines' in [tool.medallion]" in err


def test_init_creates_a_project_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = _run(capsys, "init", "my-shop", "--dir", str(tmp_path))
    assert code == 0 and f"created {tmp_path / 'my-shop'}" in out
    assert (tmp_path / "my-shop" / "src" / "my_shop" / "pipeline.py").is_file()
    code, _, err = _run(capsys, "init", "my-shop", "--dir", str(tmp_path))
    assert code == 2 and "exists and is not empty" in err


def test_every_subcommand_and_option_has_help() -> None:
    parser = build_parser()
    missing = []
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        for name, sub in action.choices.items():
            if not action._choices_actions or not any(
                a.dest == name and a.help for a in action._choices_actions
            ):
                missing.append(name)
            stack = [(name, sub)]
            while stack:
                prefix, current = stack.pop()
                for option in current._actions:
                    if option.help is None and option.dest != "help":
                        missing.append(f"{prefix} {option.dest}")
                    if option.choices and isinstance(option.choices, dict):
                        stack.extend((f"{prefix} {k}", v) for k, v in option.choices.items())
    assert missing == []
