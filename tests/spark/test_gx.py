"""Great Expectations suites as medallion rules, checked against GX's own results on Spark."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from medallion import Action, Pipeline, QualityResult, RuleKind, StepContext, Table
from medallion.errors import QualityFailedError, RuleDefinitionError
from medallion.quality.gx import (
    check_suite,
    evaluate_suite,
    load_suite,
    rules_from_suite,
    validate_suite,
)
from medallion.quality.quarantine import read_quarantine

gx = pytest.importorskip("great_expectations")

ORDERS = "order_id STRING, customer_id STRING, qty INT, status STRING, email STRING, code STRING"
ROWS = [
    ("o1", "c1", 2, "paid", "a@x.com", "AB1"),  # customer c1 twice (unique, mostly 0.5)
    ("o2", "c2", 0, "paid", "b@x.com", "AB2"),  # qty 0, strict minimum 0
    ("o3", "c3", 5, "lost", "c@x.com", "AB3"),  # status not in the set
    ("o4", "c4", 3, "sent", "not-an-email", "AB4"),  # email regex (mostly 12/13)
    (None, "c5", 1, "paid", "e@x.com", "AB5"),  # null key; (null, paid) twice
    ("o6", "c6", 1, "paid", "f@x.com", "TEST9"),  # code too long and matching ^TEST
    ("o7", "c1", 1, "paid", "averyveryverylongemail@x.com", "AB7"),  # email > 20, c1 twice
    ("o8", "c8", 1, "paid", "h@x.com", "AB8"),  # o8 twice, (o8, paid) twice
    ("o8", "c9", 1, "paid", "i@x.com", "AB9"),
    (None, "c10", 2, "paid", "j@x.com", "AB10"),  # null key; (null, paid) twice
    ("o11", "c666", 1, "sent", "k@x.com", "AB11"),  # a banned customer
    ("o12", "c12", None, "sent", "l@x.com", "AB12"),  # clean: a null qty is not out of range
    ("o13", "c13", 10, "sent", "m@x.com", None),  # clean: bounds inclusive, null code passes
]
EMAIL = r"^[^@\s]+@[^@\s]+\.[a-z]+$"


def expectation(kind: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs}


SUITE: dict[str, Any] = {
    "name": "orders",
    "expectations": [
        expectation("expect_column_values_to_not_be_null", column="order_id"),
        expectation(
            "expect_column_values_to_be_between",
            column="qty",
            min_value=0,
            max_value=10,
            strict_min=True,
        ),
        expectation(
            "expect_column_values_to_be_in_set", column="status", value_set=["paid", "sent"]
        ),
        expectation(
            "expect_column_values_to_not_be_in_set", column="customer_id", value_set=["c666"]
        ),
        expectation(
            "expect_column_values_to_match_regex", column="email", regex=EMAIL, mostly=12 / 13
        ),
        expectation("expect_column_values_to_not_match_regex", column="code", regex="^TEST"),
        expectation(
            "expect_column_value_lengths_to_be_between", column="code", min_value=2, max_value=4
        ),
        expectation(
            "expect_column_value_lengths_to_be_between", column="email", max_value=20, mostly=0.99
        ),
        expectation("expect_column_values_to_be_unique", column="order_id"),
        expectation("expect_compound_columns_to_be_unique", column_list=["order_id", "status"]),
        expectation("expect_column_values_to_be_unique", column="customer_id", mostly=0.5),
        expectation("expect_table_row_count_to_be_between", min_value=1, max_value=100),
        # No row-level meaning: validated by Great Expectations itself.
        expectation("expect_column_values_to_be_of_type", column="qty", type_="IntegerType"),
        expectation("expect_column_mean_to_be_between", column="qty", min_value=0, max_value=2),
        expectation(
            "expect_column_values_to_match_regex_list",
            column="email",
            regex_list=["@x[.]com$", "@y[.]com$"],
        ),
    ],
}

NOT_NULL = "gx__expect_column_values_to_not_be_null__order_id"
BETWEEN = "gx__expect_column_values_to_be_between__qty"
IN_SET = "gx__expect_column_values_to_be_in_set__status"
NOT_IN_SET = "gx__expect_column_values_to_not_be_in_set__customer_id"
REGEX = "gx__expect_column_values_to_match_regex__email"
NOT_REGEX = "gx__expect_column_values_to_not_match_regex__code"
CODE_LENGTH = "gx__expect_column_value_lengths_to_be_between__code"
EMAIL_LENGTH = "gx__expect_column_value_lengths_to_be_between__email"
UNIQUE_ORDER = "gx__expect_column_values_to_be_unique__order_id"
COMPOUND = "gx__expect_compound_columns_to_be_unique__order_id__status"
UNIQUE_CUSTOMER = "gx__expect_column_values_to_be_unique__customer_id"
ROW_COUNT = "gx__expect_table_row_count_to_be_between"
OF_TYPE = "gx__expect_column_values_to_be_of_type__qty"
MEAN = "gx__expect_column_mean_to_be_between__qty"
REGEX_LIST = "gx__expect_column_values_to_match_regex_list__email"

# Each translated expectation's rule and (for those with mostly < 1) its verdict, in order.
TRANSLATED = [
    NOT_NULL,
    BETWEEN,
    IN_SET,
    NOT_IN_SET,
    REGEX,
    f"{REGEX}_mostly",
    NOT_REGEX,
    CODE_LENGTH,
    EMAIL_LENGTH,
    f"{EMAIL_LENGTH}_mostly",
    UNIQUE_ORDER,
    COMPOUND,
    UNIQUE_CUSTOMER,
    ROW_COUNT,
]


@pytest.fixture(scope="module")
def orders(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(ROWS, ORDERS)


@pytest.fixture(scope="module")
def result(orders: DataFrame) -> Iterator[QualityResult]:
    outcome = evaluate_suite(orders, SUITE, table="silver.orders")
    yield outcome
    outcome.release()


@pytest.fixture(scope="module")
def gx_results(orders: DataFrame) -> dict[str, Any]:
    """Great Expectations' own results for the whole suite, by rule name."""
    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_spark("test", persist=False)
        .add_dataframe_asset("orders")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": orders})
    )
    validation = batch.validate(
        load_suite(SUITE), result_format={"result_format": "BASIC", "partial_unexpected_count": 0}
    )
    names = [
        NOT_NULL,
        BETWEEN,
        IN_SET,
        NOT_IN_SET,
        REGEX,
        NOT_REGEX,
        CODE_LENGTH,
        EMAIL_LENGTH,
        UNIQUE_ORDER,
        COMPOUND,
        UNIQUE_CUSTOMER,
        ROW_COUNT,
        OF_TYPE,
        MEAN,
        REGEX_LIST,
    ]
    position = {
        (e["type"], e["kwargs"].get("column"), tuple(e["kwargs"].get("column_list", ()))): name
        for e, name in zip(SUITE["expectations"], names, strict=True)
    }
    found = {}
    for outcome in validation.results:
        config = outcome.expectation_config
        column_list = tuple(config.kwargs.get("column_list", ()))
        found[position[(config.type, config.kwargs.get("column"), column_list)]] = outcome
    assert len(found) == len(names)
    return found


