"""The broker: :class:`KafkaBroker`, a single-node Kafka (KRaft) in a Java subprocess."""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING

from medallion.errors import MedallionError
from medallion.testing.kafka._process import (
    _LOG4J2_PROPERTIES,
    _LOG_TAIL_LINES,
    _RUNNING,
    _accepts_connections,
    _cluster_id,
    _errors,
    _free_port,
    _property,
    _read_lines,
)
from medallion.testing.kafka.jars import DEFAULT_KAFKA_VERSION, kafka_jars

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient

__all__ = ["KafkaBroker", "KafkaBrokerError"]

_LOG = logging.getLogger("medallion.testing.kafka")  # one logger for the whole package


class KafkaBrokerError(MedallionError, RuntimeError):
    """A Kafka broker could not be formatted, started, used or stopped.

    Example:
        >>> try:
        ...     KafkaBroker().create_topic("orders")
        ... except KafkaBrokerError as exc:
        ...     print(exc)
        the Kafka broker is not running; call start() first
    """


def _java_executable(java: str | None) -> str:
    candidates = [java] if java else []
    if not java and os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    candidates.append(java or "java")
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    raise KafkaBrokerError(f"Java ({java or 'java'!r}) was not found; Kafka 4 needs Java 17+")


class KafkaBroker:
    """A single-node Apache Kafka broker (KRaft, combined broker and controller) in a subprocess.

    :meth:`start` picks free ports on ``host`` (unless given), writes ``server.properties`` and
    a Log4j 2 configuration into the broker's folder, formats the log directory with Kafka's
    ``StorageTool``, starts ``kafka.Kafka`` in its own process group, and returns once the
    broker accepts connections and answers a metadata request. The broker logs to
    ``server.log`` in its folder (the JVM's own output goes to ``kafka.out``). :meth:`stop`
    (also called on leaving a ``with`` block, and at interpreter exit) ends it with SIGTERM,
    then SIGKILL after ``stop_timeout`` seconds. It is meant for development and tests: one
    node, plaintext, replication factor 1 everywhere.

    Example:
        Typical use (not run here: it starts a JVM)::

            with KafkaBroker() as broker:
                broker.create_topic("events", partitions=2)
                spark.readStream.format("kafka").option(
                    "kafka.bootstrap.servers", broker.bootstrap_servers
                )

        Nothing runs until it is started:

        >>> broker = KafkaBroker(num_partitions=3)
        >>> broker, broker.running, broker.port
        (KafkaBroker(version='4.1.1', stopped), False, None)

    Args:
        port: The client (PLAINTEXT) port; a free one when ``None``.
        controller_port: The KRaft controller's port; a free one when ``None``.
        host: The address both listeners bind to and advertise.
        directory: The broker's folder (configuration, ``data/`` log directory, logs). It is
            created if missing and never removed; a log directory formatted by an earlier run
            is reused, so its topics survive. ``None`` makes a temporary folder.
        keep: Keep the temporary folder after :meth:`stop` (for reading its logs).
        num_partitions: The partitions of automatically created topics (``num.partitions``).
        auto_create_topics: ``auto.create.topics.enable``.
        version: Kafka's version, for :func:`kafka_jars`.
        jars_dir: A folder of Kafka's jars; defaults to :func:`kafka_jars` for ``version``
            (fetched on first use).
        heap: The JVM's maximum heap (``-Xmx``).
        properties: More ``server.properties`` entries; they override the defaults.
        jvm_options: More JVM options.
        java: The Java executable; defaults to ``$JAVA_HOME/bin/java``, then ``java``.
        start_timeout: Seconds to wait for the broker to answer before giving up.
        stop_timeout: Seconds to wait after SIGTERM before SIGKILL.
        log_level: The Log4j level of ``server.log``.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        host: str = "127.0.0.1",
        directory: str | os.PathLike[str] | None = None,
        keep: bool = False,
        num_partitions: int = 1,
        auto_create_topics: bool = True,
        version: str = DEFAULT_KAFKA_VERSION,
        jars_dir: str | os.PathLike[str] | None = None,
        heap: str = "512m",
        properties: Mapping[str, str | int | bool] | None = None,
        jvm_options: Sequence[str] = (),
        java: str | None = None,
        start_timeout: float = 90.0,
        stop_timeout: float = 30.0,
        log_level: str = "INFO",
    ) -> None:
        if num_partitions < 1:
            raise ValueError(f"num_partitions must be at least 1, not {num_partitions}")
        self.host = host
        self.version = version
        self.num_partitions = num_partitions
        self.auto_create_topics = auto_create_topics
        self.heap = heap
        self.properties = dict(properties or {})
        self.jvm_options = list(jvm_options)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.log_level = log_level
        self.keep = keep
        self._requested_port = port
        self._requested_controller_port = controller_port
        self._requested_directory = Path(directory) if directory is not None else None
        self._jars_dir = Path(jars_dir) if jars_dir is not None else None
        self._java = java
        self._directory: Path | None = None
        self._owns_directory = False
        self._port: int | None = None
        self._controller_port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None
        self._admin: AdminClient | None = None
        self._lock = threading.Lock()

    # -- properties ---------------------------------------------------------------------

    @property
    def bootstrap_servers(self) -> str:
        """``"<host>:<port>"`` of the running broker, for ``bootstrap.servers``.

        Raises:
            KafkaBrokerError: The broker is not running.
        """
        if self._port is None or not self.running:
            raise KafkaBrokerError("the Kafka broker is not running; call start() first")
        return f"{self.host}:{self._port}"

    @property
    def port(self) -> int | None:
        """The client port while the broker runs, else ``None``."""
        return self._port if self.running else None

    @property
    def controller_port(self) -> int | None:
        """The KRaft controller's port while the broker runs, else ``None``."""
        return self._controller_port if self.running else None

    @property
    def directory(self) -> Path | None:
        """The broker's folder (``server.properties``, ``data/``, ``server.log``), once started."""
        return self._directory

    @property
    def log_file(self) -> Path | None:
        """The broker's ``server.log``, once started."""
        return self._directory / "server.log" if self._directory is not None else None

    @property
    def pid(self) -> int | None:
        """The broker's process id while it runs, else ``None``."""
        return self._process.pid if self._process is not None and self.running else None

    @property
    def running(self) -> bool:
        """Whether the broker's process is alive."""
        return self._process is not None and self._process.poll() is None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> KafkaBroker:
        """Formats the log directory if needed, starts the broker and waits until it answers.

        Returns:
            The broker itself, running.

        Raises:
            KafkaBrokerError: The broker is already running, Java is missing, formatting failed,
                or the broker did not answer within ``start_timeout`` seconds (the message ends
                with the tail of its log).
            JarResolutionError: Kafka's jars could not be fetched.

        Example:
            Typical use (not run here: it starts a JVM)::

                broker = KafkaBroker().start()
                print(broker.bootstrap_servers)  # 127.0.0.1:<a free port>

            Java is looked for first:

            >>> KafkaBroker(java="no-such-java").start()  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            medallion.testing.kafka.broker.KafkaBrokerError: Java ('no-such-java') was not found...
        """
        with self._lock:
            if self.running:
                raise KafkaBrokerError(f"the Kafka broker is already running ({self._port})")
            began = time.monotonic()
            java = _java_executable(self._java)
            jars = self._jars_dir or kafka_jars(self.version)
            self._make_directory()
            fixed_ports = (self._requested_port, self._requested_controller_port) != (None, None)
            attempts = 1 if fixed_ports else 3  # free ports can be taken before Kafka binds them
            try:
                for attempt in range(1, attempts + 1):
                    self._port = self._requested_port or _free_port(self.host)
                    self._controller_port = self._requested_controller_port or _free_port(self.host)
                    self._write_configuration()
                    self._format(java, jars)
                    self._launch(java, jars)
                    try:
                        self._wait_until_ready(began + self.start_timeout)
                        break
                    except KafkaBrokerError:
                        if attempt == attempts or not self._lost_port_race():
                            raise
                        _LOG.info("Kafka's port was taken meanwhile; retrying with other ports")
                        self._terminate()
            except BaseException:
                self._terminate()
                self._clean_up()
                raise
            _RUNNING.add(self)
            _LOG.info(
                "Kafka %s broker on %s (pid %s) started in %.1f s",
                self.version,
                self.bootstrap_servers,
                self.pid,
                time.monotonic() - began,
            )
            return self

    def stop(self) -> None:
        """Stops the broker (SIGTERM, then SIGKILL after ``stop_timeout``) and cleans up.

        The temporary folder is removed unless ``keep`` was set; a ``directory`` given to the
        constructor is never removed. Calling it again, or on a broker never started, does
        nothing.

        Example:
            >>> broker = KafkaBroker()
            >>> broker.stop()
            >>> broker.running, broker.directory
            (False, None)
        """
        with self._lock:
            self._terminate()
            self._clean_up()
            _RUNNING.discard(self)

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = f"{self.host}:{self._port}" if self.running else "stopped"
        return f"KafkaBroker(version={self.version!r}, {where})"

    # -- topics -------------------------------------------------------------------------

    def admin(self) -> AdminClient:
        """A confluent-kafka ``AdminClient`` of this broker (one, reused).

        Returns:
            The client.

        Raises:
            KafkaBrokerError: The broker is not running.

        Example:
            With a running broker, ``broker.admin().list_topics().topics`` lists its topics; a
            stopped one has no client:

            >>> KafkaBroker().admin()  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            medallion.testing.kafka.broker.KafkaBrokerError: the Kafka broker is not running; ...
        """
        if not self.running:
            raise KafkaBrokerError("the Kafka broker is not running; call start() first")
        return self._admin_client()

    def _admin_client(self) -> AdminClient:
        if self._admin is None:
            from confluent_kafka.admin import AdminClient

            servers = f"{self.host}:{self._port}"
            self._admin = AdminClient({"bootstrap.servers": servers}, logger=_LOG)
        return self._admin

    def create_topic(
        self,
        name: str,
        partitions: int = 1,
        *,
        config: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> None:
        """Creates a topic (replication factor 1) and waits until each partition has a leader.

        Args:
            name: The topic.
            partitions: Its number of partitions.
            config: Topic configuration, such as ``{"cleanup.policy": "compact"}``.
            timeout: Seconds to wait for the topic.

        Raises:
            KafkaBrokerError: The broker is not running, or rejected the topic (it exists
                already, for one) or did not create it in time.

        Example:
            Typical use (not run here: it needs a running broker)::

                broker.create_topic("orders", partitions=3, config={"retention.ms": "-1"})

            >>> KafkaBroker().create_topic("orders")  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            medallion.testing.kafka.broker.KafkaBrokerError: the Kafka broker is not running; ...
        """
        admin = self.admin()  # first: a stopped broker is the error, whatever is installed
        from confluent_kafka import KafkaException
        from confluent_kafka.cimpl import NewTopic

        topic = NewTopic(
            name, num_partitions=partitions, replication_factor=1, config=dict(config or {})
        )
        future = admin.create_topics([topic], operation_timeout=timeout)[name]
        try:
            future.result(timeout=timeout)
        except (KafkaException, concurrent.futures.TimeoutError) as error:
            raise KafkaBrokerError(f"could not create topic {name!r}: {error!s}") from error
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(KafkaException):
                found = admin.list_topics(topic=name, timeout=5).topics.get(name)
                if (
                    found is not None
                    and found.error is None
                    and len(found.partitions) == partitions
                    and all(p.leader >= 0 for p in found.partitions.values())
                ):
                    return
            time.sleep(0.05)
        raise KafkaBrokerError(f"topic {name!r} has no leader after {timeout} s")

    # -- internals ----------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        assert self._directory is not None
        return self._directory / name

    def _format(self, java: str, jars: Path) -> None:
        if (self._path("data") / "meta.properties").is_file():
            return  # formatted by an earlier run of this directory
        command = [
            *self._jvm(java, jars),
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            _cluster_id(),
            "--config",
            str(self._path("server.properties")),
            "--ignore-formatted",
        ]
        completed = subprocess.run(
            command, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
        )
        if completed.returncode != 0:
            detail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-20:])
            raise KafkaBrokerError(
                f"Kafka's StorageTool could not format {self._path('data')} "
                f"(exit {completed.returncode}):\n{detail}"
            )

    def _wait_until_ready(self, deadline: float) -> None:
        from confluent_kafka import KafkaException

        assert self._port is not None
        while not _accepts_connections(self.host, self._port):
            self._check_alive_before(deadline)
            time.sleep(0.1)
        admin = self._admin_client()
        while True:
            self._check_alive_before(deadline)
            remaining = max(0.5, min(5.0, deadline - time.monotonic()))
            with contextlib.suppress(KafkaException):
                if admin.list_topics(timeout=remaining).brokers:
                    return
            time.sleep(0.1)

    def _check_alive_before(self, deadline: float) -> None:
        assert self._process is not None
        code = self._process.poll()
        if code is None and time.monotonic() <= deadline:
            return
        if self._owns_directory and not self.keep:
            where = f"{self._directory}, removed now; keep=True keeps it"
        else:
            where = str(self._directory)
        problem = (
            f"exited with code {code} while starting"
            if code is not None
            else f"did not answer on {self.host}:{self._port} within {self.start_timeout} s"
        )
        tail = self._log_tail()
        raise KafkaBrokerError(f"the Kafka broker {problem}; its log ({where}):\n{tail}")

    def _make_directory(self) -> None:
        if self._requested_directory is not None:
            self._directory = self._requested_directory.resolve()
            self._directory.mkdir(parents=True, exist_ok=True)
            self._owns_directory = False
        else:
            self._directory = Path(tempfile.mkdtemp(prefix="medallion-kafka-"))
            self._owns_directory = True

    def _write_configuration(self) -> None:
        host, port, controller = self.host, self._port, self._controller_port
        settings: dict[str, str | int | bool] = {
            "process.roles": "broker,controller",
            "node.id": 1,
            "controller.quorum.voters": f"1@{host}:{controller}",
            "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller}",
            "advertised.listeners": f"PLAINTEXT://{host}:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.self.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self._path("data")),
            "num.partitions": self.num_partitions,
            "auto.create.topics.enable": self.auto_create_topics,
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
            **self.properties,
        }
        text = "".join(f"{key}={_property(value)}\n" for key, value in settings.items())
        self._path("server.properties").write_text(text, encoding="utf-8")
        log4j = _LOG4J2_PROPERTIES.format(log=self._path("server.log"), level=self.log_level)
        self._path("log4j2.properties").write_text(log4j, encoding="utf-8")

    def _jvm(self, java: str, jars: Path) -> list[str]:
        return [
            java,
            f"-Xmx{self.heap}",
            "-Xms64m",
            # C1 only: starts about a second faster and spends less CPU compiling; enough
            # throughput for development and tests (override with jvm_options).
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self._path('log4j2.properties')}",
            f"-Dkafka.logs.dir={self._directory}",
            *self.jvm_options,
            "-cp",
            str(jars / "*"),
        ]

    def _launch(self, java: str, jars: Path) -> None:
        self._output = self._path("kafka.out").open("ab")
        command = [*self._jvm(java, jars), "kafka.Kafka", str(self._path("server.properties"))]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            cwd=self._directory,
            start_new_session=True,  # its own process group: no Ctrl-C from our terminal
        )

    def _log_tail(self) -> str:
        parts = []
        for name in ("server.log", "kafka.out"):
            lines = _read_lines(self._path(name))
            errors = _errors(lines)
            if errors:
                parts.append(f"--- errors in {name} ---\n" + "\n".join(errors))
            if lines:
                parts.append(f"--- end of {name} ---\n" + "\n".join(lines[-_LOG_TAIL_LINES:]))
        return "\n".join(parts) or "(empty)"

    def _lost_port_race(self) -> bool:
        return "Address already in use" in self._log_tail()

    def _terminate(self) -> None:
        self._admin = None
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                _LOG.warning("Kafka broker %s ignored SIGTERM; killing it", process.pid)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self._output is not None:
            self._output.close()
            self._output = None

    def _clean_up(self) -> None:
        if self._directory is not None and self._owns_directory and not self.keep:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
        self._port = self._controller_port = None
