"""The gold tables of the e-commerce example as ``docs/ecommerce.md`` defines them, in plain Python.

:func:`expected_rows` computes a gold table from the silver rows its step read, following the
page's "Table reference" literally: ``Decimal`` arithmetic rounded half up, Python dates,
``ntile`` and ``dense_rank`` spelled out, and the RFM segment grid read from the page itself.
``tests/spark/test_example_gold.py`` compares its results with the tables that module's gold
runs wrote (the check lives there so that it reuses that module's lakehouse instead of running
gold once more).

The tests here check the page itself (it documents every column of every silver and gold table
with its declared type, and its segment grid is the code's; no Spark needed), and the
definitions on edge cases the example's data does not reach (a half-cent average, an order over
two days, ISO week 53, ties), fed straight to the transformations the gold steps use.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from examples.ecommerce import gold
from examples.ecommerce.gold import SEGMENTS
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
from medallion import Layer, Table

PAGE = Path(__file__).resolve().parents[2] / "docs" / "ecommerce.md"

Row = dict[str, Any]
#: Silver as one run of a gold step read it: the rows of each silver table it consumed, by name.
SilverRead = Mapping[str, list[Row]]

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
ONE_DAY = dt.timedelta(days=1)

# -- the page ---------------------------------------------------------------------------------


def _sections(text: str) -> list[tuple[str, str]]:
    """The ``(heading, body)`` of every section of a markdown page."""
    parts = re.split(r"^(#{2,4} .*)$", text, flags=re.M)
    return list(zip(parts[1::2], parts[2::2], strict=True))


def _table_rows(body: str) -> list[list[str]]:
    """The cells of every row of the markdown tables in a text, header and rule rows excluded."""
    rows: list[list[str]] = []
    lines = body.splitlines()
    for number, line in enumerate(lines):
        if not line.startswith("|") or set(line) <= set("|- "):
            continue
        following = lines[number + 1] if number + 1 < len(lines) else ""
        if following.startswith("| ---"):  # a header
            continue
        rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


def documented_columns(table: Table, text: str | None = None) -> dict[str, str]:
    """The columns the page documents for a table, with their types.

    A table's section is the one whose heading names it (```gold.daily_sales```); a section may
    document several tables, a row several columns (``| `a` / `b` | `DATE` | ... |``).
    """
    found: dict[str, str] = {}
    for heading, body in _sections(PAGE.read_text(encoding="utf-8") if text is None else text):
        if f"`{table.qualified_name}`" not in heading:
            continue
        for cells in _table_rows(body):
            types = re.findall(r"`([^`]+)`", cells[1]) if len(cells) == 3 else []
            for name in re.findall(r"`([^`]+)`", cells[0]) if len(types) == 1 else []:
                found[name] = types[0]
    return found


def documented_segments(text: str | None = None) -> dict[tuple[int, int], str]:
    """The RFM segment grid of the page: ``(R score, FM score) -> segment``."""
    page = PAGE.read_text(encoding="utf-8") if text is None else text
    header = next(line for line in page.splitlines() if line.startswith("| R \\ FM |"))
    fm_scores = [int(cell) for cell in header.strip().strip("|").split(" | ")[1:]]
    grid: dict[tuple[int, int], str] = {}
    block = page[page.index(header) :].split("\n\n", 1)[0]
    for cells in _table_rows(block):
        r_score, *names = cells
        grid.update({(int(r_score), fm): name for fm, name in zip(fm_scores, names, strict=True)})
    return grid


# -- helpers the definitions share -------------------------------------------------------------


def half_up(value: Decimal) -> Decimal:
    """Rounded half up to cents."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def exact_quotient(numerator: Decimal, denominator: int) -> Decimal:
    """``numerator / denominator`` to 50 significant digits (exact enough to round once)."""
    with localcontext() as context:
        context.prec = 50
        return numerator / denominator


