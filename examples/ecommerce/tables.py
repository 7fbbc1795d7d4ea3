"""The tables of the e-commerce lakehouse and its pipeline, declared once and shared by every step.

Each table declares how its rows are written (its write policy); the steps, registered on
:data:`pipeline` in the modules of their layers, only return rows.
"""

from __future__ import annotations

from medallion import SCD2, Layer, Merge, Pipeline, Table, checks

from .schemas import CUSTOMERS_DDL, PRODUCTS_DDL, TRANSACTIONS_DDL

__all__ = [
    "ALL_TABLES",
    "BRONZE_CUSTOMERS",
    "BRONZE_PRODUCTS",
    "BRONZE_TABLES",
    "BRONZE_TRANSACTIONS",
    "CHANGE_FEED",
    "GOLD_CUSTOMER_RFM",
    "GOLD_DAILY_SALES",
    "GOLD_DIM_CUSTOMERS",
    "GOLD_DIM_DATES",
    "GOLD_DIM_PRODUCTS",
    "GOLD_MONTHLY_SALES",
    "GOLD_PRODUCT_PERFORMANCE",
    "GOLD_WEEKLY_SALES",
    "SILVER_CUSTOMERS",
    "SILVER_PRODUCTS",
    "SILVER_TRANSACTIONS",
    "pipeline",
]

#: The e-commerce pipeline: its steps are registered by the bronze, silver and gold modules
#: (import :mod:`examples.ecommerce.pipeline` to have them all).
pipeline = Pipeline("ecommerce")

BRONZE_CUSTOMERS = Table(
    "customers",
    Layer.BRONZE,
    schema=CUSTOMERS_DDL,
    properties={"delta.enableChangeDataFeed": "true"},
    comment="Customers as exported by the CRM (CSV), every version of every file.",
)
BRONZE_PRODUCTS = Table(
    "products",
    Layer.BRONZE,
    schema=PRODUCTS_DDL,
    properties={"delta.enableChangeDataFeed": "true"},
    comment="The product catalogue (JSON Lines), every version of every file.",
)
BRONZE_TRANSACTIONS = Table(
    "transactions",
    Layer.BRONZE,
    schema=TRANSACTIONS_DDL,
    properties={"delta.enableChangeDataFeed": "true"},
    comment="Order lines as they arrived (JSON Lines, one file per batch).",
)

#: The bronze tables with the generator's dataset each one holds.
BRONZE_TABLES: dict[str, Table] = {
    "customers": BRONZE_CUSTOMERS,
    "products": BRONZE_PRODUCTS,
    "transactions": BRONZE_TRANSACTIONS,
}

#: Delta properties of the tables read incrementally: their changes feed the next layer.
CHANGE_FEED = {"delta.enableChangeDataFeed": "true"}

#: Silver vocabularies: the values the standardised text columns may take.
LOYALTY_TIERS = ("bronze", "silver", "gold", "platinum")
PRODUCT_CATEGORIES = (
    "Beauty",
    "Books",
    "Clothing",
    "Electronics",
    "Grocery",
    "Home & Kitchen",
    "Sports & Outdoors",
    "Toys & Games",
)
ORDER_STATUSES = ("completed", "pending", "cancelled", "returned")
PAYMENT_METHODS = ("credit_card", "debit_card", "paypal", "apple_pay", "gift_card", "cash")
SALES_CHANNELS = ("web", "mobile", "store")
#: A plausible e-mail address (lower case, as silver stores it): checked, but only warned about.
EMAIL_PATTERN = r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$"

