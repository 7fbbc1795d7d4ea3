"""The quality engine on real Spark: every built-in rule, every action, conservation, quarantine."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from medallion import Pipeline, StepContext, Table, evaluate, read_table
from medallion.errors import QualityFailedError, StepFailedError
from medallion.quality import checks
from medallion.quality.quarantine import read_quarantine

ORDERS = "order_id STRING, customer_id STRING, qty STRING, status STRING, email STRING"
ROWS = [
    ("o1", "c1", "2", "paid", "a@x.com"),  # clean
    ("o2", "c9", "1", "paid", "b@x.com"),  # unknown customer
    ("o3", "c2", "three", "paid", "c@x.com"),  # malformed quantity
    ("o3", "c2", "1", "sent", "c@x.com"),  # duplicate key o3
    (None, "c1", "1", "lost", "not-an-email"),  # null key, bad status, bad email: three rules
    ("o5", None, "4", "paid", "averyveryveryverylongaddress@x.com"),  # too long email (warn)
]


def orders(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(ROWS, ORDERS)


def customers(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame([("c1",), ("c2",)], "customer_id STRING")


CUSTOMERS = Table("customers", "silver", schema="customer_id STRING", primary_keys="customer_id")
RULES = [
    checks.not_null("order_id"),
    checks.unique("order_id"),
    checks.castable("qty", "INT"),
    checks.in_set("status", ["paid", "sent"], action="drop"),
    checks.matches("email", r"^[^@\s]+@[^@\s]+\.[a-z]+$"),
    checks.max_length("email", 20, action="warn"),
    checks.exists_in("customer_id", CUSTOMERS),
]


def failures_of(result_df: DataFrame) -> list[tuple[str, list[str]]]:
    rows = result_df.select("order_id", F.col("_quality_failures.rule").alias("rules")).collect()
    return sorted((r["order_id"] or "", sorted(r["rules"])) for r in rows)


def test_all_rules_in_one_pass_with_every_action(spark: SparkSession) -> None:
    result = evaluate(
        orders(spark),
        RULES,
        table="silver.orders",
        references={"silver.customers": customers(spark)},
    )
    try:
        assert [(m.rule, m.rows_failed) for m in result.metrics] == [
            ("order_id_not_null", 1),
            ("unique_order_id", 2),
            ("qty_castable", 1),
            ("status_in_set", 1),
            ("email_matches", 1),
            ("email_max_length", 1),
            ("customer_id_exists_in_customers", 1),
        ]
        assert all(m.rows_checked == 6 for m in result.metrics)
        # o1 clean; o5 only warned (null customer passes the reference rule).
        assert_df_equality(
            result.valid,
            spark.createDataFrame([ROWS[0], ROWS[5]], ORDERS),
            ignore_row_order=True,
            ignore_nullable=True,
        )
        # The null-key row fails three rules, one of them a drop rule: quarantine wins.
        assert failures_of(result.quarantined) == [
            ("", ["email_matches", "order_id_not_null", "status_in_set"]),
            ("o2", ["customer_id_exists_in_customers"]),
            ("o3", ["qty_castable", "unique_order_id"]),
            ("o3", ["unique_order_id"]),
        ]
        assert (result.rows_valid, result.rows_quarantined, result.rows_dropped) == (2, 4, 0)
    finally:
        result.release()


def test_conservation_rows_read_equal_written_quarantined_and_dropped(spark: SparkSession) -> None:
    data = spark.range(1000).select(
        F.col("id").cast("string").alias("id"),
        F.when(F.col("id") % 10 == 0, F.lit(None)).otherwise(F.col("id") % 7).alias("n"),
    )
    rules = [
        checks.not_null("n"),
        checks.in_range("n", None, 4, action="drop"),
        checks.condition("even", "n % 2 = 0", action="warn"),
    ]
    result = evaluate(data, rules)
    try:
        assert result.rows_read == 1000
        assert result.rows_quarantined == 100
        expected_dropped = len([i for i in range(1000) if i % 10 != 0 and i % 7 > 4])
        assert result.rows_dropped == expected_dropped
        assert result.rows_valid == 1000 - 100 - expected_dropped
        assert result.rows_valid + result.rows_quarantined + result.rows_dropped == result.rows_read
        assert result.valid.count() == result.rows_valid
        assert result.quarantined.count() == result.rows_quarantined
        assert result.rows_warned == len(
            [i for i in range(1000) if i % 10 != 0 and i % 7 <= 4 and (i % 7) % 2 == 1]
        )
    finally:
        result.release()


def test_a_fail_rule_stops_with_the_rule_and_counts(spark: SparkSession) -> None:
    with pytest.raises(QualityFailedError) as caught:
        evaluate(orders(spark), [checks.not_null("order_id", action="fail")], table="silver.orders")
    assert str(caught.value) == (
        "table 'silver.orders': quality check failed: "
        "rule 'order_id_not_null' failed on 1 of 6 rows"
    )


def test_a_quarantine_threshold_stops_the_step(spark: SparkSession) -> None:
    with pytest.raises(QualityFailedError, match=r"2 of 6 rows \(33.3%\) were quarantined"):
        evaluate(orders(spark), [checks.unique("order_id")], max_quarantine_share=0.2)


def test_dataset_rules(spark: SparkSession) -> None:
    now = dt.datetime.now()
    events = spark.createDataFrame(
        [(now - dt.timedelta(hours=2), "a"), (now - dt.timedelta(days=3), None)],
        "at TIMESTAMP, who STRING",
    )
    result = evaluate(
        events,
        [
            checks.row_count(1, 10),
            checks.freshness("at", dt.timedelta(hours=3), action="warn"),
            checks.null_share("who", 0.25, action="warn"),
            checks.freshness("at", dt.timedelta(hours=1), name="very_fresh", action="warn"),
        ],
    )
    try:
        assert [(m.rule, m.passed) for m in result.metrics] == [
            ("row_count", True),
            ("at_freshness", True),
            ("who_null_share", False),
            ("very_fresh", False),
        ]
        assert result.rows_valid == 2
    finally:
        result.release()
    with pytest.raises(QualityFailedError, match="rule 'row_count' failed the batch"):
        evaluate(events, [checks.row_count(minimum=3)])


def test_unique_against_the_target(spark: SparkSession) -> None:
    target = spark.createDataFrame([("o1",)], "order_id STRING")
    result = evaluate(
        orders(spark), [checks.unique("order_id", against_target=True)], target=target
    )
    try:
        assert failures_of(result.quarantined) == [
            ("o1", ["unique_order_id"]),
            ("o3", ["unique_order_id"]),
            ("o3", ["unique_order_id"]),
        ]
    finally:
        result.release()


def test_replayed_rows_are_checked_but_the_batch_is_the_new_rows(spark: SparkSession) -> None:
    rows = [
        ("o1", 5, None),
        ("o2", 1, None),
        ("o1", 4, "k1"),  # replayed: an older o1
        ("o3", -1, "k2"),  # replayed: fails again
        ("o4", 2, "k3"),  # replayed: passes now
    ]
    df = spark.createDataFrame(rows, "order_id STRING, qty INT, replayed STRING")
    rules = [
        checks.unique("order_id"),
        checks.in_range("qty", 0, None),
        checks.row_count(1, 2, action="fail"),  # 5 rows would fail it: the batch has 2
    ]
    result = evaluate(df, rules, replayed="replayed", max_quarantine_share=0.5)
    try:
        # The new o1 is not a duplicate of a replayed row; the replayed o1 is one of the new.
        assert failures_of(result.quarantined) == [
            ("o1", ["unique_order_id"]),
            ("o3", ["qty_in_range"]),
        ]
        assert sorted(r.order_id for r in result.valid.collect()) == ["o1", "o2", "o4"]
        assert (result.rows_read, result.rows_valid, result.rows_quarantined) == (5, 3, 2)
        assert (result.rows_replayed, result.rows_replayed_valid) == (3, 1)
        assert (result.metric("row_count").rows_checked, result.metric("row_count").passed) == (
            2,
            True,
        )
    finally:
        result.release()
    # Only replayed rows: dataset rules have no batch to judge.
    alone = evaluate(df.where("replayed = 'k2'"), rules, replayed="replayed")
    try:
        assert alone.metric("row_count").passed and alone.rows_quarantined == 1
    finally:
        alone.release()


ITEMS = Table(
    "orders",
    "silver",
    schema="order_id STRING, qty INT",
    primary_keys="order_id",
    rules=[checks.not_null("order_id"), checks.in_range("qty", 1, 10)],
)


def test_a_step_quarantines_with_reasons_and_reports_counts(
    spark: SparkSession, lakehouse: str
) -> None:
    pipeline = Pipeline("quality")

    @pipeline.step(ITEMS)
    def build(ctx: StepContext) -> DataFrame:
        rows = spark.createDataFrame(
            [("a", 1), ("b", 50), (None, 2), ("c", 3)], "order_id STRING, qty INT"
        )
        return ctx.check(rows, source="test rows")

    run = pipeline.run(spark, lakehouse, run_id="run-q")
    step = run.steps[0]
    assert (step.rows_read, step.rows_quarantined, step.rows_dropped) == (4, 2, 0)
    assert step.write is not None and step.write.rows_written == 2
    assert [(m.rule, m.rows_failed) for m in step.rule_metrics] == [
        ("order_id_not_null", 1),
        ("qty_in_range", 1),
    ]
    assert sorted(r["order_id"] for r in read_table(spark, ITEMS, lakehouse).collect()) == [
        "a",
        "c",
    ]
    quarantine = read_quarantine(spark, lakehouse, ITEMS.layer)
    assert_df_equality(
        quarantine.select(
            "table", "run_id", "source", F.col("failures.rule").alias("rules"), "record"
        ),
        spark.createDataFrame(
            [
                (
                    "silver.orders",
                    "run-q",
                    "test rows",
                    ["qty_in_range"],
                    '{"order_id":"b","qty":50}',
                ),
                ("silver.orders", "run-q", "test rows", ["order_id_not_null"], '{"qty":2}'),
            ],
            "table STRING, run_id STRING, source STRING, rules ARRAY<STRING>, record STRING",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_a_table_threshold_fails_the_step_and_merge_drops_are_counted(
    spark: SparkSession, lakehouse: str
) -> None:
    strict = Table(
        "strict_orders",
        "silver",
        schema="order_id STRING, qty INT",
        primary_keys="order_id",
        rules=[checks.in_range("qty", 1, 10)],
        max_quarantine_share=0.25,
    )
    pipeline = Pipeline("thresholds")
    rows = [("a", 1), ("a", 1), ("b", 50), ("c", 3)]  # "a" twice, the same row

    @pipeline.step(strict)
    def build(ctx: StepContext) -> DataFrame:
        return ctx.check(spark.createDataFrame(rows, "order_id STRING, qty INT"))

    run = pipeline.run(spark, lakehouse)
    step = run.steps[0]
    # 4 read: 1 quarantined, 1 dropped by the MERGE (key "a" twice), 2 written.
    assert (step.rows_read, step.rows_quarantined, step.rows_dropped) == (4, 1, 1)
    assert step.write is not None and step.write.rows_written == 2
    rows.extend([("d", 70), ("e", 80)])
    with pytest.raises(StepFailedError, match=r"3 of 6 rows \(50.0%\) were quarantined"):
        pipeline.run(spark, lakehouse)


def test_spark_refuses_what_the_check_without_a_jvm_lets_through(spark: SparkSession) -> None:
    from pyspark.sql.types import StructType

    from medallion.errors import RuleDefinitionError
    from medallion.quality import QualityRule
    from tests.unit.test_rule_expressions import LEFT_TO_SPARK

    schema = StructType.fromDDL("a INT, b INT, x TIMESTAMP")
    for expression in LEFT_TO_SPARK:
        with pytest.raises(RuleDefinitionError, match=r"rule 'lenient': invalid expression"):
            QualityRule("lenient", expression).check(spark, schema)
