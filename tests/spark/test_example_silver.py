"""The e-commerce example's silver layer: standardised, checked, de-duplicated, incremental.

The module runs the bronze and silver steps on small hand-written files in the generator's
formats: once on a first delivery, then (after a bronze-only run on one more customer file) on
a second delivery, then once more without new files. The lakehouse is shared by the module's
tests; each test reads the silver version it is about.

The second delivery corrects customer C004 (quarantined the first time), so the first run's
line T011, quarantined because silver did not hold C004, is replayed by the second run and
written; T010 (C999) and T012 (P003, still quarantined) stay open.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from examples.ecommerce.pipeline import pipeline
from examples.ecommerce.silver import standardise_transactions
from examples.ecommerce.tables import (
    BRONZE_TRANSACTIONS,
    SILVER_CUSTOMERS,
    SILVER_PRODUCTS,
    SILVER_TRANSACTIONS,
)
from medallion import DeltaOps, Layer, MergeResult, RunResult, StepRun, StepStatus, Table
from medallion.quality.quarantine import read_quarantine

BRONZE_STEPS = ["bronze_customers", "bronze_products", "bronze_transactions"]
SILVER_STEPS = ["silver_customers", "silver_products", "silver_transactions"]
SILVER_TABLES = (SILVER_CUSTOMERS, SILVER_PRODUCTS, SILVER_TRANSACTIONS)
CUSTOMER_HEADER = (
    "customer_id,first_name,last_name,email,phone,city,state,country,signup_date,loyalty_tier"
)

# -- the landing files, in the generator's formats, with one record of each kind of dirt

CUSTOMERS_1 = [
    CUSTOMER_HEADER,
    "C001,aNNA,SMITH,  ANNA.SMITH@EXAMPLE.COM ,555-0101,Boston,ma,us,2024-01-15,Gold",
    "C002,Bob,Jones,bob.jones@example.com,555-0102,  New   York ,NY,US,2023-06-01,gold",
    "C002,Bob,Jones,bob.jones@example.com,555-0102,  New   York ,NY,US,2023-06-01,gold",
    ",Carl,Nokey,carl@example.com,555-0103,Austin,TX,US,2024-02-02,bronze",
    "C004,Dana,Late,dana@example.com,555-0104,Miami,FL,US,31/02/2024,bronze",
    "C005,Eve,Mail,eve-at-example.com,555-0105,Reno,NV,US,2024-03-03,platinum",
]
# Two later exports of C002 (bronze, then silver), ingested by two runs: the later one wins,
# although the MERGE's tie-break on the other columns alone would keep "bronze".
CUSTOMERS_2 = [
    CUSTOMER_HEADER,
    "C002,Bob,Jones,bob.jones@example.com,555-0102,New York,NY,US,2023-06-01,bronze",
]
CUSTOMERS_3 = [
    CUSTOMER_HEADER,
    "C002,Bob,Jones,bob.jones@example.com,555-0102,New York,NY,US,2023-06-01,silver",
    "C004,Dana,Late,dana@example.com,555-0104,Miami,FL,US,2024-02-29,bronze",
]


def _product(product_id: str, name: str, category: str, price: Any, cost: float) -> str:
    return json.dumps(
        {
            "product_id": product_id,
            "name": name,
            "category": category,
            "brand": "Acme",
            "price": price,
            "cost": cost,
            "active": product_id != "P002",
            "created_at": "2025-06-01T10:00:00",
        }
    )


PRODUCTS_1 = [
    _product("P001", "  Classic Mug ", " home & KITCHEN ", 12.5, 5.25),
    _product("P002", "Smart Lamp", "Electronics", 40.0, 22.1),
    _product("P002", "Smart Lamp", "Electronics", 40.0, 22.1),
    _product("P003", "Mystery Box", "Toys & Games", "N/A", 3.0),
    _product("P004", "Refund Book", "Books", -9.99, 2.0),
]


def _line(
    txn: str,
    customer: str | None,
    product: str,
    quantity: Any = 1,
    unit_price: Any = 40.0,
    discount: float = 0.0,
    payment: str = "credit_card",
    status: str = "completed",
    channel: str = "web",
    event_time: str = "2026-01-10T10:00:00",
) -> str:
    return json.dumps(
        {
            "transaction_id": txn,
            "order_id": "O" + txn[1:],
            "customer_id": customer,
            "product_id": product,
            "quantity": quantity,
            "unit_price": unit_price,
            "discount": discount,
            "payment_method": payment,
            "status": status,
            "channel": channel,
            "event_time": event_time,
        }
    )


# fmt: off
T002 = _line("T002", "C002", "P002", 1, 40.0, 0.0, " Apple Pay", "  COMPLETED ", "Mobile",
             "2026-01-05T08:00:00")
TRANSACTIONS_1 = [
    _line("T001", "C001", "P001", 2, 12.5, 0.1, event_time="2026-01-04T23:15:00"),
    T002,
    T002,  # an exact duplicate line: dropped by the MERGE, not quarantined
    _line("T003", "C005", "P001", 3, 12.5, 0.15, "paypal", channel="store",
          event_time="2026-02-28T12:30:00"),
    _line("T005", None, "P001"),  # null key
    _line("T006", "C001", "P001", quantity="three"),  # rescued by bronze: quantity is null
    _line("T007", "C001", "P001")[:40],  # malformed JSON
    _line("T008", "C001", "P001", quantity=0),
    _line("T009", "C001", "P001", discount=1.5),
    _line("T010", "C999", "P001"),  # no such customer
    _line("T011", "C004", "P001"),  # its customer was quarantined
    _line("T012", "C001", "P003"),  # its product was quarantined
    _line("T013", "C001", "P001", status="refunded"),
    _line("T014", "C001", "P002", payment="bitcoin", event_time="2026-03-01T00:05:00"),
]
TRANSACTIONS_2 = [
    # T003 sent again, corrected: an update
    _line("T003", "C005", "P001", 3, 12.5, 0.15, "paypal", "returned", "store",
          "2026-02-28T12:30:00"),
    _line("T015", "C004", "P002", event_time="2026-03-02T09:00:00"),  # C004 has arrived
    _line("T016", "C002", "P001", 1, 12.5, event_time="2026-03-02T10:00:00"),
]
# fmt: on


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@attrs.frozen
class Runs:
    """The lakehouse, the runs made on it and the silver versions each left."""

    root: str
    first: RunResult
    bronze_only: RunResult
    second: RunResult
    third: RunResult
    versions: dict[str, dict[str, int]]


def _versions(spark: SparkSession, root: str) -> dict[str, int]:
    return {t.qualified_name: DeltaOps.of(spark, t, root).version() for t in SILVER_TABLES}


@pytest.fixture(scope="module")
def runs(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    base = tmp_path_factory.mktemp("silver")
    landing, root = base / "landing", str(base / "lakehouse")
    params = {"landing": landing}

    def run(select: list[str]) -> RunResult:
        return pipeline.run(spark, root, select, downstream=False, params=params, log=False)

    _write(landing / "customers" / "customers.csv", CUSTOMERS_1)
    _write(landing / "products" / "products.json", PRODUCTS_1)
    _write(landing / "transactions" / "transactions_001.json", TRANSACTIONS_1)
    first = run(BRONZE_STEPS + SILVER_STEPS)
    versions = {"first": _versions(spark, root)}

    _write(landing / "customers" / "customers_2.csv", CUSTOMERS_2)
    bronze_only = run(["bronze_customers"])
    _write(landing / "customers" / "customers_3.csv", CUSTOMERS_3)
    _write(landing / "transactions" / "transactions_002.json", TRANSACTIONS_2)
    second = run(BRONZE_STEPS + SILVER_STEPS)
    versions["second"] = _versions(spark, root)

    third = run(BRONZE_STEPS + SILVER_STEPS)
    versions["third"] = _versions(spark, root)
    return Runs(root, first, bronze_only, second, third, versions)


def _silver(spark: SparkSession, runs: Runs, table: Table, after: str) -> DataFrame:
    version = runs.versions[after][table.qualified_name]
    key = table.primary_keys[0]
    return DeltaOps.of(spark, table, runs.root).read(version=version).orderBy(key)


def _expected(spark: SparkSession, table: Table, rows: list[tuple[Any, ...]]) -> DataFrame:
    return spark.createDataFrame(rows, table.require_schema()).orderBy(table.primary_keys[0])


def _counts(step: StepRun) -> tuple[int | None, int, int, int | None, int, int]:
    """(read, quarantined, dropped, version, inserted, updated) of a step."""
    write = step.write
    if write is None:  # up to date: the step did not run
        assert step.status is StepStatus.UP_TO_DATE
        return (step.rows_read, step.rows_quarantined, step.rows_dropped, None, 0, 0)
    return (
        step.rows_read,
        step.rows_quarantined,
        step.rows_dropped,
        write.version,
        write.rows_inserted,
        write.rows_updated,
    )


def _warned(step: StepRun) -> dict[str, int]:
    return {m.rule: m.rows_failed for m in step.rule_metrics if m.rows_failed}


def test_standardise_transactions_types_money_and_dates(spark: SparkSession) -> None:
    ingested = dt.datetime(2026, 4, 1, 6, 0)
    # fmt: off
    bronze_rows = [
        (" T1 ", "O1", "C1", "P1", 3, 12.5, 0.15, "Credit Card", " PENDING ", "Web",
         dt.datetime(2026, 1, 1, 0, 30), ingested),
        ("T2", "O2", "C1", "P1", 1, 19.99, 0.0, "  gift_card ", "Returned", " STORE",
         dt.datetime(2026, 1, 5, 23, 59), ingested),
    ]
    silver_rows = [
        ("T1", "O1", "C1", "P1", 3, Decimal("12.50"), Decimal("0.15"), Decimal("31.88"),
         "credit_card", "pending", "web", dt.datetime(2026, 1, 1, 0, 30),
         dt.date(2026, 1, 1), 2026, 1, dt.date(2025, 12, 29), "Thu", 0, ingested),
        ("T2", "O2", "C1", "P1", 1, Decimal("19.99"), Decimal("0.00"), Decimal("19.99"),
         "gift_card", "returned", "store", dt.datetime(2026, 1, 5, 23, 59),
         dt.date(2026, 1, 5), 2026, 1, dt.date(2026, 1, 5), "Mon", 23, ingested),
    ]
    # fmt: on
    bronze = spark.createDataFrame(
        bronze_rows,
        "transaction_id STRING, order_id STRING, customer_id STRING, product_id STRING, "
        "quantity INT, unit_price DOUBLE, discount DOUBLE, payment_method STRING, "
        "status STRING, channel STRING, event_time TIMESTAMP, _ingested_at TIMESTAMP",
    )
    assert_df_equality(
        standardise_transactions(bronze).orderBy("transaction_id"),
        _expected(spark, SILVER_TRANSACTIONS, silver_rows),
        ignore_nullable=True,
    )


def test_first_run_counts_every_row_read(spark: SparkSession, runs: Runs) -> None:
    first = runs.first
    assert first.succeeded
    # rows read = merged + quarantined + dropped (by the MERGE's de-duplication)
    assert _counts(first.step("silver_customers")) == (6, 2, 1, 1, 3, 0)
    assert _counts(first.step("silver_products")) == (5, 2, 1, 1, 2, 0)
    assert _counts(first.step("silver_transactions")) == (14, 9, 1, 1, 4, 0)
    for name in SILVER_STEPS:
        write = first.step(name).write
        assert isinstance(write, MergeResult)
        assert (write.duplicates_removed, write.null_keys_dropped) == (1, 0)
    assert _warned(first.step("silver_customers"))["email_format"] == 1
    assert _warned(first.step("silver_products"))["cost_not_above_price"] == 1
    assert _warned(first.step("silver_transactions"))["payment_method_in_set"] == 1
    # The bronze version consumed is recorded in the commit of the MERGE.
    version = runs.versions["first"]["silver.transactions"]
    history = DeltaOps.of(spark, SILVER_TRANSACTIONS, runs.root).history()
    commit = next(c for c in history if c.version == version)
    assert commit.operation == "MERGE"
    assert commit.run_id == first.run_id
    assert commit.tags["medallion_consumed"] == {
        "bronze.transactions->silver.transactions": 1,
        # The dimensions' versions the reference rules read (nothing was open to replay yet).
        "silver.customers->silver.transactions:replay": 1,
        "silver.products->silver.transactions:replay": 1,
    }


def test_first_run_writes_standardised_rows(spark: SparkSession, runs: Runs) -> None:
    at = runs.first.started_at
    created = dt.datetime(2025, 6, 1, 10, 0)
    # fmt: off
    customers = [
        ("C001", "Anna", "Smith", "Anna Smith", "anna.smith@example.com", "555-0101",
         "Boston", "MA", "US", dt.date(2024, 1, 15), "gold", at),
        ("C002", "Bob", "Jones", "Bob Jones", "bob.jones@example.com", "555-0102",
         "New York", "NY", "US", dt.date(2023, 6, 1), "gold", at),
        ("C005", "Eve", "Mail", "Eve Mail", "eve-at-example.com", "555-0105",
         "Reno", "NV", "US", dt.date(2024, 3, 3), "platinum", at),
    ]
    products = [
        ("P001", "Classic Mug", "Home & Kitchen", "Acme", Decimal("12.50"), Decimal("5.25"),
         Decimal("7.25"), True, created, at),
        ("P002", "Smart Lamp", "Electronics", "Acme", Decimal("40.00"), Decimal("22.10"),
         Decimal("17.90"), False, created, at),
    ]
    transactions = [
        ("T001", "O001", "C001", "P001", 2, Decimal("12.50"), Decimal("0.10"), Decimal("22.50"),
         "credit_card", "completed", "web", dt.datetime(2026, 1, 4, 23, 15),
         dt.date(2026, 1, 4), 2026, 1, dt.date(2025, 12, 29), "Sun", 23, at),
        ("T002", "O002", "C002", "P002", 1, Decimal("40.00"), Decimal("0.00"), Decimal("40.00"),
         "apple_pay", "completed", "mobile", dt.datetime(2026, 1, 5, 8, 0),
         dt.date(2026, 1, 5), 2026, 1, dt.date(2026, 1, 5), "Mon", 8, at),
        ("T003", "O003", "C005", "P001", 3, Decimal("12.50"), Decimal("0.15"), Decimal("31.88"),
         "paypal", "completed", "store", dt.datetime(2026, 2, 28, 12, 30),
         dt.date(2026, 2, 28), 2026, 2, dt.date(2026, 2, 23), "Sat", 12, at),
        ("T014", "O014", "C001", "P002", 1, Decimal("40.00"), Decimal("0.00"), Decimal("40.00"),
         "bitcoin", "completed", "web", dt.datetime(2026, 3, 1, 0, 5),
         dt.date(2026, 3, 1), 2026, 3, dt.date(2026, 2, 23), "Sun", 0, at),
    ]
    # fmt: on
    for table, rows in (
        (SILVER_CUSTOMERS, customers),
        (SILVER_PRODUCTS, products),
        (SILVER_TRANSACTIONS, transactions),
    ):
        assert_df_equality(
            _silver(spark, runs, table, "first"),
            _expected(spark, table, rows),
            ignore_nullable=True,
        )


def test_first_run_quarantines_bad_rows_with_their_rules(spark: SparkSession, runs: Runs) -> None:
    quarantine = read_quarantine(spark, runs.root, Layer.SILVER).where(
        F.col("run_id") == runs.first.run_id
    )
    record = F.col("record")
    found = quarantine.select(
        "table",
        F.coalesce(
            *[
                F.get_json_object(record, f"$.{key}")
                for key in ("transaction_id", "product_id", "customer_id", "full_name")
            ]
        ).alias("key"),
        F.array_sort(F.col("failures.rule")).alias("rules"),
        F.get_json_object(record, "$._rescue_reason").alias("rescue_reason"),
    )
    required = "transaction_id order_id customer_id product_id quantity unit_price discount"
    every_not_null = sorted(f"{c}_not_null" for c in f"{required} event_time status".split())
    unfit = "value does not fit its column type: "
    # fmt: off
    expected = [
        ("silver.customers", "Carl Nokey", ["customer_id_not_null"],
         "null in NOT NULL column(s): customer_id"),
        ("silver.customers", "C004", ["signup_date_not_null"], unfit + "signup_date (date)"),
        ("silver.products", "P003", ["price_not_null"], unfit + "price (double)"),
        ("silver.products", "P004", ["cost_not_above_price", "price_not_negative"], None),
        ("silver.transactions", "T005", ["customer_id_not_null"], None),
        ("silver.transactions", "T006", ["quantity_not_null"], unfit + "quantity (int)"),
        ("silver.transactions", None, every_not_null, "malformed JSON record"),
        ("silver.transactions", "T008", ["quantity_at_least_one"], None),
        ("silver.transactions", "T009", ["discount_between_0_and_1"], None),
        ("silver.transactions", "T010", ["customer_id_exists_in_customers"], None),
        ("silver.transactions", "T011", ["customer_id_exists_in_customers"], None),
        ("silver.transactions", "T012", ["product_id_exists_in_products"], None),
        ("silver.transactions", "T013", ["status_in_set"], None),
    ]
    # fmt: on
    assert_df_equality(
        found,
        spark.createDataFrame(
            expected, "table STRING, key STRING, rules ARRAY<STRING>, rescue_reason STRING"
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    # A record bronze could not read keeps its raw text.
    unreadable = quarantine.where(
        (F.col("table") == "silver.transactions")
        & F.get_json_object(record, "$.transaction_id").isNull()
    ).select(F.get_json_object(record, "$._rescued_data"))
    assert [tuple(r) for r in unreadable.collect()] == [(_line("T007", "C001", "P001")[:40],)]


def test_second_run_merges_only_the_new_bronze_rows(spark: SparkSession, runs: Runs) -> None:
    assert runs.bronze_only.succeeded and runs.second.succeeded
    second = runs.second
    bronze_rows = DeltaOps.of(spark, BRONZE_TRANSACTIONS, runs.root).read().count()
    assert bronze_rows == len(TRANSACTIONS_1) + len(TRANSACTIONS_2)
    # Customers: the two later exports (3 rows), C002 twice: the latest wins, one dropped.
    assert _counts(second.step("silver_customers")) == (3, 0, 1, 2, 1, 1)
    # Products: nothing new in bronze, nothing written.
    assert _counts(second.step("silver_products")) == (None, 0, 0, None, 0, 0)
    # Transactions: the new file, and the three open lines quarantined by a reference rule
    # replayed because silver.customers changed: T011 (C004 has arrived) is inserted, T010
    # and T012 fail again (counted as quarantined, not written twice); T003 is an update.
    transactions_step = second.step("silver_transactions")
    assert _counts(transactions_step) == (6, 2, 0, 2, 3, 1)
    assert transactions_step.note == "3 quarantined row(s) replayed, 1 resolved"
    assert runs.versions["second"] == {
        "silver.customers": 2,
        "silver.products": 1,
        "silver.transactions": 2,
    }

    first_at, second_at = runs.first.started_at, second.started_at
    customers = _silver(spark, runs, SILVER_CUSTOMERS, "second")
    rows = customers.select("customer_id", "loyalty_tier", "updated_at").collect()
    assert [tuple(r) for r in rows] == [
        ("C001", "gold", first_at),
        ("C002", "silver", second_at),
        ("C004", "bronze", second_at),
        ("C005", "platinum", first_at),
    ]
    transactions = _silver(spark, runs, SILVER_TRANSACTIONS, "second")
    rows = transactions.select("transaction_id", "status", "ingested_at").collect()
    assert [tuple(r) for r in rows] == [
        ("T001", "completed", first_at),
        ("T002", "completed", first_at),
        ("T003", "returned", second_at),
        ("T011", "completed", first_at),  # replayed: as it was first delivered
        ("T014", "completed", first_at),
        ("T015", "completed", second_at),
        ("T016", "completed", second_at),
    ]


def test_the_late_line_is_resolved_and_the_others_stay_open(
    spark: SparkSession, runs: Runs
) -> None:
    quarantine = read_quarantine(spark, runs.root, Layer.SILVER).where(
        F.col("table") == "silver.transactions"
    )
    rows = quarantine.select(
        F.get_json_object("record", "$.transaction_id").alias("key"), "replayable", "resolved_by"
    ).where(F.col("replayable") | F.col("resolved_by").isNotNull())
    assert sorted(tuple(r) for r in rows.collect()) == [
        ("T010", True, None),
        ("T011", True, runs.second.run_id),
        ("T012", True, None),
    ]
    # Nothing was quarantined twice: every row is the first run's.
    assert [r.run_id for r in quarantine.select("run_id").distinct().collect()] == [
        runs.first.run_id
    ]


def test_a_run_without_new_bronze_rows_writes_nothing(runs: Runs) -> None:
    third = runs.third
    assert third.succeeded
    assert [(s.step, s.status, s.write, s.rows_read) for s in third.steps] == [
        (name, StepStatus.UP_TO_DATE, None, None) for name in BRONZE_STEPS + SILVER_STEPS
    ]
    assert runs.versions["third"] == runs.versions["second"]
