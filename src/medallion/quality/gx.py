"""Great Expectations suites as medallion quality rules (the ``medallion[gx]`` extra).

An expectation suite of `Great Expectations <https://greatexpectations.io>`_ (GX 1.x; an
``ExpectationSuite``, its JSON as a dict, or the path of a JSON file) runs on a Spark DataFrame
with medallion's actions, metrics and quarantine:

* Expectations with a row-level meaning become :class:`~medallion.QualityRule` objects built with
  :mod:`medallion.quality.checks` (:func:`rules_from_suite`), so they run in medallion's
  one-pass engine and their failing rows are quarantined (or dropped, warned, failed) with the
  expectation as the reason.
* The other expectations (column statistics, schema, row conditions...) are validated by Great
  Expectations itself (:func:`validate_suite`); their results become entries of the same
  metrics, and a ``fail`` action stops the batch naming them.

:func:`evaluate_suite` does both on a DataFrame, and :func:`check_suite` does both in a pipeline
step and writes the quarantine, like :meth:`~medallion.StepContext.check`.

Translations (nulls pass every rule but the not-null one, as in GX):

* ``expect_column_values_to_not_be_null``: :func:`~medallion.quality.checks.not_null`.
* ``expect_column_values_to_be_between``: :func:`~medallion.quality.checks.in_range`, or
  ``>``/``<`` with ``strict_min``/``strict_max``.
* ``expect_column_values_to_be_in_set``: :func:`~medallion.quality.checks.in_set`;
  ``expect_column_values_to_not_be_in_set``: ``NOT (c IN (...))``.
* ``expect_column_values_to_match_regex``: :func:`~medallion.quality.checks.matches`;
  ``expect_column_values_to_not_match_regex``: ``NOT (c RLIKE ...)`` (Java regexes, as GX's
  Spark engine uses ``rlike``).
* ``expect_column_value_lengths_to_be_between``: :func:`~medallion.quality.checks.max_length`,
  or bounds on ``length(c)``; ``expect_column_value_lengths_to_equal``: ``length(c) = n``.
* ``expect_column_values_to_be_unique``: every row of a duplicated value fails.
* ``expect_compound_columns_to_be_unique``: :func:`~medallion.quality.checks.unique` with
  ``ignore_row_if="never"``; otherwise (GX's default ``"all_values_are_missing"``, or
  ``"any_value_is_missing"``) the rows GX ignores pass.
* ``expect_table_row_count_to_be_between`` and ``_to_equal``:
  :func:`~medallion.quality.checks.row_count`.

Every other expectation (``expect_column_values_to_be_of_type`` checks the column's Spark type,
not its values, so it is one of them) runs through GX.

``mostly``: a failing row always gets the row action (a row that breaks an expectation is a bad
row, whatever the share of them), and ``mostly`` becomes what it is in GX, the verdict on the
batch: a dataset rule ``<name>_mostly`` that passes when at least ``mostly`` of the rows GX
considers pass (GX's own float arithmetic), with the batch action (``warn``, or ``fail`` when the
row action is ``fail``; the row rule then only warns). For the uniqueness expectations the share
needs a window, so their ``_mostly`` verdict comes from GX. Expectations with a
``row_condition``, ``$PARAMETER`` values, or a ``value_set`` holding null (GX's Spark engine lets
every value pass such a set) run through GX, so their results are GX's.

Rule names are ``gx__<expectation type>__<column>[__<column>...]`` (other characters than
letters, digits and ``_`` become ``_``); two expectations of the same type on the same columns
get a suffix from a hash of their arguments, so names do not depend on the suite's order.

Example:
    >>> from medallion import evaluate
    >>> from medallion.quality.gx import rules_from_suite
    >>> suite = {
    ...     "name": "orders",
    ...     "expectations": [
    ...         {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
    ...         {
    ...             "type": "expect_column_values_to_be_between",
    ...             "kwargs": {"column": "qty", "min_value": 0, "max_value": 10},
    ...         },
    ...     ],
    ... }
    >>> rules = rules_from_suite(suite)
    >>> [rule.name for rule in rules]
    ['gx__expect_column_values_to_not_be_null__id', 'gx__expect_column_values_to_be_between__qty']
    >>> df = spark.createDataFrame([("a", 1), (None, 2), ("c", 11)], "id STRING, qty INT")
    >>> result = evaluate(df, rules)
    >>> result.rows_valid, result.rows_quarantined
    (1, 2)
    >>> result.release()
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import hashlib
import json
import math
import os
import re
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Union

import attrs

from medallion.errors import (
    MedallionError,
    MedallionWarning,
    QualityFailedError,
    RuleDefinitionError,
)
from medallion.quality import checks
from medallion.quality.engine import QualityResult, RuleMetric, evaluate, evaluate_table
from medallion.quality.rule import Action, QualityRule, RuleKind

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite
    from pyspark.sql import DataFrame

    from medallion.pipeline.step import StepContext

__all__ = [
    "GXNotInstalledError",
    "SuiteLike",
    "check_suite",
    "evaluate_suite",
    "load_suite",
    "rules_from_suite",
    "validate_suite",
]

#: What the functions of this module accept as a suite: a GX ``ExpectationSuite``, its JSON as
#: a mapping (GX 1.x ``{"name", "expectations": [{"type", "kwargs"}]}``, or the 0.x form with
#: ``expectation_suite_name`` and ``expectation_type``), or the path of such a JSON file.
SuiteLike = Union["ExpectationSuite", Mapping[str, Any], str, "os.PathLike[str]"]

_INSTALL = "pip install 'medallion[gx]'"
_META_KEY = "medallion_rule"
_MAX_BASE = 120  # leaves room for the "_mostly" suffix within a rule name's 128 characters


class GXNotInstalledError(MedallionError, ImportError):
    """Great Expectations is not installed; ``pip install 'medallion[gx]'`` installs it.

    Example:
        Raised by every function of :mod:`medallion.quality.gx` when the extra is missing::

            try:
                rules = rules_from_suite("suites/orders.json")
            except GXNotInstalledError as exc:
                print(exc)  # ... pip install 'medallion[gx]'

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


