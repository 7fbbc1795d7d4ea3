"""medallion.testing: the pytest plugin (in a user project) and the assertion helpers."""

from __future__ import annotations

import os
import re
from importlib.metadata import entry_points

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from medallion import Pipeline, QualityRule, StepContext, Table, write_table
from medallion.runner.results import StepRun
from medallion.testing import (
    assert_conserved,
    assert_quarantined,
    assert_rows,
    assert_table_equals,
    quarantine_counts,
)
from medallion.testing.plugin import SparkSettings, parse_spark_conf
from tests.docblocks import ROOT, python_blocks

pytest_plugins = ["pytester"]

GUIDE = ROOT / "docs" / "guides" / "testing.md"


def _guide_project() -> dict[str, str]:
    """The files of a user project built from the testing guide: its pyproject settings, its
    conftest snippet and its test file, plus a test of the settings."""
    text = GUIDE.read_text(encoding="utf-8")
    toml = re.search(r"^```toml\n(.*?)^```", text, re.M | re.S)
    assert toml, "the testing guide has no pyproject example"
    blocks = {kind: code for _, kind, code in python_blocks(GUIDE) if kind in {"pure", "pytest"}}
    settings = """
def test_the_session_follows_the_guide_settings(spark, medallion_spark):
    assert spark is medallion_spark  # the conftest wrapper
    conf = spark.conf
    assert spark.sparkContext.master == "local[2]"
    assert conf.get("spark.sql.shuffle.partitions") == "2"
    assert conf.get("spark.sql.ansi.enabled") == "true"
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert conf.get("spark.sql.codegen.wholeStage") == "false"
"""
    return {
        "pyproject.toml": toml.group(1),
        "conftest.py": blocks["pure"],
        "test_guide.py": blocks["pytest"],
        "test_settings.py": settings,
    }


def _plugin_args() -> list[str]:
    if not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD") and any(
        ep.value == "medallion.testing.plugin" for ep in entry_points(group="pytest11")
    ):
        return []
    return ["-p", "medallion.testing.plugin"]


