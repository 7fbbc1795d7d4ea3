"""The e-commerce example's gold layer, on hand-made silver tables (no silver step runs).

One lakehouse is shared by the module and goes through four gold runs:

1. ``first``: every gold step on the initial silver tables (a full build).
2. ``second``: after transactions on one new date (2024-02-14), a customer's city and tier
   change, another customer's email change and a product's price change.
3. ``third``: again, with no silver change: nothing may be committed.
4. ``fourth``: the sales marts only, after corrections: every line of 2024-01-15 cancelled and
   line T8 moved from 2024-02-02 to 2024-02-10.

The tests read each gold table as it was after a given run (time travel).

The silver data, with the revenue-bearing (completed) lines marked *:

line  order  customer  product  date (2024)  qty  price  discount   total  status
T1    O1     C1        P1       01-15 Mon      2  10.00             20.00  completed*
T2    O1     C1        P3       01-15 Mon      1  30.00             30.00  completed*
T3    O2     C2        P2       01-15 Mon      1  15.00             15.00  completed*
T4    O3     C3        P1       01-30 Tue      3  10.00             30.00  completed*
T5    O3     C3        P4       01-30 Tue      1  25.00             25.00  cancelled
T6    O4     C1        P2       01-30 Tue      2  15.00             30.00  completed*
T7    O5     C4        P3       02-02 Fri      1  30.00             30.00  completed*
T8    O6     C2        P1       02-02 Fri      1  10.00      0.10    9.00  completed*
T9    O7     C5        P4       02-10 Sat      4  25.00            100.00  completed*
T10   O8     C1        P2       02-10 Sat      1  15.00             15.00  completed*
T11   O9     C3        P1       02-12 Mon      1  10.00             10.00  pending

Added before the second run (2024-02-14, a Wednesday): T12 (O10, C3, P3, 2 x 30.00 = 60.00,
completed*) and T13 (O10, C3, P5, 20.00, returned).

The ISO week of Monday 2024-01-29 spans January and February.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from examples.ecommerce.pipeline import pipeline
from examples.ecommerce.tables import (
    GOLD_CUSTOMER_RFM,
    GOLD_DAILY_SALES,
    GOLD_DIM_CUSTOMERS,
    GOLD_DIM_DATES,
    GOLD_DIM_PRODUCTS,
    GOLD_MONTHLY_SALES,
    GOLD_PRODUCT_PERFORMANCE,
    GOLD_WEEKLY_SALES,
    SILVER_CUSTOMERS,
    SILVER_PRODUCTS,
    SILVER_TRANSACTIONS,
)
from medallion import (
    Commit,
    DeltaOps,
    MergeResult,
    RunResult,
    StepStatus,
    Table,
    WriteMode,
    write_table,
)
from tests.spark.test_gold_definitions import expected_rows

GOLD = (
    GOLD_DAILY_SALES,
    GOLD_WEEKLY_SALES,
    GOLD_MONTHLY_SALES,
    GOLD_DIM_CUSTOMERS,
    GOLD_DIM_PRODUCTS,
    GOLD_DIM_DATES,
    GOLD_CUSTOMER_RFM,
    GOLD_PRODUCT_PERFORMANCE,
)
SALES = (GOLD_DAILY_SALES, GOLD_WEEKLY_SALES, GOLD_MONTHLY_SALES)

D = dt.date
T = dt.datetime


def money(value: str) -> Decimal:
    return Decimal(value)


def line(
    tid: str,
    order: str,
    customer: str,
    product: str,
    day: dt.date,
    quantity: int,
    price: str,
    total: str,
    status: str = "completed",
    discount: str = "0",
) -> tuple[Any, ...]:
    return (
        tid,
        order,
        customer,
        product,
        quantity,
        money(price),
        money(discount),
        money(total),
        status,
        day,
    )


LINES = [
    line("T1", "O1", "C1", "P1", D(2024, 1, 15), 2, "10.00", "20.00"),
    line("T2", "O1", "C1", "P3", D(2024, 1, 15), 1, "30.00", "30.00"),
    line("T3", "O2", "C2", "P2", D(2024, 1, 15), 1, "15.00", "15.00"),
    line("T4", "O3", "C3", "P1", D(2024, 1, 30), 3, "10.00", "30.00"),
    line("T5", "O3", "C3", "P4", D(2024, 1, 30), 1, "25.00", "25.00", "cancelled"),
    line("T6", "O4", "C1", "P2", D(2024, 1, 30), 2, "15.00", "30.00"),
    line("T7", "O5", "C4", "P3", D(2024, 2, 2), 1, "30.00", "30.00"),
    line("T8", "O6", "C2", "P1", D(2024, 2, 2), 1, "10.00", "9.00", discount="0.10"),
    line("T9", "O7", "C5", "P4", D(2024, 2, 10), 4, "25.00", "100.00"),
    line("T10", "O8", "C1", "P2", D(2024, 2, 10), 1, "15.00", "15.00"),
    line("T11", "O9", "C3", "P1", D(2024, 2, 12), 1, "10.00", "10.00", "pending"),
]
NEW_LINES = [
    line("T12", "O10", "C3", "P3", D(2024, 2, 14), 2, "30.00", "60.00"),
    line("T13", "O10", "C3", "P5", D(2024, 2, 14), 1, "20.00", "20.00", "returned"),
]
CORRECTED_LINES = [
    line("T1", "O1", "C1", "P1", D(2024, 1, 15), 2, "10.00", "20.00", "cancelled"),
    line("T2", "O1", "C1", "P3", D(2024, 1, 15), 1, "30.00", "30.00", "cancelled"),
    line("T3", "O2", "C2", "P2", D(2024, 1, 15), 1, "15.00", "15.00", "cancelled"),
    line("T8", "O6", "C2", "P1", D(2024, 2, 10), 1, "10.00", "9.00", discount="0.10"),
]

JAN_1 = T(2024, 1, 1)
CUSTOMERS = [
    ("C1", "Ana", "Silva", "ana@example.com", "Lisbon", "Lisboa", "PT", "silver", JAN_1),
    ("C2", "Ben", "Okafor", "ben@example.com", "Lagos", "Lagos", "NG", "bronze", JAN_1),
    ("C3", "Chloe", "Martin", "chloe@example.com", "Lyon", "ARA", "FR", "gold", JAN_1),
    ("C4", "Dev", "Patel", "dev@example.com", "Pune", "MH", "IN", "bronze", JAN_1),
    ("C5", "Eva", "Novak", "eva@example.com", "Brno", "JM", "CZ", "platinum", JAN_1),
]
C1_MOVED = T(2024, 2, 14, 9)
C2_EMAIL = T(2024, 2, 14, 10)
CHANGED_CUSTOMERS = [
    ("C1", "Ana", "Silva", "ana@example.com", "Porto", "Porto", "PT", "gold", C1_MOVED),
    ("C2", "Ben", "Okafor", "ben.okafor@example.com", "Lagos", "Lagos", "NG", "bronze", C2_EMAIL),
]

PRODUCTS = [
    ("P1", "Novel", "Books", "Inkwell", "10.00", "6.00", JAN_1),
    ("P2", "Atlas", "Books", "Inkwell", "15.00", "9.00", JAN_1),
    ("P3", "Kite", "Toys", "Skyward", "30.00", "12.00", JAN_1),
    ("P4", "Robot", "Toys", "Bolt", "25.00", "15.00", JAN_1),
    ("P5", "Puzzle", "Toys", "Bolt", "20.00", "8.00", JAN_1),
]
CHANGED_PRODUCTS = [("P5", "Puzzle", "Toys", "Bolt", "18.00", "8.00", T(2024, 2, 14))]


def transactions(spark: SparkSession, rows: list[tuple[Any, ...]]) -> DataFrame:
    df = spark.createDataFrame(
        rows,
        "transaction_id STRING, order_id STRING, customer_id STRING, product_id STRING, "
        "quantity INT, unit_price DECIMAL(10,2), discount DECIMAL(4,2), "
        "line_total DECIMAL(12,2), status STRING, order_date DATE",
    )
    return df.select(
        "*",
        F.year("order_date").alias("order_year"),
        F.month("order_date").alias("order_month"),
        F.trunc("order_date", "week").alias("order_week_start"),
    )


def customers(spark: SparkSession, rows: list[tuple[Any, ...]]) -> DataFrame:
    df = spark.createDataFrame(
        rows,
        "customer_id STRING, first_name STRING, last_name STRING, email STRING, city STRING, "
        "state STRING, country STRING, loyalty_tier STRING, updated_at TIMESTAMP",
    )
    return df.select(
        "*",
        F.concat_ws(" ", "first_name", "last_name").alias("full_name"),
        F.lit(D(2023, 6, 1)).alias("signup_date"),
    )


def products(spark: SparkSession, rows: list[tuple[Any, ...]]) -> DataFrame:
    df = spark.createDataFrame(
        [(p, n, c, b, money(price), money(cost), at) for p, n, c, b, price, cost, at in rows],
        "product_id STRING, product_name STRING, category STRING, brand STRING, "
        "price DECIMAL(10,2), cost DECIMAL(10,2), updated_at TIMESTAMP",
    )
    return df.select(
        "*",
        (F.col("price") - F.col("cost")).cast("decimal(10,2)").alias("margin"),
        F.lit(True).alias("active"),
        F.lit(JAN_1).alias("created_at"),
    )


@attrs.frozen
class Lake:
    """The shared lakehouse, the four runs and the gold versions after each.

    ``versions`` holds, per run, the version each gold table's step wrote (or the one before);
    ``actual`` the tables' current versions (OPTIMIZE included) around the third run.
    """

    spark: SparkSession
    root: str
    runs: dict[str, RunResult]
    versions: dict[str, dict[str, int]]
    actual: dict[str, dict[str, int]]

    def read(self, table: Table, after: str) -> DataFrame:
        """A gold table as it was after a run."""
        ops = DeltaOps.of(self.spark, table, self.root)
        return ops.read(version=self.versions[after][table.qualified_name])

    def merged(self, table: Table, run: str) -> MergeResult:
        """The MERGE a step made in a run."""
        write = self.runs[run].step(table.qualified_name).write
        assert isinstance(write, MergeResult)
        return write


def _versions(spark: SparkSession, root: str) -> dict[str, int]:
    return {t.qualified_name: DeltaOps.of(spark, t, root).version() for t in GOLD}


def _run(spark: SparkSession, root: str, tables: tuple[Table, ...], run_id: str) -> RunResult:
    names = [t.qualified_name for t in tables]
    result = pipeline.run(spark, root, select=names, downstream=False, run_id=run_id, log=False)
    assert result.succeeded
    assert sorted(s.table for s in result.steps) == sorted(names)
    return result


@pytest.fixture(scope="module")
def lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    root = str(Path(tmp_path_factory.mktemp("gold")) / "lakehouse")
    runs: dict[str, RunResult] = {}
    versions: dict[str, dict[str, int]] = {}

    def run(name: str, tables: tuple[Table, ...] = GOLD) -> None:
        runs[name] = _run(spark, root, tables, name)
        # Each table as its step left it: the version it wrote (OPTIMIZE only follows it), or
        # the one of the run before.
        versions[name] = dict(versions[next(reversed(versions))]) if versions else {}
        for step in runs[name].steps:
            if step.write is not None and step.write.version is not None:
                versions[name][step.table] = step.write.version

    write_table(customers(spark, CUSTOMERS), SILVER_CUSTOMERS, root, mode=WriteMode.APPEND)
    write_table(products(spark, PRODUCTS), SILVER_PRODUCTS, root, mode=WriteMode.APPEND)
    write_table(transactions(spark, LINES), SILVER_TRANSACTIONS, root, mode=WriteMode.APPEND)
    run("first")

    write_table(transactions(spark, NEW_LINES), SILVER_TRANSACTIONS, root, mode=WriteMode.APPEND)
    write_table(customers(spark, CHANGED_CUSTOMERS), SILVER_CUSTOMERS, root)  # MERGE: updates
    write_table(products(spark, CHANGED_PRODUCTS), SILVER_PRODUCTS, root)
    run("second")

    actual = {"second": _versions(spark, root)}
    run("third")
    actual["third"] = _versions(spark, root)

    write_table(transactions(spark, CORRECTED_LINES), SILVER_TRANSACTIONS, root)
    run("fourth", SALES)
    yield Lake(spark, root, runs, versions, actual)


def expect(actual: DataFrame, table: Table, rows: list[tuple[Any, ...]]) -> None:
    spark = actual.sparkSession
    assert_df_equality(
        actual,
        spark.createDataFrame(rows, table.require_schema()),
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )


def sales(key: dt.date, *figures: Any, year: bool = False) -> tuple[Any, ...]:
    """A sales row: orders, lines, units, customers, revenue, average order value."""
    orders, lines, units, buyers, revenue, aov = figures
    row = (key, orders, lines, units, buyers, money(revenue), money(aov))
    return (*row, key.year) if year else row


# -- the first run: a full build -------------------------------------------------------------


def test_daily_weekly_and_monthly_sales_count_completed_lines_only(lake: Lake) -> None:
    # Per day: 01-15 = O1 (T1 20 + T2 30, 3 units) + O2 (T3 15): 2 orders, 3 lines, 4 units,
    # C1 and C2, 65.00, 65 / 2 = 32.50. 01-30: T5 is cancelled, so O3 counts T4 only:
    # T4 30 + T6 30, units 3 + 2. 02-12 has only a pending line: no row.
    expect(
        lake.read(GOLD_DAILY_SALES, "first"),
        GOLD_DAILY_SALES,
        [
            sales(D(2024, 1, 15), 2, 3, 4, 2, "65.00", "32.50", year=True),
            sales(D(2024, 1, 30), 2, 2, 5, 2, "60.00", "30.00", year=True),
            sales(D(2024, 2, 2), 2, 2, 2, 2, "39.00", "19.50", year=True),
            sales(D(2024, 2, 10), 2, 2, 5, 2, "115.00", "57.50", year=True),
        ],
    )
    # The week of Monday 01-29 holds 01-30 (Jan) and 02-02 (Feb): O3, O4, O5, O6 of
    # C3, C1, C4, C2; 30 + 30 + 30 + 9 = 99.00 over 4 orders = 24.75.
    expect(
        lake.read(GOLD_WEEKLY_SALES, "first"),
        GOLD_WEEKLY_SALES,
        [
            sales(D(2024, 1, 15), 2, 3, 4, 2, "65.00", "32.50"),
            sales(D(2024, 1, 29), 4, 4, 7, 4, "99.00", "24.75"),
            sales(D(2024, 2, 5), 2, 2, 5, 2, "115.00", "57.50"),
        ],
    )
    # January: O1-O4 of C1, C2, C3 (C1 twice): 65 + 60 = 125.00 / 4 = 31.25.
    # February: O5-O8 of C4, C2, C5, C1: 39 + 115 = 154.00 / 4 = 38.50.
    expect(
        lake.read(GOLD_MONTHLY_SALES, "first"),
        GOLD_MONTHLY_SALES,
        [
            sales(D(2024, 1, 1), 4, 5, 9, 3, "125.00", "31.25"),
            sales(D(2024, 2, 1), 4, 4, 7, 4, "154.00", "38.50"),
        ],
    )


def rfm(
    customer: str,
    last: dt.date,
    recency: int,
    frequency: int,
    monetary: str,
    scores: str,
    segment: str,
    as_of: dt.date,
) -> tuple[Any, ...]:
    r, f, m = (int(s) for s in scores)
    return (customer, last, recency, frequency, money(monetary), r, f, m, scores, segment, as_of)


def test_customer_rfm_scores_and_segments(lake: Lake) -> None:
    # First run: the latest completed order is on 02-10, so as of 02-11. Completed orders:
    #   C1: O1 01-15 (50), O4 01-30 (30), O8 02-10 (15): recency 1, F 3, M 95
    #   C2: O2 01-15 (15), O6 02-02 (9):                  recency 9, F 2, M 24
    #   C3: O3 01-30 (30; T5 cancelled, O9 pending):     recency 12, F 1, M 30
    #   C4: O5 02-02 (30):                                recency 9, F 1, M 30
    #   C5: O7 02-10 (100):                               recency 1, F 1, M 100
    # Five customers in five tiles: each score is a rank, ties by customer_id (higher id,
    # higher score). R by recency descending: C3 12, C2 9, C4 9, C1 1, C5 1 -> 1..5.
    # F ascending: C3 1, C4 1, C5 1, C2 2, C1 3 -> 1..5. M: C2 24, C3 30, C4 30, C1 95, C5 100.
    # FM = (F + M + 1) div 2: C1 (5+4+1)/2 = 5, C2 3, C3 2, C4 3, C5 4.
    # Segments (R, FM): C1 (4, 5) Loyal, C2 (2, 3) At Risk, C3 (1, 2) Lost,
    # C4 (3, 3) Need Attention, C5 (5, 4) Champions.
    first = D(2024, 2, 11)
    expect(
        lake.read(GOLD_CUSTOMER_RFM, "first"),
        GOLD_CUSTOMER_RFM,
        [
            rfm("C1", D(2024, 2, 10), 1, 3, "95.00", "454", "Loyal Customers", first),
            rfm("C2", D(2024, 2, 2), 9, 2, "24.00", "241", "At Risk", first),
            rfm("C3", D(2024, 1, 30), 12, 1, "30.00", "112", "Lost", first),
            rfm("C4", D(2024, 2, 2), 9, 1, "30.00", "323", "Need Attention", first),
            rfm("C5", D(2024, 2, 10), 1, 1, "100.00", "535", "Champions", first),
        ],
    )
    # Second run: C3 bought O10 on 02-14 (T12 60; T13 returned): F 2, M 90. As of 02-15:
    # recency C1 5, C2 13, C3 1, C4 13, C5 5.
    # R: C2 13, C4 13, C1 5, C5 5, C3 1 -> 1..5. F: C4 1, C5 1, C2 2, C3 2, C1 3 -> 1..5.
    # M: C2 24, C4 30, C3 90, C1 95, C5 100 -> 1..5.
    # FM: C1 (5+4+1)/2 = 5, C2 (3+1+1)/2 = 2, C3 (4+3+1)/2 = 4, C4 (1+2+1)/2 = 2, C5 4.
    # Segments: C1 (3, 5) Loyal, C2 (1, 2) Lost, C3 (5, 4) Champions, C4 (2, 2) Hibernating,
    # C5 (4, 4) Loyal.
    second = D(2024, 2, 15)
    expect(
        lake.read(GOLD_CUSTOMER_RFM, "second"),
        GOLD_CUSTOMER_RFM,
        [
            rfm("C1", D(2024, 2, 10), 5, 3, "95.00", "354", "Loyal Customers", second),
            rfm("C2", D(2024, 2, 2), 13, 2, "24.00", "131", "Lost", second),
            rfm("C3", D(2024, 2, 14), 1, 2, "90.00", "543", "Champions", second),
            rfm("C4", D(2024, 2, 2), 13, 1, "30.00", "212", "Hibernating", second),
            rfm("C5", D(2024, 2, 10), 5, 1, "100.00", "425", "Loyal Customers", second),
        ],
    )


def dim_customer(
    customer: tuple[Any, ...], valid_from: dt.datetime, valid_to: dt.datetime | None
) -> tuple[Any, ...]:
    cid, first, last, email, city, state, country, tier, updated = customer
    return (
        cid,
        f"{first} {last}",
        email,
        city,
        state,
        country,
        D(2023, 6, 1),
        tier,
        updated,
        valid_from,
        valid_to,
        valid_to is None,
    )


def test_dim_customers_keeps_history_of_tracked_changes_and_updates_email_in_place(
    lake: Lake,
) -> None:
    c1, _, *others = CUSTOMERS
    expect(
        lake.read(GOLD_DIM_CUSTOMERS, "first"),
        GOLD_DIM_CUSTOMERS,
        [dim_customer(c, JAN_1, None) for c in CUSTOMERS],
    )
    moved, new_email = CHANGED_CUSTOMERS
    expect(
        lake.read(GOLD_DIM_CUSTOMERS, "second"),
        GOLD_DIM_CUSTOMERS,
        [
            dim_customer(c1, JAN_1, C1_MOVED),  # Lisbon / silver, closed when C1 moved
            dim_customer(moved, C1_MOVED, None),  # Porto / gold, current from then on
            dim_customer(new_email, JAN_1, None),  # same version, email changed in place
            *[dim_customer(c, JAN_1, None) for c in others],
        ],
    )
    merged = lake.merged(GOLD_DIM_CUSTOMERS, "second")
    # C1's new version inserted; C1's old version closed and C2 updated in place.
    assert (merged.rows_inserted, merged.rows_updated, merged.rows_deleted) == (1, 2, 0)


def performance(product: str, name: str, category: str, *figures: Any) -> tuple[Any, ...]:
    revenue, units, orders, rank, category_rank = figures
    return (product, name, category, money(revenue), units, orders, rank, category_rank)


def test_product_performance_ranks_overall_and_within_category_with_ties(lake: Lake) -> None:
    # P1: T1 20 + T4 30 + T8 9 = 59 (units 2 + 3 + 1, O1 O3 O6); P2: T3 15 + T6 30 + T10 15
    # = 60 (units 4, O2 O4 O8); P3: T2 30 + T7 30 = 60 (units 2, O1 O5); P4: T9 100 (T5
    # cancelled); P5 never sold. Dense ranks by revenue: P4 1, P2 and P3 tie at 2, P1 3, P5 4.
    # Books: P2 1, P1 2. Toys: P4 1, P3 2, P5 3.
    expect(
        lake.read(GOLD_PRODUCT_PERFORMANCE, "first"),
        GOLD_PRODUCT_PERFORMANCE,
        [
            performance("P1", "Novel", "Books", "59.00", 6, 3, 3, 2),
            performance("P2", "Atlas", "Books", "60.00", 4, 3, 2, 1),
            performance("P3", "Kite", "Toys", "60.00", 2, 2, 2, 2),
            performance("P4", "Robot", "Toys", "100.00", 4, 1, 1, 1),
            performance("P5", "Puzzle", "Toys", "0.00", 0, 0, 4, 3),
        ],
    )
    # Second run: P3 + T12 (2 x 30, O10) = 120; T13 of P5 was returned. The tie is gone.
    expect(
        lake.read(GOLD_PRODUCT_PERFORMANCE, "second"),
        GOLD_PRODUCT_PERFORMANCE,
        [
            performance("P1", "Novel", "Books", "59.00", 6, 3, 4, 2),
            performance("P2", "Atlas", "Books", "60.00", 4, 3, 3, 1),
            performance("P3", "Kite", "Toys", "120.00", 4, 3, 1, 1),
            performance("P4", "Robot", "Toys", "100.00", 4, 1, 2, 2),
            performance("P5", "Puzzle", "Toys", "0.00", 0, 0, 5, 3),
        ],
    )


def calendar_row(day: dt.date) -> tuple[Any, ...]:
    return (
        day,
        day.year,
        (day.month - 1) // 3 + 1,
        day.month,
        calendar.month_name[day.month],
        day - dt.timedelta(days=day.weekday()),
        day.isocalendar()[1],
        day.day,
        day.isoweekday(),
        calendar.day_name[day.weekday()],
        day.isoweekday() >= 6,
    )


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def test_dim_dates_covers_the_order_dates_and_grows_with_them(lake: Lake) -> None:
    # Every order date counts, the pending line's 02-12 included.
    expect(
        lake.read(GOLD_DIM_DATES, "first"),
        GOLD_DIM_DATES,
        [calendar_row(d) for d in days(D(2024, 1, 15), D(2024, 2, 12))],
    )
    expect(
        lake.read(GOLD_DIM_DATES, "second"),
        GOLD_DIM_DATES,
        [calendar_row(d) for d in days(D(2024, 1, 15), D(2024, 2, 14))],
    )
    assert lake.merged(GOLD_DIM_DATES, "second").rows_inserted == 2


def test_dim_products_merges_changed_attributes(lake: Lake) -> None:
    def dim(product: tuple[Any, ...]) -> tuple[Any, ...]:
        pid, name, category, brand, price, cost, _ = product
        margin = money(price) - money(cost)
        return (pid, name, category, brand, money(price), money(cost), margin, True)

    expect(lake.read(GOLD_DIM_PRODUCTS, "first"), GOLD_DIM_PRODUCTS, [dim(p) for p in PRODUCTS])
    expect(
        lake.read(GOLD_DIM_PRODUCTS, "second"),
        GOLD_DIM_PRODUCTS,
        [dim(p) for p in PRODUCTS[:4] + CHANGED_PRODUCTS],
    )
    merged = lake.merged(GOLD_DIM_PRODUCTS, "second")
    assert (merged.rows_inserted, merged.rows_updated) == (0, 1)


# -- the second run: new transactions on 2024-02-14 ------------------------------------------


def test_new_transactions_change_only_their_day_week_and_month(lake: Lake) -> None:
    # 02-14: O10 of C3 counts T12 only (T13 was returned): 1 order, 1 line, 2 units, 60.00.
    # It is a new day and a new week (02-12 had only a pending line), and changes February:
    # O5-O8 and O10 of C4, C2, C5, C1, C3: 154 + 60 = 214.00 / 5 = 42.80, units 7 + 2.
    new_day = sales(D(2024, 2, 14), 1, 1, 2, 1, "60.00", "60.00", year=True)
    new_week = sales(D(2024, 2, 12), 1, 1, 2, 1, "60.00", "60.00")
    february = sales(D(2024, 2, 1), 5, 5, 9, 5, "214.00", "42.80")
    spark = lake.spark
    for table, changed, counts in (
        (GOLD_DAILY_SALES, new_day, (1, 0, 0)),
        (GOLD_WEEKLY_SALES, new_week, (1, 0, 0)),
        (GOLD_MONTHLY_SALES, february, (0, 1, 0)),
    ):
        key = table.primary_keys[0]
        before = lake.read(table, "first").where(F.col(key) != changed[0])
        expected = before.unionByName(spark.createDataFrame([changed], table.require_schema()))
        assert_df_equality(
            lake.read(table, "second"),
            expected,
            ignore_row_order=True,
            ignore_nullable=True,
            ignore_metadata=True,
        )
        merged = lake.merged(table, "second")
        assert (merged.rows_inserted, merged.rows_updated, merged.rows_deleted) == counts
        assert merged.source_rows == 1  # only the affected period was recomputed


def test_a_rerun_without_silver_changes_commits_no_gold_version(lake: Lake) -> None:
    third = lake.runs["third"]
    assert {s.step: (s.status, s.write) for s in third.steps} == {
        f"gold_{t.name}": (StepStatus.UP_TO_DATE, None) for t in GOLD
    }
    assert lake.actual["third"] == lake.actual["second"]


# -- the fourth run: corrections -------------------------------------------------------------


def test_corrections_delete_emptied_periods_and_follow_lines_to_their_new_date(
    lake: Lake,
) -> None:
    # Every line of 01-15 cancelled: the day and its week lose their rows; January keeps
    # O3 (T4 30) and O4 (T6 30) of C3 and C1. T8 (O6, C2, 9.00) moved from 02-02 to 02-10:
    # 02-02 keeps O5 (known only from T8's old image), 02-10 has O7, O8 and O6:
    # 100 + 15 + 9 = 124.00 / 3 = 41.33, units 4 + 1 + 1. The week of 01-29 keeps
    # T4, T6 and T7: 90.00 over O3, O4, O5. February is recomputed but unchanged.
    expect(
        lake.read(GOLD_DAILY_SALES, "fourth"),
        GOLD_DAILY_SALES,
        [
            sales(D(2024, 1, 30), 2, 2, 5, 2, "60.00", "30.00", year=True),
            sales(D(2024, 2, 2), 1, 1, 1, 1, "30.00", "30.00", year=True),
            sales(D(2024, 2, 10), 3, 3, 6, 3, "124.00", "41.33", year=True),
            sales(D(2024, 2, 14), 1, 1, 2, 1, "60.00", "60.00", year=True),
        ],
    )
    expect(
        lake.read(GOLD_WEEKLY_SALES, "fourth"),
        GOLD_WEEKLY_SALES,
        [
            sales(D(2024, 1, 29), 3, 3, 6, 3, "90.00", "30.00"),
            sales(D(2024, 2, 5), 3, 3, 6, 3, "124.00", "41.33"),
            sales(D(2024, 2, 12), 1, 1, 2, 1, "60.00", "60.00"),
        ],
    )
    expect(
        lake.read(GOLD_MONTHLY_SALES, "fourth"),
        GOLD_MONTHLY_SALES,
        [
            sales(D(2024, 1, 1), 2, 2, 5, 2, "60.00", "30.00"),
            sales(D(2024, 2, 1), 5, 5, 9, 5, "214.00", "42.80"),
        ],
    )
    counts = {
        t.name: (m.rows_inserted, m.rows_updated, m.rows_deleted)
        for t in SALES
        for m in [lake.merged(t, "fourth")]
    }
    assert counts == {
        "daily_sales": (0, 2, 1),
        "weekly_sales": (0, 2, 1),
        "monthly_sales": (0, 1, 0),
    }


# -- every run: the tables follow the definitions of docs/ecommerce.md -----------------------

RUNS = ("first", "second", "third", "fourth")
SILVER = {t.qualified_name: t for t in (SILVER_CUSTOMERS, SILVER_PRODUCTS, SILVER_TRANSACTIONS)}
_history: dict[tuple[str, str], dict[int, Commit]] = {}
_silver_rows: dict[tuple[str, str, int], list[dict[str, Any]]] = {}


def silver_reads(lake: Lake, table: Table, run: str) -> list[dict[str, list[dict[str, Any]]]]:
    """Silver as a gold step read it, for each run up to ``run`` that wrote the table.

    The versions read are those the step's commit records as consumed (``medallion_consumed``,
    ``{"silver.transactions->gold.daily_sales": 3}``).
    """
    ops = DeltaOps.of(lake.spark, table, lake.root)
    commits = _history.setdefault(
        (lake.root, table.qualified_name), {c.version: c for c in ops.history()}
    )
    reads = []
    written = [lake.versions[name][table.qualified_name] for name in RUNS[: RUNS.index(run) + 1]]
    for version in sorted(set(written)):
        read = {}
        for consumer, consumed in commits[version].tags["medallion_consumed"].items():
            source = consumer.split("->")[0]
            key = (lake.root, source, int(consumed))
            if key not in _silver_rows:
                silver_ops = DeltaOps.of(lake.spark, SILVER[source], lake.root)
                silver = silver_ops.read(version=int(consumed))
                _silver_rows[key] = [row.asDict() for row in silver.collect()]
            read[source] = _silver_rows[key]
        reads.append(read)
    return reads


@pytest.mark.parametrize(
    ("run", "table"),
    [(run, table) for run in ("first", "second") for table in GOLD]
    + [("fourth", table) for table in SALES],
    ids=lambda value: value if isinstance(value, str) else value.name,
)
def test_gold_tables_follow_their_documented_definitions(
    lake: Lake, run: str, table: Table
) -> None:
    # The rows recomputed in plain Python from the silver rows the step read, following the
    # page's definitions (tests/spark/test_gold_definitions.py), after a full build, an
    # incremental run and (for the sales marts) a run of corrections.
    expected = expected_rows(table, silver_reads(lake, table, run))
    assert expected  # the data set exercises every table
    expect(lake.read(table, run), table, expected)