# --------------------------------------------------------------------------------------------
# Loading suites


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


# --------------------------------------------------------------------------------------------
# Planning: which expectations become rules, which run through GX


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


@attrs.frozen
class _Plan:
    rules: tuple[QualityRule, ...]
    gx: tuple[_GXCheck, ...]
    order: Mapping[str, tuple[int, int]]  # metric name -> position in the suite


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


def _to_action(value: Action | str, what: str) -> Action:
    if isinstance(value, Action):
        return value
    try:
        return Action(str(value).lower())
    except ValueError:
        choices = ", ".join(a.value for a in Action)
        raise RuleDefinitionError(f"unknown {what} {value!r}; choose one of {choices}") from None


def _batch_action(action: Action, batch_action: Action | str | None) -> Action:
    if batch_action is None:
        return Action.FAIL if action is Action.FAIL else Action.WARN
    resolved = _to_action(batch_action, "batch action")
    if resolved not in (Action.WARN, Action.FAIL):
        raise RuleDefinitionError(
            f"the batch action judges the whole batch, so it is warn or fail, not {resolved.value}"
        )
    return resolved


def _has_parameter(value: Any) -> bool:
    if isinstance(value, Mapping):
        return "$PARAMETER" in value or any(_has_parameter(v) for v in value.values())
    if isinstance(value, (list, tuple, set)):
        return any(_has_parameter(v) for v in value)
    return False


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
        return False
    return not isinstance(value, float) or math.isfinite(value)


def _is_bound(value: Any) -> bool:
    return value is None or _is_number(value) or isinstance(value, (str, dt.date))


