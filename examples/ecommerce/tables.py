"""The tables of the e-commerce lakehouse, declared once and shared by every step."""

from __future__ import annotations

from medallion import Layer, Table

from .schemas import CUSTOMERS_DDL, PRODUCTS_DDL, TRANSACTIONS_DDL

__all__ = ["BRONZE_CUSTOMERS", "BRONZE_PRODUCTS", "BRONZE_TABLES", "BRONZE_TRANSACTIONS"]

BRONZE_CUSTOMERS = Table(
    "customers",
    Layer.BRONZE,
    schema=CUSTOMERS_DDL,
    comment="Customers as exported by the CRM (CSV), every version of every file.",
)
BRONZE_PRODUCTS = Table(
    "products",
    Layer.BRONZE,
    schema=PRODUCTS_DDL,
    comment="The product catalogue (JSON Lines), every version of every file.",
)
BRONZE_TRANSACTIONS = Table(
    "transactions",
    Layer.BRONZE,
    schema=TRANSACTIONS_DDL,
    comment="Order lines as they arrived (JSON Lines, one file per batch).",
)

#: The bronze tables with the generator's dataset each one holds.
BRONZE_TABLES: dict[str, Table] = {
    "customers": BRONZE_CUSTOMERS,
    "products": BRONZE_PRODUCTS,
    "transactions": BRONZE_TRANSACTIONS,
}
