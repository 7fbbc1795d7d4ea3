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

import argparse
import atexit
import base64
import concurrent.futures
import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, TYPE_CHECKING

from medallion.errors import JarResolutionError, MedallionError
from medallion.jars import _pom

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient

__all__ = [
    "DEFAULT_KAFKA_VERSION",
    "KafkaBroker",
    "KafkaBrokerError",
    "kafka_jars",
    "kafka_jars_dir",
    "main",
]

#: The Kafka release :func:`kafka_jars` and :class:`KafkaBroker` use unless told otherwise.
DEFAULT_KAFKA_VERSION = "4.1.1"
#: The environment variable naming the jars folder (instead of the per-version cache folder).
JARS_ENV = "MEDALLION_KAFKA_JARS"

_SCALA = "2.13"
# Kafka 4.x logs through slf4j 1.7 and ships Log4j 2 in its distribution; this is the binding
# (and the version) of Kafka 4.1's `libs/` folder.
_LOG4J = "2.24.3"
_LOG = logging.getLogger(__name__)
_LOG_TAIL_LINES = 25


class KafkaBrokerError(MedallionError, RuntimeError):
    """A Kafka broker could not be formatted, started, used or stopped.

    Example:
        >>> try:
        ...     KafkaBroker().create_topic("orders")
        ... except KafkaBrokerError as exc:
        ...     print(exc)
        the Kafka broker is not running; call start() first
    """


# --- jars --------------------------------------------------------------------------------


def _broker_jar(version: str) -> str:
    return f"kafka_{_SCALA}-{version}.jar"


def kafka_jars_dir(version: str = DEFAULT_KAFKA_VERSION) -> Path:
    """The folder :func:`kafka_jars` fills when it is given no ``cache_dir``.

    Args:
        version: Kafka's version.

    Returns:
        ``$MEDALLION_KAFKA_JARS`` when set, else ``kafka-<version>`` in medallion's cache
        folder (``$XDG_CACHE_HOME/medallion``, by default ``~/.cache/medallion``).

    Example:
        >>> folder = kafka_jars_dir("4.1.1")
        >>> folder == Path(os.environ.get(JARS_ENV) or folder.parent / "kafka-4.1.1").expanduser()
        True
    """
    override = os.environ.get(JARS_ENV)
    if override:
        return Path(override).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "medallion" / f"kafka-{version}"


def kafka_jars(
    version: str = DEFAULT_KAFKA_VERSION,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    mvn: str = "mvn",
) -> Path:
    """Apache Kafka's broker jars, resolved from Maven Central with ``mvn`` the first time.

    The folder gets ``org.apache.kafka:kafka_2.13:<version>`` with its runtime dependencies
    and Log4j 2 with its slf4j binding (so the broker logs to a file). A folder that already
    holds the broker's jar is used as it is, without running Maven: a second call does no
    network work, and a Kafka distribution's ``libs/`` folder of the same version works too.
    The jars are resolved into a temporary sibling folder and moved into place at the end, so
    an interrupted fetch never leaves a folder that looks complete.

    Args:
        version: Kafka's version (4.x needs Java 17 or newer).
        cache_dir: The folder of jars; defaults to :func:`kafka_jars_dir`.
        mvn: The Maven executable.

    Returns:
        The folder of jars (for a ``-cp "<folder>/*"`` class path).

    Raises:
        JarResolutionError: Maven is missing, or it could not resolve the packages.

    Example:
        A folder that holds the broker's jar (a Kafka distribution's ``libs/``) is used as is:

        >>> libs = Path(lakehouse, "kafka_2.13-4.1.1", "libs")
        >>> libs.mkdir(parents=True)
        >>> (libs / "kafka_2.13-4.1.1.jar").touch()
        >>> kafka_jars("4.1.1", libs) == libs
        True
    """
    target = Path(cache_dir).expanduser() if cache_dir is not None else kafka_jars_dir(version)
    if (target / _broker_jar(version)).is_file():
        return target
    packages = [
        f"org.apache.kafka:kafka_{_SCALA}:{version}",
        f"org.apache.logging.log4j:log4j-slf4j-impl:{_LOG4J}",
        f"org.apache.logging.log4j:log4j-core:{_LOG4J}",
    ]
    executable = shutil.which(mvn)
    if executable is None:
        raise JarResolutionError(
            f"cannot fetch Kafka {version}'s jars: Maven ({mvn!r}) is not on PATH; install "
            f"Maven, or set {JARS_ENV} to a Kafka {version} distribution's libs/ folder"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{target.name}-", dir=target.parent) as tmp:
        pom = Path(tmp) / "pom.xml"
        pom.write_text(_pom(packages), encoding="utf-8")
        out = Path(tmp) / "jars"
        command = [
            executable,
            "-B",
            "-q",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={out}",
            "-DincludeScope=runtime",
        ]
        _LOG.info("fetching Kafka %s's jars into %s", version, target)
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0 or not (out / _broker_jar(version)).is_file():
            detail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-15:])
            raise JarResolutionError(
                f"mvn could not resolve {', '.join(packages)} (exit {completed.returncode}):\n"
                f"{detail}"
            )
        _move_into_place(out, target, _broker_jar(version))
    return target


