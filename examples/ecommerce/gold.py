"""Gold steps of the e-commerce pipeline: sales marts, dimensions, RFM and product performance.

Every step reads silver incrementally: it declares ``inputs=[changes(SILVER_...)]``, so the
runner gives it, through ``ctx.changes(...)``, the whole table the first time and then the
silver rows that changed since the version its last write recorded, with both images of
updated rows and the deleted ones. When silver has not changed, the runner does not run the
step and nothing is committed. The step returns rows; the runner writes them by the table's
write policy (declared in :mod:`examples.ecommerce.tables`), recording the silver versions
consumed in the same commit.

Revenue-bearing lines are those with ``status = 'completed'`` (silver standardises the status
to lower case): pending lines have not been paid yet, cancelled ones never will be and returned
ones were refunded. Only these lines count towards orders, order lines, units, customers and
revenue in the sales marts, RFM and product performance; ``gold.dim_dates`` covers every order
date.

Tables:

* ``gold.daily_sales``, ``gold.weekly_sales``, ``gold.monthly_sales``: per day, ISO week
  (``week_start``, a Monday) and calendar month (``month_start``): distinct orders, order lines,
  units, distinct customers, revenue (sum of ``line_total``) and average order value (revenue /
  orders, rounded half up to cents). A period has a row only while it has revenue-bearing lines.
  *Incremental:* the periods of the changed silver lines (inserted, both images of updated
  ones, deleted) are recomputed from silver (only their dates are read) and MERGEd; a period
  recomputed to no revenue-bearing order is deleted (``Merge(delete_when="orders = 0")``), and
  a recomputed row equal to the stored one is not rewritten.
* ``gold.dim_customers``: SCD type 2 (the table's ``SCD2`` policy). A change of city, state,
  country or loyalty tier closes the current row (``valid_to``, ``is_current = false``) and opens
  a new one, effective at silver's ``updated_at``; a change of name, email or signup date
  updates the current row in place (with ``updated_at``, the time of the customer's latest
  change). *Incremental:* only the customers of the increment are
  merged; when a customer changed several times between two runs, its latest version is merged.
  Customers deleted from silver keep their rows.
* ``gold.dim_products``: current attributes of each product, MERGEd from the increment (the
  latest version of each product by ``updated_at``). Products deleted from silver stay (the
  catalogue deactivates products with ``active = false`` rather than deleting them).
* ``gold.dim_dates``: one row per day from the first to the last silver order date, with year,
  quarter, month, month name, ``week_start`` (Monday), ISO week, day of month, day of week
  (1 = Monday to 7 = Sunday), day name and ``is_weekend``. *Incremental:* the days between the
  calendar's ends and the increment's earliest and latest order dates are added; the calendar
  only grows.
* ``gold.customer_rfm``: per customer with revenue-bearing orders: ``last_order_date``,
  ``recency_days`` (days from it to ``as_of_date``), ``frequency`` (distinct orders) and
  ``monetary`` (revenue); scores 1 to 5 by ``ntile(5)`` with 5 the best, ``rfm_score`` (``"545"``)
  and a segment (see :data:`SEGMENTS`). ``as_of_date`` is the day after the latest
  revenue-bearing order date, so the table depends only on the data, never on today's date.
  *Incremental:* the totals of the customers whose lines changed are recomputed from silver
  (only their lines are read); the other customers' totals are taken from the table itself;
  then every customer is re-scored, because scores are relative to all customers, and the
  table (one row per customer) is overwritten.
* ``gold.product_performance``: per product of silver's catalogue: revenue, units and distinct
  orders (zero for a product that never sold), its name and category, ``revenue_rank`` over all
  products and ``category_rank`` within its category (both ``dense_rank`` by revenue,
  descending: products with equal revenue share a rank). *Incremental:* the totals of the
  products whose lines or catalogue entry changed are recomputed from silver, the others' kept,
  every product re-ranked, and the table (one row per product) overwritten.

What an incremental run recomputes therefore scales with the change, not with the tables: the
affected periods' lines, the affected customers' and products' lines, plus a re-scoring of the
per-customer and per-product tables. The silver reads are filtered on the affected keys and
Delta skips the files whose statistics exclude them: new order dates arrive in new files, so the
marts read little of silver; the customers' and products' lines are skipped that way only if
silver is clustered (Z-ordered) by those keys, otherwise their filter runs over a scan of the
few columns needed.

Layout: ``gold.daily_sales`` is partitioned by ``order_year``, so that reports of a year read
one partition and each run's MERGE rewrites files of the current year only, and is compacted
after each write (``optimize_after_write``: MERGEs leave small files). The other marts are not
partitioned: a few hundred rows (weekly, monthly, dimensions) or one row per customer or product
would only be split into tiny files. ``gold.customer_rfm`` is Z-ordered by ``segment`` after
each write (it is rewritten whole anyway, and campaigns select customers by segment).
``gold.dim_customers`` declares a Z-order by ``customer_id`` for the scheduled
``medallion optimize``, not after each write: Z-ordering rewrites the whole table, which would
make each run cost as much as the dimension's size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from medallion import StepContext, changes

from .tables import (
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
    pipeline,
)

__all__ = [
    "REVENUE_STATUS",
    "SEGMENTS",
    "customer_rfm",
    "daily_sales",
    "dim_customers",
    "dim_dates",
    "dim_products",
    "monthly_sales",
    "product_performance",
    "weekly_sales",
]

#: The status of the order lines that carry revenue.
REVENUE_STATUS = "completed"

#: The RFM segment of each R score (the keys, 5 = most recent) and FM score (the position in
#: the tuple, 1 to 5), where FM is the mean of the F and M scores rounded half up. Read as a
#: grid: rows R 5 to 1, columns FM 1 to 5.
SEGMENTS: dict[int, tuple[str, str, str, str, str]] = {
    5: ("New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"),
    4: (
        "Promising",
        "Potential Loyalists",
        "Potential Loyalists",
        "Loyal Customers",
        "Loyal Customers",
    ),
    3: ("About to Sleep", "About to Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"),
    2: ("Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"),
    1: ("Lost", "Lost", "At Risk", "At Risk", "Can't Lose Them"),
}

_MONEY = "decimal(18,2)"


# -- shared helpers --------------------------------------------------------------------------


def _distinct(df: DataFrame, column: Column, name: str) -> list[Any]:
    """The distinct non-null values of an expression, collected (the keys an increment hits)."""
    rows = df.select(column.alias(name)).where(F.col(name).isNotNull()).distinct().collect()
    return sorted(row[name] for row in rows)


def _revenue_lines(lines: DataFrame) -> DataFrame:
    return lines.where(F.col("status") == REVENUE_STATUS)


# -- sales marts -----------------------------------------------------------------------------


def _sales(lines: DataFrame, key: str, period: Callable[[Column], Column]) -> DataFrame:
    """Sales figures per period of the revenue-bearing lines, in one aggregation."""
    totals = (
        _revenue_lines(lines)
        .where(F.col("order_date").isNotNull())
        .groupBy(period(F.col("order_date")).alias(key))
        .agg(
            F.count_distinct("order_id").alias("orders"),
            F.count(F.lit(1)).alias("order_lines"),
            F.sum("quantity").cast("bigint").alias("units"),
            F.count_distinct("customer_id").alias("customers"),
            F.sum("line_total").cast(_MONEY).alias("revenue"),
        )
    )
    return totals.withColumn(
        "avg_order_value", F.try_divide(F.col("revenue"), F.col("orders")).cast(_MONEY)
    )


def _period_totals(
    ctx: StepContext,
    key: str,
    period: Callable[[Column], Column],
    period_end: Callable[[dt.date], dt.date],
) -> DataFrame:
    """The sales of the periods the changes of silver transactions touch, from silver.

    On the first run, every period of the changed rows (the whole table). Then only the
    periods of the changed lines (both images of an update: a line moved to another day
    touches both days): their lines are read again from silver (only their dates: Delta skips
    the other files) and summed; a touched period left without revenue-bearing lines comes out
    with ``orders = 0``, which the table's policy deletes.
    """
    changed = ctx.changes(SILVER_TRANSACTIONS)
    if changed.is_full:
        return _sales(changed.rows, key, period)
    periods = _distinct(changed.rows, period(F.col("order_date")), key)
    dates = F.col("order_date")
    if periods:
        dates = dates.between(periods[0], period_end(periods[-1]))
    lines = ctx.read(SILVER_TRANSACTIONS).where(dates & period(F.col("order_date")).isin(periods))
    touched = ctx.spark.createDataFrame([(p,) for p in periods], f"{key} DATE")
    fresh = touched.join(_sales(lines, key, period), key, "left")
    return fresh.fillna(0, ["orders", "order_lines", "units", "customers"]).withColumn(
        "revenue", F.coalesce("revenue", F.lit(0).cast(_MONEY))
    )


def _week_start(day: Column) -> Column:
    return F.trunc(day, "week")


def _month_start(day: Column) -> Column:
    return F.trunc(day, "month")


def _month_end(start: dt.date) -> dt.date:
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


@pipeline.step(GOLD_DAILY_SALES, inputs=[changes(SILVER_TRANSACTIONS)], name="gold_daily_sales")
def daily_sales(ctx: StepContext) -> DataFrame:
    """Completed sales per day, for the days whose silver lines changed."""
    totals = _period_totals(ctx, "order_date", lambda day: day, lambda day: day)
    return totals.withColumn("order_year", F.year("order_date"))


@pipeline.step(GOLD_WEEKLY_SALES, inputs=[changes(SILVER_TRANSACTIONS)], name="gold_weekly_sales")
def weekly_sales(ctx: StepContext) -> DataFrame:
    """Completed sales per ISO week (Monday to Sunday), for the weeks that changed."""
    return _period_totals(
        ctx, "week_start", _week_start, lambda start: start + dt.timedelta(days=6)
    )


@pipeline.step(GOLD_MONTHLY_SALES, inputs=[changes(SILVER_TRANSACTIONS)], name="gold_monthly_sales")
def monthly_sales(ctx: StepContext) -> DataFrame:
    """Completed sales per calendar month, for the months that changed."""
    return _period_totals(ctx, "month_start", _month_start, _month_end)


# -- dimensions ------------------------------------------------------------------------------


@pipeline.step(GOLD_DIM_CUSTOMERS, inputs=[changes(SILVER_CUSTOMERS)], name="gold_dim_customers")
def dim_customers(ctx: StepContext) -> DataFrame:
    """The changed silver customers, for the SCD type 2 customer dimension.

    The table's policy tracks city, state, country and loyalty tier (a change closes the
    current row and opens a new one at silver's ``updated_at``); name, email, signup date and
    ``updated_at`` change in place. Customers deleted from silver keep their rows.
    """
    return (
        ctx.changes(SILVER_CUSTOMERS)
        .upserts()
        .select(
            "customer_id",
            "full_name",
            "email",
            "city",
            "state",
            "country",
            "signup_date",
            "loyalty_tier",
            "updated_at",
            "_commit_version",  # orders two versions of a customer with the same updated_at
        )
    )


@pipeline.step(GOLD_DIM_PRODUCTS, inputs=[changes(SILVER_PRODUCTS)], name="gold_dim_products")
def dim_products(ctx: StepContext) -> DataFrame:
    """The changed silver products, for the runner to MERGE (the latest by ``updated_at``).

    Products deleted from silver stay: the catalogue deactivates products rather than
    deleting them.
    """
    return (
        ctx.changes(SILVER_PRODUCTS)
        .upserts()
        .select(
            "product_id",
            "product_name",
            "category",
            "brand",
            "price",
            "cost",
            "margin",
            "active",
            "updated_at",  # the table's Merge(sequence_by="updated_at") reads it; not stored
            "_commit_version",
        )
    )


def _calendar(days: DataFrame) -> DataFrame:
    """The calendar attributes of a column ``date`` of days."""
    day = F.col("date")
    day_of_week = F.weekday(day) + 1  # weekday(): 0 = Monday
    return days.select(
        day,
        F.year(day).alias("year"),
        F.quarter(day).alias("quarter"),
        F.month(day).alias("month"),
        F.date_format(day, "MMMM").alias("month_name"),
        _week_start(day).alias("week_start"),
        F.weekofyear(day).alias("iso_week"),
        F.dayofmonth(day).alias("day_of_month"),
        day_of_week.alias("day_of_week"),
        F.date_format(day, "EEEE").alias("day_name"),
        (day_of_week >= 6).alias("is_weekend"),
    )


@pipeline.step(GOLD_DIM_DATES, inputs=[changes(SILVER_TRANSACTIONS)], name="gold_dim_dates")
def dim_dates(ctx: StepContext) -> DataFrame:
    """The calendar from its first day to its last, grown to the changed lines' order dates.

    The days from the earliest to the latest of the stored calendar's ends and the order dates
    of the changed lines; the table's MERGE inserts the new days and leaves the others as they
    are (equal rows are not rewritten), so the calendar only grows.
    """
    seen = ctx.changes(SILVER_TRANSACTIONS).upserts().select(F.col("order_date").alias("date"))
    known = ctx.read(ctx.table).select("date")
    span = seen.unionByName(known).agg(F.min("date").alias("first"), F.max("date").alias("last"))
    return _calendar(span.select(F.explode(F.sequence("first", "last")).alias("date")))


# -- customer RFM ----------------------------------------------------------------------------


def _customer_totals(lines: DataFrame) -> DataFrame:
    """Last order date, distinct orders and revenue per customer, in one aggregation."""
    return (
        _revenue_lines(lines)
        .where(F.col("customer_id").isNotNull() & F.col("order_date").isNotNull())
        .groupBy("customer_id")
        .agg(
            F.max("order_date").alias("last_order_date"),
            F.count_distinct("order_id").alias("frequency"),
            F.sum("line_total").cast(_MONEY).alias("monetary"),
        )
    )


def _segment(r_score: Column, fm_score: Column) -> Column:
    """The segment of an R and an FM score, looked up in :data:`SEGMENTS`."""
    grid = F.create_map(
        *[
            item
            for r, names in SEGMENTS.items()
            for fm, name in enumerate(names, start=1)
            for item in (F.lit(r * 10 + fm), F.lit(name))
        ]
    )
    return grid[r_score * 10 + fm_score]


def _score(totals: DataFrame) -> DataFrame:
    """Score the customers' totals against each other (every customer, one table).

    Scores are ``ntile(5)`` over all customers, 5 the best: the most recent, the most frequent,
    the highest spending. Equal values are ordered by ``customer_id`` (the higher id gets the
    higher score), so the scores never depend on how Spark ordered the rows.
    """
    everyone = Window.partitionBy()
    recency = Window.orderBy(F.col("recency_days").desc(), "customer_id")
    frequency = Window.orderBy("frequency", "customer_id")
    monetary = Window.orderBy("monetary", "customer_id")
    scored = (
        totals.withColumn("as_of_date", F.date_add(F.max("last_order_date").over(everyone), 1))
        .withColumn("recency_days", F.datediff("as_of_date", "last_order_date"))
        .withColumn("r_score", F.ntile(5).over(recency))
        .withColumn("f_score", F.ntile(5).over(frequency))
        .withColumn("m_score", F.ntile(5).over(monetary))
    )
    fm_score = ((F.col("f_score") + F.col("m_score") + 1) / 2).cast("int")
    return scored.select(
        "customer_id",
        "last_order_date",
        "recency_days",
        "frequency",
        "monetary",
        "r_score",
        "f_score",
        "m_score",
        F.concat_ws("", "r_score", "f_score", "m_score").alias("rfm_score"),
        _segment(F.col("r_score"), fm_score).alias("segment"),
        "as_of_date",
    )


@pipeline.step(GOLD_CUSTOMER_RFM, inputs=[changes(SILVER_TRANSACTIONS)], name="gold_customer_rfm")
def customer_rfm(ctx: StepContext) -> DataFrame:
    """Recency, frequency and monetary scores and a segment per customer.

    The as-of date is the day after the latest revenue-bearing order date. The segment comes
    from the R score and the FM score (the mean of F and M, rounded half up) through
    :data:`SEGMENTS`:

    - Champions: R 5, FM 4-5.
    - Loyal Customers: R 3-4, FM 4-5.
    - Potential Loyalists: R 4-5, FM 2-3.
    - New Customers: R 5, FM 1. Promising: R 4, FM 1.
    - Need Attention: R 3, FM 3. About to Sleep: R 3, FM 1-2.
    - Can't Lose Them: R 1-2, FM 5. At Risk: R 1-2, FM 3-4.
    - Hibernating: R 2, FM 1-2. Lost: R 1, FM 1-2.

    Incremental: the totals of the customers whose silver lines changed are recomputed from
    their lines; the other customers' totals come from the table itself; every customer is
    then re-scored and the table overwritten.
    """
    changed = ctx.changes(SILVER_TRANSACTIONS)
    if changed.is_full:
        return _score(_customer_totals(changed.rows))
    customers = _distinct(changed.rows, F.col("customer_id"), "customer_id")
    affected = F.col("customer_id").isin(customers)
    fresh = _customer_totals(ctx.read(SILVER_TRANSACTIONS).where(affected))
    kept = (
        ctx.read(ctx.table)
        .where(~affected)
        .select("customer_id", "last_order_date", "frequency", "monetary")
    )
    return _score(kept.unionByName(fresh))


# -- product performance ---------------------------------------------------------------------


def _product_totals(lines: DataFrame) -> DataFrame:
    """Revenue, units and distinct orders per product, in one aggregation."""
    return (
        _revenue_lines(lines)
        .groupBy("product_id")
        .agg(
            F.sum("line_total").cast(_MONEY).alias("revenue"),
            F.sum("quantity").cast("bigint").alias("units"),
            F.count_distinct("order_id").alias("orders"),
        )
    )


def _with_totals(products: DataFrame, lines: DataFrame) -> DataFrame:
    """Each product with its totals (zero when it never sold)."""
    return (
        products.select("product_id", "product_name", "category")
        .join(_product_totals(lines), "product_id", "left")
        .select(
            "product_id",
            "product_name",
            "category",
            F.coalesce("revenue", F.lit(0).cast(_MONEY)).alias("revenue"),
            F.coalesce("units", F.lit(0).cast("bigint")).alias("units"),
            F.coalesce("orders", F.lit(0).cast("bigint")).alias("orders"),
        )
    )


def _rank(products: DataFrame) -> DataFrame:
    """Rank every product by revenue, overall and within its category (ties share a rank)."""
    overall = Window.orderBy(F.col("revenue").desc())
    in_category = Window.partitionBy("category").orderBy(F.col("revenue").desc())
    return products.select(
        "*",
        F.dense_rank().over(overall).alias("revenue_rank"),
        F.dense_rank().over(in_category).alias("category_rank"),
    )


@pipeline.step(
    GOLD_PRODUCT_PERFORMANCE,
    inputs=[changes(SILVER_TRANSACTIONS), changes(SILVER_PRODUCTS)],
    name="gold_product_performance",
)
def product_performance(ctx: StepContext) -> DataFrame:
    """Revenue, units and orders per product, ranked overall and within its category.

    Incremental: the products whose silver lines or catalogue entries changed are recomputed;
    the others keep their stored totals; every product is re-ranked and the table overwritten.
    """
    sales = ctx.changes(SILVER_TRANSACTIONS)
    catalogue = ctx.changes(SILVER_PRODUCTS)
    lines = ctx.read(SILVER_TRANSACTIONS)
    products = ctx.read(SILVER_PRODUCTS)
    if sales.is_full or catalogue.is_full:
        return _rank(_with_totals(products, lines))
    touched = sales.rows.select("product_id").unionByName(catalogue.rows.select("product_id"))
    product_ids = _distinct(touched, F.col("product_id"), "product_id")
    affected = F.col("product_id").isin(product_ids)
    fresh = _with_totals(products.where(affected), lines.where(affected))
    kept = ctx.read(ctx.table).where(~affected).select(*fresh.columns)
    return _rank(kept.unionByName(fresh))
