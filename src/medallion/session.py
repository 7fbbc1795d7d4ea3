"""A Delta-ready SparkSession in one call, for local work, tests and clusters.

The builder is a convenience: every part of medallion works with any SparkSession that has
Delta Lake configured (``spark-submit --packages io.delta:...``, a managed cluster, Spark
Connect). :func:`ensure_delta` checks a session you built yourself.

Example:
    A local session, then one for a machine without access to Maven Central::

        from medallion import spark_session

        spark = spark_session("my-job")
        spark = spark_session("my-job", jars_dir="/opt/medallion-jars")
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import warnings
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medallion.errors import DeltaNotConfiguredError, JarResolutionError, SessionError
from medallion.jars import (
    cache_dir,
    cached_jars,
    compatibility_warnings,
    delta_package,
    jar_files,
    kafka_package,
    maven_url,
    remember_jars,
    token_provider_substitute,
)
from medallion.secrets import SECRET_NAMES

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "JARS_DIR_ENV",
    "delta_builder",
    "delta_config",
    "ensure_delta",
    "is_delta_configured",
    "spark_session",
]

#: The environment variable read for ``jars_dir`` when it is not passed.
JARS_DIR_ENV = "MEDALLION_JARS_DIR"

_DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
_DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"


def _machine_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _default_driver_memory() -> str:
    """A quarter of the machine's memory, between 1 GiB and 8 GiB."""
    total = _machine_memory_bytes()
    if total is None:
        return "2g"
    gib = max(1, min(8, total // (4 * 1024**3)))
    return f"{gib}g"


_DRIVER_OPTIONS = "spark.driver.extraJavaOptions"
_QUIET_SHARING = "-Xlog:cds=off -Xlog:cds+dynamic=off"
#: An archive still being written is left alone this long before it is taken into use.
_ARCHIVE_SETTLE_SECONDS = 60.0


def _resolution(
    packages: Iterable[str], kafka: bool, config: Mapping[str, Any] | None
) -> list[str]:
    """What a package resolution depends on: the coordinates and the resolver's settings."""
    wanted = _packages(packages, kafka)
    substitute = token_provider_substitute() if kafka else None
    resolver = sorted(f"{k}={v}" for k, v in (config or {}).items() if k.startswith("spark.jars"))
    return [*wanted, f"substitute={substitute}", *resolver]


def _packages(packages: Iterable[str], kafka: bool) -> list[str]:
    """The Maven coordinates to resolve: Delta's, the Kafka connector's, then ``packages``."""
    return [delta_package(), *([kafka_package()] if kafka else []), *packages]


def _cached(
    packages: Iterable[str], kafka: bool, config: Mapping[str, Any] | None
) -> list[str] | None:
    """The jars an earlier session resolved for the same packages, if they are all there."""
    cached = cached_jars(_resolution(packages, kafka, config))
    if cached is None:
        return None
    names = [os.path.basename(j) for j in cached]
    wanted = ["delta-spark_", *(["spark-sql-kafka-"] if kafka else [])]
    return cached if all(any(w in n for n in names) for w in wanted) else None


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    found = os.path.join(home, "bin", "java") if home else shutil.which("java")
    return os.path.realpath(found) if found else "java"


def _class_sharing(settings: Mapping[str, str]) -> str | None:
    """JVM options that start the local driver from a class-data archive of an earlier one.

    The first local session on a machine (for a given Java, Spark and classpath) writes the
    classes it loaded to an archive when its JVM exits (``-XX:ArchiveClassesAtExit``); later
    sessions map it (``-XX:SharedArchiveFile``) and start, and run their first queries, seconds
    faster. A missing or stale archive is ignored by the JVM (``-Xshare:auto``), silently.
    ``MEDALLION_CACHE_DIR=off`` turns it off.
    """
    import pyspark

    root = cache_dir()
    if root is None:
        return None
    java = _java()
    try:
        stamp = os.stat(java).st_mtime_ns
    except OSError:
        stamp = 0
    parts = [
        java,
        str(stamp),
        pyspark.__version__,
        settings.get("spark.jars", ""),
        settings.get("spark.driver.extraClassPath", ""),
    ]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]
    folder = root / "jvm"
    archive = folder / f"{digest}.jsa"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not archive.exists():
            _settle(folder, digest, archive)
    except OSError:
        return None
    if archive.exists():
        return f"-XX:SharedArchiveFile={archive} -Xshare:auto {_QUIET_SHARING}"
    if any(folder.glob(f"{digest}.*.partial")):
        return None  # another session is writing it
    return f"-XX:ArchiveClassesAtExit={folder / f'{digest}.{os.getpid()}.partial'} {_QUIET_SHARING}"


def _settle(folder: Path, digest: str, archive: Path) -> None:
    """Take a finished archive into use: one its JVM wrote at least a minute ago."""
    now = time.time()
    for partial in folder.glob(f"{digest}.*.partial"):
        age = now - partial.stat().st_mtime
        if age < _ARCHIVE_SETTLE_SECONDS:
            continue
        if partial.stat().st_size > 0 and not archive.exists():
            os.replace(partial, archive)
        else:
            partial.unlink(missing_ok=True)


def delta_builder(
    app_name: str = "medallion",
    *,
    master: str | None = "local[*]",
    jars_dir: str | os.PathLike[str] | None = None,
    packages: Iterable[str] = (),
    config: Mapping[str, Any] | None = None,
    driver_memory: str | None = None,
    shuffle_partitions: int | None = None,
    ui: bool = False,
    kafka: bool = False,
) -> SparkSession.Builder:
    """A ``SparkSession.Builder`` configured for Delta Lake, to customise further.

    Delta's jars come from ``jars_dir`` when one is given (or the ``MEDALLION_JARS_DIR``
    environment variable is set): every ``.jar`` in it is put on Spark's classpath, and nothing
    is downloaded. Otherwise Spark's own resolver fetches Delta (and ``packages``) from Maven
    Central, caching them under ``~/.ivy2``.

    Spark's ``spark.redaction.regex`` is set to :data:`medallion.secrets.SECRET_NAMES`, which
    covers Spark's default (``secret``, ``password``, ``token``, ``access.key``) and also
    ``kafka.sasl.jaas.config``, ``credentials`` and cloud storage keys
    (``fs.azure.account.key.*``, ``*.private.key``): Spark shows their values as
    ``*********(redacted)`` in its UI, its event logs and ``SET``.

    The session's time zone is UTC. Delta's check that re-reads a table's whole state after
    each commit when a time zone of the session, the JVM or the system is not UTC
    (``spark.databricks.delta.allFilesInCrc.verificationMode.forceOnNonUTC.enabled``) is off:
    with it, an append of a few rows costs three Spark jobs instead of one.

    Delta's jar is the one built for the Spark line pyspark belongs to (4.0, 4.1 or 4.2, see
    :func:`medallion.jars.delta_package`). A Spark release with a known problem
    (:func:`medallion.jars.compatibility_warnings`: an unsupported line, or with ``kafka`` a
    connector affected by SPARK-55271) gets a ``RuntimeWarning``.

    Args:
        app_name: The Spark application name.
        master: The master URL: ``"local[*]"`` by default, ``"spark://host:7077"`` for a
            standalone cluster, or ``None`` to leave it to ``spark-submit``.
        jars_dir: A folder of jars (see :func:`medallion.jars.fetch_jars`) to use instead of
            resolving packages from Maven Central.
        packages: Extra Maven coordinates (e.g. :func:`medallion.jars.kafka_package`); ignored
            when ``jars_dir`` is used: put their jars in the folder instead.
        config: Spark settings applied last, so they override every default here.
        driver_memory: ``spark.driver.memory`` for local masters; defaults to a quarter of the
            machine's memory, between 1 and 8 GiB.
        shuffle_partitions: ``spark.sql.shuffle.partitions``; defaults to twice the cores for a
            local master, Spark's default otherwise.
        ui: Whether to start the Spark web UI.
        kafka: Add Spark's Kafka connector (:func:`medallion.jars.kafka_package`); from a
            jars folder, it must hold the connector (``medallion jars fetch --kafka``).

    Returns:
        The builder; call ``getOrCreate()`` on it (or use :func:`spark_session`).

    Raises:
        JarResolutionError: ``jars_dir`` does not exist or has no Delta jar.

    Example:
        >>> from pyspark.sql import SparkSession
        >>> builder = delta_builder("nightly", master="local[4]", shuffle_partitions=8)
        >>> isinstance(builder, SparkSession.Builder)  # then builder.getOrCreate()
        True
        >>> try:
        ...     delta_builder("nightly", jars_dir=lakehouse)  # an empty folder
        ... except JarResolutionError as exc:
        ...     print("has no delta-spark jar" in str(exc))
        True
    """
    from pyspark.sql import SparkSession

    for problem in compatibility_warnings(kafka=kafka):
        warnings.warn(problem, RuntimeWarning, stacklevel=2)
    builder: SparkSession.Builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    settings = delta_config(
        master=master,
        jars_dir=jars_dir,
        packages=packages,
        config=config,
        driver_memory=driver_memory,
        shuffle_partitions=shuffle_partitions,
        ui=ui,
        kafka=kafka,
    )
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder


def delta_config(
    *,
    master: str | None = "local[*]",
    jars_dir: str | os.PathLike[str] | None = None,
    packages: Iterable[str] = (),
    config: Mapping[str, Any] | None = None,
    driver_memory: str | None = None,
    shuffle_partitions: int | None = None,
    ui: bool = False,
    kafka: bool = False,
) -> dict[str, str]:
    """The Spark settings :func:`delta_builder` makes, for a process medallion does not start.

    A ``spark-submit`` command line, a cluster's ``spark-defaults.conf`` or a Spark Connect
    server takes them as ``--conf key=value`` (see the deployment guide). The arguments are
    those of :func:`delta_builder`.

    Args:
        master: The master URL the settings are for (a local master gets memory, parallelism
            and loopback settings).
        jars_dir: A folder of jars to use instead of resolving packages from Maven Central.
        packages: Extra Maven coordinates to resolve.
        config: Spark settings that override the defaults.
        driver_memory: ``spark.driver.memory``.
        shuffle_partitions: ``spark.sql.shuffle.partitions``.
        ui: Whether to start the Spark web UI.
        kafka: Add Spark's Kafka connector.

    Returns:
        The settings, by key.

    Raises:
        JarResolutionError: ``jars_dir`` does not exist or has no Delta jar.

    Example:
        >>> settings = delta_config(master="spark://head:7077")
        >>> settings["spark.sql.extensions"]
        'io.delta.sql.DeltaSparkSessionExtension'
        >>> "spark.driver.memory" in settings  # left to the cluster
        False
    """
    packages = list(packages)  # read more than once
    settings: dict[str, str] = {
        "spark.sql.extensions": _DELTA_EXTENSION,
        "spark.sql.catalog.spark_catalog": _DELTA_CATALOG,
        "spark.ui.enabled": str(ui).lower(),
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
        "spark.sql.adaptive.enabled": "true",
        # Delta re-reads a table's whole state after each commit to verify the file list it
        # keeps in the commit's checksum whenever the session's, the JVM's or the system's time
        # zone is not UTC (a check of its own serialisation of pre-1883 timestamps): on most
        # laptops that turns an append of a few rows from one Spark job into three, 2.4 times
        # slower. The check is verification only; the checksum is written either way.
        "spark.databricks.delta.allFilesInCrc.verificationMode.forceOnNonUTC.enabled": "false",
        # Spark's UI, event logs and plans redact the values of the settings and options
        # medallion treats as secrets (Spark's default pattern, and more).
        "spark.redaction.regex": SECRET_NAMES,
    }
    local = master is not None and master.startswith("local")
    if local:
        # Spark warns when the host name resolves to a loopback address; a local master
        # needs nothing but loopback anyway.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        cores = os.cpu_count() or 2
        settings["spark.driver.memory"] = driver_memory or _default_driver_memory()
        settings["spark.sql.shuffle.partitions"] = str(shuffle_partitions or max(2, 2 * cores))
        settings["spark.default.parallelism"] = str(max(2, 2 * cores))
        # Delta's VACUUM lists files with this many tasks (Spark's default is 10,000, which
        # makes a VACUUM of a small table take a minute on a laptop).
        discovery = "spark.sql.sources.parallelPartitionDiscovery.parallelism"
        settings[discovery] = str(max(2, 2 * cores))
        settings["spark.driver.host"] = "127.0.0.1"
        settings["spark.driver.bindAddress"] = "127.0.0.1"
    else:
        if driver_memory:
            settings["spark.driver.memory"] = driver_memory
        if shuffle_partitions:
            settings["spark.sql.shuffle.partitions"] = str(shuffle_partitions)

    folder = jars_dir if jars_dir is not None else os.environ.get(JARS_DIR_ENV) or None
    if folder is not None:
        jars = jar_files(folder)
        if not any(os.path.basename(j).startswith("delta-spark_") for j in jars):
            raise JarResolutionError(
                f"jars folder {os.fspath(folder)!r} has no delta-spark jar; fill it with "
                f"`medallion jars fetch --dest {os.fspath(folder)}`"
            )
        if kafka and not any(os.path.basename(j).startswith("spark-sql-kafka") for j in jars):
            raise JarResolutionError(
                f"jars folder {os.fspath(folder)!r} has no spark-sql-kafka jar; fill it with "
                f"`medallion jars fetch --kafka --dest {os.fspath(folder)}`"
            )
        settings["spark.jars"] = ",".join(jars)
    elif (cached := _cached(packages, kafka, config)) is not None:
        # Resolved by an earlier session on this machine (see spark_session): no Ivy.
        settings["spark.jars"] = ",".join(cached)
    else:
        settings["spark.jars.packages"] = ",".join(_packages(packages, kafka))
        substitute = token_provider_substitute() if kafka else None
        if substitute is not None:
            # The connector's own token provider is not on Maven Central for this Spark
            # release: resolve the connector without it and add the nearest earlier one.
            group, artifact, _ = substitute.split(":")
            settings["spark.jars.excludes"] = f"{group}:{artifact}"
            settings["spark.jars"] = maven_url(substitute)
        user_settings = dict(config or {})
        if "spark.jars.ivySettings" not in user_settings:
            ivy = resources.files("medallion").joinpath("ivysettings.xml")
            settings["spark.jars.ivySettings"] = str(ivy)
    for key, value in (config or {}).items():
        settings[key] = (
            value
            if isinstance(value, str)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
        )
    if local and "spark.jars.packages" not in settings:
        # (A session resolving packages is the last to: later ones start from the jar cache.)
        sharing = _class_sharing(settings)
        if sharing:
            given = settings.get(_DRIVER_OPTIONS)
            settings[_DRIVER_OPTIONS] = f"{sharing} {given}" if given else sharing
    return settings


def spark_session(
    app_name: str = "medallion",
    *,
    master: str | None = "local[*]",
    jars_dir: str | os.PathLike[str] | None = None,
    packages: Iterable[str] = (),
    config: Mapping[str, Any] | None = None,
    driver_memory: str | None = None,
    shuffle_partitions: int | None = None,
    ui: bool = False,
    log_level: str = "WARN",
    kafka: bool = False,
    remote: str | None = None,
) -> SparkSession:
    """Get or create a SparkSession with Delta Lake configured.

    Takes the arguments of :func:`delta_builder`, plus the log level. If a session is already
    running in this process it is returned as it is, its settings untouched (Spark allows one per
    JVM), and checked for Delta.

    With ``remote`` (a Spark Connect URL, ``sc://host:15002``) the session is a Spark Connect
    client of that server; the server has Delta configured (see
    :class:`medallion.testing.connect.ConnectServer` and the deployment guide), so only
    ``app_name`` and ``config`` (as session settings) apply, and the check for Delta asks the
    server.

    Args:
        app_name: The Spark application name.
        master: The master URL (``"local[*]"``, ``"spark://host:7077"``, or ``None``).
        jars_dir: A folder of jars to use instead of resolving packages from Maven Central.
        packages: Extra Maven coordinates to resolve (Spark's Kafka connector, say).
        config: Spark settings that override the defaults.
        driver_memory: ``spark.driver.memory`` for local masters.
        shuffle_partitions: ``spark.sql.shuffle.partitions``.
        ui: Whether to start the Spark web UI.
        log_level: The JVM log level (``"WARN"``, ``"ERROR"``, ...), from the JVM's first
            line on: medallion's ``log4j2.properties`` (on standard error) unless
            ``spark.driver.extraJavaOptions`` names a log4j2 file of your own.
        kafka: Add Spark's Kafka connector (see :func:`delta_builder`).
        remote: A Spark Connect server's URL, to connect to instead of starting Spark.

    Returns:
        The session.

    Raises:
        SessionError: Spark could not start; when its package resolver failed, the message says
            how to use a local jars folder instead.
        DeltaNotConfiguredError: An already running session lacks Delta.

    Example:
        A session with one setting of your own is
        ``spark_session("nightly", config={"spark.sql.shuffle.partitions": 64})``. When a
        session is already running in the process, that one is returned:

        >>> spark_session("nightly") is spark
        True
    """
    from pyspark import SparkContext
    from pyspark.errors import PySparkRuntimeError
    from pyspark.sql import SparkSession

    if remote is not None:
        return _remote_session(remote, app_name, config or {})
    packages = list(packages)  # read again after the start, to keep the resolved jars
    running = SparkSession.getActiveSession()
    if running is None and SparkContext._active_spark_context is not None:
        # A session runs in the process but is not this thread's active one: the process's
        # own, with no setting applied (a builder with settings would change its settings).
        running = SparkSession.builder.getOrCreate()
    if running is not None:
        # Returned as it is: applying this call's settings would change the settings of
        # whoever started it (getOrCreate sets them on the running session).
        ensure_delta(running)
        return running
    settings = dict(config or {})
    given = str(settings.get(_DRIVER_OPTIONS, ""))
    if "log4j2.configurationFile" not in given:
        # The level applies from the JVM's first line (setLogLevel after the start would let
        # the start-up warnings through).
        log4j = resources.files("medallion").joinpath("log4j2.properties")
        quiet = f"-Dlog4j2.configurationFile={log4j} -Dmedallion.log.level={log_level.lower()}"
        settings[_DRIVER_OPTIONS] = f"{quiet} {given}".strip()
    builder = delta_builder(
        app_name,
        master=master,
        jars_dir=jars_dir,
        packages=packages,
        config=settings,
        driver_memory=driver_memory,
        shuffle_partitions=shuffle_partitions,
        ui=ui,
        kafka=kafka,
    )
    try:
        spark = builder.getOrCreate()
    except PySparkRuntimeError as exc:
        raise SessionError(
            "Spark could not start. If its output above shows unresolved dependencies, Spark's "
            "package resolver cannot reach Maven Central from here: fetch the jars once with "
            "`medallion jars fetch --dest ./jars` (needs mvn) and pass jars_dir='./jars' or set "
            f"{JARS_DIR_ENV}=./jars"
        ) from exc
    spark.sparkContext.setLogLevel(log_level)
    ensure_delta(spark)
    if spark.conf.get("spark.jars.packages", "") and jars_dir is None:
        # Resolved with Ivy: keep the jars, so that later sessions start from them.
        # Spark lists the resolved jars in spark.repl.local.jars (spark.jars keeps the
        # jars given, such as the Kafka token provider's URL).
        conf = spark.sparkContext.getConf()
        resolved = [conf.get("spark.repl.local.jars", ""), conf.get("spark.jars", "")]
        remember_jars(_resolution(packages, kafka, config), ",".join(resolved))
    return spark


def _remote_session(url: str, app_name: str, config: Mapping[str, Any]) -> SparkSession:
    """A Spark Connect client session of the server at ``url``, checked for Delta."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.remote(url).appName(app_name)
    for key, value in config.items():
        builder = builder.config(key, str(value).lower() if isinstance(value, bool) else value)
    try:
        spark = builder.getOrCreate()
        ensure_delta(spark)
    except DeltaNotConfiguredError:
        raise
    except Exception as exc:
        raise SessionError(f"the Spark Connect server at {url} cannot be reached: {exc}") from exc
    return spark


def is_delta_configured(spark: SparkSession) -> bool:
    """Whether a session has Delta Lake's SQL extension and catalog configured.

    Args:
        spark: Any SparkSession.

    Returns:
        ``True`` when both are set.

    Example:
        >>> is_delta_configured(spark)
        True
    """
    extensions = spark.conf.get("spark.sql.extensions", "") or ""
    catalog = spark.conf.get("spark.sql.catalog.spark_catalog", "") or ""
    return _DELTA_EXTENSION in extensions and catalog == _DELTA_CATALOG


def ensure_delta(spark: SparkSession) -> None:
    """Raise a clear error if a session cannot run Delta Lake SQL.

    Args:
        spark: Any SparkSession.

    Raises:
        DeltaNotConfiguredError: The extension or the catalog is missing.

    Example:
        >>> ensure_delta(spark)  # returns quietly: this session has Delta configured
    """
    if not is_delta_configured(spark):
        raise DeltaNotConfiguredError(
            "this SparkSession is not configured for Delta Lake: set "
            f"spark.sql.extensions={_DELTA_EXTENSION} and "
            f"spark.sql.catalog.spark_catalog={_DELTA_CATALOG}, with Delta's jar on the "
            "classpath (medallion.spark_session() does all of this)"
        )
