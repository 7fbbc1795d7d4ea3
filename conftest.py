"""Shared fixtures: one Delta-ready SparkSession for the whole run, and temporary lakehouses.

This file sits at the repository root so that the docstring examples of ``src/medallion``
(collected with ``--doctest-modules``) run against the same session, with ``spark`` and a fresh
``lakehouse`` folder in their namespace.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _pytest.doctest import DoctestItem
from pyspark.sql import SparkSession

from medallion import spark_session
from medallion.testing.kafka import KafkaBroker


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = spark_session(
        "medallion-tests",
        shuffle_partitions=2,
        driver_memory="2g",
        config={"spark.sql.ansi.enabled": "true"},
        log_level="ERROR",
        kafka=True,
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    """A real single-node Kafka broker (KRaft) on 127.0.0.1, started once for the run."""
    with KafkaBroker(num_partitions=2) as broker:
        yield broker


@pytest.fixture
def lakehouse(tmp_path: Path) -> str:
    root = tmp_path / "lakehouse"
    root.mkdir()
    return str(root)


@pytest.fixture(autouse=True)
def _doctest_names(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if isinstance(request.node, DoctestItem):
        namespace = request.getfixturevalue("doctest_namespace")
        namespace["spark"] = request.getfixturevalue("spark")
        namespace["lakehouse"] = str(tmp_path)
