"""Helpers for testing lakehouse pipelines against real services.

:mod:`medallion.testing.kafka` runs a real, single-node Apache Kafka broker without Docker:
:class:`~medallion.testing.kafka.KafkaBroker` and :func:`~medallion.testing.kafka.kafka_jars`.
They are imported on first use, so that ``python -m medallion.testing.kafka`` runs cleanly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medallion.testing.kafka import KafkaBroker, KafkaBrokerError, kafka_jars

__all__ = ["KafkaBroker", "KafkaBrokerError", "kafka_jars"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from medallion.testing import kafka

        return getattr(kafka, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
