"""``medallion init``: a new project's own tests pass, run by pytest as the user would run them.

The project's tests run in this process (``pytester.runpytest_inprocess``), on the session the
suite already runs: the plugin's ``medallion_spark`` fixture gets it from ``spark_session``,
which returns a running session as it is. Starting another JVM for them would cost ~40 s.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import entry_points

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import pytest
from pyspark.sql import SparkSession

from medallion import __version__
from medallion.scaffold import create_project

pytest_plugins = ["pytester"]


def _plugin_args() -> list[str]:
    """``-p medallion.testing.plugin`` when pytest does not load it through its entry point."""
    if not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD") and any(
        ep.value == "medallion.testing.plugin" for ep in entry_points(group="pytest11")
    ):
        return []
    return ["-p", "medallion.testing.plugin"]


def test_a_new_project_passes_its_own_tests(
    pytester: pytest.Pytester, spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = create_project("demo-shop", pytester.path)

    settings = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert settings["project"]["name"] == "demo-shop"
    assert settings["project"]["dependencies"] == [f"medallion-lakehouse[testing]>={__version__}"]
    dev = settings["project"]["optional-dependencies"]["dev"]
    assert any(requirement.startswith("pytest") for requirement in dev)
    medallion = settings["tool"]["medallion"]
    assert medallion["pipeline"] == "demo_shop.pipeline:pipeline"
    assert medallion["root"] == "lakehouse"
    assert medallion["params"] == {"landing": "data/landing/orders"}
    assert medallion["spark"]["spark.sql.shuffle.partitions"] == "4"
    assert (project / "src" / "demo_shop" / "pipeline.py").is_file()

    # `cd demo-shop && pytest`. The plugin's medallion_spark fixture stops its session when the
    # run ends; here that session is the suite's: count the call instead of making it.
    stopped: list[SparkSession] = []
    monkeypatch.chdir(project)
    with monkeypatch.context() as patch:
        patch.setattr(SparkSession, "stop", lambda session: stopped.append(session))
        result = pytester.runpytest_inprocess(*_plugin_args(), "-p", "no:cacheprovider")

    result.assert_outcomes(passed=3)
    assert stopped == [spark]  # the project's tests ran on this very session
    assert spark.range(3).count() == 3  # which still works
