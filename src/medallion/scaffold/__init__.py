"""Start a new project: ``medallion init NAME``.

:func:`create_project` writes a small, runnable project into a new folder: a ``pyproject.toml``
that depends on ``medallion-lakehouse[testing]`` and holds the ``[tool.medallion]`` settings, a
pipeline module with a bronze, a silver and a gold step, sample CSV files with one bad row, and
a pytest test that runs the pipeline on them with medallion's pytest plugin. ``cd NAME && pytest``
passes out of the box (with the project installed, ``pip install -e '.[dev]'``, or only
medallion: pytest's ``pythonpath`` setting finds the project's ``src``).

The files come from templates kept in this package (``template/``): a ``.tmpl`` file is
rendered (``{{ name }}``, ``{{ package }}`` and ``{{ medallion_version }}`` replaced) and
written without the suffix; other files are copied as they are. A folder named
``__package__`` takes the package's name, and ``gitignore.tmpl`` becomes ``.gitignore``.

Example:
    >>> project = create_project("my-shop", Path(lakehouse))
    >>> package_name("my-shop"), project.name
    ('my_shop', 'my-shop')
"""

from __future__ import annotations

import keyword
import os
import re
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from medallion._version import __version__
from medallion.errors import MedallionError

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable

__all__ = ["ScaffoldError", "create_project", "package_name"]

_TEMPLATE = "template"
_SUFFIX = ".tmpl"
_PACKAGE_DIR = "__package__"
_RENAMED = {"gitignore": ".gitignore"}
_PLACEHOLDER = re.compile(r"\{\{ (\w+) \}\}")
#: A project name: letters, digits, ``-``, ``_`` and ``.``, starting with a letter and ending
#: with a letter or digit (a valid distribution name that also gives a package name).
_NAME = re.compile(r"[A-Za-z](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
#: Package names that would hide a module the project needs.
_TAKEN = frozenset(
    {
        "chispa",
        "conftest",
        "delta",
        "deltalake",
        "medallion",
        "py4j",
        "pyspark",
        "pytest",
        "src",
        "test",
        "tests",
    }
)


class ScaffoldError(MedallionError, ValueError):
    """A project cannot be created: the name is not usable, or the folder is taken.

    Example:
        >>> try:
        ...     package_name("2fast")
        ... except ScaffoldError as exc:
        ...     print(exc)  # doctest: +ELLIPSIS
        project name '2fast' is not usable: ...
    """


def package_name(name: str) -> str:
    """The Python package name of a project: lower case, ``-`` and ``.`` turned into ``_``.

    Args:
        name: The project's name (its folder and distribution name), such as ``my-shop``.

    Returns:
        The package name, such as ``my_shop``.

    Raises:
        ScaffoldError: The name does not give a valid package name (it must start with a
            letter, hold only letters, digits, ``-``, ``_`` and ``.``, and not be a Python
            keyword or the name of a module the project needs, such as ``pyspark`` or ``json``).

    Example:
        >>> package_name("My-Shop.orders")
        'my_shop_orders'
    """

    def refuse(why: str) -> ScaffoldError:
        return ScaffoldError(f"project name {name!r} is not usable: {why}")

    if not _NAME.fullmatch(name):
        raise refuse(
            "use letters, digits, '-', '_' and '.', starting with a letter and ending with a "
            "letter or digit (a name, not a path: the parent folder is given apart)"
        )
    package = re.sub(r"[-_.]+", "_", name).lower()
    if keyword.iskeyword(package) or not package.isidentifier():
        raise refuse(f"its package name {package!r} is not a Python identifier")
    if package in _TAKEN or package in sys.stdlib_module_names:
        raise refuse(f"a package named {package!r} would hide the module of the same name")
    return package


def _templates(folder: Traversable, parts: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The relative paths of the template's files, sorted."""
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            yield from _templates(entry, (*parts, entry.name))
        else:
            yield (*parts, entry.name)


def _target(parts: tuple[str, ...], package: str) -> tuple[str, ...]:
    """Where a template file goes in the project."""
    names = [package if part == _PACKAGE_DIR else part for part in parts]
    last = names[-1].removesuffix(_SUFFIX)
    names[-1] = _RENAMED.get(last, last)
    return tuple(names)


def _render(text: str, values: dict[str, str], source: str) -> str:
    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template {source}: unknown placeholder {match.group(0)}")
        return values[key]

    return _PLACEHOLDER.sub(value, text)


def create_project(name: str, parent: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write a new, runnable medallion project into the folder ``parent/name``.

    The project holds ``pyproject.toml`` (depending on ``medallion-lakehouse[testing]`` at
    this version or newer, pytest in the ``dev`` extra, the pipeline's settings under
    ``[tool.medallion]``), ``README.md``, ``.gitignore``, ``src/<package>/pipeline.py`` (CSV
    files ingested into bronze, checked and merged into silver with one quality rule, summed
    per day into gold), sample files in ``data/landing/orders`` and ``tests/test_pipeline.py``,
    which runs the pipeline on them.

    Args:
        name: The project's name: its folder and distribution name; the package name is
            derived from it (see :func:`package_name`).
        parent: The folder to create the project in; created if missing.
        force: Write the files into ``parent/name`` even if it exists and is not empty; files
            of the same name are replaced, other files are kept.

    Returns:
        The project's folder.

    Raises:
        ScaffoldError: The name is not usable, ``parent/name`` is a file, or it is a folder
            that is not empty (without ``force``).

    Example:
        >>> project = create_project("my-shop", Path(lakehouse))
        >>> for path in sorted(project.rglob("*")):
        ...     if path.is_file():
        ...         print(path.relative_to(project).as_posix())
        .gitignore
        README.md
        data/landing/orders/2026-11-01.csv
        data/landing/orders/2026-11-02.csv
        data/landing/orders/2026-11-03.csv
        pyproject.toml
        src/my_shop/__init__.py
        src/my_shop/pipeline.py
        tests/test_pipeline.py
        >>> for line in (project / "pyproject.toml").read_text().splitlines():
        ...     if line.startswith(("pipeline =", "root =", '    "medallion')):
        ...         print(line.strip())  # doctest: +ELLIPSIS
        "medallion-lakehouse[testing]>=...",
        pipeline = "my_shop.pipeline:pipeline"
        root = "lakehouse"
        >>> create_project("my-shop", Path(lakehouse))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        medallion.scaffold.ScaffoldError: folder .../my-shop exists and is not empty; ...
    """
    package = package_name(name)
    project = Path(parent) / name
    if project.exists() and not project.is_dir():
        raise ScaffoldError(f"{project} exists and is not a folder")
    if project.is_dir() and any(project.iterdir()) and not force:
        raise ScaffoldError(
            f"folder {project} exists and is not empty; choose another name or parent folder, "
            "or pass force (--force) to write the project's files into it (files of the same "
            "name are replaced, others kept)"
        )
    values = {"name": name, "package": package, "medallion_version": __version__}
    template = resources.files(__name__) / _TEMPLATE
    for parts in _templates(template):
        source = template
        for part in parts:  # one at a time: Python 3.10's joinpath takes one name
            source = source / part
        destination = project.joinpath(*_target(parts, package))
        destination.parent.mkdir(parents=True, exist_ok=True)
        if parts[-1].endswith(_SUFFIX):
            text = source.read_text(encoding="utf-8")
            rendered = _render(text, values, "/".join(parts))
            destination.write_text(rendered, encoding="utf-8")
        else:
            destination.write_bytes(source.read_bytes())
    return project
