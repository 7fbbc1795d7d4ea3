"""Checking that a text is one Spark SQL expression, without a JVM (sqlglot's Spark dialect).

sqlglot reads the text as one standalone condition; whatever follows a complete expression (an
alias, a second expression) is left over, and refused. Before that, the tokens are checked for
what no parse can mend: a ``;``, unbalanced brackets, an operator without an operand, an empty
list item. It is a syntax check only, and sqlglot also reads some syntax of other SQL dialects
that Spark does not (``a NOT NULL``, ``$1``): Spark's own parser and analyzer remain the judge
(:meth:`medallion.QualityRule.check`, a dry run with a session, every run).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from medallion._names import quote

if TYPE_CHECKING:
    from sqlglot import Dialect, Expr, Token, TokenType

__all__ = ["expression_problem", "parse_condition"]

# Operators that need an operand on both sides (sqlglot token types). A word operator at the
# start may be a column's name (``is IS NOT NULL``); only AND and OR are refused there.
_BINARY = "AND OR EQ NEQ NULLSAFE_EQ GT GTE LT LTE AMP PIPE CARET DPIPE SLASH MOD DIV IS LIKE RLIKE"
_PAIRS = {"(": ")", "[": "]"}


@functools.cache
def _dialect(name: str) -> Dialect:
    from sqlglot import Dialect

    return Dialect.get_or_raise(name)


@functools.cache
def _binary() -> frozenset[TokenType]:
    from sqlglot import TokenType

    return frozenset(TokenType[name] for name in _BINARY.split())


def expression_problem(expression: str) -> str | None:
    """What makes ``expression`` other than one SQL expression, in plain words.

    Args:
        expression: The SQL text.

    Returns:
        The problem, or ``None`` when it reads as one expression.

    Example:
        >>> expression_problem("amount > 0 AND status IN ('paid', 'sent')") is None
        True
        >>> expression_problem("amount > 0 amount < 5")
        "it is not a single expression: 'amount > 0' is followed by 'amount < 5'"
    """
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    text = expression.strip()
    if text.count("/*") > text.count("*/"):
        return "a comment (/*) is never closed"
    try:
        tokens = _dialect("spark").tokenize(text)
    except TokenError as exc:
        cause = str(exc.__cause__ or "")  # "Missing ' from 1:9"
        if cause.startswith("Missing ") and " from " in cause:
            return f"a quote ({cause.split()[1]}) is never closed"
        return "it cannot be read as SQL"
    if not tokens:
        return "it is empty"
    problem = _token_problem(tokens)
    if problem is not None:
        return problem
    try:
        tree = _parse(text, tokens)
    except ParseError as error:
        return _keyword_problem(text, tokens) or _explain(text, tokens, error)
    except RecursionError:
        return "its brackets are nested too deeply"
    for node in tree.walk():
        if isinstance(node, (exp.Query, exp.Subquery, exp.Values)):
            return "a subquery (SELECT or VALUES) is not allowed: a rule checks the given rows"
        if isinstance(node, exp.Alias):
            return f"{node.sql(dialect='spark')!r}: only struct(...) may name a value with AS"
        if isinstance(node, exp.Command):
            return _keyword_problem(text, tokens[:1], names=True) or "it is not an expression"
        if isinstance(node, exp.In) and not (
            node.expressions or node.args.get("query") or node.args.get("field")
        ):
            return "IN needs a list of at least one value in brackets"
        if isinstance(node, exp.Tuple) and not node.expressions:
            return "'()' holds no value"
    return None


def parse_condition(expression: str) -> Expr:
    """The sqlglot tree of an expression that :func:`expression_problem` accepts.

    Args:
        expression: The SQL text.

    Returns:
        Its tree (sqlglot's ``Expr``).

    Example:
        >>> from sqlglot import exp
        >>> [c.name for c in parse_condition("op = 'D' AND seq > 1").find_all(exp.Column)]
        ['op', 'seq']
    """
    text = expression.strip()
    return _parse(text, _dialect("spark").tokenize(text))


def _token_problem(tokens: list[Token]) -> str | None:
    """What no parse can mend: a ``;``, brackets, an operator without an operand, a gap."""
    from sqlglot import TokenType

    binary = _binary()
    opened: list[str] = []
    for index, token in enumerate(tokens):
        kind, text = token.token_type, token.text
        previous = tokens[index - 1] if index else None
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if kind is TokenType.SEMICOLON:
            return "';' is not allowed: a rule is a single expression"
        if text in _PAIRS:
            opened.append(text)
        elif text in _PAIRS.values():
            if not opened:
                return f"{text!r} has no matching opening bracket"
            opening = opened.pop()
            if _PAIRS[opening] != text:
                return f"{opening!r} is closed by {text!r}"
        elif text == "," and not opened:
            return "',' outside brackets: a rule is a single expression"
        operator = kind in binary and not (following is not None and following.text == "(")
        if previous is None:
            if kind in (TokenType.AND, TokenType.OR) or (operator and not text.isidentifier()):
                return f"it starts with the operator {text!r}"
            continue
        if (
            text in (",", ")", "]")
            and previous.text in ("(", ",", "[")
            and (text, previous.text) != (")", "(")
        ):
            return f"a value is missing between {previous.text!r} and {text!r}"
        if operator and kind is not TokenType.IS and previous.text in ("(", "[", ","):
            return f"the operator {text!r} follows {previous.text!r}"
        if operator and kind is not TokenType.IS and previous.token_type in binary:
            if text in "<>" and previous.text == text and token.start == previous.end + 1:
                # '>>' and '<<' are shifts; '>>>' is Spark's unsigned shift, unknown to sqlglot.
                if index >= 2 and tokens[index - 2].text == text == ">":
                    return "the operator '>>>' cannot be checked here: use shiftrightunsigned"
                continue
            return f"the operator {text!r} follows {previous.text!r}"
    if opened:
        return f"a {opened[-1]!r} is never closed"
    if tokens[-1].token_type in _binary() | {TokenType.NOT, TokenType.DASH, TokenType.PLUS}:
        return f"it ends with the operator {tokens[-1].text!r}"
    return None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence sqlglot's logger (it warns when it falls back to reading a command)."""
    logger = logging.getLogger("sqlglot")
    disabled, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = disabled


def _parse(text: str, tokens: list[Token]) -> Expr:
    """The tree of ``text`` read as one condition; raises sqlglot's ``ParseError``."""
    from sqlglot import TokenType, exp
    from sqlglot.errors import ParseError

    with _quiet():
        try:
            parsed = _dialect("spark").parser().parse_into(exp.Condition, tokens, text)
        except ParseError:
            # Spark 4 reads ``column:path`` as a path into a VARIANT value; sqlglot reads it
            # only in its Databricks dialect (Spark's, with a few additions).
            if not any(token.token_type is TokenType.COLON for token in tokens):
                raise
            parsed = _dialect("databricks").parser().parse_into(exp.Condition, tokens, text)
    if not parsed or parsed[0] is None:
        raise ParseError("nothing to parse")
    return parsed[0]


def _keyword_problem(text: str, tokens: list[Token], *, names: bool = False) -> str | None:
    """A column named like an SQL keyword (``case``, ``from``) that is not in backticks.

    With ``names``, words that sqlglot reads as names are tried too (a leading ``if``).
    """
    from sqlglot import TokenType

    for token in tokens[:50]:
        word = text[token.start : token.end + 1]
        plain = token.token_type in (TokenType.VAR, TokenType.IDENTIFIER)
        if (plain and not names) or not word.isidentifier():
            continue
        quoted = f"{text[: token.start]}{quote(word)}{text[token.end + 1 :]}"
        if _parses(quoted):
            return f"{word!r} is an SQL keyword: write `{word}` (in backticks) for a column"
    return None


def _parses(text: str) -> bool:
    """Whether ``text`` reads as one expression, without explaining why not."""
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    try:
        tokens = _dialect("spark").tokenize(text)
        tree = _parse(text, tokens) if tokens and _token_problem(tokens) is None else None
    except (ParseError, TokenError, RecursionError):
        return False
    return tree is not None and not any(isinstance(n, exp.Command) for n in tree.walk())


def _explain(text: str, tokens: list[Token], error: Exception) -> str:
    """Why sqlglot refused ``text``, in plain words."""
    details = getattr(error, "errors", None) or [{}]
    description = str(details[0].get("description") or "")
    # sqlglot places an error at the line and (last) column of the token it stopped at.
    position = (details[0].get("line"), details[0].get("col"))
    at = next((token for token in tokens if (token.line, token.col) == position), None)
    if at is None or (at is tokens[-1] and not description.startswith("Invalid expression")):
        return "it ends before the expression is complete" + _hint(description)
    head, rest = text[: at.start].strip(), text[at.start :].strip()
    if head and _parses(head):
        return f"it is not a single expression: {_short(head)} is followed by {_short(rest)}"
    found = text[at.start : at.end + 1]
    where = f"after {_short(head)}" if head else "at the start"
    return f"unexpected {found!r} {where}{_hint(description)}"


def _hint(description: str) -> str:
    """What sqlglot's error description says was expected, in plain words (or nothing)."""
    if "'high' missing" in description:
        return " (BETWEEN needs AND and an upper bound)"
    if description.startswith("Expected ") and " after " in description:
        wanted, construct = description.removeprefix("Expected ").split(" after ", 1)
        return f" ({construct} needs {'a type' if wanted == 'TYPE' else wanted})"
    wanted = description.split(" ", 1)[-1]
    if description.startswith(("Expecting ", "Expected ")) and len(wanted) <= 3:
        return f" (expected {wanted!r})"
    return ""


def _short(text: str, limit: int = 40) -> str:
    """``text`` on one line, cut to its last ``limit`` characters, in quotes."""
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else "..." + text[-(limit - 3) :])
