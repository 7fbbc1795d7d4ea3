"""Translating expectations into medallion quality rules: :func:`rules_from_suite`.

Which expectations become rules and which run through Great Expectations is decided here
(the plan); the translations are listed in :mod:`medallion.quality.gx`'s documentation.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from medallion._names import quote
from medallion.errors import RuleDefinitionError
from medallion.quality import checks
from medallion.quality.gx._expectations import (
    _columns,
    _Expectation,
    _expectations,
    _GXCheck,
    _kwargs,
)
from medallion.quality.gx.suite import SuiteLike
from medallion.rule import Action, QualityRule, RuleKind

__all__ = ["rules_from_suite"]


@attrs.frozen
class _Plan:
    rules: tuple[QualityRule, ...]
    gx: tuple[_GXCheck, ...]
    order: Mapping[str, tuple[int, int]]  # metric name -> position in the suite


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
            missing = joiner.join(f"{quote(c)} IS NULL" for c in columns)
            partition = ", ".join(quote(c) for c in columns)
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
    col = quote(column)
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
