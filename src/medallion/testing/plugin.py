"""A pytest plugin with a Delta-ready SparkSession, temporary lakehouses and a Kafka broker.

Installing medallion registers the plugin (the ``pytest11`` entry point ``medallion``); without
the entry point (a source checkout on ``PYTHONPATH``, say), enable it with
``pytest -p medallion.testing.plugin`` or ``pytest_plugins = ["medallion.testing.plugin"]`` in
the root ``conftest.py``. Its fixtures carry a ``medallion_`` prefix, so they never clash with
a project's own ``spark`` fixture:

* ``medallion_spark`` (session): one Delta-ready SparkSession for the whole run.
* ``medallion_lakehouse`` (function): a fresh, empty lakehouse folder, as a string.
* ``medallion_kafka_broker`` (session): a real single-node Kafka broker
  (:class:`~medallion.testing.kafka.KafkaBroker`; needs Java 17+ and the ``kafka`` extra).
* ``medallion_connect_server`` (session): a real Spark Connect server with Delta
  (:class:`~medallion.testing.connect.ConnectServer`; needs the ``connect`` extra), for
  tests that run a client in a process of its own.
* ``medallion_spark_settings`` (session): the :class:`SparkSettings` the session is built
  from; override it in a ``conftest.py`` to build the session in code.

The session is configured from the ini file (``pytest.ini``, ``[tool.pytest.ini_options]``)
and the command line::

    [tool.pytest.ini_options]
    medallion_kafka = true              # add Spark's Kafka connector (or --medallion-kafka)
    medallion_ansi = true               # spark.sql.ansi.enabled
    medallion_shuffle_partitions = 2
    medallion_master = "local[2]"
    medallion_spark_conf = [
        "spark.sql.session.timeZone=Europe/Paris",
    ]

Example:
    A user's test::

        from medallion import Table, write_table
        from medallion.testing.assertions import assert_table_equals

        def test_orders(medallion_spark, medallion_lakehouse):
            df = medallion_spark.createDataFrame([(1, "a")], "id INT, name STRING")
            write_table(df, ORDERS, medallion_lakehouse)
            assert_table_equals(medallion_spark, ORDERS, df, root=medallion_lakehouse)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from medallion.testing.connect import ConnectServer
    from medallion.testing.kafka import KafkaBroker

__all__ = [
    "SparkSettings",
    "medallion_connect_server",
    "medallion_kafka_broker",
    "medallion_lakehouse",
    "medallion_spark",
    "medallion_spark_settings",
    "parse_spark_conf",
    "settings_from_config",
]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclasses.dataclass(frozen=True)
class SparkSettings:
    """How the plugin builds its SparkSession (the arguments of :func:`~medallion.spark_session`).

    Attributes:
        app_name: The Spark application name.
        master: The master URL.
        kafka: Add Spark's Kafka connector.
        ansi: ``spark.sql.ansi.enabled``.
        shuffle_partitions: ``spark.sql.shuffle.partitions``; small, since test data is small.
        driver_memory: ``spark.driver.memory``; ``None`` for medallion's default.
        log_level: The JVM log level.
        packages: Extra Maven coordinates.
        config: Further Spark settings; they override everything else, ``ansi`` included.

    Example:
        Build the session in code, in a ``conftest.py``:

        >>> import pytest
        >>> @pytest.fixture(scope="session")
        ... def medallion_spark_settings():
        ...     return SparkSettings(kafka=True, config={"spark.sql.session.timeZone": "UTC"})
        >>> SparkSettings().master, SparkSettings().shuffle_partitions
        ('local[*]', 2)
    """

    app_name: str = "medallion-tests"
    master: str = "local[*]"
    kafka: bool = False
    ansi: bool = True
    shuffle_partitions: int = 2
    driver_memory: str | None = None
    log_level: str = "ERROR"
    packages: tuple[str, ...] = ()
    config: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def spark_config(self) -> dict[str, str]:
        """The Spark settings passed to :func:`~medallion.spark_session` as ``config``.

        Returns:
            ``spark.sql.ansi.enabled``, then :attr:`config`.

        Example:
            >>> settings = SparkSettings(ansi=False, config={"spark.sql.session.timeZone": "UTC"})
            >>> settings.spark_config()
            {'spark.sql.ansi.enabled': 'false', 'spark.sql.session.timeZone': 'UTC'}
        """
        return {"spark.sql.ansi.enabled": str(self.ansi).lower(), **self.config}

    def build(self) -> SparkSession:
        """Get or create the session.

        Returns:
            A Delta-ready SparkSession.

        Example:
            A session already running in the process is returned as it is:

            >>> SparkSettings(app_name="my-tests").build() is spark
            True
        """
        from medallion.session import spark_session

        return spark_session(
            self.app_name,
            master=self.master,
            packages=self.packages,
            config=self.spark_config(),
            driver_memory=self.driver_memory,
            shuffle_partitions=self.shuffle_partitions,
            log_level=self.log_level,
            kafka=self.kafka,
        )


def parse_spark_conf(lines: Sequence[str]) -> dict[str, str]:
    """Parse ``key=value`` lines (the ``medallion_spark_conf`` ini option).

    Blank lines and lines starting with ``#`` are skipped; keys and values are stripped.

    Args:
        lines: The lines.

    Returns:
        The settings, in order.

    Raises:
        pytest.UsageError: A line has no ``=`` or an empty key.

    Example:
        >>> parse_spark_conf(["spark.a = 1", "# note", "", "spark.b=x=y"])
        {'spark.a': '1', 'spark.b': 'x=y'}
    """
    settings: dict[str, str] = {}
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise pytest.UsageError(
                f"medallion_spark_conf: expected key=value, got {raw!r}",
            )
        settings[key.strip()] = value.strip()
    return settings


def _bool(config: pytest.Config, name: str) -> bool:
    value = config.getini(name)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise pytest.UsageError(f"{name}: expected true or false, got {value!r}")


def settings_from_config(config: pytest.Config) -> SparkSettings:
    """The session settings given by the ini file and the command line.

    Args:
        config: pytest's configuration.

    Returns:
        The settings.

    Raises:
        pytest.UsageError: An option has an invalid value.

    Example:
        Start from the ini file's settings and change one, in a ``conftest.py``::

            @pytest.fixture(scope="session")
            def medallion_spark_settings(pytestconfig):
                return dataclasses.replace(settings_from_config(pytestconfig), app_name="shop")

        Here with a stand-in for pytest's config (the ini file's values, no command-line flag):

        >>> class Config:
        ...     ini = {"medallion_shuffle_partitions": "4", "medallion_ansi": "true",
        ...            "medallion_spark_conf": ["spark.sql.session.timeZone=UTC"]}
        ...     def getini(self, name):
        ...         return self.ini.get(name, "")
        ...     def getoption(self, name):
        ...         return False
        >>> settings = settings_from_config(Config())
        >>> settings.shuffle_partitions, settings.ansi, settings.kafka, settings.config
        (4, True, False, {'spark.sql.session.timeZone': 'UTC'})
    """
    partitions = str(config.getini("medallion_shuffle_partitions")).strip()
    if not partitions.isdigit() or int(partitions) < 1:
        raise pytest.UsageError(
            f"medallion_shuffle_partitions: expected a positive integer, got {partitions!r}"
        )
    memory = str(config.getini("medallion_driver_memory")).strip() or None
    return SparkSettings(
        app_name=str(config.getini("medallion_app_name")).strip() or "medallion-tests",
        master=str(config.getini("medallion_master")).strip() or "local[*]",
        kafka=bool(config.getoption("medallion_kafka")) or _bool(config, "medallion_kafka"),
        ansi=_bool(config, "medallion_ansi"),
        shuffle_partitions=int(partitions),
        driver_memory=memory,
        log_level=str(config.getini("medallion_log_level")).strip() or "ERROR",
        config=parse_spark_conf(config.getini("medallion_spark_conf")),
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the plugin's command-line and ini options.

    Args:
        parser: pytest's option parser.
    """
    group = parser.getgroup("medallion", "medallion lakehouse testing")
    group.addoption(
        "--medallion-kafka",
        action="store_true",
        default=False,
        dest="medallion_kafka",
        help="add Spark's Kafka connector to the medallion_spark session",
    )
    parser.addini(
        "medallion_kafka", "add Spark's Kafka connector to medallion_spark", default="false"
    )
    parser.addini("medallion_ansi", "spark.sql.ansi.enabled for medallion_spark", default="true")
    parser.addini(
        "medallion_spark_conf",
        "extra Spark settings for medallion_spark, one key=value a line",
        type="linelist",
        default=[],
    )
    parser.addini(
        "medallion_shuffle_partitions",
        "spark.sql.shuffle.partitions for medallion_spark",
        default="2",
    )
    parser.addini("medallion_master", "the Spark master URL of medallion_spark", default="local[*]")
    parser.addini("medallion_driver_memory", "spark.driver.memory of medallion_spark", default="")
    parser.addini("medallion_log_level", "the JVM log level of medallion_spark", default="ERROR")
    parser.addini("medallion_app_name", "the application name of medallion_spark", default="")
    parser.addini(
        "medallion_kafka_partitions",
        "default partitions of medallion_kafka_broker's topics",
        default="2",
    )