def test_the_suite_quarantines_exactly_the_rows_that_fail_with_their_expectations(
    spark: SparkSession, orders: DataFrame, result: QualityResult
) -> None:
    assert_df_equality(
        result.valid,
        spark.createDataFrame(ROWS[11:], ORDERS),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    failures = {
        0: [UNIQUE_CUSTOMER],
        1: [BETWEEN],
        2: [IN_SET],
        3: [REGEX],
        4: [COMPOUND, NOT_NULL],
        5: [CODE_LENGTH, NOT_REGEX],
        6: [EMAIL_LENGTH, UNIQUE_CUSTOMER],
        7: [COMPOUND, UNIQUE_ORDER],
        8: [COMPOUND, UNIQUE_ORDER],
        9: [COMPOUND, NOT_NULL],
        10: [NOT_IN_SET],
    }
    expected = spark.createDataFrame(
        [(*ROWS[i], sorted(rules)) for i, rules in failures.items()],
        ORDERS + ", rules ARRAY<STRING>",
    )
    assert_df_equality(
        result.quarantined.select(
            *orders.columns, F.array_sort("_quality_failures.rule").alias("rules")
        ),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert (result.rows_read, result.rows_valid, result.rows_quarantined) == (13, 2, 11)
    # The reason recorded with a row names the expectation and what it asks.
    messages = (
        result.quarantined.where("customer_id = 'c2'")
        .select(F.col("_quality_failures.message"))
        .first()
    )
    assert messages is not None
    assert messages[0] == ["expect_column_values_to_be_between: qty must be > 0.0 and <= 10.0"]


def test_metrics_hold_every_expectation_in_the_suites_order(result: QualityResult) -> None:
    assert [(m.rule, m.kind, m.action, m.rows_failed) for m in result.metrics] == [
        (NOT_NULL, RuleKind.ROW, Action.QUARANTINE, 2),
        (BETWEEN, RuleKind.ROW, Action.QUARANTINE, 1),
        (IN_SET, RuleKind.ROW, Action.QUARANTINE, 1),
        (NOT_IN_SET, RuleKind.ROW, Action.QUARANTINE, 1),
        (REGEX, RuleKind.ROW, Action.QUARANTINE, 1),
        (f"{REGEX}_mostly", RuleKind.DATASET, Action.WARN, 0),  # 12/13 >= 12/13
        (NOT_REGEX, RuleKind.ROW, Action.QUARANTINE, 1),
        (CODE_LENGTH, RuleKind.ROW, Action.QUARANTINE, 1),
        (EMAIL_LENGTH, RuleKind.ROW, Action.QUARANTINE, 1),
        (f"{EMAIL_LENGTH}_mostly", RuleKind.DATASET, Action.WARN, 1),  # 12/13 < 0.99
        (UNIQUE_ORDER, RuleKind.ROW, Action.QUARANTINE, 2),  # the two null keys are not duplicates
        (COMPOUND, RuleKind.ROW, Action.QUARANTINE, 4),  # (null, paid) twice is a duplicate
        (UNIQUE_CUSTOMER, RuleKind.ROW, Action.QUARANTINE, 2),
        (f"{UNIQUE_CUSTOMER}_mostly", RuleKind.DATASET, Action.WARN, 0),  # GX's verdict
        (ROW_COUNT, RuleKind.DATASET, Action.WARN, 0),
        # Validated by GX: a dataset result, or GX's unexpected_count for a row-level one.
        (OF_TYPE, RuleKind.DATASET, Action.WARN, 0),
        (MEAN, RuleKind.DATASET, Action.WARN, 1),
        (REGEX_LIST, RuleKind.ROW, Action.WARN, 1),
    ]
    assert all(m.rows_checked == 13 for m in result.metrics)


def test_translated_rules_agree_with_great_expectations(
    result: QualityResult, gx_results: dict[str, Any]
) -> None:
    for name in TRANSLATED:
        if name.endswith("_mostly"):
            verdict = gx_results[name.removesuffix("_mostly")].success
            assert result.metric(name).passed is verdict, name
        elif result.metric(name).kind is RuleKind.DATASET:
            assert result.metric(name).passed is gx_results[name].success, name
        else:
            assert result.metric(name).rows_failed == gx_results[name].result["unexpected_count"]
    # And validate_suite reports GX's numbers under the same names.
    assert {m.rule: m.rows_failed for m in result.metrics if m.rule in (MEAN, REGEX_LIST)} == {
        MEAN: 0 if gx_results[MEAN].success else 1,
        REGEX_LIST: gx_results[REGEX_LIST].result["unexpected_count"],
    }


def test_validate_suite_runs_everything_through_great_expectations(orders: DataFrame) -> None:
    subset = {"name": "subset", "expectations": SUITE["expectations"][8:11]}
    metrics = validate_suite(orders, subset)
    assert [(m.rule, m.kind, m.action, m.rows_checked, m.rows_failed) for m in metrics] == [
        (UNIQUE_ORDER, RuleKind.ROW, Action.WARN, 13, 2),
        (COMPOUND, RuleKind.ROW, Action.WARN, 13, 4),
        (UNIQUE_CUSTOMER, RuleKind.ROW, Action.WARN, 13, 2),
        (f"{UNIQUE_CUSTOMER}_mostly", RuleKind.DATASET, Action.WARN, 13, 0),
    ]


def test_untranslatable_expectations_are_named_not_ignored() -> None:
    with pytest.raises(RuleDefinitionError) as caught:
        rules_from_suite(SUITE)
    message = str(caught.value)
    assert message.startswith("4 expectation(s) cannot run as medallion rules")
    for kind in (
        "expect_column_values_to_be_unique (gx__expect_column_values_to_be_unique__customer_id)",
        "expect_column_values_to_be_of_type",
        "expect_column_mean_to_be_between",
        "expect_column_values_to_match_regex_list",
    ):
        assert kind in message
    rules = rules_from_suite(SUITE, untranslated="skip")
    assert [r.name for r in rules] == TRANSLATED


def test_a_suite_from_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(load_suite(SUITE).to_json_dict()))
    from_file = rules_from_suite(str(path), untranslated="skip")
    assert from_file == rules_from_suite(SUITE, untranslated="skip")
    assert [r.kind for r in from_file][-1] is RuleKind.DATASET
    # The 0.x JSON form, with expectation_suite_name and expectation_type, loads too.
    legacy = tmp_path / "legacy.json"
    legacy.write_text(
        json.dumps(
            {
                "expectation_suite_name": "legacy",
                "expectations": [
                    {"expectation_type": e["type"], "kwargs": e["kwargs"]}
                    for e in SUITE["expectations"]
                ],
            }
        )
    )
    assert rules_from_suite(legacy, untranslated="skip") == from_file
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"name": "x", "expectations": [expectation("expect_nothing")]}))
    with pytest.raises(RuleDefinitionError, match=r"expectation #1 \(expect_nothing\) is invalid"):
        rules_from_suite(broken)


