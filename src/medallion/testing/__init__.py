"""Helpers for testing lakehouse pipelines against real services.

* :mod:`medallion.testing.kafka` runs a real, single-node Apache Kafka broker without Docker:
  :class:`~medallion.testing.kafka.KafkaBroker` and :func:`~medallion.testing.kafka.kafka_jars`.
* :mod:`medallion.testing.plugin` is a pytest plugin (registered as ``medallion`` when the
  package is installed) with the ``medallion_spark``, ``medallion_lakehouse`` and
  ``medallion_kafka_broker`` fixtures.
* :mod:`medallion.testing.assertions` asserts on tables, rows, quarantined rows and row
  conservation (:func:`~medallion.testing.assertions.assert_table_equals`, ...); it needs
  chispa (the ``testing`` extra).

Everything is imported on first use, so that ``python -m medallion.testing.kafka`` runs cleanly
and importing this package needs neither pytest nor chispa.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medallion.testing.assertions import (
        assert_conserved,
        assert_quarantined,
        assert_rows,
        assert_table_equals,
        quarantine_counts,
    )
    from medallion.testing.kafka import KafkaBroker, KafkaBrokerError, kafka_jars
    from medallion.testing.plugin import SparkSettings

_LAZY: dict[str, str] = {
    "KafkaBroker": "kafka",
    "KafkaBrokerError": "kafka",
    "kafka_jars": "kafka",
    "SparkSettings": "plugin",
    "assert_conserved": "assertions",
    "assert_quarantined": "assertions",
    "assert_rows": "assertions",
    "assert_table_equals": "assertions",
    "quarantine_counts": "assertions",
}

__all__ = [
    "KafkaBroker",
    "KafkaBrokerError",
    "SparkSettings",
    "assert_conserved",
    "assert_quarantined",
    "assert_rows",
    "assert_table_equals",
    "kafka_jars",
    "quarantine_counts",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        return getattr(importlib.import_module(f"medallion.testing.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