@pytest.fixture(scope="session")
def medallion_spark_settings(pytestconfig: pytest.Config) -> SparkSettings:
    """How ``medallion_spark`` is built: from the ini file and the command line.

    Override this fixture (session-scoped) in a ``conftest.py`` to build the session in code.

    Args:
        pytestconfig: pytest's configuration.

    Returns:
        The settings.
    """
    return settings_from_config(pytestconfig)


@pytest.fixture(scope="session")
def medallion_spark(medallion_spark_settings: SparkSettings) -> Iterator[SparkSession]:
    """One Delta-ready SparkSession for the whole run, stopped at its end.

    Args:
        medallion_spark_settings: How to build it.

    Yields:
        The session.
    """
    session = medallion_spark_settings.build()
    yield session
    session.stop()


@pytest.fixture
def medallion_lakehouse(tmp_path: Path) -> str:
    """A fresh, empty lakehouse root for one test.

    Args:
        tmp_path: pytest's temporary folder of the test.

    Returns:
        The path of a new ``lakehouse`` folder in it.
    """
    root = tmp_path / "lakehouse"
    root.mkdir()
    return str(root)


@pytest.fixture(scope="session")
def medallion_kafka_broker(pytestconfig: pytest.Config) -> Iterator[KafkaBroker]:
    """A real single-node Kafka broker (KRaft) on 127.0.0.1, started once for the run.

    Needs Java 17 or newer, ``mvn`` the first time (to fetch Kafka's jars) and the ``kafka``
    extra (``confluent-kafka``).

    Args:
        pytestconfig: pytest's configuration (``medallion_kafka_partitions``).

    Yields:
        The running broker; its ``bootstrap_servers`` is what clients connect to.
    """
    from medallion.testing.kafka import KafkaBroker

    partitions = str(pytestconfig.getini("medallion_kafka_partitions")).strip()
    if not partitions.isdigit() or int(partitions) < 1:
        raise pytest.UsageError(
            f"medallion_kafka_partitions: expected a positive integer, got {partitions!r}"
        )
    with KafkaBroker(num_partitions=int(partitions)) as broker:
        yield broker


@pytest.fixture(scope="session")
def medallion_connect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectServer]:
    """A real Spark Connect server with Delta on 127.0.0.1, started once for the run.

    Its clients must run in processes of their own: a process that made a Spark Connect
    session switches PySpark to Spark Connect for the rest of its life.

    Args:
        tmp_path_factory: pytest's temporary folders (the server's log goes in one).

    Yields:
        The running server; ``spark_session(remote=server.url)`` connects to it.
    """
    from medallion.testing.connect import ConnectServer

    with ConnectServer(directory=tmp_path_factory.mktemp("connect-server")) as server:
        yield server
