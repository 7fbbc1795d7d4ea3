"""Names in Spark SQL text, and lakehouse roots Spark can address.

Every identifier medallion puts in SQL text or in ``F.col`` goes through :func:`quote`, so a
column named ``order id``, ``a.b`` or ``we`ird`` is one name, never a nested field, a syntax
error or an injection. A table addressed by its path goes through :func:`delta_table`, and a
lakehouse root through :func:`check_root` before any location is derived from it.

Example:
    >>> quote("order id"), quote("a.b"), quote("we`ird")
    ('`order id`', '`a.b`', '`we``ird`')
    >>> delta_table("/lake/silver/orders")
    'delta.`/lake/silver/orders`'
"""

from __future__ import annotations

import codecs
import locale
import re
from collections.abc import Iterable
from typing import NoReturn

from medallion.errors import UnaddressableRootError

__all__ = [
    "check_root",
    "delta_table",
    "jvm_path_encoding",
    "quote",
    "quote_path",
    "string_literal",
]

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


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


def jvm_path_encoding() -> str:
    """The encoding a JVM started from this process gives file names (``sun.jnu.encoding``).

    The JVM takes it from the C locale (``LC_ALL``, else ``LC_CTYPE``, else ``LANG``), as this
    process did when it started: ``ANSI_X3.4-1968`` (ASCII) under the ``C`` or ``POSIX`` locale
    or a locale that is not installed, ``UTF-8`` under ``C.UTF-8``. Python replaces a plain
    ``C`` locale from ``LANG`` by ``C.UTF-8`` and exports it, so its JVMs get UTF-8 too.

    Returns:
        The codeset's name; ``"UTF-8"`` where there is no C locale (Windows).

    Example:
        >>> codecs.lookup(jvm_path_encoding()).name in {"utf-8", "ascii", "iso8859-1"}
        True
    """
    try:
        return locale.nl_langinfo(locale.CODESET) or "UTF-8"
    except AttributeError:  # Windows: the JVM names files in UTF-16
        return "UTF-8"


def check_root(root: str, *, encoding: str | None = None) -> str:
    r"""Refuse a lakehouse root that Spark cannot address; return it as it is otherwise.

    Measured on Spark 4.1 with Delta 4.4 (``tests/spark/test_names.py``), a local root may hold
    spaces, ``:``, ``%``, ``#``, quotes, a backtick and the glob characters ``{}[]*?``: Delta
    reads and writes such paths as they are, and medallion quotes them where they go into SQL.
    Spark cannot address:

    * NUL, which no file name holds;
    * a lone surrogate (``"\udcff"``, how Python spells file-name bytes that are not UTF-8):
      Py4J cannot send it to the JVM;
    * in a local path, a character the JVM's file-name encoding (:func:`jvm_path_encoding`)
      cannot encode: under the ``C`` locale, anything but ASCII. Spark fails on it
      ("Malformed input or input contains unmappable characters"), or writes to a folder with
      ``?`` in its place.

    A URI other than ``file:`` (``s3a://``, ``abfss://``) is checked for the first two only: its
    file system encodes the path itself.

    Args:
        root: The lakehouse root, a local path or a Hadoop URI.
        encoding: The JVM's file-name encoding; defaults to :func:`jvm_path_encoding`.

    Returns:
        ``root``, unchanged.

    Raises:
        UnaddressableRootError: Naming the root and the character.

    Example:
        >>> check_root("/data/my lake [v2]")
        '/data/my lake [v2]'
        >>> check_root("/data/l\u00e9ger", encoding="UTF-8")
        '/data/léger'
        >>> check_root("/data/l\u00e9ger", encoding="ANSI_X3.4-1968")  # the C locale
        Traceback (most recent call last):
        ...
        medallion.errors.UnaddressableRootError: lakehouse root '/data/léger': Spark cannot ...
    """
    for character in root:
        if character == "\0":
            _refuse(root, character, "no file name can hold it")
        if "\ud800" <= character <= "\udfff":
            _refuse(root, character, "Py4J cannot send a lone surrogate (bytes not in UTF-8)")
    local = not _URI.match(root) or root.startswith("file:")
    if not local or root.isascii():
        return root
    codeset = encoding or jvm_path_encoding()
    try:
        codec = codecs.lookup(codeset).name
    except LookupError:
        return root
    for character in root:
        try:
            character.encode(codec)
        except UnicodeEncodeError:
            _refuse(
                root,
                character,
                f"the JVM names files in {codeset}, set by the locale (LC_ALL, LC_CTYPE, LANG); "
                "choose a root without it, or run with a UTF-8 locale (LANG=C.UTF-8)",
            )
    return root


def _refuse(root: str, character: str, why: str) -> NoReturn:
    raise UnaddressableRootError(
        f"lakehouse root {root!r}: Spark cannot address the character {character!r} "
        f"(U+{ord(character):04X}): {why}",
        root,
        character,
    )
