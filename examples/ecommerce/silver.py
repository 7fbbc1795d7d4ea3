"""Silver steps of the e-commerce pipeline: typed, standardised, checked, one row per key.

Each silver table is built from its bronze table with built-in Spark functions only (no Python
UDF) and checked against the table's quality rules; the runner MERGEs the rows into silver on
its primary key, by the table's write policy (both declared in :mod:`examples.ecommerce.tables`).

``silver.customers``
    One row per ``customer_id``, its latest version: names trimmed and in initial capitals
    (``full_name`` is ``first_name last_name``), e-mail trimmed and in lower case, state and
    country in upper case, loyalty tier in lower case; ``updated_at`` is the bronze ingestion
    time. Rows without a key, names or a valid ``signup_date`` (bronze rescued ``31/02/2024``
    as null) are quarantined; a malformed e-mail or an unknown tier is only warned about.
``silver.products``
    One row per ``product_id``, its latest version: ``name`` becomes ``product_name``, the
    category is trimmed and in initial capitals (``" HOME & KITCHEN"`` -> ``"Home & Kitchen"``),
    prices are ``DECIMAL(10,2)`` with ``margin = price - cost``. A missing or negative price or
    cost (bronze rescued ``"N/A"`` as null) is quarantined; an unknown category or a cost above
    the price is warned about.
``silver.transactions``
    One row per ``transaction_id`` (an order line): money as decimals with
    ``line_total = round(quantity * unit_price * (1 - discount), 2)``; status, payment method
    and channel trimmed, in lower case, inner spaces as ``_`` (``" Credit Card"`` ->
    ``"credit_card"``); the date parts of ``event_time`` (``order_date``, ``order_year``,
    ``order_month``, ``order_week_start`` (the Monday of its ISO week), ``order_day_of_week``
    (``"Mon"``) and ``order_hour``) and ``ingested_at``. Rows with a missing value (malformed
    JSON and values bronze could not type are null), a quantity under 1, a discount outside
    ``[0, 1]``, a negative price, an unknown status, or a customer or product that silver does
    not hold are quarantined. A line quarantined only because silver did not hold its customer
    or product (yet) is replayed: when a later run finds ``silver.customers`` or
    ``silver.products`` changed, the step checks the open lines again with its new rows, writes
    those whose customer and product have arrived (or been corrected) as they were delivered,
    and the runner marks their quarantine rows resolved by that run. The others stay open.

Quarantined rows go to ``silver/_quarantine`` with the rules they failed; their ``record`` also
keeps bronze's ``_source_file``, ``_rescued_data`` (the raw text of a record bronze could not
read) and ``_rescue_reason``. A record is quarantined once: a file landed again, under any
name, brings records already open there, which are counted but not written again (their key
leaves out bronze's metadata and the ingestion time silver keeps as ``updated_at`` or
``ingested_at``).

Duplicates are not quarantined: the MERGE keeps the latest row of each key (by ingestion time,
then event time for transactions, then the later file and the later line in it) and counts
the others as dropped, so a CRM export listing a customer twice keeps its last line. For each
step, the rows read equal the rows merged plus those quarantined and dropped.

Every step is incremental: it declares ``inputs=[changes(bronze_table)]``, so the runner gives
it only the bronze rows it has not processed yet (bronze's Change Data Feed) and records the
bronze version consumed in the same commit as the MERGE (and, for transactions, the versions of
the dimensions its lines were checked against). With no new bronze version the step does not
run and nothing is committed, unless ``silver.transactions`` has open lines to replay and a
dimension changed since they were last checked.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from medallion import StepContext, changes

from .tables import (
    BRONZE_CUSTOMERS,
    BRONZE_PRODUCTS,
    BRONZE_TRANSACTIONS,
    SILVER_CUSTOMERS,
    SILVER_PRODUCTS,
    SILVER_TRANSACTIONS,
    pipeline,
)

__all__ = [
    "TRACE_COLUMNS",
    "silver_customers",
    "silver_products",
    "silver_transactions",
    "standardise_customers",
    "standardise_products",
    "standardise_transactions",
]

#: Bronze columns kept next to the silver ones: a quarantined row's record says where it came
#: from and, for a record bronze could not read, what it was; and the MERGE orders the rows of
#: one key by them (the later file, the later line, the later bronze version). The runner does
#: not write them: silver does not declare them.
TRACE_COLUMNS = (
    "_source_file",
    "_source_modified_at",
    "_source_position",
    "_rescued_data",
    "_rescue_reason",
    "_commit_version",
)

_MONEY = "decimal(10,2)"


def _text(name: str) -> Column:
    """The column trimmed, inner runs of white space made one space, and empty text null."""
    cleaned = F.regexp_replace(F.trim(F.col(name)), r"\s+", " ")
    return F.nullif(cleaned, F.lit(""))


def _code(name: str) -> Column:
    """A code word: trimmed, lower case, inner white space as ``_`` (``" Apple Pay"``)."""
    return F.regexp_replace(F.lower(_text(name)), " ", "_")


def _money(name: str, data_type: str = _MONEY) -> Column:
    """A DOUBLE as a decimal; null when it does not fit (a not-null rule then catches it)."""
    return F.col(name).try_cast(data_type)


def _trace(bronze: DataFrame) -> list[Column]:
    return [F.col(name) for name in TRACE_COLUMNS if name in bronze.columns]


def standardise_customers(bronze: DataFrame) -> DataFrame:
    """Shape bronze customer rows into silver customers (not yet checked).

    Args:
        bronze: Rows of ``bronze.customers`` (the metadata columns included).

    Returns:
        The columns of ``silver.customers``, followed by the bronze trace columns
        (:data:`TRACE_COLUMNS`) that are present.
    """
    first_name, last_name = F.initcap(_text("first_name")), F.initcap(_text("last_name"))
    return bronze.select(
        _text("customer_id").alias("customer_id"),
        first_name.alias("first_name"),
        last_name.alias("last_name"),
        F.nullif(F.concat_ws(" ", first_name, last_name), F.lit("")).alias("full_name"),
        F.lower(_text("email")).alias("email"),
        _text("phone").alias("phone"),
        _text("city").alias("city"),
        F.upper(_text("state")).alias("state"),
        F.upper(_text("country")).alias("country"),
        F.col("signup_date"),
        F.lower(_text("loyalty_tier")).alias("loyalty_tier"),
        F.col("_ingested_at").alias("updated_at"),
        *_trace(bronze),
    )


def standardise_products(bronze: DataFrame) -> DataFrame:
    """Shape bronze product rows into silver products (not yet checked).

    Args:
        bronze: Rows of ``bronze.products`` (the metadata columns included).

    Returns:
        The columns of ``silver.products``, followed by the bronze trace columns present.
    """
    price, cost = _money("price"), _money("cost")
    return bronze.select(
        _text("product_id").alias("product_id"),
        _text("name").alias("product_name"),
        F.initcap(_text("category")).alias("category"),
        _text("brand").alias("brand"),
        price.alias("price"),
        cost.alias("cost"),
        (price - cost).try_cast(_MONEY).alias("margin"),
        F.col("active"),
        F.col("created_at"),
        F.col("_ingested_at").alias("updated_at"),
        *_trace(bronze),
    )


def standardise_transactions(bronze: DataFrame) -> DataFrame:
    """Shape bronze transaction rows into silver transactions (not yet checked).

    Args:
        bronze: Rows of ``bronze.transactions`` (the metadata columns included).

    Returns:
        The columns of ``silver.transactions``, followed by the bronze trace columns present.
    """
    unit_price, discount = _money("unit_price"), _money("discount", "decimal(4,2)")
    line_total = F.round(F.col("quantity") * unit_price * (F.lit(1) - discount), 2)
    event_time = F.col("event_time")
    return bronze.select(
        _text("transaction_id").alias("transaction_id"),
        _text("order_id").alias("order_id"),
        _text("customer_id").alias("customer_id"),
        _text("product_id").alias("product_id"),
        F.col("quantity"),
        unit_price.alias("unit_price"),
        discount.alias("discount"),
        line_total.try_cast("decimal(12,2)").alias("line_total"),
        _code("payment_method").alias("payment_method"),
        _code("status").alias("status"),
        _code("channel").alias("channel"),
        event_time,
        F.to_date(event_time).alias("order_date"),
        F.year(event_time).alias("order_year"),
        F.month(event_time).alias("order_month"),
        F.date_trunc("week", event_time).cast("date").alias("order_week_start"),
        F.date_format(event_time, "EEE").alias("order_day_of_week"),
        F.hour(event_time).alias("order_hour"),
        F.col("_ingested_at").alias("ingested_at"),
        *_trace(bronze),
    )


@pipeline.step(SILVER_CUSTOMERS, inputs=[changes(BRONZE_CUSTOMERS)])
def silver_customers(ctx: StepContext) -> DataFrame:
    """The new bronze customer rows, standardised and checked (merged: latest per id)."""
    rows = standardise_customers(ctx.changes(BRONZE_CUSTOMERS).upserts())
    return ctx.check(rows, key_ignores=["updated_at"])


@pipeline.step(SILVER_PRODUCTS, inputs=[changes(BRONZE_PRODUCTS)])
def silver_products(ctx: StepContext) -> DataFrame:
    """The new bronze product rows, standardised and checked (merged: latest per id)."""
    rows = standardise_products(ctx.changes(BRONZE_PRODUCTS).upserts())
    return ctx.check(rows, key_ignores=["updated_at"])


@pipeline.step(SILVER_TRANSACTIONS, inputs=[changes(BRONZE_TRANSACTIONS)])
def silver_transactions(ctx: StepContext) -> DataFrame:
    """The new bronze order lines, standardised and checked against silver's dimensions.

    A line whose customer or product silver does not hold (yet) is quarantined, and replayed
    by the first check of a later run once a dimension has changed. The step runs after the
    dimension steps: its ``exists_in`` rules refer to ``silver.customers`` and
    ``silver.products``.
    """
    rows = standardise_transactions(ctx.changes(BRONZE_TRANSACTIONS).upserts())
    return ctx.check(rows, key_ignores=["ingested_at"])