def _col(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class _Untranslatable(Exception):
    """Raised by a translation: the expectation runs through GX, for this reason."""


@attrs.frozen
class _Row:
    """A row-level translation: the rule, and which rows GX counts for ``mostly``."""

    rule: QualityRule
    considered: str | None  # None: the share needs a window, GX gives the verdict


def _describe(expectation: _Expectation, text: str) -> str:
    return f"{expectation.type}: {text}"


def _between(column: str, low: Any, high: Any, strict_low: bool, strict_high: bool) -> str:
    """SQL bounds on ``column``; for a description, pass ``column=""``."""
    lead = f"{column} " if column else ""
    parts = []
    if low is not None:
        parts.append(f"{lead}{'>' if strict_low else '>='} {checks.literal(low)}")
    if high is not None:
        parts.append(f"{lead}{'<' if strict_high else '<='} {checks.literal(high)}")
    return (" AND " if column else " and ").join(parts)


def _row_rule(expectation: _Expectation, action: Action) -> _Row:
    """Translate a row-level expectation, or raise :class:`_Untranslatable`."""
    obj, kind, name = expectation.obj, expectation.type, expectation.name
    columns = _columns(obj)
    if kind == "expect_compound_columns_to_be_unique":
        ignore = getattr(obj, "ignore_row_if", "all_values_are_missing")
        text = f"({', '.join(columns)}) must be unique together"
        if ignore == "never":
            rule = checks.unique(*columns, name=name, action=action)
        else:
            joiner = " AND " if ignore == "all_values_are_missing" else " OR "
            missing = joiner.join(f"{_col(c)} IS NULL" for c in columns)
            partition = ", ".join(_col(c) for c in columns)
            rule = checks.condition(
                name,
                f"({missing}) OR count(1) OVER (PARTITION BY {partition}) = 1",
                action=action,
            )
            text += " (rows with " + ("no values" if joiner == " AND " else "a missing value")
            text += " are not checked)"
        return _Row(attrs.evolve(rule, description=_describe(expectation, text)), None)
    if len(columns) != 1:
        raise _Untranslatable("it is not a single-column expectation")
    column = columns[0]
    col = _col(column)
    considered = f"{col} IS NOT NULL"
    if kind == "expect_column_values_to_not_be_null":
        rule = checks.not_null(column, name=name, action=action)
        considered = "TRUE"
    elif kind == "expect_column_values_to_be_between":
        low, high = obj.min_value, obj.max_value
        strict_low, strict_high = bool(obj.strict_min), bool(obj.strict_max)
        if low is None and high is None:
            raise _Untranslatable("neither min_value nor max_value is given")
        if not (_is_bound(low) and _is_bound(high)):
            raise _Untranslatable("its bounds are not numbers, strings or dates")
        try:
            if low is not None and high is not None and low > high:
                raise _Untranslatable("min_value is greater than max_value")
        except TypeError:
            raise _Untranslatable("its bounds cannot be compared") from None
        if strict_low or strict_high:
            rule = checks.condition(
                name,
                f"{col} IS NULL OR ({_between(col, low, high, strict_low, strict_high)})",
                action=action,
            )
        else:
            rule = checks.in_range(column, low, high, name=name, action=action)
        bounds = _between("", low, high, strict_low, strict_high)
        rule = attrs.evolve(rule, description=f"{column} must be {bounds}")
    elif kind in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
        value_set = obj.value_set
        if value_set is None or not isinstance(value_set, (list, tuple, set, frozenset)):
            raise _Untranslatable("its value_set is not a list")
        if any(v is None for v in value_set):
            # GX's Spark engine tests isin([..., None]), which is null (not false) for values
            # outside the set: GX gives the result.
            raise _Untranslatable("its value_set holds null")
        values = list(value_set)
        if isinstance(value_set, (set, frozenset)):
            values.sort(key=repr)
        if not all(_is_number(v) or isinstance(v, str) for v in values):
            raise _Untranslatable("its value_set holds other values than numbers and strings")
        listed = ", ".join(checks.literal(v) for v in values)
        if kind == "expect_column_values_to_be_in_set":
            if values:
                rule = checks.in_set(column, values, name=name, action=action)
            else:
                rule = checks.condition(
                    name, f"{col} IS NULL", action=action, description=f"{column} must be null"
                )
        else:
            rule = checks.condition(
                name,
                f"{col} IS NULL OR NOT ({col} IN ({listed}))" if values else "TRUE",
                action=action,
                description=f"{column} must not be one of {', '.join(map(str, values))}",
            )
    elif kind in (
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
    ):
        regex = obj.regex
        if not isinstance(regex, str):
            raise _Untranslatable("its regex is not a string")
        if kind == "expect_column_values_to_match_regex":
            rule = checks.matches(column, regex, name=name, action=action)
        else:
            rule = checks.condition(
                name,
                f"{col} IS NULL OR NOT ({col} RLIKE {checks.literal(regex)})",
                action=action,
                description=f"{column} must not match {regex}",
            )
    elif kind == "expect_column_value_lengths_to_be_between":
        low, high = obj.min_value, obj.max_value
        strict_low, strict_high = bool(obj.strict_min), bool(obj.strict_max)
        if low is None and high is None:
            raise _Untranslatable("neither min_value nor max_value is given")
        if not all(v is None or (_is_number(v) and float(v).is_integer()) for v in (low, high)):
            raise _Untranslatable("its bounds are not integers")
        low = None if low is None else int(low)
        high = None if high is None else int(high)
        if low is None and high is not None and not strict_high:
            rule = checks.max_length(column, high, name=name, action=action)
        else:
            test = _between(f"length({col})", low, high, strict_low, strict_high)
            rule = checks.condition(
                name,
                f"{col} IS NULL OR ({test})",
                action=action,
                description=f"{column} must have a length "
                + _between("", low, high, strict_low, strict_high),
            )
    elif kind == "expect_column_value_lengths_to_equal":
        value = obj.value
        if not (_is_number(value) and float(value).is_integer()):
            raise _Untranslatable("its value is not an integer")
        rule = checks.condition(
            name,
            f"{col} IS NULL OR length({col}) = {int(value)}",
            action=action,
            description=f"{column} must have {int(value)} characters",
        )
    elif kind == "expect_column_values_to_be_unique":
        rule = checks.condition(
            name,
            f"{col} IS NULL OR count(1) OVER (PARTITION BY {col}) = 1",
            action=action,
            description=f"{column} must be unique",
        )
        return _Row(attrs.evolve(rule, description=_describe(expectation, rule.description)), None)
    else:
        raise _Untranslatable("it has no row-level translation")
    return _Row(
        attrs.evolve(rule, description=_describe(expectation, rule.description)), considered
    )


def _row_count(expectation: _Expectation, action: Action) -> QualityRule:
    obj = expectation.obj
    if expectation.type == "expect_table_row_count_to_equal":
        low = high = obj.value
        strict_low = strict_high = False
    else:
        low, high = obj.min_value, obj.max_value
        strict_low, strict_high = bool(obj.strict_min), bool(obj.strict_max)
    if low is None and high is None:
        raise _Untranslatable("neither min_value nor max_value is given")
    if not all(v is None or (_is_number(v) and float(v).is_integer()) for v in (low, high)):
        raise _Untranslatable("its bounds are not integers")
    low = None if low is None else int(low) + (1 if strict_low else 0)
    high = None if high is None else int(high) - (1 if strict_high else 0)
    rule = checks.row_count(low, high, name=expectation.name, action=action)
    return attrs.evolve(rule, description=_describe(expectation, rule.description))


def _mostly_rule(expectation: _Expectation, row: _Row, action: Action) -> QualityRule:
    mostly = expectation.mostly
    assert row.considered is not None
    considered = row.considered
    passing = f"({considered}) AND coalesce(({row.rule.expression}), FALSE)"
    return QualityRule(
        f"{expectation.name}_mostly",
        f"coalesce(try_divide(CAST(count_if({passing}) AS DOUBLE), count_if({considered})) "
        f">= {mostly!r}D, TRUE)",
        action=action,
        description=_describe(
            expectation,
            f"at least {mostly:.2%} of the rows must pass {expectation.name} (mostly={mostly!r})",
        ),
        kind=RuleKind.DATASET,
    )


def _expectations(suite: SuiteLike) -> list[_Expectation]:
    loaded = load_suite(suite)
    objects = list(loaded.expectations)
    return [
        _Expectation(index, obj.expectation_type, name, obj)
        for index, (obj, name) in enumerate(zip(objects, _names(objects), strict=True))
    ]


def _plan(expectations: Sequence[_Expectation], action: Action, batch_action: Action) -> _Plan:
    rules: list[QualityRule] = []
    gx: list[_GXCheck] = []
    order: dict[str, tuple[int, int]] = {}
    for expectation in expectations:
        order[expectation.name] = (expectation.index, 0)
        order[f"{expectation.name}_mostly"] = (expectation.index, 1)
        obj = expectation.obj
        row_condition = getattr(obj, "row_condition", None)
        try:
            if row_condition not in (None, ""):
                raise _Untranslatable("it has a row_condition")
            if _has_parameter(_kwargs(obj)):
                raise _Untranslatable("it uses suite parameters ($PARAMETER)")
            if expectation.type in (
                "expect_table_row_count_to_be_between",
                "expect_table_row_count_to_equal",
            ):
                rules.append(_row_count(expectation, batch_action))
                continue
            mostly = expectation.mostly
            row_action = action if mostly >= 1 or action is not Action.FAIL else Action.WARN
            row = _row_rule(expectation, row_action)
        except (_Untranslatable, RuleDefinitionError) as exc:
            gx.append(_GXCheck(expectation, str(exc)))
            continue
        rules.append(row.rule)
        if mostly < 1:
            if row.considered is None:
                gx.append(
                    _GXCheck(expectation, "its mostly share needs a window", verdict_only=True)
                )
            else:
                rules.append(_mostly_rule(expectation, row, batch_action))
    names = Counter([r.name for r in rules] + [f"{c.expectation.name}_mostly" for c in gx])
    names.update(c.expectation.name for c in gx if not c.verdict_only)
    clashes = sorted(name for name, count in names.items() if count > 1)
    if clashes:  # "x" with mostly and a column named "x_mostly", say
        raise RuleDefinitionError(f"the suite gives rule name(s) {', '.join(clashes)} twice")
    return _Plan(tuple(rules), tuple(gx), order)


def rules_from_suite(
    suite: SuiteLike,
    *,
    action: Action | str = Action.QUARANTINE,
    batch_action: Action | str | None = None,
    untranslated: Literal["raise", "skip"] = "raise",
) -> tuple[QualityRule, ...]:
    """Translate the row-level expectations of a Great Expectations suite into quality rules.

    The rules run in medallion's one-pass engine (:func:`~medallion.evaluate`, a table's
    ``rules``); see the module's documentation for the translations and ``mostly``.

    Args:
        suite: The suite (see :data:`SuiteLike`).
        action: What happens to a row that fails a row-level expectation (``quarantine`` by
            default).
        batch_action: The action of the rules that judge the whole batch (row counts, the
            ``mostly`` shares): ``warn`` or ``fail``; by default ``fail`` when ``action`` is
            ``fail``, ``warn`` otherwise.
        untranslated: ``"raise"`` (the default) raises for expectations without a translation
            (or whose ``mostly`` verdict needs GX); ``"skip"`` leaves them out, for the caller
            to run them with ``validate_suite(df, suite, untranslated_only=True)``.

    Returns:
        The rules, in the suite's order.

    Raises:
        GXNotInstalledError: Great Expectations is not installed.
        RuleDefinitionError: An expectation has no translation (naming each, and why), or the
            suite or an argument is invalid.

    Example:
        >>> from medallion.quality.gx import rules_from_suite
        >>> rules = rules_from_suite(
        ...     {
        ...         "name": "customers",
        ...         "expectations": [
        ...             {
        ...                 "type": "expect_column_values_to_match_regex",
        ...                 "kwargs": {"column": "email", "regex": "@", "mostly": 0.9},
        ...             }
        ...         ],
        ...     },
        ...     action="drop",
        ... )
        >>> for rule in rules:
        ...     print(rule.name, rule.action.value, rule.kind.value)
        gx__expect_column_values_to_match_regex__email drop row
        gx__expect_column_values_to_match_regex__email_mostly warn dataset
    """
    if untranslated not in ("raise", "skip"):
        raise RuleDefinitionError(f"untranslated must be 'raise' or 'skip', not {untranslated!r}")
    row_action = _to_action(action, "action")
    plan = _plan(_expectations(suite), row_action, _batch_action(row_action, batch_action))
    if plan.gx and untranslated == "raise":
        listed = "; ".join(
            f"{check.expectation.type} ({check.expectation.name}): {check.reason}"
            for check in plan.gx
        )
        raise RuleDefinitionError(
            f"{len(plan.gx)} expectation(s) cannot run as medallion rules: {listed}. "
            "Run the suite with evaluate_suite() or check_suite(), which validate them with "
            "Great Expectations, or pass untranslated='skip' and call "
            "validate_suite(df, suite, untranslated_only=True)."
        )
    return plan.rules


# --------------------------------------------------------------------------------------------
# Validating with Great Expectations


@attrs.frozen
class _Outcome:
    check: _GXCheck
    success: bool
    unexpected: int | None
    elements: int | None
    detail: str
    error: str


def _error_message(info: Any) -> str:
    if not isinstance(info, Mapping):
        return ""
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "an exception was raised")
    messages = [_error_message(v) for v in info.values() if isinstance(v, Mapping)]
    return "; ".join(dict.fromkeys(m for m in messages if m))


