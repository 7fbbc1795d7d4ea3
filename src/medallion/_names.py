"""Names in Spark SQL text: identifiers, dotted names, Delta tables by path, string literals.

Every identifier medallion puts in SQL text or in ``F.col`` goes through :func:`quote`, so a
column named ``order id``, ``a.b`` or ``we`ird`` is one name, never a nested field, a syntax
error or an injection. A table addressed by its path goes through :func:`delta_table`.

Example:
    >>> quote("order id"), quote("a.b"), quote("we`ird")
    ('`order id`', '`a.b`', '`we``ird`')
    >>> delta_table("/lake/silver/orders")
    'delta.`/lake/silver/orders`'
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["delta_table", "quote", "quote_path", "string_literal"]


def quote(name: str) -> str:
    """One identifier (a column, table or schema name) as Spark SQL reads it.

    The name goes in backticks, and each backtick in it is doubled: whatever it contains
    (spaces, dots, keywords, backticks) it stays one name.

    Args:
        name: The identifier, as stored (not quoted).

    Returns:
        The quoted identifier, for SQL text and for ``F.col``.

    Example:
        >>> quote("amount")
        '`amount`'
        >>> quote("order id.v2")
        '`order id.v2`'
        >>> quote("we`ird")
        '`we``ird`'
    """
    return "`" + name.replace("`", "``") + "`"


def quote_path(parts: Iterable[str]) -> str:
    """A multi-part name (``schema.table``, ``alias.column``, ``struct.field``), each part quoted.

    Args:
        parts: The parts, outermost first, each as stored (not quoted).

    Returns:
        The quoted parts joined by dots.

    Example:
        >>> quote_path(["shop", "silver_orders"])
        '`shop`.`silver_orders`'
        >>> quote_path(["s", "order id"])
        '`s`.`order id`'
        >>> quote_path("shop.orders".split("."))
        '`shop`.`orders`'
    """
    return ".".join(quote(part) for part in parts)


def delta_table(location: str) -> str:
    """The Delta table at ``location`` as a SQL table reference: ``delta.`<location>```.

    Args:
        location: The table's path or URI.

    Returns:
        The reference, its backticks doubled.

    Example:
        >>> delta_table("/lake/silver/orders")
        'delta.`/lake/silver/orders`'
        >>> delta_table("/data/my `lake`/gold/sales")
        'delta.`/data/my ``lake``/gold/sales`'
    """
    return "delta." + quote(location)


def string_literal(text: str) -> str:
    r"""A string as a Spark SQL string literal (a location, a property key or value).

    Backslashes and single quotes are escaped, so the literal reads back as ``text`` whatever
    it contains.

    Args:
        text: The string.

    Returns:
        The literal, in single quotes.

    Example:
        >>> string_literal("paid")
        "'paid'"
        >>> print(string_literal("it's C:\\lake"))
        'it\'s C:\\lake'
    """
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