def revenue_bearing(lines: Iterable[Row]) -> list[Row]:
    """The lines whose status is ``completed``."""
    return [line for line in lines if line["status"] == "completed"]


def distinct(values: Iterable[Any]) -> int:
    """The number of different non-null values."""
    return len({value for value in values if value is not None})


def total(values: Iterable[Decimal | None]) -> Decimal | None:
    """The sum of the non-null values; null when there are none."""
    present = [value for value in values if value is not None]
    return sum(present, ZERO) if present else None


def monday(day: dt.date) -> dt.date:
    """The Monday on or before a day."""
    return day - dt.timedelta(days=day.weekday())


def ntile(ordered: Sequence[str], tiles: int = 5) -> dict[str, int]:
    """Spark's ``ntile``: tile k holds ``n div tiles`` rows, one more while k <= n mod tiles."""
    size, longer = divmod(len(ordered), tiles)
    scores: dict[str, int] = {}
    position = 0
    for tile in range(1, tiles + 1):
        count = size + (1 if tile <= longer else 0)
        scores.update({key: tile for key in ordered[position : position + count]})
        position += count
    return scores


def dense_rank_descending(values: Iterable[Decimal]) -> dict[Decimal, int]:
    """The rank of each value, highest first, equal values sharing one, without gaps."""
    return {value: rank for rank, value in enumerate(sorted(set(values), reverse=True), start=1)}


# -- the sales marts ---------------------------------------------------------------------------

PERIODS: dict[str, Callable[[dt.date], dt.date]] = {
    GOLD_DAILY_SALES.qualified_name: lambda day: day,
    GOLD_WEEKLY_SALES.qualified_name: monday,
    GOLD_MONTHLY_SALES.qualified_name: lambda day: day.replace(day=1),
}


def sales(table: Table, lines: list[Row]) -> list[Row]:
    """One row per period with revenue-bearing lines; its figures count those lines only."""
    key = table.primary_keys[0]
    period = PERIODS[table.qualified_name]
    periods: dict[dt.date, list[Row]] = defaultdict(list)
    for line in revenue_bearing(lines):
        if line["order_date"] is not None:
            periods[period(line["order_date"])].append(line)
    rows = []
    for start, group in periods.items():
        orders = distinct(line["order_id"] for line in group)
        revenue = total(line["line_total"] for line in group)
        row = {
            key: start,
            "orders": orders,
            "order_lines": len(group),
            "units": sum(line["quantity"] for line in group),
            "customers": distinct(line["customer_id"] for line in group),
            "revenue": revenue,
            "avg_order_value": (
                half_up(exact_quotient(revenue, orders)) if revenue is not None else None
            ),
        }
        if table is GOLD_DAILY_SALES:
            row["order_year"] = start.year
        rows.append(row)
    return rows


# -- the dimensions ----------------------------------------------------------------------------

CUSTOMER_COLUMNS = (
    "customer_id",
    "full_name",
    "email",
    "city",
    "state",
    "country",
    "signup_date",
    "loyalty_tier",
    "updated_at",
)
TRACKED = ("city", "state", "country", "loyalty_tier")
IN_PLACE = ("full_name", "email", "signup_date", "updated_at")


def dim_customers(reads: Sequence[list[Row]]) -> list[Row]:
    """SCD type 2: a tracked change closes the current version and opens one; others update it."""
    versions: list[Row] = []
    for customers in reads:
        for customer in customers:
            current = next(
                (
                    v
                    for v in versions
                    if v["customer_id"] == customer["customer_id"] and v["is_current"]
                ),
                None,
            )
            opened = {c: customer[c] for c in CUSTOMER_COLUMNS}
            opened |= {"valid_from": customer["updated_at"], "valid_to": None, "is_current": True}
            if current is None:
                versions.append(opened)
            elif any(current[c] != customer[c] for c in TRACKED):  # None != value: a change
                current |= {"valid_to": customer["updated_at"], "is_current": False}
                versions.append(opened)
            else:
                current |= {c: customer[c] for c in IN_PLACE}
    return versions


