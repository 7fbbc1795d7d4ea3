"""The e-commerce pipeline, built only on medallion's public API.

The pipeline is declared with the tables (:mod:`examples.ecommerce.tables`); each step is
registered next to its function, in the module of its layer: :mod:`~examples.ecommerce.bronze`,
:mod:`~examples.ecommerce.silver` and :mod:`~examples.ecommerce.gold`. Importing this module
imports them all, so that the pipeline has its 14 steps.

Run parameters: ``landing``, the folder the generator wrote (with ``customers/``,
``products/`` and ``transactions/`` inside).
"""

from __future__ import annotations

# In layer order: the steps register as their modules are imported, and among steps that
# could run at the same time the plan keeps the order of registration.
# isort: off
from . import bronze, silver, gold

# isort: on
from .bronze import bronze_customers, bronze_products, bronze_transactions
from .tables import pipeline

__all__ = [
    "bronze",
    "bronze_customers",
    "bronze_products",
    "bronze_transactions",
    "gold",
    "pipeline",
    "silver",
]
