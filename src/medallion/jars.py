"""The JVM packages medallion needs, and fetching them into a local folder with Maven.

Spark resolves packages itself (``spark.jars.packages``) when it can reach Maven Central. On
machines that cannot, fetch the same coordinates once into a folder, with ``mvn`` where Maven
Central (or a mirror configured in Maven's settings) is reachable, copy the folder to the
offline machine, and pass it as ``jars_dir`` to :func:`medallion.spark_session`::

    medallion jars fetch --dest ./jars          # Delta
    medallion jars fetch --dest ./jars --kafka  # Delta and Spark's Kafka connector

Example:
    >>> delta_package("4.0.5", "4.4.0")
    'io.delta:delta-spark_4.0_2.13:4.4.0'
    >>> kafka_package("4.2.0")
    'org.apache.spark:spark-sql-kafka-0-10_2.13:4.2.0'
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path

from medallion.errors import JarResolutionError

__all__ = [
    "CACHE_DIR_ENV",
    "KAFKA_CONNECTOR_SUBSTITUTES",
    "KAFKA_RESTART_BUG",
    "SUPPORTED_SPARK_LINES",
    "TOKEN_PROVIDER_SUBSTITUTES",
    "cache_dir",
    "cached_jars",
    "compatibility_warnings",
    "delta_package",
    "fetch_jars",
    "jar_files",
    "kafka_package",
    "maven_url",
    "remember_jars",
    "spark_jars_dir",
    "spark_line",
    "token_provider_substitute",
]

_SCALA = "2.13"
_VERSIONED_JAR = re.compile(r"^(?P<artifact>.+?)-\d+\.")


def _spark_version() -> str:
    import pyspark

    return str(pyspark.__version__)


def delta_package(spark_version: str | None = None, delta_version: str | None = None) -> str:
    """The Maven coordinates of Delta Lake's Spark jar for a Spark and delta-spark version.

    Args:
        spark_version: Spark's version; defaults to the installed pyspark's.
        delta_version: Delta's version; defaults to the installed delta-spark package's.

    Returns:
        ``"io.delta:delta-spark_<spark major.minor>_2.13:<delta version>"``.

    Example:
        >>> delta_package("4.1.3", "4.4.0")
        'io.delta:delta-spark_4.1_2.13:4.4.0'
        >>> delta_package().startswith("io.delta:delta-spark_")
        True
    """
    spark = spark_version or _spark_version()
    delta = delta_version or metadata.version("delta-spark")
    major_minor = ".".join(spark.split(".")[:2])
    return f"io.delta:delta-spark_{major_minor}_{_SCALA}:{delta}"


#: The Spark lines medallion supports and tests; Delta publishes its jars for each of them.
SUPPORTED_SPARK_LINES: tuple[str, ...] = ("4.0", "4.1", "4.2")

#: pyspark releases whose Kafka connector (``spark-sql-kafka-0-10``) is not on Maven Central,
#: and the release of the same line used instead.
KAFKA_CONNECTOR_SUBSTITUTES: dict[str, str] = {"4.0.5": "4.0.4", "4.1.4": "4.1.3"}

#: Spark releases whose Kafka connector fails a query restarted from a checkpoint with an
#: unfinished micro-batch (SPARK-55271: a NullPointerException in progress reporting).
KAFKA_RESTART_BUG: frozenset[str] = frozenset({"4.1.0", "4.1.1", "4.1.2"})


def spark_line(spark_version: str | None = None) -> str:
    """A Spark version's line, ``major.minor``.

    Args:
        spark_version: Spark's version; defaults to the installed pyspark's.

    Returns:
        The line, e.g. ``"4.1"``.

    Example:
        >>> spark_line("4.1.3")
        '4.1'
    """
    return ".".join((spark_version or _spark_version()).split(".")[:2])


def compatibility_warnings(spark_version: str | None = None, *, kafka: bool = False) -> list[str]:
    """What is known to go wrong with a Spark release, as sentences (empty when nothing is).

    Args:
        spark_version: Spark's version; defaults to the installed pyspark's.
        kafka: Whether Spark's Kafka connector is used.

    Returns:
        One sentence per known problem.

    Example:
        >>> compatibility_warnings("4.1.3", kafka=True)
        []
        >>> compatibility_warnings("4.1.1", kafka=True)[0][:60]
        'Spark 4.1.1: its Kafka connector fails a streaming query res'
        >>> compatibility_warnings("3.5.1")[0][:52]
        'Spark 3.5.1 is not supported: medallion supports Spa'
    """
    version = spark_version or _spark_version()
    found = []
    if spark_line(version) not in SUPPORTED_SPARK_LINES:
        lines = ", ".join(SUPPORTED_SPARK_LINES)
        found.append(
            f"Spark {version} is not supported: medallion supports Spark {lines} "
            "(Delta Lake publishes no jar of its version for other lines)"
        )
    if kafka and version in KAFKA_RESTART_BUG:
        found.append(
            f"Spark {version}: its Kafka connector fails a streaming query restarted from a "
            "checkpoint with an unfinished micro-batch (SPARK-55271); use pyspark 4.1.3 or later"
        )
    if kafka and version in KAFKA_CONNECTOR_SUBSTITUTES:
        found.append(
            f"Spark {version}: Maven Central has no Kafka connector of this release; "
            f"medallion uses {KAFKA_CONNECTOR_SUBSTITUTES[version]}'s"
        )
    return found


def kafka_package(spark_version: str | None = None) -> str:
    """The Maven coordinates of Spark's Structured Streaming Kafka connector.

    The connector's version is Spark's, except for the releases of
    :data:`KAFKA_CONNECTOR_SUBSTITUTES`, whose connector Maven Central does not serve: the
    newest earlier release of the same line is used instead.

    Args:
        spark_version: Spark's version; defaults to the installed pyspark's.

    Returns:
        ``"org.apache.spark:spark-sql-kafka-0-10_2.13:<connector version>"``.

    Example:
        >>> kafka_package("4.1.3")
        'org.apache.spark:spark-sql-kafka-0-10_2.13:4.1.3'
        >>> kafka_package("4.0.5")
        'org.apache.spark:spark-sql-kafka-0-10_2.13:4.0.4'
    """
    version = spark_version or _spark_version()
    return f"org.apache.spark:spark-sql-kafka-0-10_{_SCALA}:" + KAFKA_CONNECTOR_SUBSTITUTES.get(
        version, version
    )


#: Kafka connector releases whose ``spark-token-provider-kafka`` jar is not on Maven Central,
#: and the release of it used instead (the connector's delegation-token helper, unchanged
#: within a line).
TOKEN_PROVIDER_SUBSTITUTES: dict[str, str] = {
    **{f"4.0.{patch}": "4.0.0" for patch in range(1, 5)},
    **{"4.1.0": "4.1.1", "4.1.2": "4.1.1", "4.1.3": "4.1.1"},
}
_TOKEN_PROVIDER = f"org.apache.spark:spark-token-provider-kafka-0-10_{_SCALA}"


def token_provider_substitute(spark_version: str | None = None) -> str | None:
    """The Maven coordinates of the Kafka token provider to use instead of the missing one.

    Spark's Kafka connector depends on ``spark-token-provider-kafka-0-10`` of its own version;
    for many releases that jar is not served by Maven Central (see
    :data:`TOKEN_PROVIDER_SUBSTITUTES`), so the connector is resolved without it and a release
    of the same line that is served is added.

    Args:
        spark_version: Spark's version; defaults to the installed pyspark's.

    Returns:
        The substitute's coordinates, or ``None`` when the connector's own one is served.

    Example:
        >>> token_provider_substitute("4.1.3")
        'org.apache.spark:spark-token-provider-kafka-0-10_2.13:4.1.1'
        >>> token_provider_substitute("4.1.1") is None
        True
        >>> token_provider_substitute("4.0.5")  # connector 4.0.4
        'org.apache.spark:spark-token-provider-kafka-0-10_2.13:4.0.0'
    """
    connector = kafka_package(spark_version).rsplit(":", 1)[1]
    substitute = TOKEN_PROVIDER_SUBSTITUTES.get(connector)
    return f"{_TOKEN_PROVIDER}:{substitute}" if substitute else None


def maven_url(coordinates: str) -> str:
    """The Maven Central URL of a jar.

    Args:
        coordinates: ``group:artifact:version``.

    Returns:
        The URL.

    Example:
        >>> maven_url("io.delta:delta-storage:4.4.0")
        'https://repo1.maven.org/maven2/io/delta/delta-storage/4.4.0/delta-storage-4.4.0.jar'
    """
    group, artifact, version = coordinates.split(":")
    return (
        f"https://repo1.maven.org/maven2/{group.replace('.', '/')}/{artifact}/{version}/"
        f"{artifact}-{version}.jar"
    )


def spark_jars_dir() -> Path:
    """The folder of jars that ships inside the installed pyspark package.

    Example:
        >>> folder = spark_jars_dir()
        >>> folder.name, any(folder.glob("spark-sql_2.13-*.jar"))
        ('jars', True)
    """
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def jar_files(folder: str | os.PathLike[str]) -> list[str]:
    """The ``.jar`` files directly inside a folder, sorted by name.

    Args:
        folder: The folder to list.

    Returns:
        Absolute paths of the jars.

    Raises:
        JarResolutionError: The folder does not exist.

    Example:
        >>> folder = Path(lakehouse, "jars")
        >>> folder.mkdir()
        >>> (folder / "delta-spark_4.1_2.13-4.4.0.jar").touch()
        >>> [Path(jar).name for jar in jar_files(folder)]
        ['delta-spark_4.1_2.13-4.4.0.jar']
    """
    path = Path(folder)
    if not path.is_dir():
        raise JarResolutionError(f"jars folder {str(path)!r} does not exist")
    return sorted(str(p.resolve()) for p in path.glob("*.jar"))


def _artifact(jar_name: str) -> str:
    match = _VERSIONED_JAR.match(jar_name)
    return match.group("artifact") if match else jar_name.removesuffix(".jar")


def _pom(packages: Iterable[str]) -> str:
    packages = list(packages)
    substitute = token_provider_substitute()
    if substitute and any(p.startswith("org.apache.spark:spark-sql-kafka") for p in packages):
        packages.append(substitute)
    dependencies = []
    for package in packages:
        parts = package.split(":")
        if len(parts) != 3 or not all(parts):
            raise JarResolutionError(
                f"package {package!r} is not Maven coordinates 'group:artifact:version'"
            )
        group, artifact, version = parts
        exclusions = (
            "<exclusions><exclusion><groupId>org.apache.spark</groupId>"
            f"<artifactId>{_TOKEN_PROVIDER.split(':')[1]}</artifactId></exclusion></exclusions>"
            if substitute and artifact.startswith("spark-sql-kafka")
            else ""
        )
        dependencies.append(
            f"<dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
            f"<version>{version}</version>{exclusions}</dependency>"
        )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>medallion.local</groupId><artifactId>jars</artifactId><version>0</version>"
        "<packaging>pom</packaging><dependencies>"
        + "".join(dependencies)
        + "</dependencies></project>"
    )


def fetch_jars(
    dest: str | os.PathLike[str],
    packages: Iterable[str] | None = None,
    *,
    mvn: str = "mvn",
) -> list[str]:
    """Resolve Maven packages and their runtime dependencies into a folder, with ``mvn``.

    Jars of artifacts that pyspark already ships (Scala, Jackson, Hadoop client, ...) are left
    out, so the folder holds only what Spark lacks and never a second version of its own jars.
    Running it again is cheap: Maven's local repository caches the downloads.

    Args:
        dest: The folder to fill (created if missing). Jars already in it are kept.
        packages: Maven coordinates; defaults to Delta's jar for the installed versions.
        mvn: The Maven executable.

    Returns:
        The paths of the jars now in ``dest``.

    Raises:
        JarResolutionError: Maven is missing, or it could not resolve a package.

    Example:
        ``fetch_jars("./jars", [delta_package(), kafka_package()])`` fills ``./jars``; without
        Maven it says what to do instead:

        >>> try:
        ...     fetch_jars(f"{lakehouse}/jars", mvn="no-such-mvn")
        ... except JarResolutionError as exc:
        ...     print(str(exc).split(";")[0].split(": ")[1])
        Maven ('no-such-mvn') is not on PATH
    """
    wanted = list(packages) if packages is not None else [delta_package()]
    executable = shutil.which(mvn)
    if executable is None:
        raise JarResolutionError(
            f"cannot fetch {', '.join(wanted)}: Maven ({mvn!r}) is not on PATH; install Maven, "
            "or let Spark resolve the packages itself (leave jars_dir unset)"
        )
    provided = {_artifact(p.name) for p in spark_jars_dir().glob("*.jar")}
    target = Path(dest)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="medallion-jars-") as tmp:
        pom = Path(tmp) / "pom.xml"
        pom.write_text(_pom(wanted), encoding="utf-8")
        out = Path(tmp) / "out"
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
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            detail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-15:])
            raise JarResolutionError(
                f"mvn could not resolve {', '.join(wanted)} (exit {completed.returncode}):\n"
                f"{detail}"
            )
        for jar in sorted(out.glob("*.jar")):
            if _artifact(jar.name) not in provided:
                shutil.copy2(jar, target / jar.name)
    return jar_files(target)


#: The environment variable naming medallion's cache folder; ``off`` turns the cache off.
CACHE_DIR_ENV = "MEDALLION_CACHE_DIR"
_MANIFEST = "jars.txt"


def cache_dir() -> Path | None:
    """The folder where medallion keeps the jars Spark resolved and the JVM's class cache.

    ``$MEDALLION_CACHE_DIR`` when set (``off`` turns the cache off), otherwise
    ``$XDG_CACHE_HOME/medallion`` or ``~/.cache/medallion``.

    Returns:
        The folder (it may not exist yet), or ``None`` when the cache is turned off.

    Example:
        >>> cache_dir().name
        'medallion'
    """
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "0", "none") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "medallion"


def _jar_cache(key: Sequence[str]) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    digest = hashlib.sha256("\n".join([_spark_version(), *key]).encode()).hexdigest()[:20]
    return folder / "jars" / digest


def cached_jars(key: Sequence[str]) -> list[str] | None:
    """The jars remembered for a resolution (:func:`remember_jars`), when all are still there.

    Args:
        key: What was resolved: the Maven coordinates, and the settings that changed how.

    Returns:
        The jars' paths, in the order Spark resolved them, or ``None``.

    Example:
        >>> cached_jars(["com.example:never-resolved:1.0"]) is None
        True
    """
    folder = _jar_cache(key)
    if folder is None:
        return None
    try:
        names = (folder / _MANIFEST).read_text(encoding="utf-8").split()
    except OSError:
        return None
    paths = [str(folder / name) for name in names]
    return paths if all(os.path.isfile(p) for p in paths) else None


def _maven_artifact(jar_name: str) -> str:
    """The artifact of a jar named ``group_artifact-version.jar`` (by Ivy) or ``artifact-...``."""
    group, _, rest = jar_name.partition("_")
    return _artifact(rest if rest and "." in group else jar_name)


def remember_jars(key: Sequence[str], resolved: str) -> list[str] | None:
    """Copy the jars Spark resolved into the cache, so that later sessions skip resolution.

    Jars of artifacts pyspark already ships are left out (as :func:`fetch_jars` does). The
    folder is filled under a temporary name and renamed, so a session never sees half of it.

    Args:
        key: What was resolved (as for :func:`cached_jars`).
        resolved: Spark's ``spark.jars`` after resolution: comma-separated ``file:`` URLs (and
            ``https:`` ones, downloaded once).

    Returns:
        The cached jars' paths, or ``None`` when the cache is off or could not be written.

    Example:
        :func:`medallion.spark_session` does it after each of its own resolutions, with
        ``spark.jars`` as the session reports it. A resolution that brought no jar is not
        kept:

        >>> remember_jars(["com.example:nothing:1.0"], "") is None
        True
    """
    final = _jar_cache(key)
    if final is None:
        return None
    known = cached_jars(key)
    if known is not None:
        return known
    provided = {_artifact(p.name) for p in spark_jars_dir().glob("*.jar")}
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".filling-", dir=final.parent))
    except OSError:
        return None
    try:
        names: list[str] = []
        for url in (u.strip() for u in resolved.split(",")):
            parsed = urllib.parse.urlparse(url)
            name = os.path.basename(urllib.parse.unquote(parsed.path))
            if not name.endswith(".jar") or name in names or _maven_artifact(name) in provided:
                continue
            if parsed.scheme in ("", "file"):
                shutil.copy2(urllib.parse.unquote(parsed.path), staging / name)
            elif parsed.scheme in ("http", "https"):
                urllib.request.urlretrieve(url, staging / name)
            else:
                return None
            names.append(name)
        if not names:
            return None
        (staging / _MANIFEST).write_text("\n".join(names) + "\n", encoding="utf-8")
        staging.rename(final)
    except OSError:  # another session filled it first, or the disk refused
        return cached_jars(key)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return cached_jars(key)