def _run_gx(
    df: DataFrame, gx_checks: Sequence[_GXCheck], parameters: Mapping[str, Any] | None
) -> list[_Outcome]:
    if not gx_checks:
        return []
    gx = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    batch = (
        context.data_sources.add_spark("medallion", persist=False)
        .add_dataframe_asset("batch")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": df})
    )
    suite = gx.ExpectationSuite(
        name="medallion", expectations=[c.expectation.config for c in gx_checks]
    )
    if len(suite.expectations) != len(gx_checks):
        raise MedallionError("Great Expectations refused expectations that it loaded before")
    validation = batch.validate(
        suite,
        # The counts without samples of unexpected values, which take Spark jobs of their own.
        result_format={"result_format": "BASIC", "partial_unexpected_count": 0},
        expectation_parameters=dict(parameters or {}) or None,
    )
    by_name = {r.expectation_config.meta.get(_META_KEY): r for r in validation.results}
    outcomes = []
    for check in gx_checks:
        found = by_name.get(check.expectation.name)
        if found is None:
            raise MedallionError(
                f"Great Expectations returned no result for {check.expectation.type} "
                f"({check.expectation.name})"
            )
        result = dict(found.result or {})
        unexpected = result.get("unexpected_count")
        elements = result.get("element_count")
        detail = ""
        if "observed_value" in result:
            detail = f"observed {result['observed_value']!r}"
        elif isinstance(unexpected, int):
            detail = f"{unexpected} unexpected value(s)"
        outcomes.append(
            _Outcome(
                check=check,
                success=bool(found.success),
                unexpected=unexpected if isinstance(unexpected, int) else None,
                elements=elements if isinstance(elements, int) else None,
                detail=detail,
                error=_error_message(found.exception_info),
            )
        )
    return outcomes


