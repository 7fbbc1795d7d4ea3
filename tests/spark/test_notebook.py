"""The e-commerce notebook runs as a user would run it first: locally, on small data.

Its code cells run in order, in one namespace, in a fresh working directory, on the shared test
session (``spark_session`` there returns it, and its closing ``spark.stop()`` is held back so
the session outlives the test), with the test broker for its optional Kafka cell.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from medallion.testing.kafka import KafkaBroker
from tests.docblocks import ROOT

NOTEBOOK = ROOT / "examples" / "notebooks" / "ecommerce.ipynb"


def code_cells() -> list[str]:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]


def test_the_notebook_runs_locally_on_small_data(
    spark: SparkSession,
    kafka_broker: KafkaBroker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))  # examples.ecommerce
    for name in ("S3_ENDPOINT", "SPARK_MASTER", "LAKEHOUSE_ROOT", "DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRANSACTIONS", "1000")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_broker.bootstrap_servers)
    monkeypatch.setattr(SparkSession, "stop", lambda self: None)  # the last cell's
    cells = code_cells()
    assert cells[-1].strip() == "spark.stop()"
    namespace: dict[str, object] = {"__name__": "__main__"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for number, code in enumerate(cells, 1):
            exec(compile(code, f"ecommerce.ipynb, code cell {number}", "exec"), namespace)

    assert namespace["ROOT"] == str(tmp_path / "notebook-lakehouse")  # local by default
    first, second = namespace["first"], namespace["second"]
    assert first.succeeded and second.succeeded  # type: ignore[attr-defined]
    # The incremental run read only the last batch of transactions.
    read = [
        run.step("silver_transactions").rows_read  # type: ignore[attr-defined]
        for run in (first, second)
    ]
    assert 0 < read[1] < read[0]
    daily = spark.read.format("delta").load(str(tmp_path / "notebook-lakehouse/gold/daily_sales"))
    published = (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", kafka_broker.bootstrap_servers)
        .option("subscribe", "daily_sales")
        .load()
    )
    assert published.count() == daily.count() > 0
    assert "files landed in" in printed.getvalue()