def test_names_are_unique_and_do_not_depend_on_the_order() -> None:
    low = expectation("expect_column_values_to_be_between", column="q t", min_value=0)
    high = expectation("expect_column_values_to_be_between", column="q t", max_value=9)
    first = rules_from_suite({"name": "a", "expectations": [low, high]})
    second = rules_from_suite({"name": "b", "expectations": [high, low]})
    assert {r.name for r in first} == {r.name for r in second}
    assert len({r.name for r in first}) == 2
    assert all(r.name.startswith("gx__expect_column_values_to_be_between__q_t_") for r in first)


def test_fail_raises_naming_rules_and_expectations(orders: DataFrame) -> None:
    suite = {
        "name": "strict",
        "expectations": [
            expectation("expect_column_values_to_not_be_null", column="order_id"),
            expectation("expect_column_mean_to_be_between", column="qty", max_value=2),
        ],
    }
    with pytest.raises(QualityFailedError) as caught:
        evaluate_suite(orders, suite, action="fail", table="silver.orders")
    assert str(caught.value) == (
        "table 'silver.orders': quality check failed: "
        f"rule '{NOT_NULL}' failed on 2 of 13 rows; "
        f"expectation expect_column_mean_to_be_between ({MEAN}) failed "
        "(Great Expectations: observed 2.3333333333333335)"
    )
    assert [(m.rule, m.action, m.rows_failed) for m in caught.value.metrics] == [
        (NOT_NULL, Action.FAIL, 2),
        (MEAN, Action.FAIL, 1),
    ]
    # Failing rows only quarantined, but a GX expectation with a fail batch action stops it.
    with pytest.raises(QualityFailedError, match=r"expectation expect_column_mean_to_be_between"):
        evaluate_suite(orders, suite, batch_action="fail")


