"""Apache Kafka's broker jars, resolved from Maven Central once: :func:`kafka_jars`."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from medallion.errors import JarResolutionError
from medallion.jars import _pom

__all__ = ["DEFAULT_KAFKA_VERSION", "kafka_jars", "kafka_jars_dir"]

#: The Kafka release :func:`kafka_jars` and :class:`KafkaBroker` use unless told otherwise.
DEFAULT_KAFKA_VERSION = "4.1.1"
#: The environment variable naming the jars folder (instead of the per-version cache folder).
JARS_ENV = "MEDALLION_KAFKA_JARS"

_SCALA = "2.13"
# Kafka 4.x logs through slf4j 1.7 and ships Log4j 2 in its distribution; this is the binding
# (and the version) of Kafka 4.1's `libs/` folder.
_LOG4J = "2.24.3"
_LOG = logging.getLogger("medallion.testing.kafka")  # one logger for the whole package


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