def _metrics(
    outcomes: Sequence[_Outcome], action: Action, rows: Callable[[], int]
) -> tuple[list[RuleMetric], list[str]]:
    """The metrics of GX's results, and the failures that ``action`` makes fatal."""
    metrics: list[RuleMetric] = []
    problems: list[str] = []
    for outcome in outcomes:
        expectation = outcome.check.expectation
        what = f"expectation {expectation.type} ({expectation.name})"
        if outcome.error:
            warnings.warn(
                f"Great Expectations could not evaluate {what}: {outcome.error}",
                MedallionWarning,
                stacklevel=3,
            )
        failed = 0 if outcome.success else 1
        if outcome.check.verdict_only:
            name = f"{expectation.name}_mostly"
            metrics.append(RuleMetric(name, action, RuleKind.DATASET, rows(), failed))
        elif outcome.unexpected is not None and not outcome.error:
            checked = outcome.elements if outcome.elements is not None else rows()
            if expectation.mostly < 1:
                metrics.append(
                    RuleMetric(
                        expectation.name, Action.WARN, RuleKind.ROW, checked, outcome.unexpected
                    )
                )
                metrics.append(
                    RuleMetric(
                        f"{expectation.name}_mostly", action, RuleKind.DATASET, checked, failed
                    )
                )
            else:
                metrics.append(
                    RuleMetric(expectation.name, action, RuleKind.ROW, checked, outcome.unexpected)
                )
        else:
            metrics.append(RuleMetric(expectation.name, action, RuleKind.DATASET, rows(), failed))
        if action is Action.FAIL and not outcome.success:
            reason = outcome.error or outcome.detail or "it failed"
            problems.append(f"{what} failed (Great Expectations: {reason})")
    return metrics, problems