def test_the_testing_guide_runs_as_a_user_project(pytester: pytest.Pytester) -> None:
    # The guide's pyproject settings, conftest and test file, as a project of their own. A
    # second SparkSession cannot start in this process: the project runs in its own.
    for name, content in _guide_project().items():
        (pytester.path / name).write_text(content, encoding="utf-8")
    result = pytester.runpytest_subprocess(*_plugin_args(), "-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_settings_and_spark_conf_lines() -> None:
    assert parse_spark_conf(["a=1", " b = x=y ", "#c=2", ""]) == {"a": "1", "b": "x=y"}
    with pytest.raises(pytest.UsageError, match="key=value"):
        parse_spark_conf(["no-equals"])
    settings = SparkSettings(ansi=False, config={"spark.x": "1"})
    assert settings.spark_config() == {"spark.sql.ansi.enabled": "false", "spark.x": "1"}
    assert SparkSettings().spark_config() == {"spark.sql.ansi.enabled": "true"}


def test_our_fixtures_come_from_the_plugin(
    spark: SparkSession, medallion_spark: SparkSession, lakehouse: str, medallion_lakehouse: str
) -> None:
    assert spark is medallion_spark
    assert lakehouse == medallion_lakehouse
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"
    assert spark.conf.get("spark.sql.ansi.enabled") == "true"
    assert spark.conf.get("spark.app.name") == "medallion-tests"


ITEMS = Table("items", "gold", schema="id INT NOT NULL, price DOUBLE")


def test_assert_table_equals_passes_and_reports_the_difference(
    spark: SparkSession, lakehouse: str
) -> None:
    df = spark.createDataFrame([(1, 1.5), (2, 2.0)], "id INT, price DOUBLE")
    write_table(df, ITEMS, lakehouse)
    reordered = spark.createDataFrame([(2, 2.0), (1, 1.5)], "id INT, price DOUBLE")
    assert_table_equals(spark, ITEMS, reordered, root=lakehouse)
    assert_table_equals(spark, ITEMS.location(lakehouse), df)
    close = spark.createDataFrame([(1, 1.5000001), (2, 2.0)], "id INT, price DOUBLE")
    assert_table_equals(spark, ITEMS, close, root=lakehouse, precision=1e-3)

    wrong = spark.createDataFrame([(1, 1.5), (2, 9.0)], "id INT, price DOUBLE")
    with pytest.raises(AssertionError, match="DataFramesNotEqualError") as info:
        assert_table_equals(spark, ITEMS, wrong, root=lakehouse)
    assert "9.0" in str(info.value)
    with pytest.raises(TypeError, match="root is required"):
        assert_table_equals(spark, ITEMS, df)


def test_assert_table_equals_reads_an_earlier_version(spark: SparkSession, lakehouse: str) -> None:
    first = spark.createDataFrame([(1, 1.0)], "id INT, price DOUBLE")
    version = write_table(first, ITEMS, lakehouse).version
    assert version is not None
    second = spark.createDataFrame([(2, 2.0)], "id INT, price DOUBLE")
    write_table(second, ITEMS, lakehouse)
    assert_table_equals(spark, ITEMS, first, root=lakehouse, version=version)
    assert_table_equals(spark, ITEMS, second, root=lakehouse)


def test_assert_rows_takes_rows_or_a_dataframe(spark: SparkSession) -> None:
    df = spark.createDataFrame([(1, "a"), (2, None)], "id INT, name STRING")
    assert_rows(df, [(2, None), (1, "a")])
    assert_rows(df, [{"id": 1, "name": "a"}, {"id": 2, "name": None}])
    assert_rows(df, [(1,), (2,)], ignore_columns=["name"])
    assert_rows(df, spark.createDataFrame([(1, "a"), (2, None)], "id INT NOT NULL, name STRING"))
    with pytest.raises(AssertionError, match="DataFramesNotEqualError"):
        assert_rows(df, [(1, "a")])
    with pytest.raises(AssertionError, match="SchemasNotEqualError"):
        assert_rows(df, spark.createDataFrame([(1, "a")], "key INT, name STRING"))
    with pytest.raises(AssertionError):
        assert_rows(df, [(2, None), (1, "a")], ignore_row_order=False)


RAW = Table("events", "bronze", schema="id STRING NOT NULL, amount DOUBLE")
CLEAN = Table(
    "events",
    "silver",
    schema="id STRING NOT NULL, amount DOUBLE",
    primary_keys="id",
    rules=[
        QualityRule("positive_amount", "amount > 0", action="quarantine"),
        QualityRule("small_amount", "amount < 100", action="quarantine"),
        QualityRule("not_a_test_event", "id <> 'e5'", action="drop"),
    ],
)


def _pipeline() -> Pipeline:
    pipeline = Pipeline("events")

    @pipeline.step(RAW)
    def raw(ctx: StepContext) -> DataFrame:
        amounts = [-1.0, 0.0, 5.0, 7.0, 500.0, 6.0]
        rows = [(f"e{i}", a) for i, a in enumerate(amounts)]
        return ctx.spark.createDataFrame(rows, "id STRING, amount DOUBLE").select(
            "*",
            F.lit(ctx.started_at).alias("_ingested_at"),
            F.lit(ctx.run_id).alias("_run_id"),
            F.lit(None).cast("string").alias("_source_file"),
            F.lit(None).cast("timestamp").alias("_source_modified_at"),
            F.lit(None).cast("string").alias("_rescued_data"),
            F.lit(None).cast("string").alias("_rescue_reason"),
        )

    @pipeline.step(CLEAN, inputs=[RAW])
    def clean(ctx: StepContext) -> DataFrame:
        return ctx.check(ctx.read(RAW).select("id", "amount"))

    return pipeline


def test_quarantine_counts_and_conservation(spark: SparkSession, lakehouse: str) -> None:
    assert quarantine_counts(spark, lakehouse, CLEAN) == {}
    assert_quarantined(spark, lakehouse, CLEAN, {})

    result = _pipeline().run(spark, lakehouse, run_id="run-1", log=False)
    step = result.step("silver.events")
    assert_conserved(step)
    assert step.rows_read == 6
    assert step.rows_quarantined == 3
    assert step.rows_dropped == 1

    expected = {"positive_amount": 2, "small_amount": 1}
    assert_quarantined(spark, lakehouse, CLEAN, expected)
    assert_quarantined(spark, lakehouse, CLEAN, {**expected, "not_a_test_event": 0}, run_id="run-1")
    assert_quarantined(spark, lakehouse, CLEAN, {}, run_id="another-run")
    with pytest.raises(AssertionError, match=r"positive_amount: expected 1, got 2"):
        assert_quarantined(spark, lakehouse, CLEAN, {"positive_amount": 1, "small_amount": 1})

    with pytest.raises(AssertionError, match="no quality checks"):
        assert_conserved(result.step("bronze.events"))


def test_assert_conserved_reports_missing_rows() -> None:
    leaky = StepRun(
        step="clean",
        table="silver.events",
        status="succeeded",
        rows_read=10,
        rows_quarantined=2,
        rows_dropped=1,
    )
    with pytest.raises(AssertionError, match=r"read 10 rows but accounted for 3"):
        assert_conserved(leaky)
    failed = StepRun(step="clean", table="silver.events", status="failed", error="boom")
    with pytest.raises(AssertionError, match="did not succeed"):
        assert_conserved(failed)
