"""The plumbing of :class:`~medallion.testing.kafka.KafkaBroker`: its folder and files, its process.

Free ports, the cluster id, ``server.properties`` and the Log4j 2 configuration, the JVM's
command line, launching and stopping the process (also at interpreter exit), and reading its
logs. The functions that take a broker are its internals: they read and set its private
attributes, and are kept here so that the broker's module holds its API.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for annotations only: broker imports this module
    from medallion.testing.kafka.broker import KafkaBroker

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
_RUNNING: set[KafkaBroker] = set()


@atexit.register
def _stop_running_brokers() -> None:
    for broker in list(_RUNNING):
        with contextlib.suppress(Exception):
            broker.stop()


def _make_directory(broker: KafkaBroker) -> None:
    if broker._requested_directory is not None:
        broker._directory = broker._requested_directory.resolve()
        broker._directory.mkdir(parents=True, exist_ok=True)
        broker._owns_directory = False
    else:
        broker._directory = Path(tempfile.mkdtemp(prefix="medallion-kafka-"))
        broker._owns_directory = True


def _write_configuration(broker: KafkaBroker) -> None:
    host, port, controller = broker.host, broker._port, broker._controller_port
    settings: dict[str, str | int | bool] = {
        "process.roles": "broker,controller",
        "node.id": 1,
        "controller.quorum.voters": f"1@{host}:{controller}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(broker._path("data")),
        "num.partitions": broker.num_partitions,
        "auto.create.topics.enable": broker.auto_create_topics,
        "offsets.topic.replication.factor": 1,
        "offsets.topic.num.partitions": 1,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "transaction.state.log.num.partitions": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        "group.initial.rebalance.delay.ms": 0,
        "num.network.threads": 2,
        "num.io.threads": 2,
        **broker.properties,
    }
    text = "".join(f"{key}={_property(value)}\n" for key, value in settings.items())
    broker._path("server.properties").write_text(text, encoding="utf-8")
    log4j = _LOG4J2_PROPERTIES.format(log=broker._path("server.log"), level=broker.log_level)
    broker._path("log4j2.properties").write_text(log4j, encoding="utf-8")


def _jvm(broker: KafkaBroker, java: str, jars: Path) -> list[str]:
    return [
        java,
        f"-Xmx{broker.heap}",
        "-Xms64m",
        # C1 only: starts about a second faster and spends less CPU compiling; enough
        # throughput for development and tests (override with jvm_options).
        "-XX:TieredStopAtLevel=1",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={broker._path('log4j2.properties')}",
        f"-Dkafka.logs.dir={broker._directory}",
        *broker.jvm_options,
        "-cp",
        str(jars / "*"),
    ]


def _launch(broker: KafkaBroker, java: str, jars: Path) -> None:
    broker._output = broker._path("kafka.out").open("ab")
    command = [*_jvm(broker, java, jars), "kafka.Kafka", str(broker._path("server.properties"))]
    broker._process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=broker._output,
        stderr=subprocess.STDOUT,
        cwd=broker._directory,
        start_new_session=True,  # its own process group: no Ctrl-C from our terminal
    )


def _log_tail(broker: KafkaBroker) -> str:
    parts = []
    for name in ("server.log", "kafka.out"):
        lines = _read_lines(broker._path(name))
        errors = _errors(lines)
        if errors:
            parts.append(f"--- errors in {name} ---\n" + "\n".join(errors))
        if lines:
            parts.append(f"--- end of {name} ---\n" + "\n".join(lines[-_LOG_TAIL_LINES:]))
    return "\n".join(parts) or "(empty)"


def _lost_port_race(broker: KafkaBroker) -> bool:
    return "Address already in use" in _log_tail(broker)


def _terminate(broker: KafkaBroker) -> None:
    broker._admin = None
    process, broker._process = broker._process, None
    if process is not None and process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=broker.stop_timeout)
        except subprocess.TimeoutExpired:
            _LOG.warning("Kafka broker %s ignored SIGTERM; killing it", process.pid)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if broker._output is not None:
        broker._output.close()
        broker._output = None


def _clean_up(broker: KafkaBroker) -> None:
    if broker._directory is not None and broker._owns_directory and not broker.keep:
        shutil.rmtree(broker._directory, ignore_errors=True)
        broker._directory = None
    broker._port = broker._controller_port = None
