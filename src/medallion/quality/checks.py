"""Built-in quality rules: each function returns a :class:`~medallion.QualityRule`.

Row rules other than :func:`not_null` let nulls pass (a null is not out of range, it is
missing): combine them with :func:`not_null` where a value is required.

Example:
    >>> from medallion.quality import checks
    >>> checks.in_range("quantity", 1, 100, action="quarantine").expression
    '`quantity` IS NULL OR `quantity` BETWEEN 1 AND 100'
    >>> checks.in_set("status", ["paid", "sent"]).expression
    "`status` IS NULL OR `status` IN ('paid', 'sent')"
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable
from typing import TYPE_CHECKING

from medallion._names import quote, string_literal
from medallion.errors import RuleDefinitionError
from medallion.rule import Action, QualityRule, RuleKind

if TYPE_CHECKING:
    from medallion.table import Table

__all__ = [
    "castable",
    "condition",
    "exists_in",
    "freshness",
    "in_range",
    "in_set",
    "matches",
    "max_length",
    "not_null",
    "null_share",
    "row_count",
    "unique",
]

Literal = str | int | float | bool | decimal.Decimal | dt.date | dt.datetime


def literal(value: Literal) -> str:
    """A Python value as a Spark SQL literal.

    Args:
        value: A string, number, boolean, date or datetime.

    Returns:
        The SQL text.

    Example:
        >>> literal("paid"), literal(dt.date(2026, 1, 2)), literal(True), literal(2.5)
        ("'paid'", "DATE'2026-01-02'", 'TRUE', '2.5')
    """
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float, decimal.Decimal)):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP'{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE'{value.isoformat()}'"
    if isinstance(value, str):
        return string_literal(value)
    raise RuleDefinitionError(f"cannot use {value!r} as a SQL literal")


def _name(given: str | None, default: str) -> str:
    return given or default


def condition(
    name: str, expression: str, *, action: Action | str = Action.WARN, description: str = ""
) -> QualityRule:
    """Any row-level SQL condition.

    Args:
        name: The rule's name.
        expression: A boolean SQL expression; a row passes when it is true.
        action: What happens to failing rows.
        description: What the rule protects.

    Returns:
        The rule.

    Example:
        >>> from medallion.quality import checks
        >>> rule = checks.condition("paid_has_date", "status <> 'paid' OR paid_at IS NOT NULL",
        ...                         action="fail")
        >>> rule.name, rule.action
        ('paid_has_date', <Action.FAIL: 'fail'>)
    """
    return QualityRule(name, expression, action=action, description=description)


def not_null(
    column: str, *, name: str | None = None, action: Action | str = Action.QUARANTINE
) -> QualityRule:
    """The column must have a value.

    Args:
        column: The column.
        name: The rule's name; ``<column>_not_null`` by default.
        action: What happens to failing rows.

    Returns:
        The rule.

    Example:
        >>> from medallion.quality import checks
        >>> checks.not_null("id").expression
        '`id` IS NOT NULL'
    """
    return QualityRule(
        _name(name, f"{column}_not_null"),
        f"{quote(column)} IS NOT NULL",
        action=action,
        description=f"{column} must not be null",
    )


def in_range(
    column: str,
    minimum: Literal | None = None,
    maximum: Literal | None = None,
    *,
    name: str | None = None,
    action: Action | str = Action.QUARANTINE,
) -> QualityRule:
    """The column's value lies between ``minimum`` and ``maximum`` (inclusive).

    Args:
        column: The column.
        minimum: The smallest value allowed, or ``None`` for no lower bound.
        maximum: The largest value allowed, or ``None`` for no upper bound.
        name: The rule's name; ``<column>_in_range`` by default.
        action: What happens to failing rows.

    Returns:
        The rule.

    Raises:
        RuleDefinitionError: Neither bound was given.

    Example:
        >>> from medallion.quality import checks
        >>> checks.in_range("amount", minimum=0).expression
        '`amount` IS NULL OR `amount` >= 0'
    """
    col = quote(column)
    if minimum is not None and maximum is not None:
        test = f"{col} BETWEEN {literal(minimum)} AND {literal(maximum)}"
        what = f"between {minimum} and {maximum}"
    elif minimum is not None:
        test, what = f"{col} >= {literal(minimum)}", f"at least {minimum}"
    elif maximum is not None:
        test, what = f"{col} <= {literal(maximum)}", f"at most {maximum}"
    else:
        raise RuleDefinitionError(
            f"rule {name or column + '_in_range'!r}: give a minimum or maximum"
        )
    return QualityRule(
        _name(name, f"{column}_in_range"),
        f"{col} IS NULL OR {test}",
        action=action,
        description=f"{column} must be {what}",
    )


def in_set(
    column: str,
    values: Iterable[Literal],
    *,
    name: str | None = None,
    action: Action | str = Action.QUARANTINE,
) -> QualityRule:
    """The column's value is one of ``values``.

    Args:
        column: The column.
        values: The values allowed.
        name: The rule's name; ``<column>_in_set`` by default.
        action: What happens to failing rows.

    Returns:
        The rule.

    Example:
        >>> from medallion.quality import checks
        >>> checks.in_set("currency", ["EUR", "USD"], action="drop").expression
        "`currency` IS NULL OR `currency` IN ('EUR', 'USD')"
    """
    allowed = list(values)
    if not allowed:
        raise RuleDefinitionError(
            f"rule {name or column + '_in_set'!r}: the set of values is empty"
        )
    col = quote(column)
    return QualityRule(
        _name(name, f"{column}_in_set"),
        f"{col} IS NULL OR {col} IN ({', '.join(literal(v) for v in allowed)})",
        action=action,
        description=f"{column} must be one of {', '.join(map(str, allowed))}",
    )


def matches(
    column: str,
    pattern: str,
    *,
    name: str | None = None,
    action: Action | str = Action.QUARANTINE,
) -> QualityRule:
    """The column's text matches a Java regular expression (anywhere, unless anchored).

    Args:
        column: The column.
        pattern: The regular expression (``^`` and ``$`` to match the whole value).
        name: The rule's name; ``<column>_matches`` by default.
        action: What happens to failing rows.

    Returns:
        The rule.

    Example:
        >>> from medallion.quality import checks
        >>> checks.matches("email", "^[^@]+@[^@]+$").expression
        "`email` IS NULL OR `email` RLIKE '^[^@]+@[^@]+$'"
    """
    col = quote(column)
    return QualityRule(
        _name(name, f"{column}_matches"),
        f"{col} IS NULL OR {col} RLIKE {literal(pattern)}",
        action=action,
        description=f"{column} must match {pattern}",
    )


def castable(
    column: str,
    data_type: str,
    *,
    name: str | None = None,
    action: Action | str = Action.QUARANTINE,
) -> QualityRule:
    """The column's value converts to ``data_type`` (``"INT"``, ``"DATE"``, ``"DECIMAL(10,2)"``).

    Args:
        column: The column (usually a string in bronze).
        data_type: A Spark SQL type.
        name: The rule's name; ``<column>_castable`` by default.
        action: What happens to failing rows.

    Returns:
        The rule.

    Example:
        >>> from medallion.quality import checks
        >>> checks.castable("amount", "DECIMAL(10,2)").expression
        '`amount` IS NULL OR try_cast(`amount` AS DECIMAL(10,2)) IS NOT NULL'
    """
    col = quote(column)
    return QualityRule(
        _name(name, f"{column}_castable"),
        f"{col} IS NULL OR try_cast({col} AS {data_type}) IS NOT NULL",
        action=action,
        description=f"{column} must convert to {data_type}",
    )


def max_length(
    column: str,
    length: int,
    *,
    name: str | None = None,
    action: Action | str = Action.QUARANTINE,
) -> QualityRule:
    """The column's text has at most ``length`` characters.

    Args:
        column: The column.
        length: The maximum length.
        name: The rule's name; ``<column>_max_length`` by default.
        action: What happens to failing rows.

    Returns:
        The rule.

    Example:
        >>> from medallion.quality import checks
        >>> checks.max_length("code", 3).expression
        '`code` IS NULL OR length(`code`) <= 3'
    """
    col = quote(column)
    return QualityRule(
        _name(name, f"{column}_max_length"),
        f"{col} IS NULL OR length({col}) <= {int(length)}",
        action=action,
        description=f"{column} must have at most {length} characters",
    )


def unique(
    *columns: str,
    name: str | None = None,
    against_target: bool = False,
    action: Action | str = Action.QUARANTINE,
) -> QualityRule:
    """No two rows of a batch share these columns (nor, optionally, a row of the target).

    Every row of a duplicated key fails, so none of them is chosen arbitrarily.

    Args:
        *columns: The key columns.
        name: The rule's name; ``unique_<columns>`` by default.
        against_target: Also fail rows whose key the target table already holds.
        action: What happens to failing rows.

    Returns:
        The rule.

    Example:
        >>> from medallion.quality import checks
        >>> rule = checks.unique("order_id", "line")
        >>> rule.name, rule.kind
        ('unique_order_id_line', <RuleKind.UNIQUE: 'unique'>)
    """
    return QualityRule(
        _name(name, "unique_" + "_".join(columns)),
        f"unique({', '.join(quote(c) for c in columns)})",
        action=action,
        description=f"({', '.join(columns)}) must be unique",
        kind=RuleKind.UNIQUE,
        columns=columns,
        against_target=against_target,
    )


def exists_in(
    column: str | Iterable[str],
    table: Table,
    reference_column: str | Iterable[str] | None = None,
    *,
    name: str | None = None,
    action: Action | str = Action.QUARANTINE,
) -> QualityRule:
    """The value exists in another table (referential integrity); nulls pass.

    Args:
        column: The column(s) holding the reference.
        table: The referenced table.
        reference_column: Its column(s); the same names by default.
        name: The rule's name; ``<column>_exists_in_<table>`` by default.
        action: What happens to failing rows.

    Returns:
        The rule.

    Example:
        >>> from medallion.quality import checks
        >>> from medallion import Table
        >>> customers = Table("customers", "silver", primary_keys="id")
        >>> rule = checks.exists_in("customer_id", customers, "id")
        >>> rule.name, rule.reference_columns
        ('customer_id_exists_in_customers', ('id',))
    """
    cols = (column,) if isinstance(column, str) else tuple(column)
    refs = (
        cols
        if reference_column is None
        else ((reference_column,) if isinstance(reference_column, str) else tuple(reference_column))
    )
    return QualityRule(
        _name(name, f"{'_'.join(cols)}_exists_in_{table.name}"),
        f"exists_in({', '.join(quote(c) for c in cols)})",
        action=action,
        description=f"({', '.join(cols)}) must exist in {table.qualified_name}",
        kind=RuleKind.REFERENCE,
        columns=cols,
        reference=table,
        reference_columns=refs,
    )


def row_count(
    minimum: int | None = None,
    maximum: int | None = None,
    *,
    name: str = "row_count",
    action: Action | str = Action.FAIL,
) -> QualityRule:
    """The batch has between ``minimum`` and ``maximum`` rows (a dataset rule).

    Args:
        minimum: The fewest rows allowed.
        maximum: The most rows allowed.
        name: The rule's name.
        action: ``fail`` (the default) or ``warn``.

    Returns:
        The rule.

    Example:
        >>> from medallion.quality import checks
        >>> checks.row_count(minimum=1).expression
        'count(1) >= 1'
    """
    parts = []
    if minimum is not None:
        parts.append(f"count(1) >= {int(minimum)}")
    if maximum is not None:
        parts.append(f"count(1) <= {int(maximum)}")
    if not parts:
        raise RuleDefinitionError(f"rule {name!r}: give a minimum or maximum row count")
    return QualityRule(
        name,
        " AND ".join(parts),
        action=action,
        description=f"row count must be within [{minimum}, {maximum}]",
        kind=RuleKind.DATASET,
    )


def freshness(
    column: str,
    max_age: dt.timedelta,
    *,
    name: str | None = None,
    action: Action | str = Action.FAIL,
) -> QualityRule:
    """The newest value of a timestamp column is at most ``max_age`` old (a dataset rule).

    Args:
        column: A timestamp column (event time).
        max_age: How old the newest event may be.
        name: The rule's name; ``<column>_freshness`` by default.
        action: ``fail`` (the default) or ``warn``.

    Returns:
        The rule.

    Example:
        >>> from medallion.quality import checks
        >>> import datetime as dt
        >>> checks.freshness("event_time", dt.timedelta(hours=6)).description
        'the newest event_time must be at most 6:00:00 old'
    """
    seconds = int(max_age.total_seconds())
    return QualityRule(
        _name(name, f"{column}_freshness"),
        f"max({quote(column)}) >= current_timestamp() - make_interval(0, 0, 0, 0, 0, 0, "
        f"{seconds})",
        action=action,
        description=f"the newest {column} must be at most {max_age} old",
        kind=RuleKind.DATASET,
    )


def null_share(
    column: str,
    max_share: float,
    *,
    name: str | None = None,
    action: Action | str = Action.FAIL,
) -> QualityRule:
    """At most ``max_share`` (0 to 1) of the batch's rows have a null ``column``.

    Args:
        column: The column.
        max_share: The largest share of nulls allowed.
        name: The rule's name; ``<column>_null_share`` by default.
        action: ``fail`` (the default) or ``warn``.

    Returns:
        The rule.

    Example:
        >>> from medallion.quality import checks
        >>> checks.null_share("email", 0.1).description
        'at most 10% of email may be null'
    """
    if not 0 <= max_share <= 1:
        raise RuleDefinitionError(f"rule {name or column + '_null_share'!r}: share must be 0 to 1")
    return QualityRule(
        _name(name, f"{column}_null_share"),
        f"coalesce(avg(CASE WHEN {quote(column)} IS NULL THEN 1.0 ELSE 0.0 END), 0) "
        f"<= {max_share!r}",
        action=action,
        description=f"at most {max_share:.0%} of {column} may be null",
        kind=RuleKind.DATASET,
    )