def _counter(df: DataFrame) -> Callable[[], int]:
    counted: list[int] = []

    def rows() -> int:
        if not counted:
            counted.append(df.count())
        return counted[0]

    return rows


def validate_suite(
    df: DataFrame,
    suite: SuiteLike,
    *,
    action: Action | str = Action.WARN,
    untranslated_only: bool = False,
    parameters: Mapping[str, Any] | None = None,
) -> tuple[RuleMetric, ...]:
    """Validate a suite's expectations on a DataFrame with Great Expectations, as rule metrics.

    Each expectation gives a metric named like its rule (:func:`rules_from_suite`): a row
    metric with GX's ``unexpected_count`` as ``rows_failed`` for the expectations that count
    values, a dataset metric (0 or 1) for the others; with ``mostly`` below 1 the row metric
    warns and a ``<name>_mostly`` dataset metric carries GX's verdict. An expectation that GX
    cannot evaluate (a missing column) fails, with a :class:`~medallion.errors.MedallionWarning`.

    Args:
        df: The batch.
        suite: The suite (see :data:`SuiteLike`).
        action: ``warn`` (the default) records the results; ``fail`` also raises when an
            expectation fails.
        untranslated_only: Validate only what :func:`rules_from_suite` does not translate
            (the expectations it would raise for).
        parameters: Values of the suite's ``$PARAMETER`` references.

    Returns:
        The metrics, in the suite's order.

    Raises:
        GXNotInstalledError: Great Expectations is not installed.
        QualityFailedError: ``action`` is ``fail`` and an expectation failed; the message names
            each, and ``metrics`` holds every metric.

    Example:
        >>> suite = {"name": "orders", "expectations": [
        ...     {"type": "expect_column_max_to_be_between",
        ...      "kwargs": {"column": "qty", "max_value": 10}}]}
        >>> df = spark.createDataFrame([(3,), (12,)], "qty INT")
        >>> [(m.rule, m.passed) for m in validate_suite(df, suite)]
        [('gx__expect_column_max_to_be_between__qty', False)]
    """
    resolved = _to_action(action, "action")
    if resolved not in (Action.WARN, Action.FAIL):
        raise RuleDefinitionError(
            f"validate_suite judges the batch, so its action is warn or fail, not {resolved.value}"
        )
    expectations = _expectations(suite)
    if untranslated_only:
        plan = _plan(expectations, Action.QUARANTINE, Action.WARN)
        gx_checks = plan.gx
    else:
        gx_checks = tuple(_GXCheck(e, "validated with Great Expectations") for e in expectations)
    outcomes = _run_gx(df, gx_checks, parameters)
    metrics, problems = _metrics(outcomes, resolved, _counter(df))
    if problems:
        raise QualityFailedError("quality check failed: " + "; ".join(problems), tuple(metrics))
    return tuple(metrics)


