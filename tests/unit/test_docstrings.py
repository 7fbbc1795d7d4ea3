"""Every public name has a Google-style docstring, and every public class, function and method
a short example that runs.

Public means: listed in the ``__all__`` of a module whose dotted name has no part starting with
``_``, and, for a class, its own methods not starting with ``_``. A property needs a docstring
but no example. Examples are ``>>>`` doctests, so ``--doctest-modules`` runs them (against the
shared Spark session, with ``spark`` and a fresh ``lakehouse`` folder in their namespace).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from typing import Any

import pytest

import medallion

_SECTION = re.compile(r"^(Examples?):\s*$", re.M)
_ARGS = re.compile(r"^Args:\s*$", re.M)


def _modules() -> list[str]:
    names = ["medallion"]
    for info in pkgutil.walk_packages(medallion.__path__, "medallion."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def _own(obj: Any, module: str) -> bool:
    """Whether ``obj`` is defined in ``module`` (a name re-exported elsewhere is checked once,
    where it is defined)."""
    return getattr(obj, "__module__", None) == module


def public_objects() -> Iterator[tuple[str, Any, bool]]:
    """``(qualified name, object, needs an example)`` for every public name."""
    for module_name in _modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or not _own(obj, module_name):
                continue
            yield f"{module_name}.{name}", obj, True
            if not inspect.isclass(obj):
                continue
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(member, property):
                    yield f"{module_name}.{name}.{attr}", member, False
                    continue
                function = getattr(member, "__func__", member)
                if inspect.isfunction(function) and function.__qualname__.startswith(name + "."):
                    yield f"{module_name}.{name}.{attr}", function, True


PUBLIC = sorted(public_objects(), key=lambda item: item[0])


def test_the_walk_finds_the_api() -> None:
    names = {name for name, _, _ in PUBLIC}
    assert "medallion.delta.ops.DeltaOps.merge" in names
    assert "medallion.table.Table" in names
    assert "medallion.quality.checks.not_null" in names
    assert len(PUBLIC) > 150


@pytest.mark.parametrize(("name", "obj", "needs_example"), PUBLIC, ids=[n for n, _, _ in PUBLIC])
def test_public_name_is_documented(name: str, obj: Any, needs_example: bool) -> None:
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    summary = doc.split("\n\n", 1)[0]
    assert summary.strip().endswith((".", ":", ")")), f"{name}: the summary is not a sentence"
    if not needs_example:
        return
    section = _SECTION.search(doc)
    assert section, f"{name} has no 'Example:' section"
    example = doc[section.end() :]
    assert ">>>" in example, f"{name}: its example is not a doctest"
    if inspect.isfunction(obj):
        parameters = [
            p
            for p in inspect.signature(obj).parameters.values()
            if p.name not in {"self", "cls"} and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if parameters:
            assert _ARGS.search(doc), f"{name} takes arguments but has no 'Args:' section"
            for parameter in parameters:
                assert re.search(rf"^\s+\**{parameter.name}\b", doc, re.M), (
                    f"{name}: argument {parameter.name!r} is not described under 'Args:'"
                )
