"""Source schemas of the e-commerce example as Spark DDL strings.

The strings are plain text so that they can be imported without PySpark. They
describe the raw (bronze) files written by :mod:`examples.ecommerce.generator`:
column names, order and types. ``NOT NULL`` marks the business key of each
dataset; it is informational for the library (raw files may break it, which is
exactly what the data-quality rules are for).
"""

from __future__ import annotations

CUSTOMERS_DDL = (
    "customer_id STRING NOT NULL, first_name STRING, last_name STRING, "
    "email STRING, phone STRING, city STRING, state STRING, country STRING, "
    "signup_date DATE, loyalty_tier STRING"
)
"""Schema of ``customers/customers.csv`` (CSV with a header line)."""

PRODUCTS_DDL = (
    "product_id STRING NOT NULL, name STRING, category STRING, brand STRING, "
    "price DOUBLE, cost DOUBLE, active BOOLEAN, created_at TIMESTAMP"
)
"""Schema of ``products/products.json`` (JSON Lines)."""

TRANSACTIONS_DDL = (
    "transaction_id STRING NOT NULL, order_id STRING, customer_id STRING, "
    "product_id STRING, quantity INT, unit_price DOUBLE, discount DOUBLE, "
    "payment_method STRING, status STRING, channel STRING, event_time TIMESTAMP"
)
"""Schema of ``transactions/transactions_NNN.json`` (JSON Lines, one file per batch)."""
