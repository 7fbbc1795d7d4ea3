"""The e-commerce pipeline, built only on medallion's public API.

Bronze: each landing folder is ingested into its bronze table; the files' records that do not
fit the schema are kept with the reason (``_rescued_data``, ``_rescue_reason``).

Run parameters: ``landing``, the folder the generator wrote (with ``customers/``,
``products/`` and ``transactions/`` inside).
"""

from __future__ import annotations

from medallion import FileSource, IngestResult, Pipeline, StepContext, ingest_files

from .gold import add_gold_steps
from .silver import add_silver_steps
from .tables import BRONZE_CUSTOMERS, BRONZE_PRODUCTS, BRONZE_TRANSACTIONS

__all__ = ["bronze_customers", "bronze_products", "bronze_transactions", "pipeline"]

pipeline = Pipeline("ecommerce")


def _ingest(ctx: StepContext, folder: str, file_format: str) -> IngestResult:
    source = FileSource(f"{ctx.param('landing')}/{folder}", file_format)
    return ingest_files(
        ctx.spark, ctx.table, source, ctx.root, run_id=ctx.run_id, ingested_at=ctx.started_at
    )


@pipeline.step(BRONZE_CUSTOMERS)
def bronze_customers(ctx: StepContext) -> IngestResult:
    """Ingest the customer CSV exports."""
    return _ingest(ctx, "customers", "csv")


@pipeline.step(BRONZE_PRODUCTS)
def bronze_products(ctx: StepContext) -> IngestResult:
    """Ingest the product catalogue."""
    return _ingest(ctx, "products", "json")


@pipeline.step(BRONZE_TRANSACTIONS)
def bronze_transactions(ctx: StepContext) -> IngestResult:
    """Ingest the transaction batches."""
    return _ingest(ctx, "transactions", "json")


add_silver_steps(pipeline)
add_gold_steps(pipeline)