def test_check_suite_in_a_pipeline_quarantines_and_records_metrics(
    spark: SparkSession, lakehouse: str
) -> None:
    items = Table(
        "items",
        "silver",
        schema="item_id STRING, qty INT",
        primary_keys="item_id",
    )
    suite = {
        "name": "items",
        "expectations": [
            expectation("expect_column_values_to_be_between", column="qty", min_value=1),
            expectation("expect_column_max_to_be_between", column="qty", max_value=100),
        ],
    }
    pipeline = Pipeline("gx")

    @pipeline.step(items)
    def build(ctx: StepContext) -> DataFrame:
        rows = spark.createDataFrame([("a", 1), ("b", 0), ("c", 3)], "item_id STRING, qty INT")
        return check_suite(ctx, rows, suite, source="test rows")

    run = pipeline.run(spark, lakehouse, run_id="run-gx")
    step = run.steps[0]
    assert (step.rows_read, step.rows_quarantined) == (3, 1)
    assert [(m.rule, m.rows_failed) for m in step.rule_metrics] == [
        ("gx__expect_column_values_to_be_between__qty", 1),
        ("gx__expect_column_max_to_be_between__qty", 0),
    ]
    quarantine = read_quarantine(spark, lakehouse, items.layer)
    assert_df_equality(
        quarantine.select("table", "run_id", F.col("failures.rule").alias("rules"), "record"),
        spark.createDataFrame(
            [
                (
                    "silver.items",
                    "run-gx",
                    ["gx__expect_column_values_to_be_between__qty"],
                    '{"item_id":"b","qty":0}',
                )
            ],
            "table STRING, run_id STRING, rules ARRAY<STRING>, record STRING",
        ),
        ignore_nullable=True,
    )