def _move_into_place(source: Path, target: Path, marker: str) -> None:
    """Moves a folder of jars to ``target``; the ``marker`` jar arrives last."""
    try:
        source.rename(target)  # atomic when target does not exist yet
        return
    except OSError:
        if (target / marker).is_file():  # another process got there first
            return
    target.mkdir(parents=True, exist_ok=True)
    jars = sorted(source.glob("*.jar"), key=lambda jar: jar.name == marker)
    for jar in jars:
        os.replace(jar, target / jar.name)


# --- broker ------------------------------------------------------------------------------


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
            medallion.testing.kafka.KafkaBrokerError: Java ('no-such-java') was not found; ...
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
            medallion.testing.kafka.KafkaBrokerError: the Kafka broker is not running; ...
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
            medallion.testing.kafka.KafkaBrokerError: the Kafka broker is not running; ...
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

    def _make_directory(self) -> None:
        if self._requested_directory is not None:
            self._directory = self._requested_directory.resolve()
            self._directory.mkdir(parents=True, exist_ok=True)
            self._owns_directory = False
        else:
            self._directory = Path(tempfile.mkdtemp(prefix="medallion-kafka-"))
            self._owns_directory = True

    def _path(self, name: str) -> Path:
        assert self._directory is not None
        return self._directory / name

    def _write_configuration(self) -> None:
        host, port, controller = self.host, self._port, self._controller_port
        settings: dict[str, str | int | bool] = {
            "process.roles": "broker,controller",
            "node.id": 1,
            "controller.quorum.voters": f"1@{host}:{controller}",
            "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller}",
            "advertised.listeners": f"PLAINTEXT://{host}:{port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
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
        raise KafkaBrokerError(
            f"the Kafka broker {problem}; its log ({where}):\n{self._log_tail()}"
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


# --- command line ------------------------------------------------------------------------


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m medallion.testing.kafka",
        description="A single-node Apache Kafka broker (KRaft) on 127.0.0.1, without Docker.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="run a broker in the foreground until Ctrl-C")
    start.add_argument("--port", type=int, help="client port (default: a free one)")
    start.add_argument("--controller-port", type=int, help="controller port (default: free)")
    start.add_argument("--host", default="127.0.0.1", help="address to bind and advertise")
    start.add_argument(
        "--dir",
        dest="directory",
        help="broker folder, kept between runs with its topics (default: a temporary folder)",
    )
    start.add_argument("--partitions", type=int, default=1, help="num.partitions (default: 1)")
    start.add_argument(
        "--no-auto-create-topics",
        dest="auto_create_topics",
        action="store_false",
        help="disable auto.create.topics.enable",
    )
    start.add_argument("--version", default=DEFAULT_KAFKA_VERSION, help="Kafka version")
    start.add_argument("--heap", default="512m", help="JVM maximum heap (default: 512m)")
    start.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for it")
    fetch = commands.add_parser("fetch", help="only fetch Kafka's jars (with mvn)")
    fetch.add_argument("--version", default=DEFAULT_KAFKA_VERSION, help="Kafka version")
    fetch.add_argument("--dest", help=f"jars folder (default: ${JARS_ENV} or the cache)")
    return parser


def _run_foreground(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    broker = KafkaBroker(
        port=args.port,
        controller_port=args.controller_port,
        host=args.host,
        directory=args.directory,
        num_partitions=args.partitions,
        auto_create_topics=args.auto_create_topics,
        version=args.version,
        heap=args.heap,
        start_timeout=args.timeout,
    )
    try:
        broker.start()
        print(broker.bootstrap_servers, flush=True)
        print(
            f"Kafka {broker.version} broker running (pid {broker.pid}); log: {broker.log_file}; "
            "Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(0.5):
            if not broker.running:
                print(f"the Kafka broker exited; see {broker.log_file}", file=sys.stderr)
                return 1
        return 0
    finally:
        broker.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``python -m medallion.testing.kafka`` command: ``start`` a broker, or ``fetch`` jars.

    Args:
        argv: The arguments; defaults to ``sys.argv[1:]``.

    Returns:
        The exit code.

    Example:
        ``fetch`` prints the jars folder (here one that already holds them, so Maven is not run):

        >>> libs = Path(lakehouse, "libs")
        >>> libs.mkdir()
        >>> (libs / "kafka_2.13-4.1.1.jar").touch()
        >>> main(["fetch", "--version", "4.1.1", "--dest", str(libs)])  # doctest: +ELLIPSIS
        /.../libs
        0
    """
    args = _build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.command == "fetch":
            began = time.monotonic()
            folder = kafka_jars(args.version, args.dest)
            jars = sorted(folder.glob("*.jar"))
            size = sum(jar.stat().st_size for jar in jars) / 1e6
            print(folder)
            print(
                f"{len(jars)} jars, {size:.1f} MB, in {time.monotonic() - began:.1f} s",
                file=sys.stderr,
            )
            return 0
        return _run_foreground(args)
    except MedallionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
