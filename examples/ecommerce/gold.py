"""Gold steps of the e-commerce pipeline: sales marts, dimensions, RFM and product performance.

Every step reads silver incrementally (``StepContext.increment``: the whole table the first
time, then the Change Data Feed since the version its last write recorded) and returns
``ctx.no_changes()`` when silver has not changed, so a rerun commits no gold version. The
source versions a step consumed are recorded in the commit of its write (``ctx.tags``); a step
that finds nothing to write (new lines that are all cancelled, say) commits nothing, so it reads
the same changes again, with the next ones, in the following run.

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
  left without revenue-bearing lines is deleted, and a recomputed row equal to the stored one
  is not rewritten.
* ``gold.dim_customers``: SCD type 2 (``DeltaOps.merge_scd2``). A change of city, state,
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

from medallion import DeltaOps, Increment, Pipeline, StepContext, StepOutput, Table

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
)

__all__ = [
    "REVENUE_STATUS",
    "SEGMENTS",
    "add_gold_steps",
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


def _changes(ctx: StepContext, increment: Increment, source: Table) -> DataFrame | None:
    """Every image of the source rows an increment covers; ``None`` on a consumer's first run.

    ``Increment.rows`` holds only the new values of updated rows; the old values matter too (a
    line moved to another date, customer or product changes two keys), so the Change Data Feed
    of the increment's versions is read whole: inserts, both images of updates, deletes.
    (``ctx.increment`` has checked that the source records its changes.)
    """
    if increment.from_version is None:
        return None
    if increment.is_empty:
        return increment.rows
    return (
        ctx.spark.read.format("delta")
        .option("readChangeFeed", "true")
        .option("startingVersion", increment.from_version)
        .option("endingVersion", increment.to_version)
        .load(ctx.location(source))
    )


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


def _sales_step(
    ctx: StepContext,
    key: str,
    period: Callable[[Column], Column],
    period_end: Callable[[dt.date], dt.date],
    *,
    year_partition: str | None = None,
) -> StepOutput:
    """Recompute the periods an increment of silver transactions touches, and MERGE them.

    Args:
        ctx: The step's context; ``ctx.table`` is the mart.
        key: The mart's period column.
        period: The start of the period an order date falls in.
        period_end: The last day of the period that starts on a date.
        year_partition: The mart's partition column holding the period's year, if any.

    Returns:
        The MERGE's result, or no write when no period changed.
    """
    increment = ctx.increment(SILVER_TRANSACTIONS)
    if increment.is_empty:
        return ctx.no_changes()
    changed = _changes(ctx, increment, SILVER_TRANSACTIONS)
    if changed is None:
        source = _sales(increment.rows, key, period)
    else:
        periods = _distinct(changed, period(F.col("order_date")), key)
        if not periods:
            return ctx.no_changes()
        lines = ctx.read(SILVER_TRANSACTIONS).where(
            F.col("order_date").between(periods[0], period_end(periods[-1]))
            & period(F.col("order_date")).isin(periods)
        )
        fresh = _sales(lines, key, period)
        stored = ctx.read(ctx.table).where(F.col(key).isin(periods))
        if year_partition is not None:
            stored = stored.where(F.col(year_partition).isin(sorted({p.year for p in periods})))
        # A stored period left without revenue-bearing lines: a row of nulls deletes it.
        emptied = stored.select(key).join(fresh.select(key), key, "left_anti")
        source = fresh.unionByName(emptied, allowMissingColumns=True)
    if year_partition is not None:
        source = source.withColumn(year_partition, F.year(key))
    return DeltaOps.of(ctx.spark, ctx.table, ctx.root).merge(
        source, delete_when="s.orders IS NULL", run_id=ctx.run_id, tags=ctx.tags
    )


def _week_start(day: Column) -> Column:
    return F.trunc(day, "week")


def _month_start(day: Column) -> Column:
    return F.trunc(day, "month")


def _month_end(start: dt.date) -> dt.date:
    return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def daily_sales(ctx: StepContext) -> StepOutput:
    """Completed sales per day, MERGEd for the days whose silver lines changed."""
    return _sales_step(
        ctx, "order_date", lambda day: day, lambda day: day, year_partition="order_year"
    )


def weekly_sales(ctx: StepContext) -> StepOutput:
    """Completed sales per ISO week (Monday to Sunday), MERGEd for the weeks that changed."""
    return _sales_step(ctx, "week_start", _week_start, lambda start: start + dt.timedelta(days=6))


def monthly_sales(ctx: StepContext) -> StepOutput:
    """Completed sales per calendar month, MERGEd for the months that changed."""
    return _sales_step(ctx, "month_start", _month_start, _month_end)


# -- dimensions ------------------------------------------------------------------------------

#: The customer attributes whose changes open a new version of ``gold.dim_customers``.
_TRACKED = ("city", "state", "country", "loyalty_tier")


def dim_customers(ctx: StepContext) -> StepOutput:
    """Merge the changed silver customers into the SCD type 2 customer dimension.

    City, state, country and loyalty tier are tracked (a change closes the current row and
    opens a new one at silver's ``updated_at``); name, email, signup date and ``updated_at``
    change in place.
    """
    increment = ctx.increment(SILVER_CUSTOMERS)
    if increment.is_empty:
        return ctx.no_changes()
    customers = increment.rows.select(
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
    return DeltaOps.of(ctx.spark, ctx.table, ctx.root).merge_scd2(
        customers,
        keys=["customer_id"],
        tracked=_TRACKED,
        effective_at="updated_at",
        run_id=ctx.run_id,
        tags=ctx.tags,
    )


def dim_products(ctx: StepContext) -> StepOutput:
    """The latest attributes of the changed silver products, for the runner to MERGE."""
    increment = ctx.increment(SILVER_PRODUCTS)
    if increment.is_empty:
        return ctx.no_changes()
    latest = Window.partitionBy("product_id").orderBy(F.col("updated_at").desc_nulls_last())
    return (
        increment.rows.withColumn("_version", F.row_number().over(latest))
        .where(F.col("_version") == 1)
        .select(
            "product_id", "product_name", "category", "brand", "price", "cost", "margin", "active"
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


def dim_dates(ctx: StepContext) -> StepOutput:
    """Extend the calendar to the earliest and latest order dates of the increment."""
    increment = ctx.increment(SILVER_TRANSACTIONS)
    if increment.is_empty:
        return ctx.no_changes()
    seen = increment.rows.agg(F.min("order_date"), F.max("order_date")).first()
    stored = ctx.read(ctx.table).agg(F.min("date"), F.max("date")).first()
    assert seen is not None and stored is not None
    first: dt.date | None
    last: dt.date | None
    (first, last), (low, high) = seen, stored
    if first is None or last is None:
        return ctx.no_changes()
    one_day = dt.timedelta(days=1)
    spans: list[tuple[dt.date, dt.date]] = []
    if low is None or high is None:
        spans.append((first, last))
    else:
        if first < low:
            spans.append((first, low - one_day))
        if last > high:
            spans.append((high + one_day, last))
    if not spans:
        return ctx.no_changes()
    days = ctx.spark.createDataFrame(spans, "first DATE, last DATE").select(
        F.explode(F.sequence("first", "last")).alias("date")
    )
    return _calendar(days)


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


def customer_rfm(ctx: StepContext) -> StepOutput:
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
    increment = ctx.increment(SILVER_TRANSACTIONS)
    if increment.is_empty:
        return ctx.no_changes()
    changed = _changes(ctx, increment, SILVER_TRANSACTIONS)
    if changed is None:
        return _score(_customer_totals(increment.rows))
    customers = _distinct(changed, F.col("customer_id"), "customer_id")
    if not customers:
        return ctx.no_changes()
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


def product_performance(ctx: StepContext) -> StepOutput:
    """Revenue, units and orders per product, ranked overall and within its category.

    Incremental: the products whose silver lines or catalogue entries changed are recomputed;
    the others keep their stored totals; every product is re-ranked and the table overwritten.
    """
    sales = ctx.increment(SILVER_TRANSACTIONS)
    catalogue = ctx.increment(SILVER_PRODUCTS)
    if sales.is_empty and catalogue.is_empty:
        return ctx.no_changes()
    changed_lines = _changes(ctx, sales, SILVER_TRANSACTIONS)
    changed_products = _changes(ctx, catalogue, SILVER_PRODUCTS)
    lines = ctx.read(SILVER_TRANSACTIONS)
    products = ctx.read(SILVER_PRODUCTS)
    if changed_lines is None or changed_products is None:
        return _rank(_with_totals(products, lines))
    touched = changed_lines.select("product_id").unionByName(changed_products.select("product_id"))
    product_ids = _distinct(touched, F.col("product_id"), "product_id")
    if not product_ids:
        return ctx.no_changes()
    affected = F.col("product_id").isin(product_ids)
    fresh = _with_totals(products.where(affected), lines.where(affected))
    kept = ctx.read(ctx.table).where(~affected).select(*fresh.columns)
    return _rank(kept.unionByName(fresh))


def add_gold_steps(pipeline: Pipeline) -> None:
    """Register the gold steps on ``pipeline``.

    Args:
        pipeline: The e-commerce pipeline.
    """
    for table, inputs, fn in (
        (GOLD_DAILY_SALES, [SILVER_TRANSACTIONS], daily_sales),
        (GOLD_WEEKLY_SALES, [SILVER_TRANSACTIONS], weekly_sales),
        (GOLD_MONTHLY_SALES, [SILVER_TRANSACTIONS], monthly_sales),
        (GOLD_DIM_CUSTOMERS, [SILVER_CUSTOMERS], dim_customers),
        (GOLD_DIM_PRODUCTS, [SILVER_PRODUCTS], dim_products),
        (GOLD_DIM_DATES, [SILVER_TRANSACTIONS], dim_dates),
        (GOLD_CUSTOMER_RFM, [SILVER_TRANSACTIONS], customer_rfm),
        (GOLD_PRODUCT_PERFORMANCE, [SILVER_TRANSACTIONS, SILVER_PRODUCTS], product_performance),
    ):
        pipeline.step(table, inputs=inputs, name=f"gold_{fn.__name__}")(fn)
