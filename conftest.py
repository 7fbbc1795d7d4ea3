"""Shared fixtures: one Delta-ready SparkSession for the whole run, and temporary lakehouses.

The fixtures come from medallion's own pytest plugin (:mod:`medallion.testing.plugin`), the one
users enable in their projects; the names our tests use (``spark``, ``lakehouse``,
``kafka_broker``, ``connect_server``) delegate to its ``medallion_*`` fixtures. The session is
built in code (``medallion_spark_settings`` below), not from ini options.

This file sits at the repository root so that the docstring examples of ``src/medallion``
(collected with ``--doctest-modules``) run against the same session, with ``spark`` and a fresh
``lakehouse`` folder in their namespace.
"""

from __future__ import annotations

import os
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from _pytest.doctest import DoctestItem

if TYPE_CHECKING:
    # Imported for types only: pytest imports the plugin itself (to rewrite its asserts).
    from pyspark.sql import SparkSession

    from medallion.testing.connect import ConnectServer
    from medallion.testing.kafka import KafkaBroker
    from medallion.testing.plugin import SparkSettings

_PLUGIN = "medallion.testing.plugin"


def _plugin_autoloaded() -> bool:
    """Whether pytest loads the plugin through its ``pytest11`` entry point (an installed wheel;
    an editable install made before the entry point was added lacks it)."""
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return False
    return any(ep.value == _PLUGIN for ep in entry_points(group="pytest11"))


# Registering the module a second time (under its module name) would fail.
pytest_plugins = [] if _plugin_autoloaded() else [_PLUGIN]


@pytest.fixture(scope="session")
def medallion_spark_settings() -> SparkSettings:
    from medallion.testing.plugin import SparkSettings

    return SparkSettings(
        app_name="medallion-tests",
        shuffle_partitions=2,
        driver_memory="2g",
        ansi=True,
        log_level="ERROR",
        kafka=True,
        # Test data is tiny: compiling whole-stage Java code for each query, and re-planning
        # each stage adaptively, cost more than they save (tests/spark/test_delta_ops.py, back
        # to back: 242 s -> 194 s without codegen; 149 s -> 136 s without AQE). Same results.
        # Interpreting expressions instead of generating code for each one (factoryMode), not
        # collecting Delta's per-file column statistics (no test reads them to skip files), and
        # packing small files into one split: test_write_policies + test_delta_ops 5m52 -> 4m40.
        config={
            "spark.sql.codegen.wholeStage": "false",
            "spark.sql.adaptive.enabled": "false",
            "spark.sql.codegen.factoryMode": "NO_CODEGEN",
            "spark.databricks.delta.stats.collect": "false",
            "spark.sql.files.openCostInBytes": "134217728",
        },
    )


@pytest.fixture(scope="session")
def spark(medallion_spark: SparkSession) -> SparkSession:
    return medallion_spark


@pytest.fixture(scope="session")
def kafka_broker(medallion_kafka_broker: KafkaBroker) -> KafkaBroker:
    """A real single-node Kafka broker (KRaft) on 127.0.0.1, started once for the run."""
    return medallion_kafka_broker


@pytest.fixture(scope="session")
def connect_server(medallion_connect_server: ConnectServer) -> ConnectServer:
    """A real Spark Connect server with Delta on 127.0.0.1, started once for the run."""
    return medallion_connect_server


@pytest.fixture
def lakehouse(medallion_lakehouse: str) -> str:
    return medallion_lakehouse


@pytest.fixture(autouse=True)
def _doctest_names(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if isinstance(request.node, DoctestItem):
        namespace = request.getfixturevalue("doctest_namespace")
        namespace["spark"] = request.getfixturevalue("spark")
        namespace["lakehouse"] = str(tmp_path)
