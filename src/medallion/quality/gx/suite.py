"""Loading Great Expectations suites: :func:`load_suite`, and GX imported on first use.

Importing :mod:`medallion.quality.gx` never imports Great Expectations; the functions that need
it import it when called, and raise :class:`GXNotInstalledError` without it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

from medallion.errors import MedallionError, RuleDefinitionError

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite

__all__ = ["GXNotInstalledError", "SuiteLike", "load_suite"]

#: What the functions of :mod:`medallion.quality.gx` accept as a suite: a GX
#: ``ExpectationSuite``, its JSON as a mapping (GX 1.x ``{"name", "expectations": [{"type",
#: "kwargs"}]}``, or the 0.x form with ``expectation_suite_name`` and ``expectation_type``), or
#: the path of such a JSON file.
SuiteLike = Union["ExpectationSuite", Mapping[str, Any], str, "os.PathLike[str]"]

_INSTALL = "pip install 'medallion-lakehouse[gx]'"


class GXNotInstalledError(MedallionError, ImportError):
    """Great Expectations is not installed; ``pip install 'medallion-lakehouse[gx]'`` installs it.

    Example:
        Raised by every function of :mod:`medallion.quality.gx` when the extra is missing::

            try:
                rules = rules_from_suite("suites/orders.json")
            except GXNotInstalledError as exc:
                print(exc)  # ... pip install 'medallion-lakehouse[gx]'

        It is an :class:`ImportError` too, for code that checks optional imports:

        >>> issubclass(GXNotInstalledError, ImportError)
        True
    """


def _gx() -> Any:
    try:
        import great_expectations
    except ImportError as exc:
        raise GXNotInstalledError(
            f"medallion.quality.gx needs Great Expectations, which is not installed: {_INSTALL}"
        ) from exc
    return great_expectations


def _read_json(path: str | os.PathLike[str]) -> Mapping[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise RuleDefinitionError(
            f"cannot read the expectation suite {os.fspath(path)!r}: {exc}"
        ) from exc
    if not isinstance(data, Mapping):
        raise RuleDefinitionError(f"the expectation suite {os.fspath(path)!r} is not a JSON object")
    return data


def load_suite(suite: SuiteLike) -> ExpectationSuite:
    """A Great Expectations ``ExpectationSuite`` from a suite, its JSON, or a JSON file.

    Every expectation is checked by GX when loaded; an invalid one is an error naming it (GX
    itself would leave it out of the suite with a log message).

    Args:
        suite: An ``ExpectationSuite`` (returned as is), a mapping in GX's suite JSON format
            (1.x, or 0.x with ``expectation_suite_name`` and ``expectation_type``), or the path
            of a JSON file holding one.

    Returns:
        The suite.

    Raises:
        GXNotInstalledError: Great Expectations is not installed.
        RuleDefinitionError: The file cannot be read, or an expectation is invalid.

    Example:
        >>> from medallion.quality.gx import load_suite
        >>> suite = load_suite(
        ...     {
        ...         "expectation_suite_name": "legacy",
        ...         "expectations": [
        ...             {
        ...                 "expectation_type": "expect_column_values_to_not_be_null",
        ...                 "kwargs": {"column": "id"},
        ...             }
        ...         ],
        ...     }
        ... )
        >>> suite.name, [e.expectation_type for e in suite.expectations]
        ('legacy', ['expect_column_values_to_not_be_null'])
    """
    gx = _gx()
    if isinstance(suite, gx.ExpectationSuite):
        return suite  # type: ignore[no-any-return]
    if isinstance(suite, (str, os.PathLike)):
        data = _read_json(suite)
        where = os.fspath(suite)
    elif isinstance(suite, Mapping):
        data = suite
        where = ""
    else:
        raise RuleDefinitionError(
            "an expectation suite must be an ExpectationSuite, a mapping of its JSON or the "
            f"path of a JSON file, not {type(suite).__name__}"
        )
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    name = data.get("name") or data.get("expectation_suite_name") or "suite"
    label = f"suite {name!r}" + (f" ({where})" if where else "")
    raw = data.get("expectations") or []
    if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        raise RuleDefinitionError(f"{label}: 'expectations' must be a list")
    expectations = []
    for position, entry in enumerate(raw, start=1):
        if not isinstance(entry, Mapping):
            raise RuleDefinitionError(f"{label}: expectation #{position} is not an object")
        kind = entry.get("type") or entry.get("expectation_type")
        fields = {k: entry[k] for k in ("meta", "notes", "description", "severity") if entry.get(k)}
        try:
            configuration = ExpectationConfiguration(
                type=str(kind), kwargs=dict(entry.get("kwargs") or {}), **fields
            )
            expectations.append(configuration.to_domain_obj())
        except Exception as exc:  # GX raises assorted errors for invalid expectations
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RuleDefinitionError(
                f"{label}: expectation #{position} ({kind}) is invalid: {first}"
            ) from exc
    return gx.ExpectationSuite(  # type: ignore[no-any-return]
        name=str(name),
        expectations=expectations,
        suite_parameters=dict(data.get("suite_parameters") or {}) or None,
        meta=dict(data.get("meta") or {}) or None,
        notes=data.get("notes"),
    )
