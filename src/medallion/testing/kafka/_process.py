"""Helpers of :class:`~medallion.testing.kafka.KafkaBroker` that need no broker.

Free ports, the cluster id, property values and the Log4j 2 configuration, reading the
broker's logs, and stopping the brokers still running when the interpreter exits.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import logging
import secrets
import socket
from pathlib import Path
from typing import Protocol


class _Stoppable(Protocol):
    def stop(self) -> None: ...

_LOG = logging.getLogger("medallion.testing.kafka")  # one logger for the whole package
_LOG_TAIL_LINES = 25


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _cluster_id() -> str:
    """A random Kafka ``Uuid`` as Kafka prints it (like ``kafka-storage random-uuid``)."""
    while True:
        raw = secrets.token_bytes(16)
        text = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
        if int.from_bytes(raw, "big") > 1 and not text.startswith("-"):
            return text


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return []


def _errors(lines: list[str], limit: int = 12) -> list[str]:
    """The ERROR and FATAL records of a Kafka log, each with the line after it (the cause)."""
    found: list[str] = []
    for index, line in enumerate(lines):
        if "] ERROR " in line or "] FATAL " in line:
            found.append(line)
            following = lines[index + 1] if index + 1 < len(lines) else ""
            if following and not following.startswith("["):
                found.append(following)
        if len(found) >= limit:
            break
    return found[:limit]


def _property(value: str | int | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


_LOG4J2_PROPERTIES = """\
status = warn
shutdownHook = disable
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = {level}
logger.apache.name = org.apache.kafka
logger.apache.level = {level}
"""

# Running brokers, stopped at interpreter exit (strong references: a broker dropped without
# stop() must still not outlive the interpreter).
_RUNNING: set[_Stoppable] = set()


@atexit.register
def _stop_running_brokers() -> None:
    for broker in list(_RUNNING):
        with contextlib.suppress(Exception):
            broker.stop()