SILVER_CUSTOMERS = Table(
    "customers",
    Layer.SILVER,
    schema=(
        "customer_id STRING NOT NULL, first_name STRING, last_name STRING, full_name STRING, "
        "email STRING, phone STRING, city STRING, state STRING, country STRING, "
        "signup_date DATE, loyalty_tier STRING, updated_at TIMESTAMP"
    ),
    primary_keys="customer_id",
    # The latest export of a customer wins (then the later file, and the later line in it).
    write=Merge(sequence_by="updated_at"),
    properties=CHANGE_FEED,
    comment="One row per customer, latest version, standardised.",
    rules=[
        checks.not_null("customer_id"),
        checks.not_null("first_name"),
        checks.not_null("last_name"),
        checks.not_null("signup_date"),
        checks.matches("email", EMAIL_PATTERN, name="email_format", action="warn"),
        checks.in_set("loyalty_tier", LOYALTY_TIERS, action="warn"),
    ],
)
SILVER_PRODUCTS = Table(
    "products",
    Layer.SILVER,
    schema=(
        "product_id STRING NOT NULL, product_name STRING, category STRING, brand STRING, "
        "price DECIMAL(10,2), cost DECIMAL(10,2), margin DECIMAL(10,2), active BOOLEAN, "
        "created_at TIMESTAMP, updated_at TIMESTAMP"
    ),
    primary_keys="product_id",
    write=Merge(sequence_by="updated_at"),
    properties=CHANGE_FEED,
    comment="One row per product, latest version, standardised.",
    rules=[
        checks.not_null("product_id"),
        checks.not_null("product_name"),
        checks.not_null("category"),
        checks.not_null("price"),
        checks.not_null("cost"),
        checks.in_range("price", 0, name="price_not_negative"),
        checks.in_range("cost", 0, name="cost_not_negative"),
        checks.condition(
            "cost_not_above_price",
            "price IS NULL OR cost IS NULL OR cost <= price",
            description="cost must not exceed price",
        ),
        checks.in_set("category", PRODUCT_CATEGORIES, action="warn"),
    ],
)
SILVER_TRANSACTIONS = Table(
    "transactions",
    Layer.SILVER,
    schema=(
        "transaction_id STRING NOT NULL, order_id STRING, customer_id STRING, "
        "product_id STRING, quantity INT, unit_price DECIMAL(10,2), discount DECIMAL(4,2), "
        "line_total DECIMAL(12,2), payment_method STRING, status STRING, channel STRING, "
        "event_time TIMESTAMP, order_date DATE, order_year INT, order_month INT, "
        "order_week_start DATE, order_day_of_week STRING, order_hour INT, "
        "ingested_at TIMESTAMP"
    ),
    primary_keys="transaction_id",
    # The latest delivery of a line wins, then the one with the latest event time.
    write=Merge(sequence_by=("ingested_at", "event_time")),
    properties=CHANGE_FEED,
    comment="One row per order line, typed and standardised, checked against the dimensions.",
    rules=[
        checks.not_null("transaction_id"),
        checks.not_null("order_id"),
        checks.not_null("customer_id"),
        checks.not_null("product_id"),
        checks.not_null("quantity"),
        checks.not_null("unit_price"),
        checks.not_null("discount"),
        checks.not_null("event_time"),
        checks.not_null("status"),
        checks.in_range("quantity", 1, name="quantity_at_least_one"),
        checks.in_range("unit_price", 0, name="unit_price_not_negative"),
        checks.in_range("discount", 0, 1, name="discount_between_0_and_1"),
        checks.in_set("status", ORDER_STATUSES),
        checks.in_set("payment_method", PAYMENT_METHODS, action="warn"),
        checks.in_set("channel", SALES_CHANNELS, action="warn"),
        checks.exists_in("customer_id", SILVER_CUSTOMERS),
        checks.exists_in("product_id", SILVER_PRODUCTS),
    ],
)