# --------------------------------------------------------------------------------------------
# Rules and GX together


def _evaluate(
    df: DataFrame,
    suite: SuiteLike,
    *,
    rules: Sequence[QualityRule],
    action: Action | str,
    batch_action: Action | str | None,
    parameters: Mapping[str, Any] | None,
    table: str,
    run: Callable[[list[QualityRule]], QualityResult],
) -> QualityResult:
    """GX for the untranslated expectations, then ``run`` (one engine pass) for the rules."""
    row_action = _to_action(action, "action")
    resolved_batch = _batch_action(row_action, batch_action)
    plan = _plan(_expectations(suite), row_action, resolved_batch)
    given = [rule.name for rule in rules]
    clashes = sorted({r.name for r in plan.rules} & set(given))
    if clashes:
        raise RuleDefinitionError(
            f"rule name(s) {', '.join(clashes)} are both the table's and the suite's"
        )
    outcomes = _run_gx(df, plan.gx, parameters)  # before any row is evaluated or written
    everything = [*rules, *plan.rules]
    where = f"table {table!r}: " if table else ""

    def ordered(metrics: Sequence[RuleMetric]) -> tuple[RuleMetric, ...]:
        first = {name: i for i, name in enumerate(given)}
        last = len(first)

        def key(metric: RuleMetric) -> tuple[int, int, int]:
            if metric.rule in first:
                return (first[metric.rule], 0, 0)
            index, part = plan.order.get(metric.rule, (len(plan.order), 0))
            return (last, index, part)

        return tuple(sorted(metrics, key=key))

    try:
        result = run(everything)
    except QualityFailedError as exc:
        checked = exc.metrics[0].rows_checked if exc.metrics else None
        rows = (lambda: checked) if isinstance(checked, int) else _counter(df)
        gx_metrics, problems = _metrics(outcomes, resolved_batch, rows)
        message = str(exc) + ("; " + "; ".join(problems) if problems else "")
        raise QualityFailedError(message, ordered([*exc.metrics, *gx_metrics])) from exc
    gx_metrics, problems = _metrics(outcomes, resolved_batch, lambda: result.rows_read)
    metrics = ordered([*result.metrics, *gx_metrics])
    if problems:
        result.release()
        raise QualityFailedError(f"{where}quality check failed: " + "; ".join(problems), metrics)
    return attrs.evolve(result, metrics=metrics)


