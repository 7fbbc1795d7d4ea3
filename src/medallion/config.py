"""A project's medallion settings: ``[tool.medallion]`` in its ``pyproject.toml``.

The ``medallion`` command reads them so that a project's commands need no repeated flags::

    [tool.medallion]
    pipeline = "shop.pipeline:pipeline"   # module:attribute or path/file.py:attribute
    root = "lakehouse"                    # relative to the pyproject.toml's folder
    jars_dir = "jars"                     # optional: Delta's jars without Maven Central
    master = "local[*]"                   # optional
    remote = "sc://spark-connect:15002"   # optional: a Spark Connect server instead
    driver_memory = "4g"                  # optional

    [tool.medallion.params]               # run parameters (--param)
    landing = "data/landing"

    [tool.medallion.spark]                # Spark settings (--conf)
    "spark.sql.shuffle.partitions" = "8"

A flag wins over the environment (``MEDALLION_PIPELINE``, ``MEDALLION_ROOT``,
``MEDALLION_JARS_DIR``, ``SPARK_REMOTE``), which wins over the file; ``--param`` and
``--conf`` add to the file's tables, key by key. The file is the nearest ``pyproject.toml``
from the working directory up that has a ``[tool.medallion]`` table.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from medallion.errors import MedallionError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["ConfigError", "ProjectConfig", "find_config", "load_config"]

_KEYS = {"pipeline", "root", "jars_dir", "master", "remote", "driver_memory", "params", "spark"}
_PATHS = ("root", "jars_dir")


class ConfigError(MedallionError, ValueError):
    r"""A ``[tool.medallion]`` table that cannot be used (an unknown key, a wrong type).

    Example:
        >>> import pathlib, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "pyproject.toml").write_text('[tool.medallion]\nroots = "lake"\n')
        >>> try:
        ...     load_config(folder)
        ... except ConfigError as exc:
        ...     print(str(exc).split(": ", 1)[1])
        unknown key 'roots' in [tool.medallion] (did you mean 'root'?)
    """


@attrs.frozen
class ProjectConfig:
    """The settings of ``[tool.medallion]``, paths resolved against the file's folder.

    Attributes:
        path: The ``pyproject.toml`` read, or ``None`` when no project file has the table.
        pipeline: The pipeline (``module:attribute`` or ``file.py:attribute``).
        root: The lakehouse root.
        jars_dir: A folder of jars for Spark.
        master: Spark's master URL.
        remote: A Spark Connect server's URL, used instead of starting Spark.
        driver_memory: The driver's heap, e.g. ``"4g"``.
        params: Run parameters.
        spark: Spark settings.

    Example:
        >>> ProjectConfig().root is None
        True
    """

    path: Path | None = None
    pipeline: str | None = None
    root: str | None = None
    jars_dir: str | None = None
    master: str | None = None
    remote: str | None = None
    driver_memory: str | None = None
    params: Mapping[str, str] = attrs.field(factory=dict)
    spark: Mapping[str, str] = attrs.field(factory=dict)

    def setting(self, name: str, flag: str | None, env: str | None = None) -> str | None:
        """A setting by precedence: the flag, then the environment variable, then the file.

        Args:
            name: The setting (``"root"``, ``"pipeline"``, ``"jars_dir"``, ...).
            flag: The command-line value, ``None`` when not given.
            env: The environment variable to read, if any.

        Returns:
            The value, or ``None`` when none of the three has it.

        Example:
            >>> ProjectConfig(root="/lake").setting("root", None, "MEDALLION_TEST_UNSET")
            '/lake'
            >>> ProjectConfig(root="/lake").setting("root", "/other")
            '/other'
        """
        if flag is not None:
            return flag
        if env and os.environ.get(env):
            return os.environ[env]
        value = getattr(self, name)
        return None if value is None else str(value)


def find_config(start: str | os.PathLike[str] | None = None) -> Path | None:
    r"""The nearest ``pyproject.toml`` with a ``[tool.medallion]`` table, from ``start`` up.

    Args:
        start: The folder to start from; the working directory by default.

    Returns:
        The file, or ``None``.

    Example:
        >>> import pathlib, tempfile
        >>> project = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (project / "pyproject.toml").write_text('[tool.medallion]\nroot = "lake"\n')
        >>> (project / "src").mkdir()
        >>> find_config(project / "src") == project / "pyproject.toml"
        True
    """
    folder = Path(start if start is not None else os.getcwd()).resolve()
    for candidate in (folder, *folder.parents):
        file = candidate / "pyproject.toml"
        if file.is_file() and "medallion" in _read(file).get("tool", {}):
            return file
    return None


def _read(file: Path) -> dict[str, Any]:
    try:
        with file.open("rb") as handle:
            loaded: dict[str, Any] = tomllib.load(handle)
            return loaded
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from exc


def _strings(file: Path, name: str, value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{file}: [tool.medallion.{name}] must be a table of settings")
    return {
        str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in value.items()
    }


def load_config(start: str | os.PathLike[str] | None = None) -> ProjectConfig:
    r"""Read ``[tool.medallion]`` from the nearest project file (see :func:`find_config`).

    Args:
        start: The folder to start from; the working directory by default.

    Returns:
        The settings; all unset when no project file has the table.

    Raises:
        ConfigError: The table has an unknown key or a value of the wrong type.

    Example:
        >>> import pathlib, tempfile
        >>> project = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (project / "pyproject.toml").write_text(
        ...     '[tool.medallion]\npipeline = "shop.pipeline"\nroot = "lake"\n'
        ...     '[tool.medallion.params]\nlanding = "data/landing"\n'
        ... )
        >>> config = load_config(project)
        >>> config.pipeline, config.root == str(project / "lake"), dict(config.params)
        ('shop.pipeline', True, {'landing': 'data/landing'})
    """
    import difflib

    file = find_config(start)
    if file is None:
        return ProjectConfig()
    table = _read(file)["tool"]["medallion"]
    if not isinstance(table, Mapping):
        raise ConfigError(f"{file}: [tool.medallion] must be a table")
    for key in table:
        if key not in _KEYS:
            close = difflib.get_close_matches(key, sorted(_KEYS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{file}: unknown key {key!r} in [tool.medallion]{hint}")
    values: dict[str, Any] = {}
    for key in ("pipeline", "root", "jars_dir", "master", "remote", "driver_memory"):
        if key in table:
            value = table[key]
            if not isinstance(value, str):
                raise ConfigError(f"{file}: [tool.medallion] {key} must be a string")
            if key in _PATHS and "://" not in value:
                value = str((file.parent / value).resolve())
            values[key] = value
    return ProjectConfig(
        path=file,
        params=_strings(file, "params", table.get("params", {})),
        spark=_strings(file, "spark", table.get("spark", {})),
        **values,
    )