PRODUCT_COLUMNS = (
    "product_id",
    "product_name",
    "category",
    "brand",
    "price",
    "cost",
    "margin",
    "active",
)


def dim_products(reads: Sequence[list[Row]]) -> list[Row]:
    """Every product silver has held, with the latest attributes read."""
    products: dict[str, Row] = {}
    for rows in reads:
        products |= {row["product_id"]: {c: row[c] for c in PRODUCT_COLUMNS} for row in rows}
    return list(products.values())


MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def dim_dates(reads: Sequence[list[Row]]) -> list[Row]:
    """Every day from the earliest to the latest order date read, whatever the status."""
    dates = [line["order_date"] for lines in reads for line in lines if line["order_date"]]
    if not dates:
        return []
    first, last = min(dates), max(dates)
    rows = []
    for offset in range((last - first).days + 1):
        day = first + dt.timedelta(days=offset)
        day_of_week = day.weekday() + 1  # 1 = Monday
        rows.append(
            {
                "date": day,
                "year": day.year,
                "quarter": (day.month - 1) // 3 + 1,
                "month": day.month,
                "month_name": MONTH_NAMES[day.month - 1],
                "week_start": monday(day),
                "iso_week": day.isocalendar()[1],
                "day_of_month": day.day,
                "day_of_week": day_of_week,
                "day_name": DAY_NAMES[day.weekday()],
                "is_weekend": day_of_week in (6, 7),
            }
        )
    return rows


# -- customer RFM and product performance ------------------------------------------------------