GOLD_DAILY_SALES = Table(
    "daily_sales",
    Layer.GOLD,
    schema=(
        "order_date DATE NOT NULL, orders BIGINT, order_lines BIGINT, units BIGINT, "
        "customers BIGINT, revenue DECIMAL(18,2), avg_order_value DECIMAL(18,2), "
        "order_year INT"
    ),
    primary_keys="order_date",
    partition_by="order_year",
    # A day whose lines are recomputed to no revenue-bearing order loses its row.
    write=Merge(delete_when="orders = 0"),
    optimize_after_write=True,
    comment="Completed sales per day.",
)
GOLD_WEEKLY_SALES = Table(
    "weekly_sales",
    Layer.GOLD,
    schema=(
        "week_start DATE NOT NULL, orders BIGINT, order_lines BIGINT, units BIGINT, "
        "customers BIGINT, revenue DECIMAL(18,2), avg_order_value DECIMAL(18,2)"
    ),
    primary_keys="week_start",
    write=Merge(delete_when="orders = 0"),
    comment="Completed sales per ISO week (weeks start on Monday).",
)
GOLD_MONTHLY_SALES = Table(
    "monthly_sales",
    Layer.GOLD,
    schema=(
        "month_start DATE NOT NULL, orders BIGINT, order_lines BIGINT, units BIGINT, "
        "customers BIGINT, revenue DECIMAL(18,2), avg_order_value DECIMAL(18,2)"
    ),
    primary_keys="month_start",
    write=Merge(delete_when="orders = 0"),
    comment="Completed sales per calendar month.",
)
GOLD_DIM_CUSTOMERS = Table(
    "dim_customers",
    Layer.GOLD,
    schema=(
        "customer_id STRING NOT NULL, full_name STRING, email STRING, city STRING, "
        "state STRING, country STRING, signup_date DATE, loyalty_tier STRING, "
        "updated_at TIMESTAMP, valid_from TIMESTAMP, valid_to TIMESTAMP, is_current BOOLEAN"
    ),
    primary_keys=("customer_id", "valid_from"),
    # A new version when city, state, country or tier changes, effective at silver's
    # updated_at; name, email, signup date and updated_at change in place.
    write=SCD2(tracked=("city", "state", "country", "loyalty_tier"), effective_at="updated_at"),
    zorder_by="customer_id",
    comment="Customers as SCD type 2: a new row when city, state, country or tier changes.",
)
GOLD_DIM_PRODUCTS = Table(
    "dim_products",
    Layer.GOLD,
    schema=(
        "product_id STRING NOT NULL, product_name STRING, category STRING, brand STRING, "
        "price DECIMAL(10,2), cost DECIMAL(10,2), margin DECIMAL(10,2), active BOOLEAN"
    ),
    primary_keys="product_id",
    write=Merge(sequence_by="updated_at"),
    comment="Products, current attributes.",
)
GOLD_DIM_DATES = Table(
    "dim_dates",
    Layer.GOLD,
    schema=(
        "date DATE NOT NULL, year INT, quarter INT, month INT, month_name STRING, "
        "week_start DATE, iso_week INT, day_of_month INT, day_of_week INT, "
        "day_name STRING, is_weekend BOOLEAN"
    ),
    primary_keys="date",
    write=Merge(),
    comment="One row per calendar day of the sales period.",
)
GOLD_CUSTOMER_RFM = Table(
    "customer_rfm",
    Layer.GOLD,
    schema=(
        "customer_id STRING NOT NULL, last_order_date DATE, recency_days INT, "
        "frequency BIGINT, monetary DECIMAL(18,2), r_score INT, f_score INT, m_score INT, "
        "rfm_score STRING, segment STRING, as_of_date DATE"
    ),
    primary_keys="customer_id",
    optimize_after_write=True,
    zorder_by="segment",
    comment="Recency, frequency and monetary scores (1 to 5) and a named segment per customer.",
)
GOLD_PRODUCT_PERFORMANCE = Table(
    "product_performance",
    Layer.GOLD,
    schema=(
        "product_id STRING NOT NULL, product_name STRING, category STRING, "
        "revenue DECIMAL(18,2), units BIGINT, orders BIGINT, revenue_rank INT, "
        "category_rank INT"
    ),
    primary_keys="product_id",
    comment="Revenue, units and orders per product, ranked overall and within its category.",
)

#: Every table of the lakehouse, in layer order.
ALL_TABLES: tuple[Table, ...] = (
    BRONZE_CUSTOMERS,
    BRONZE_PRODUCTS,
    BRONZE_TRANSACTIONS,
    SILVER_CUSTOMERS,
    SILVER_PRODUCTS,
    SILVER_TRANSACTIONS,
    GOLD_DIM_CUSTOMERS,
    GOLD_DIM_PRODUCTS,
    GOLD_DIM_DATES,
    GOLD_DAILY_SALES,
    GOLD_WEEKLY_SALES,
    GOLD_MONTHLY_SALES,
    GOLD_CUSTOMER_RFM,
    GOLD_PRODUCT_PERFORMANCE,
)
