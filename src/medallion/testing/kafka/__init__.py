"""A real, single-node Apache Kafka broker for development and tests, without Docker.

:func:`kafka_jars` resolves Apache Kafka's broker (``org.apache.kafka:kafka_2.13``) and its
runtime dependencies from Maven Central with ``mvn``, once, into a cache folder.
:class:`KafkaBroker` formats a KRaft log directory in a temporary folder and runs the broker
(combined broker and controller, node 1) as a Java process on ``127.0.0.1`` with free ports.
It needs Java 17 or newer, ``mvn`` the first time, and ``confluent-kafka`` (the ``kafka`` extra)
to check that the broker answers and to create topics. POSIX only.

Example (not run as a doctest: it starts a JVM)::

    from confluent_kafka import Producer
    from medallion.testing.kafka import KafkaBroker

    with KafkaBroker(num_partitions=3) as broker:
        broker.create_topic("orders", partitions=3)
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers})
        ...

From a shell, ``python -m medallion.testing.kafka start --port 9092`` runs a broker in the
foreground until Ctrl-C, and ``python -m medallion.testing.kafka fetch`` only fetches the jars.
"""

from __future__ import annotations

# In reading order (jars, broker, command line), which is also the order of the API reference.
# isort: off
from medallion.testing.kafka.jars import DEFAULT_KAFKA_VERSION, JARS_ENV as JARS_ENV
from medallion.testing.kafka.jars import kafka_jars_dir, kafka_jars
from medallion.testing.kafka.broker import KafkaBrokerError, KafkaBroker
from medallion.testing.kafka.cli import main

# isort: on

__all__ = [
    "DEFAULT_KAFKA_VERSION",
    "KafkaBroker",
    "KafkaBrokerError",
    "kafka_jars",
    "kafka_jars_dir",
    "main",
]