def customer_rfm(lines: list[Row], grid: Mapping[tuple[int, int], str]) -> list[Row]:
    """Recency, frequency and monetary totals, their ntile(5) scores and the segment."""
    by_customer: dict[str, list[Row]] = defaultdict(list)
    for line in revenue_bearing(lines):
        if line["customer_id"] is not None and line["order_date"] is not None:
            by_customer[line["customer_id"]].append(line)
    if not by_customer:
        return []
    last = {c: max(line["order_date"] for line in ls) for c, ls in by_customer.items()}
    frequency = {c: distinct(line["order_id"] for line in ls) for c, ls in by_customer.items()}
    monetary = {c: total(line["line_total"] for line in ls) for c, ls in by_customer.items()}
    as_of = max(last.values()) + ONE_DAY
    recency = {c: (as_of - day).days for c, day in last.items()}
    ids = list(by_customer)
    r = ntile(sorted(ids, key=lambda c: (-recency[c], c)))
    f = ntile(sorted(ids, key=lambda c: (frequency[c], c)))
    m = ntile(sorted(ids, key=lambda c: (monetary[c] is not None, monetary[c] or ZERO, c)))
    rows = []
    for c in ids:
        fm = int((Decimal(f[c] + m[c]) / 2).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        rows.append(
            {
                "customer_id": c,
                "last_order_date": last[c],
                "recency_days": recency[c],
                "frequency": frequency[c],
                "monetary": monetary[c],
                "r_score": r[c],
                "f_score": f[c],
                "m_score": m[c],
                "rfm_score": f"{r[c]}{f[c]}{m[c]}",
                "segment": grid[(r[c], fm)],
                "as_of_date": as_of,
            }
        )
    return rows


def product_performance(products: list[Row], lines: list[Row]) -> list[Row]:
    """Every product with its revenue-bearing totals (zero if none), ranked by revenue."""
    sold: dict[str, list[Row]] = defaultdict(list)
    for line in revenue_bearing(lines):
        sold[line["product_id"]].append(line)
    rows = []
    for product in products:
        ls = sold.get(product["product_id"], [])
        rows.append(
            {
                "product_id": product["product_id"],
                "product_name": product["product_name"],
                "category": product["category"],
                "revenue": total(line["line_total"] for line in ls) or ZERO,
                "units": sum(line["quantity"] for line in ls),
                "orders": distinct(line["order_id"] for line in ls),
            }
        )
    overall = dense_rank_descending(row["revenue"] for row in rows)
    categories: dict[str | None, dict[Decimal, int]] = {
        category: dense_rank_descending(r["revenue"] for r in rows if r["category"] == category)
        for category in {row["category"] for row in rows}
    }
    for row in rows:
        row["revenue_rank"] = overall[row["revenue"]]
        row["category_rank"] = categories[row["category"]][row["revenue"]]
    return rows


# -- one entry point ---------------------------------------------------------------------------


def expected_rows(table: Table, reads: Sequence[SilverRead]) -> list[tuple[Any, ...]]:
    """A gold table, in its schema's column order, after the runs that read silver as ``reads``.

    Args:
        table: The gold table.
        reads: For each run whose step wrote the table, oldest first, the silver rows it read
            (the tables' rows as of the versions it recorded as consumed). The tables with
            history (the dimensions) depend on every read; the others on the last one only.

    Returns:
        The rows, as tuples in the order of the table's schema.
    """
    transactions = SILVER_TRANSACTIONS.qualified_name
    latest = reads[-1]
    rows: list[Row]
    if table.qualified_name in PERIODS:
        rows = sales(table, latest[transactions])
    elif table is GOLD_DIM_CUSTOMERS:
        rows = dim_customers([read[SILVER_CUSTOMERS.qualified_name] for read in reads])
    elif table is GOLD_DIM_PRODUCTS:
        rows = dim_products([read[SILVER_PRODUCTS.qualified_name] for read in reads])
    elif table is GOLD_DIM_DATES:
        rows = dim_dates([read[transactions] for read in reads])
    elif table is GOLD_CUSTOMER_RFM:
        rows = customer_rfm(latest[transactions], documented_segments())
    elif table is GOLD_PRODUCT_PERFORMANCE:
        rows = product_performance(latest[SILVER_PRODUCTS.qualified_name], latest[transactions])
    else:
        raise ValueError(f"no definition for {table.qualified_name}")
    names = table.require_schema().fieldNames()
    return [tuple(row[name] for name in names) for row in rows]


# -- the page documents what the code declares ------------------------------------------------

SILVER = (SILVER_CUSTOMERS, SILVER_PRODUCTS, SILVER_TRANSACTIONS)
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


@pytest.mark.parametrize("table", SILVER + GOLD, ids=lambda t: t.qualified_name)
def test_the_page_documents_every_column_with_its_type(table: Table) -> None:
    assert table.layer in (Layer.SILVER, Layer.GOLD)
    declared = {
        field.name: field.dataType.simpleString().upper() for field in table.require_schema()
    }
    documented = documented_columns(table)
    # A section shared by several tables (the three marts) may document a column of another.
    assert {n: documented.get(n) for n in declared} == declared


def test_the_page_documents_no_column_a_table_lacks() -> None:
    declared = {f.name for t in SILVER + GOLD for f in t.require_schema()}
    documented = {n for t in SILVER + GOLD for n in documented_columns(t)}
    assert documented <= declared


def test_the_segment_grid_of_the_page_is_the_code_grid() -> None:
    code = {(r, fm): name for r, names in SEGMENTS.items() for fm, name in enumerate(names, 1)}
    assert documented_segments() == code
    assert len(code) == 25  # every R and FM score from 1 to 5 has a segment


def test_ntile_and_dense_rank_follow_spark() -> None:
    # Checked against Spark 4.1: ntile(5) over 3, 7 and 12 ordered rows.
    assert list(ntile(list("abc")).values()) == [1, 2, 3]
    assert list(ntile(list("abcdefg")).values()) == [1, 1, 2, 2, 3, 4, 5]
    assert list(ntile([str(n).zfill(2) for n in range(12)]).values()) == [
        1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5
    ]  # fmt: skip
    ranks = dense_rank_descending([Decimal("60.00"), Decimal("59"), Decimal("60"), ZERO])
    assert ranks == {Decimal("60"): 1, Decimal("59"): 2, ZERO: 3}


# -- edge cases the example's data does not reach, through gold's own transformations --------
#
# test_example_gold.py checks the definitions on whole gold runs; its hand-made data has no
# half-cent average, no order over two days, no ISO week 53 and few ties. These tests feed such
# lines straight to the transformations the gold steps use (no Delta, no run).

D = dt.date


def _line(
    tid: str, order: str, customer: str, product: str, day: dt.date, quantity: int, total: str,
    status: str = "completed",
) -> Row:  # fmt: skip
    return {
        "transaction_id": tid,
        "order_id": order,
        "customer_id": customer,
        "product_id": product,
        "quantity": quantity,
        "line_total": Decimal(total),
        "status": status,
        "order_date": day,
    }


EDGE_LINES = [
    # O1 spans a Sunday and the Monday after (ISO week 1 of 2025, calendar year 2024).
    _line("T01", "O1", "C1", "P1", D(2024, 12, 29), 1, "0.10"),
    _line("T02", "O1", "C1", "P2", D(2024, 12, 30), 1, "0.05"),
    _line("T03", "O2", "C2", "P1", D(2024, 12, 30), 1, "0.20"),  # 12-30: 0.25 / 2 = 0.125
    _line("T04", "O3", "C10", "P3", D(2025, 1, 1), 2, "100.00"),
    _line("T05", "O4", "C2", "P3", D(2025, 1, 1), 1, "0.00"),  # a 100% discount: sold, 0.00
    _line("T06", "O5", "C3", "P4", D(2025, 1, 1), 1, "50.00", "pending"),
    _line("T07", "O6", "C4", "P4", D(2025, 1, 1), 1, "50.00", "cancelled"),  # C4: no RFM row
    _line("T08", "O7", "C5", "P1", D(2025, 1, 1), 1, "10.00", "returned"),
    _line("T09", "O8", "C3", "P2", D(2025, 1, 3), 1, "33.33"),
    _line("T10", "O9", "C5", "P2", D(2025, 1, 3), 3, "66.67"),  # 01-03: 200.00 / 3
    _line("T11", "O10", "C6", "P5", D(2025, 1, 3), 1, "100.00"),
    _line("T12", "O11", "C7", "P6", D(2025, 1, 2), 1, "100.00"),
]
EDGE_PRODUCTS = [
    {"product_id": p, "product_name": f"Product {p}", "category": category}
    for p, category in (
        ("P1", "Books"), ("P2", "Books"), ("P3", "Toys"), ("P4", "Toys"), ("P5", "Toys"),
        ("P6", "Books"), ("P7", "Books"),
    )
]  # fmt: skip


def _frame(spark: SparkSession, table: Table, rows: list[Row]) -> DataFrame:
    """Rows as a DataFrame of a table's schema, the columns they lack null."""
    schema = table.require_schema()
    return spark.createDataFrame(
        [tuple(r.get(n) for n in schema.fieldNames()) for r in rows], schema
    )


def _expect(actual: DataFrame, table: Table, rows: list[Row]) -> None:
    """``actual`` holds ``rows``, in the table's column types (for the columns it has)."""
    fields = [f for f in table.require_schema().fields if f.name in actual.columns]
    schema = T.StructType(fields)
    assert_df_equality(
        actual.select(*schema.fieldNames()),
        actual.sparkSession.createDataFrame(
            [tuple(r[f.name] for f in fields) for r in rows], schema
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )


@pytest.mark.parametrize(
    "table", [GOLD_DAILY_SALES, GOLD_WEEKLY_SALES, GOLD_MONTHLY_SALES], ids=lambda t: t.name
)
def test_sales_edge_cases(spark: SparkSession, table: Table) -> None:
    key = table.primary_keys[0]
    period = {
        GOLD_DAILY_SALES: lambda day: day,
        GOLD_WEEKLY_SALES: gold._week_start,
        GOLD_MONTHLY_SALES: gold._month_start,
    }[table]
    expected = sales(table, EDGE_LINES)
    averages = {row[key]: row["avg_order_value"] for row in expected}
    if table is GOLD_DAILY_SALES:  # half up: 0.125 -> 0.13 (half even would give 0.12)
        assert averages[D(2024, 12, 30)] == Decimal("0.13")
        assert averages[D(2025, 1, 3)] == Decimal("66.67")
    if table is GOLD_MONTHLY_SALES:  # O1 counts once in December, in both of its days above
        assert {r[key]: r["orders"] for r in expected}[D(2024, 12, 1)] == 2
    lines = _frame(spark, SILVER_TRANSACTIONS, EDGE_LINES)
    _expect(gold._sales(lines, key, period), table, expected)


def test_customer_rfm_edge_cases(spark: SparkSession) -> None:
    expected = customer_rfm(EDGE_LINES, documented_segments())
    # Seven customers: tiles of 2, 2, 1, 1, 1 rows. As of 01-04, recency C1 5, C10 and C2 3,
    # C7 2, C3, C5 and C6 1; ties are ordered by id as text (C10 before C2): R 1 for C1 and
    # C10, 2 for C2 and C7, then 3, 4, 5 for C3, C5, C6.
    scores = {row["customer_id"]: row["rfm_score"] for row in expected}
    assert sorted(scores) == ["C1", "C10", "C2", "C3", "C5", "C6", "C7"]
    assert [scores[c][0] for c in ("C1", "C10", "C2", "C7", "C3", "C5", "C6")] == list("1122345")
    lines = _frame(spark, SILVER_TRANSACTIONS, EDGE_LINES)
    _expect(gold._score(gold._customer_totals(lines)), GOLD_CUSTOMER_RFM, expected)


def test_product_performance_edge_cases(spark: SparkSession) -> None:
    expected = product_performance(EDGE_PRODUCTS, EDGE_LINES)
    ranks = {r["product_id"]: (r["revenue_rank"], r["category_rank"]) for r in expected}
    # P3, P5 and P6 tie at 100.00 across categories; P4 (only pending and cancelled lines) and
    # P7 (never sold) share the last rank.
    assert ranks == {
        "P1": (3, 3), "P2": (1, 1), "P3": (2, 1), "P4": (4, 2), "P5": (2, 1), "P6": (2, 2),
        "P7": (4, 4),
    }  # fmt: skip
    products = _frame(spark, SILVER_PRODUCTS, EDGE_PRODUCTS)
    lines = _frame(spark, SILVER_TRANSACTIONS, EDGE_LINES)
    _expect(gold._rank(gold._with_totals(products, lines)), GOLD_PRODUCT_PERFORMANCE, expected)


def test_dim_dates_edge_cases(spark: SparkSession) -> None:
    # Two reads: the calendar spans both, from 2020-12-25 (ISO week 52) over 2021-01-01 (ISO
    # week 53 of 2020), 2024-02-29 and 2024-12-30 (ISO week 1 of 2025) to 2025-01-06.
    reads = [[{"order_date": D(2020, 12, 25)}], [{"order_date": D(2025, 1, 6)}]]
    expected = dim_dates(reads)
    weeks = {row["date"]: (row["year"], row["iso_week"]) for row in expected}
    assert weeks[D(2021, 1, 1)] == (2021, 53) and weeks[D(2024, 12, 30)] == (2024, 1)
    days = spark.createDataFrame([(D(2020, 12, 25), D(2025, 1, 6))], "first DATE, last DATE")
    calendar = gold._calendar(days.select(F.explode(F.sequence("first", "last")).alias("date")))
    _expect(calendar, GOLD_DIM_DATES, expected)
