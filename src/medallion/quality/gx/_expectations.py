"""The expectations of a suite, each with its position and a stable, unique rule name."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import attrs

from medallion.quality.gx.suite import SuiteLike, load_suite

_META_KEY = "medallion_rule"
_MAX_BASE = 120  # leaves room for the "_mostly" suffix within a rule name's 128 characters


@attrs.frozen
class _Expectation:
    """One expectation of a suite, with its position and its (unique) rule name."""

    index: int
    type: str
    name: str
    obj: Any = attrs.field(eq=False, repr=False)

    @property
    def mostly(self) -> float:
        value = getattr(self.obj, "mostly", 1.0)
        return float(value) if isinstance(value, (int, float)) else 1.0

    @property
    def config(self) -> dict[str, Any]:
        """The expectation's configuration for a new suite, tagged with the rule name."""
        configuration = self.obj.configuration
        meta = dict(configuration.meta or {})
        meta[_META_KEY] = self.name
        return {"type": self.type, "kwargs": copy.deepcopy(_kwargs(self.obj)), "meta": meta}


@attrs.frozen
class _GXCheck:
    """An expectation that GX validates: entirely, or only its ``mostly`` verdict."""

    expectation: _Expectation
    reason: str
    verdict_only: bool = False


def _kwargs(obj: Any) -> dict[str, Any]:
    """An expectation's arguments, without the batch GX binds it to when it validates."""
    return {k: v for k, v in dict(obj.configuration.kwargs).items() if k != "batch_id"}


def _sanitize(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def _columns(obj: Any) -> tuple[str, ...]:
    column = getattr(obj, "column", None)
    if isinstance(column, str):
        return (column,)
    column_list = getattr(obj, "column_list", None)
    if isinstance(column_list, (list, tuple)):
        return tuple(str(c) for c in column_list)
    return ()


def _shorten(base: str, limit: int) -> str:
    if len(base) <= limit:
        return base
    digest = hashlib.sha1(base.encode()).hexdigest()[:8]
    return base[: limit - 9] + "_" + digest


def _names(expectations: Sequence[Any]) -> list[str]:
    """Stable, unique rule names for the expectations of a suite."""
    bases = []
    for obj in expectations:
        base = "gx__" + obj.expectation_type
        base += "".join("__" + _sanitize(c) for c in _columns(obj))
        bases.append(_shorten(base, _MAX_BASE))
    counts = Counter(bases)
    names = []
    for base, obj in zip(bases, expectations, strict=True):
        if counts[base] > 1:
            arguments = json.dumps(_kwargs(obj), sort_keys=True, default=str)
            digest = hashlib.sha1(arguments.encode()).hexdigest()[:8]
            base = _shorten(base, _MAX_BASE - 9) + "_" + digest
        names.append(base)
    seen: Counter[str] = Counter()
    unique = []
    for name in names:
        seen[name] += 1
        if seen[name] > 1:  # the same expectation twice
            name = _shorten(name, _MAX_BASE - 4) + f"_{seen[name]}"
        unique.append(name)
    return unique


def _expectations(suite: SuiteLike) -> list[_Expectation]:
    loaded = load_suite(suite)
    objects = list(loaded.expectations)
    return [
        _Expectation(index, obj.expectation_type, name, obj)
        for index, (obj, name) in enumerate(zip(objects, _names(objects), strict=True))
    ]