def evaluate_suite(
    df: DataFrame,
    suite: SuiteLike,
    *,
    action: Action | str = Action.QUARANTINE,
    batch_action: Action | str | None = None,
    rules: Sequence[QualityRule] = (),
    parameters: Mapping[str, Any] | None = None,
    table: str = "",
    target: DataFrame | None = None,
    references: dict[str, DataFrame] | None = None,
    max_quarantine_share: float | None = None,
) -> QualityResult:
    """Run a suite on a DataFrame: translated expectations as rules, the others through GX.

    The translated expectations (:func:`rules_from_suite`) and ``rules`` run in one pass of
    :func:`~medallion.evaluate`; the other expectations are validated by Great Expectations
    first, with ``batch_action``. Their results are all in the result's ``metrics`` (``rules``
    first, then the suite's, in its order).

    Args:
        df: The batch.
        suite: The suite (see :data:`SuiteLike`).
        action: The action of the row-level expectations (``quarantine`` by default).
        batch_action: The action of the batch-level results (row counts, ``mostly`` shares,
            expectations validated by GX): ``warn`` or ``fail``; by default ``fail`` when
            ``action`` is ``fail``, ``warn`` otherwise.
        rules: More rules to evaluate in the same pass (a table's own rules).
        parameters: Values of the suite's ``$PARAMETER`` references, for GX.
        table: The table's name, for errors.
        target: As for :func:`~medallion.evaluate`.
        references: As for :func:`~medallion.evaluate`.
        max_quarantine_share: As for :func:`~medallion.evaluate`.

    Returns:
        The result; call :meth:`~medallion.QualityResult.release` after writing its rows.

    Raises:
        GXNotInstalledError: Great Expectations is not installed.
        RuleDefinitionError: The suite is invalid, or a rule of ``rules`` has the name of one
            of the suite's.
        QualityFailedError: A ``fail`` rule or expectation failed (the message names each),
            or too many rows were quarantined.

    Example:
        Quarantine what breaks a suite before writing silver::

            result = evaluate_suite(bronze_orders_df, "suites/orders.json", table="orders")
            write_table(result.valid, silver_orders, lakehouse)
            result.release()

        With the suite's JSON as a dict:

        >>> suite = {"name": "orders", "expectations": [
        ...     {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}}]}
        >>> df = spark.createDataFrame([("o1",), (None,)], "id STRING")
        >>> result = evaluate_suite(df, suite, table="silver.orders")
        >>> result.rows_valid, result.rows_quarantined
        (1, 1)
        >>> result.release()
    """
    return _evaluate(
        df,
        suite,
        rules=rules,
        action=action,
        batch_action=batch_action,
        parameters=parameters,
        table=table,
        run=lambda everything: evaluate(
            df,
            everything,
            table=table,
            target=target,
            references=references,
            max_quarantine_share=max_quarantine_share,
        ),
    )


def check_suite(
    ctx: StepContext,
    df: DataFrame,
    suite: SuiteLike,
    *,
    action: Action | str = Action.QUARANTINE,
    batch_action: Action | str | None = None,
    parameters: Mapping[str, Any] | None = None,
    source: str | None = None,
    max_quarantine_share: float | None = None,
) -> DataFrame:
    """:meth:`StepContext.check <medallion.StepContext.check>` with a suite's expectations too.

    The table's rules and the suite (as :func:`evaluate_suite`) are applied to ``df``; failing
    rows go to the layer's quarantine table with the rules and expectations they failed, and
    the metrics (the GX results among them) are recorded for the run.

    Args:
        ctx: The step's context.
        df: The rows the step is about to return.
        suite: The suite (see :data:`SuiteLike`).
        action: The action of the row-level expectations (``quarantine`` by default).
        batch_action: The action of the batch-level results (see :func:`evaluate_suite`).
        parameters: Values of the suite's ``$PARAMETER`` references, for GX.
        source: Where the rows came from, recorded with quarantined rows.
        max_quarantine_share: Fail the step when more than this share is quarantined;
            defaults to the table's ``max_quarantine_share``.

    Returns:
        The rows to write.

    Raises:
        QualityFailedError: A ``fail`` rule or expectation failed, or the share was exceeded;
            nothing has been written.

    Example:
        In a step::

            @pipeline.step(silver_orders, inputs=[bronze_orders])
            def clean_orders(ctx: StepContext) -> DataFrame:
                return check_suite(ctx, ctx.read(bronze_orders), "suites/orders.json")

        With a context made by hand, as in a unit test:

        >>> import datetime as dt
        >>> from medallion import StepContext, Table
        >>> orders = Table("orders", "silver", primary_keys="id")
        >>> ctx = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2), orders)
        >>> suite = {"name": "orders", "expectations": [
        ...     {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}}]}
        >>> df = spark.createDataFrame([("o1",), (None,)], "id STRING")
        >>> check_suite(ctx, df, suite).count(), ctx.quality[0].rows_quarantined
        (1, 1)
    """
    from medallion.quality.quarantine import write_quarantine

    result = _evaluate(
        df,
        suite,
        rules=ctx.table.rules,
        action=action,
        batch_action=batch_action,
        parameters=parameters,
        table=ctx.table.qualified_name,
        # The table's reference and against-target rules read the lakehouse as in ctx.check.
        run=lambda everything: evaluate_table(
            df,
            attrs.evolve(ctx.table, rules=everything),
            ctx.root,
            max_quarantine_share=max_quarantine_share,
            spark=ctx.spark,
        ),
    )
    write_quarantine(result, ctx.table, ctx.root, run_id=ctx.run_id, source=source)
    ctx.quality.append(result)
    return result.valid
