"""Pipeline.run and dry_run on real Spark and Delta."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from medallion import Pipeline, QualityRule, StepContext, Table, read_table
from medallion.errors import PipelineError, StepFailedError

RAW = Table("events", "bronze", schema="id STRING NOT NULL, kind STRING, amount DOUBLE")
CLEAN = Table(
    "events",
    "silver",
    schema="id STRING NOT NULL, kind STRING, amount DOUBLE",
    primary_keys="id",
    rules=[QualityRule("positive_amount", "amount > 0")],
)
BY_KIND = Table("events_by_kind", "gold", schema="kind STRING, total DOUBLE")


def build(fail_silver: bool = False) -> Pipeline:
    pipeline = Pipeline("events")

    @pipeline.step(BY_KIND, inputs=[CLEAN])
    def by_kind(ctx: StepContext) -> DataFrame:
        return ctx.read(CLEAN).groupBy("kind").agg(F.sum("amount").alias("total"))

    @pipeline.step(CLEAN, inputs=[RAW])
    def clean(ctx: StepContext) -> DataFrame:
        if fail_silver:
            raise RuntimeError("boom")
        return ctx.read(RAW).select("id", F.lower("kind").alias("kind"), "amount")

    @pipeline.step(RAW)
    def raw(ctx: StepContext) -> DataFrame:
        rows = [(f"e{i}", "A" if i % 2 else "b", float(i)) for i in range(int(ctx.param("n")))]
        return ctx.spark.createDataFrame(rows, "id STRING, kind STRING, amount DOUBLE").select(
            "*",
            F.lit(ctx.started_at).alias("_ingested_at"),
            F.lit(ctx.run_id).alias("_run_id"),
            F.lit(None).cast("string").alias("_source_file"),
            F.lit(None).cast("timestamp").alias("_source_modified_at"),
            F.lit(None).cast("string").alias("_rescued_data"),
            F.lit(None).cast("string").alias("_rescue_reason"),
        )

    return pipeline


def test_steps_run_in_dependency_order_and_write_by_layer(
    spark: SparkSession, lakehouse: str
) -> None:
    result = build().run(spark, lakehouse, params={"n": 4}, run_id="run-1")
    assert result.succeeded
    assert [s.step for s in result.steps] == ["raw", "clean", "by_kind"]
    assert [s.write.mode.value for s in result.steps if s.write] == ["append", "merge", "overwrite"]
    assert result.step("silver.events").write is not None
    assert_df_equality(
        read_table(spark, BY_KIND, lakehouse),
        spark.createDataFrame([("a", 4.0), ("b", 2.0)], "kind STRING, total DOUBLE"),
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )
    assert read_table(spark, RAW, lakehouse).select("_run_id").distinct().collect()[0][0] == "run-1"


def test_a_selection_runs_with_its_downstream_steps_only(
    spark: SparkSession, lakehouse: str
) -> None:
    pipeline = build()
    pipeline.run(spark, lakehouse, params={"n": 2})
    again = pipeline.run(spark, lakehouse, select=["silver.events"], params={"n": 2})
    assert [s.step for s in again.steps] == ["clean", "by_kind"]
    assert read_table(spark, RAW, lakehouse).count() == 2


def test_a_failed_step_skips_its_downstream_and_names_the_step(
    spark: SparkSession, lakehouse: str
) -> None:
    with pytest.raises(
        StepFailedError, match=r"step 'clean' \(silver.events, .*\) failed: RuntimeError: boom"
    ) as caught:
        build(fail_silver=True).run(spark, lakehouse, params={"n": 2})
    result = caught.value.result
    assert [(s.step, s.status) for s in result.steps] == [
        ("raw", "succeeded"),
        ("clean", "failed"),
        ("by_kind", "skipped"),
    ]
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_a_missing_parameter_is_named(spark: SparkSession, lakehouse: str) -> None:
    with pytest.raises(StepFailedError) as caught:
        build().run(spark, lakehouse)
    assert isinstance(caught.value.__cause__, PipelineError)
    assert "needs the run parameter 'n'" in str(caught.value)


def test_dry_run_with_spark_checks_rules_and_external_inputs(
    spark: SparkSession, lakehouse: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = Table(
        "bad",
        "gold",
        schema="kind STRING, total DOUBLE",
        rules=[
            QualityRule("uses_missing_column", "totl > 0"),
            QualityRule("not_boolean", "total + 1"),
        ],
    )
    pipeline = Pipeline("checks")

    @pipeline.step(bad, inputs=[CLEAN])
    def make_bad(ctx: StepContext) -> DataFrame:
        raise AssertionError("a dry run must not run steps")

    plan = pipeline.dry_run(lakehouse, spark=spark)
    assert not plan.ok
    assert len(plan.problems) == 3
    assert plan.problems[0].startswith(
        "table 'gold.bad', rule 'uses_missing_column': invalid expression 'totl > 0'"
    )
    assert plan.problems[1] == (
        "table 'gold.bad', rule 'not_boolean': expression 'total + 1' is double, not boolean"
    )
    assert "input 'silver.events' is produced by no step" in plan.problems[2]
    printed = capsys.readouterr().out
    assert "3 problem(s):" in printed and "make_bad" in printed


def test_dry_run_finds_a_rule_referring_to_a_missing_table(
    spark: SparkSession, lakehouse: str
) -> None:
    from medallion.quality import checks

    customers = Table("customers", "silver", schema="id STRING", primary_keys="id")
    orders = Table(
        "orders",
        "silver",
        schema="id STRING, customer STRING",
        primary_keys="id",
        rules=[checks.exists_in("customer", customers, "id")],
    )
    pipeline = Pipeline("refs")

    @pipeline.step(orders)
    def make_orders(ctx: StepContext) -> DataFrame:
        raise AssertionError("a dry run must not run steps")

    plan = pipeline.dry_run(lakehouse, spark=spark, echo=False)
    assert plan.problems == (
        "table 'silver.orders': rule 'customer_exists_in_customers' refers to "
        f"'silver.customers', which no planned step produces and has no Delta table at "
        f"{customers.location(lakehouse)}",
    )

    @pipeline.step(customers)
    def make_customers(ctx: StepContext) -> DataFrame:
        raise AssertionError("a dry run must not run steps")

    assert pipeline.dry_run(lakehouse, spark=spark, echo=False).ok
    assert not pipeline.dry_run(lakehouse, ["orders"], spark=spark, echo=False).ok


def test_every_run_is_logged_and_queryable_with_sql(spark: SparkSession, lakehouse: str) -> None:
    from medallion.runner.runlog import run_log_location

    build().run(spark, lakehouse, params={"n": 3}, run_id="ok-run")
    with pytest.raises(StepFailedError):
        build(fail_silver=True).run(spark, lakehouse, params={"n": 3}, run_id="bad-run")
    logged = spark.sql(
        "SELECT run_id, step, status, rows_written, delta_version, version_before, "
        "error IS NOT NULL AS has_error "
        f"FROM delta.`{run_log_location(lakehouse)}` ORDER BY run_started_at, started_at NULLS LAST"
    )
    assert_df_equality(
        logged,
        spark.createDataFrame(
            [
                ("ok-run", "raw", "succeeded", 3, 1, 0, False),
                ("ok-run", "clean", "succeeded", 3, 1, 0, False),
                ("ok-run", "by_kind", "succeeded", 2, 1, 0, False),
                ("bad-run", "raw", "succeeded", 3, 2, 1, False),
                ("bad-run", "clean", "failed", None, None, 1, True),
                ("bad-run", "by_kind", "skipped", None, None, None, False),
            ],
            "run_id STRING, step STRING, status STRING, rows_written BIGINT, "
            "delta_version BIGINT, version_before BIGINT, has_error BOOLEAN",
        ),
        ignore_nullable=True,
    )


def test_each_steps_jobs_are_named_after_it_and_writes_read_no_history(
    spark: SparkSession, lakehouse: str
) -> None:
    """A step's Spark jobs carry its job group; a MERGE's source is computed once.

    What a write committed is read off the table's log file, not with a Spark job: the
    results equal Delta's own history.
    """
    from medallion.delta._target import Target
    from medallion.runner.jobs import step_job_group

    tracker = spark.sparkContext.statusTracker()
    result = build().run(spark, lakehouse, params={"n": 6}, run_id="named-1")
    assert result.succeeded
    for step in result.steps:
        jobs = tracker.getJobIdsForGroup(step_job_group("named-1", step.step))
        assert jobs, step.step
        stages = [
            tracker.getStageInfo(s)
            for j in jobs
            for s in (tracker.getJobInfo(j).stageIds if tracker.getJobInfo(j) else [])
        ]
        names = " ".join(s.name for s in stages if s is not None)
        assert "getHistory" not in names, step.step
    assert spark.sparkContext.getLocalProperty("spark.jobGroup.id") is None

    merged = result.step("silver.events")
    assert merged.write is not None and merged.write.rows_inserted == 6
    target = Target(spark, merged.location or "")
    from_log = list(target.commits())
    from_delta = target.history()
    assert [(c.version, c.operation, dict(c.metrics), c.user_metadata) for c in from_log] == [
        (c.version, c.operation, dict(c.metrics), c.user_metadata) for c in from_delta
    ]
    assert [dict(c.parameters) for c in from_log] == [dict(c.parameters) for c in from_delta]
    assert [c.timestamp for c in from_log] == [c.timestamp for c in from_delta]
