"""The documentation's Spark examples run, in order, on the shared session.

Every ```python block in ``docs/`` carries a marker (see ``tests/docblocks.py``). For each
page with a Spark block, this test executes its ``run`` and ``run: spark`` blocks in page
order, in one namespace, in a fresh working directory (the pages of ``RERUN`` twice there, as
a reader running them again would), so the relative paths the pages use
(``lakehouse``, ``landing``) stay inside the test's folder. ``spark_session(...)`` in a page
returns the running test session. A page about Kafka talks to ``localhost:9092`` (the broker of
``make kafka-broker``); here that address is replaced by the test broker's.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from medallion.testing.kafka import KafkaBroker
from tests.docblocks import ROOT, compiled, pages, python_blocks, runnable_blocks

SPARK_PAGES = [p for p in pages() if any(k == "spark" for _, k, _ in python_blocks(p))]
_LOCAL_BROKER = "localhost:9092"
#: Pages a reader runs again in the same folder: their examples must give the same results.
RERUN = {"docs/getting-started.md"}


def test_spark_pages_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in SPARK_PAGES}
    assert {"docs/getting-started.md", "docs/guides/merge.md", "docs/guides/streaming.md"} <= names


@pytest.mark.parametrize("page", SPARK_PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_page_examples_run(
    page: Path,
    spark: SparkSession,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))  # pages may import examples.ecommerce
    blocks = runnable_blocks(page, spark=True)
    broker: KafkaBroker | None = None
    if any(_LOCAL_BROKER in code for _, code in blocks):
        broker = request.getfixturevalue("kafka_broker")
    runs = 2 if page.relative_to(ROOT).as_posix() in RERUN else 1
    try:
        for _ in range(runs):  # a rerun starts a new namespace in the same folder
            namespace: dict[str, object] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
            for line, code in blocks:
                if broker is not None:
                    code = code.replace(_LOCAL_BROKER, broker.bootstrap_servers)
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compiled(page, line, code), namespace)
    finally:
        for query in spark.streams.active:  # a failed page must not leave a stream running
            query.stop()
    assert spark.conf.get("spark.app.name") == "medallion-tests"  # the shared session
