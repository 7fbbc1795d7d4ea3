"""The compatibility matrix: a core subset of the tests on each supported Spark line.

Run ``nox`` (every line) or ``nox -s "spark(pyspark='4.0.5')"`` (one). The whole suite runs on
the development environment's pyspark (``make test``); here each line installs its own
pyspark beside medallion, with the same pinned delta-spark, and runs the chispa oracle of the
e-commerce example (silver and gold), ``DeltaOps`` and Kafka streaming into bronze. Delta's and
the Kafka connector's jars for the line are resolved on first use (or taken from
``MEDALLION_JARS_DIR``).
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

#: The newest release of each supported Spark line (4.1: the release whose Kafka connector has
#: the fix for SPARK-55271 and is on Maven Central).
SPARK_RELEASES = ["4.0.5", "4.1.3", "4.2.0"]

CORE_TESTS = [
    "tests/spark/test_example_silver.py",
    "tests/spark/test_example_gold.py",
    "tests/spark/test_delta_ops.py",
    "tests/spark/test_kafka_streaming.py",
]


@nox.session(python=False)
@nox.parametrize("pyspark", SPARK_RELEASES)
def spark(session: nox.Session, pyspark: str) -> None:
    """The core tests on one pyspark release."""
    venv = f".nox/spark-{pyspark}"
    python = f"{venv}/bin/python"
    session.run("python3", "-m", "venv", venv, external=True)
    session.run(
        python, "-m", "pip", "install", "--quiet", "-e", ".[testing,kafka,example]",
        "pytest-timeout", f"pyspark=={pyspark}", external=True,
    )  # fmt: skip
    session.run(python, "-c", "import pyspark; print('pyspark', pyspark.__version__)",
                external=True)  # fmt: skip
    session.run(
        python, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=-ra --strict-markers",
        *CORE_TESTS, *session.posargs, external=True,
    )  # fmt: skip
