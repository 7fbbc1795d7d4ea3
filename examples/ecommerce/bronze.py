"""Bronze steps of the e-commerce pipeline: each landing folder into its bronze table.

The files' records that do not fit the schema are kept with the reason (``_rescued_data``,
``_rescue_reason``). A file is ingested once: a step returns the records of the files bronze
does not hold yet, and the runner appends them (a run where no file is new writes nothing).

Run parameter: ``landing``, the folder the generator wrote (with ``customers/``,
``products/`` and ``transactions/`` inside).
"""

from __future__ import annotations

from pyspark.sql import DataFrame

from medallion import FileSource, StepContext

from .tables import BRONZE_CUSTOMERS, BRONZE_PRODUCTS, BRONZE_TRANSACTIONS, pipeline

__all__ = ["bronze_customers", "bronze_products", "bronze_transactions"]


def _landing(ctx: StepContext, folder: str, file_format: str) -> FileSource:
    return FileSource(f"{ctx.param('landing')}/{folder}", file_format)


@pipeline.step(BRONZE_CUSTOMERS, params=["landing"])
def bronze_customers(ctx: StepContext) -> DataFrame:
    """Ingest the customer CSV exports."""
    return ctx.read_files(_landing(ctx, "customers", "csv"))


@pipeline.step(BRONZE_PRODUCTS, params=["landing"])
def bronze_products(ctx: StepContext) -> DataFrame:
    """Ingest the product catalogue."""
    return ctx.read_files(_landing(ctx, "products", "json"))


@pipeline.step(BRONZE_TRANSACTIONS, params=["landing"])
def bronze_transactions(ctx: StepContext) -> DataFrame:
    """Ingest the transaction batches."""
    return ctx.read_files(_landing(ctx, "transactions", "json"))
