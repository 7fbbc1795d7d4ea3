"""The syntax check of a quality rule's expression (sqlglot's Spark dialect, no JVM).

Every expression medallion builds (``checks``, the Great Expectations translations), the example
project and the docs write must be accepted; malformed ones are refused with a reason in plain
words. The accepted and refused cases were compared with Spark 4.1's own parser; what sqlglot
reads that Spark does not (other dialects' syntax) is left to Spark's own check.
"""

from __future__ import annotations

import ast
import datetime as dt
import decimal
import re
from typing import Any

import attrs
import pytest

from medallion import Table
from medallion.errors import RuleDefinitionError
from medallion.quality import Action, QualityRule, RuleKind, checks
from medallion.quality.gx import rules_from_suite
from tests.docblocks import ROOT, pages, python_blocks

SUBQUERY = "a subquery (SELECT or VALUES) is not allowed: a rule checks the given rows"


def rule_error(expression: str, name: str = "my_rule") -> str:
    with pytest.raises(RuleDefinitionError) as info:
        QualityRule(name, expression)
    return str(info.value)


# --- Accepted: what medallion builds -----------------------------------------------------------


def built_rules() -> list[QualityRule]:
    """One rule from every constructor of ``checks``, with awkward names and values."""
    customers = Table("customers", "silver", primary_keys="id")
    return [
        checks.condition("paid_has_date", "status <> 'paid' OR paid_at IS NOT NULL"),
        checks.not_null("id"),
        checks.not_null("order id", name="spaced"),
        checks.not_null("we`ird", name="backtick"),
        checks.in_range("qty", 1, 100),
        checks.in_range("amount", minimum=decimal.Decimal("0.01")),
        checks.in_range("amount", maximum=-2.5),
        checks.in_range("ratio", 1e-05, 1e20),
        checks.in_range("day", dt.date(2026, 1, 2), dt.date(2026, 12, 31)),
        checks.in_range("ts", minimum=dt.datetime(2026, 1, 2, 3, 4, 5, 6)),
        checks.in_range("name", "a", "m"),
        checks.in_set("status", ["paid", "sent"]),
        checks.in_set("note", ["it's", "back\\slash", 'double "quoted"', ""]),
        checks.in_set("code", [1, 2.5, decimal.Decimal("3.10"), True]),
        checks.matches("email", r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$"),
        checks.matches("code", r"^\d{3}'s$"),
        checks.castable("amount", "DECIMAL(10,2)"),
        checks.castable("day", "DATE"),
        checks.castable("tags", "ARRAY<INT>"),
        checks.max_length("code", 3),
        checks.unique("order_id", "line"),
        checks.exists_in("customer_id", customers, "id"),
        checks.row_count(minimum=1),
        checks.row_count(maximum=10),
        checks.row_count(1, 10),
        checks.freshness("event_time", dt.timedelta(hours=6)),
        checks.freshness("event`time", dt.timedelta(days=2, seconds=5), name="fresh"),
        checks.null_share("email", 0.1),
        checks.null_share("email", 0),
        checks.null_share("email", 1e-07),
        QualityRule("non_empty", "count(*) > 0", kind=RuleKind.DATASET, action="fail"),
        QualityRule("few_refunds", "count_if(amount < 0) <= 0.01 * count(*)", kind="dataset"),
    ]


def test_accepts_every_rule_the_checks_build() -> None:
    rules = built_rules()
    assert len(rules) == 32
    assert rules[-2].expression == "count(*) > 0"
    # What they look like: the awkward parts the parser must accept.
    expressions = {rule.expression for rule in rules}
    assert "`we``ird` IS NOT NULL" in expressions
    assert (
        r"`note` IS NULL OR `note` IN ('it\'s', 'back\\slash', 'double " + '"quoted"' + "', '')"
        in (expressions)
    )
    assert "`ratio` IS NULL OR `ratio` BETWEEN 1e-05 AND 1e+20" in expressions
    assert "`ts` IS NULL OR `ts` >= TIMESTAMP'2026-01-02 03:04:05.000006'" in expressions
    assert "count(1) >= 1 AND count(1) <= 10" in expressions


def expectation(kind: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs}


#: Every translation of ``medallion.quality.gx`` (``_row_rule``, ``_row_count``, ``_mostly_rule``).
SUITE = {
    "name": "everything",
    "expectations": [
        expectation("expect_column_values_to_not_be_null", column="id", mostly=0.9),
        expectation("expect_column_values_to_be_between", column="qty", min_value=0),
        expectation(
            "expect_column_values_to_be_between",
            column="qty",
            min_value=0,
            max_value=10,
            strict_min=True,
            mostly=0.95,
        ),
        expectation(
            "expect_column_values_to_be_between",
            column="day",
            min_value="2026-01-01",
            max_value="2026-12-31",
            strict_max=True,
        ),
        expectation(
            "expect_column_values_to_be_in_set", column="status", value_set=["paid", "it's"]
        ),
        expectation("expect_column_values_to_be_in_set", column="status", value_set=[]),
        expectation(
            "expect_column_values_to_not_be_in_set", column="code", value_set=[1, 2.5], mostly=0.5
        ),
        expectation("expect_column_values_to_not_be_in_set", column="code", value_set=[]),
        expectation(
            "expect_column_values_to_match_regex", column="email", regex=r"^\S+@\S+$", mostly=1e-05
        ),
        expectation("expect_column_values_to_not_match_regex", column="email", regex="^TEST"),
        expectation("expect_column_value_lengths_to_be_between", column="code", max_value=5),
        expectation(
            "expect_column_value_lengths_to_be_between",
            column="code",
            min_value=1,
            max_value=5,
            strict_min=True,
            strict_max=True,
            mostly=0.8,
        ),
        expectation("expect_column_value_lengths_to_equal", column="code", value=3),
        expectation("expect_column_values_to_be_unique", column="order`id"),
        expectation(
            "expect_compound_columns_to_be_unique",
            column_list=["order_id", "line"],
            ignore_row_if="never",
        ),
        expectation("expect_compound_columns_to_be_unique", column_list=["order_id", "line"]),
        expectation(
            "expect_compound_columns_to_be_unique",
            column_list=["a", "b"],
            ignore_row_if="any_value_is_missing",
        ),
        expectation("expect_table_row_count_to_be_between", min_value=1, max_value=100),
        expectation(
            "expect_table_row_count_to_be_between", min_value=0, strict_min=True, strict_max=False
        ),
        expectation("expect_table_row_count_to_equal", value=7),
    ],
}


def test_accepts_every_rule_the_great_expectations_translations_build() -> None:
    # A translation whose expression were refused would run through GX instead; "raise" makes
    # that an error here.
    rules = rules_from_suite(SUITE, untranslated="raise")
    assert len(rules) == len(SUITE["expectations"]) + 5  # five with mostly < 1
    mostly = [rule for rule in rules if rule.name.endswith("_mostly")]
    assert len(mostly) == 5
    assert all(rule.kind is RuleKind.DATASET for rule in mostly)
    assert any(" >= 1e-05D, TRUE)" in rule.expression for rule in mostly)
    assert any("OVER (PARTITION BY `order``id`)" in rule.expression for rule in rules)


def test_accepts_the_rules_of_the_example_project() -> None:
    from examples.ecommerce import tables

    rules = [rule for table in tables.ALL_TABLES for rule in table.rules]
    assert len(rules) >= 20
    assert sum(rule.kind is RuleKind.ROW for rule in rules) >= 20
    for rule in rules:  # checked once more, on their own
        assert attrs.evolve(rule) == rule


def documented_expressions() -> list[tuple[str, str]]:
    """``(where, expression)`` of every ``QualityRule(...)`` and ``checks.condition(...)`` that
    the docs and the README write."""
    found = []
    for page in pages():
        for line, _, code in python_blocks(page):
            for node in ast.walk(ast.parse(code)):
                if not isinstance(node, ast.Call) or len(node.args) < 2:
                    continue
                function = node.func
                called = function.attr if isinstance(function, ast.Attribute) else None
                called = function.id if isinstance(function, ast.Name) else called
                expression = node.args[1]
                if called in ("QualityRule", "condition") and isinstance(expression, ast.Constant):
                    where = f"{page.relative_to(ROOT)}:{line + node.lineno - 1}"
                    found.append((where, str(expression.value)))
    return found


def test_accepts_the_rules_of_the_docs_and_shows_their_errors_as_they_are() -> None:
    documented = documented_expressions()
    assert len(documented) >= 5
    refused = {expression for _, expression in documented if expression == "qty >"}
    for where, expression in documented:
        if expression not in refused:
            assert QualityRule("documented", expression).expression == expression, where
    # The concepts page shows the error of its malformed example in a comment.
    concepts = (ROOT / "docs" / "concepts.md").read_text(encoding="utf-8")
    shown = re.search(r"print\(exc\)  # (rule 'bad': .*)", concepts)
    assert shown is not None
    assert rule_error("qty >", name="bad") == shown.group(1)


#: Spark SQL the check must accept (Spark 4.1's parser accepts each of them).
VALID_EXPRESSIONS = [
    "quantity > 0",
    "quantity>0",
    "amount >= 0.5",
    "a <> b",
    "a != b",
    "a == b",
    "a <=> b",
    "status IN ('paid', 'sent')",
    "status NOT IN ('void')",
    "a BETWEEN 1 AND 10",
    "a NOT BETWEEN 1 AND 10",
    "email LIKE '%@%'",
    "email NOT LIKE '%@test%'",
    "s LIKE 'a/%' ESCAPE '/'",
    "s LIKE ANY ('a%', 'b%')",
    "code RLIKE '^[A-Z]{3}$'",
    "code REGEXP '^x'",
    "code NOT RLIKE '^x'",
    "name ILIKE 'bob%'",
    "id IS NOT NULL",
    "flag IS TRUE",
    "flag IS NOT UNKNOWN",
    "discount IS NULL OR discount >= 0",
    "a IS DISTINCT FROM b",
    "a IS NOT DISTINCT FROM b",
    "NOT is_deleted",
    "!is_deleted",
    "NOT NOT a",
    "NOT (a > 1 AND b < 2)",
    "a = 1 OR (b = 2 AND (c <> 3 OR d = 4))",
    "-amount < 0",
    "a > -1",
    "+a > 0",
    "~a > 0",
    "a & b | c ^ d = 0",
    "a >> 2 > 0",
    "a << 2 > 0",
    "length(trim(name)) > 0",
    "coalesce(a, b, 0) >= 0",
    "if(a > 0, b, c)",
    "nvl(a, b) > 0",
    "to_date(ts) <= current_date()",
    "ts <= current_timestamp",
    "size(tags) > 0 AND tags[0] != ''",
    "address.zip IS NOT NULL",
    "a.b[0].c = 1",
    "attrs['color'] = 'red'",
    "map('a', 1)['a'] = 1",
    "struct(a, b).a > 1",
    "struct(a AS b).b = 1",
    "named_struct('a', 1).a = 1",
    "exists(items, x -> x.qty > 0)",
    "size(transform(arr, (x, i) -> x + i)) > 0",
    "aggregate(arr, 0, (acc, x) -> acc + x) > 0",
    "f(a => 1)",
    "a % 2 = 0",
    "a DIV 2 = 1",
    "mod(a, 2) = 0",
    "rlike(email, '@')",
    "first || ' ' || last <> ' '",
    "price * quantity = total",
    "1.5e3 > amount",
    "a > .5",
    "a > 1Y AND b > 1S AND c > 1L AND d > 1BD AND e > 1.0F AND f > 1.5D",
    "`order id` IS NOT NULL",
    "`weird``name` > 0",
    "`a`.`b c` > 0",
    "note = 'it''s fine'",
    "note = 'with \\'escaped\\' quotes'",
    'label = "double quoted"',
    "b = X'0A'",
    "CASE WHEN kind = 'a' THEN x > 0 ELSE true END",
    "CASE kind WHEN 1 THEN true ELSE false END",
    "x::int > 1",
    "a::decimal(10,2) > 0",
    "CAST(a AS ARRAY<INT>) IS NOT NULL",
    "CAST(a AS STRUCT<x: INT, y: STRING>) IS NOT NULL",
    "try_cast(a AS INT) IS NOT NULL",
    "v:a.b[0] IS NOT NULL",  # a VARIANT path
    "v:price::double > 0",
    "a > 1\nAND b < 2\n",
    "  padded = 1  ",
    "a > 1 -- a comment",
    "/* a comment */ a > 1",
    "ts >= TIMESTAMP '2020-01-01 00:00:00'",
    "d >= DATE'2020-01-01'",
    "ts > now() - INTERVAL 1 HOUR 30 MINUTES",
    "d < current_date() - INTERVAL '1' DAY",
    "INTERVAL '1-2' YEAR TO MONTH > INTERVAL '0-1' YEAR TO MONTH",
    "EXTRACT(YEAR FROM d) > 2000",
    "position('a' IN b) > 0",
    "trim(BOTH 'x' FROM s) <> ''",
    "count(*) > 0",
    "count(DISTINCT a) > 1",
    "sum(x) FILTER (WHERE y > 0) > 0",
    "percentile_cont(0.5) WITHIN GROUP (ORDER BY x) > 0",
    "row_number() OVER (PARTITION BY a ORDER BY b DESC NULLS LAST) = 1",
    "sum(x) OVER (ORDER BY t ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) > 0",
    "a COLLATE UTF8_LCASE = 'x'",
    # Column names that are SQL words but that Spark and sqlglot read as names.
    "date > '2020-01-01' AND year = 2020 AND key = 1 AND value > 0 AND user = 'x'",
    "is IS NOT NULL",
]


@pytest.mark.parametrize("expression", VALID_EXPRESSIONS)
def test_accepts_spark_sql_expressions(expression: str) -> None:
    rule = QualityRule("ok", expression)
    assert rule.expression == expression


# --- Refused -----------------------------------------------------------------------------------

REFUSED = [
    ("", "it is empty"),
    ("   \n ", "it is empty"),
    ("-- only a comment", "it is empty"),
    # More than one expression, or an alias
    (
        "amount > 0 amount < 5",
        "it is not a single expression: 'amount > 0' is followed by 'amount < 5'",
    ),
    ("amount > 0 AS ok", "it is not a single expression: 'amount > 0' is followed by 'AS ok'"),
    ("a > 1 x", "it is not a single expression: 'a > 1' is followed by 'x'"),
    ("a > 1 FROM t", "it is not a single expression: 'a > 1' is followed by 'FROM t'"),
    (
        "a > 1 UNION SELECT 1",
        "it is not a single expression: 'a > 1' is followed by 'UNION SELECT 1'",
    ),
    ("a @ b", "it is not a single expression: 'a' is followed by '@ b'"),
    ("a > 1; DROP TABLE t", "';' is not allowed: a rule is a single expression"),
    ("a > 1;", "';' is not allowed: a rule is a single expression"),
    ("a > 1, b > 2", "',' outside brackets: a rule is a single expression"),
    ("f(a AS b)", "'a AS b': only struct(...) may name a value with AS"),
    # Subqueries
    ("a IN (SELECT x FROM t)", SUBQUERY),
    ("(SELECT max(b) FROM t) > 0", SUBQUERY),
    ("EXISTS (SELECT 1)", SUBQUERY),
    ("SELECT 1", "unexpected 'SELECT' at the start"),
    # Operators without an operand
    ("qty >", "it ends with the operator '>'"),
    ("qty > 1 AND", "it ends with the operator 'AND'"),
    ("qty > 1 or", "it ends with the operator 'or'"),
    ("a IS NOT", "it ends with the operator 'NOT'"),
    ("a ==", "it ends with the operator '=='"),
    ("1 +", "it ends with the operator '+'"),
    ("AND qty > 1", "it starts with the operator 'AND'"),
    ("OR qty > 1", "it starts with the operator 'OR'"),
    ("= qty", "it starts with the operator '='"),
    ("a = (b >)", "it ends before the expression is complete"),
    ("a > > 1", "the operator '>' follows '>'"),
    ("a = = 1", "the operator '=' follows '='"),
    ("a > AND b", "the operator 'AND' follows '>'"),
    ("a AND AND b", "the operator 'AND' follows 'AND'"),
    ("a AND > 1", "the operator '>' follows 'AND'"),
    ("a = (> b)", "the operator '>' follows '('"),
    ("a >>> 2 > 0", "the operator '>>>' cannot be checked here: use shiftrightunsigned"),
    # Brackets, quotes, comments
    ("(a > 1", "a '(' is never closed"),
    ("((a > 1) AND b", "a '(' is never closed"),
    ("CAST(a AS INT", "a '(' is never closed"),
    ("tags[0 = 1", "a '[' is never closed"),
    ("a > 1)", "')' has no matching opening bracket"),
    ("a ] = 1", "']' has no matching opening bracket"),
    ("(a > 1]", "'(' is closed by ']'"),
    ("tags[0) = 1", "'[' is closed by ')'"),
    ("status = 'paid", "a quote (') is never closed"),
    ('status = "paid', 'a quote (") is never closed'),
    ("`order id > 0", "a quote (`) is never closed"),
    ("a > 1 /* note", "a comment (/*) is never closed"),
    # Lists
    ("f(a,)", "a value is missing between ',' and ')'"),
    ("a IN (1,,2)", "a value is missing between ',' and ','"),
    ("f(,a)", "a value is missing between '(' and ','"),
    ("a IN ()", "IN needs a list of at least one value in brackets"),
    ("a IN", "IN needs a list of at least one value in brackets"),
    ("()", "'()' holds no value"),
    # Incomplete constructs
    ("CASE WHEN a THEN b", "it ends before the expression is complete (CASE needs END)"),
    (
        "a BETWEEN 1",
        "it ends before the expression is complete (BETWEEN needs AND and an upper bound)",
    ),
    ("cast(a AS)", "it ends before the expression is complete (CAST needs a type)"),
    ("f(a b)", "unexpected 'b' after 'f(a' (expected ')')"),
    # Column names that sqlglot reads as keywords only (Spark reads them as names)
    ("case > 1", "'case' is an SQL keyword: write `case` (in backticks) for a column"),
    ("a = 1 AND from = 2", "'from' is an SQL keyword: write `from` (in backticks) for a column"),
    ("if > 1", "'if' is an SQL keyword: write `if` (in backticks) for a column"),
]

#: Syntax of other SQL dialects that sqlglot's Spark dialect reads, so the check without a JVM
#: lets it through; Spark's parser refuses it (tests/spark/test_quality.py checks that).
LEFT_TO_SPARK = [
    "INTERVAL 1 > x",
    "a = $1",
    "a = {b}",
    "a ->> 'x'",
    "a NOT NULL",
    "a = NOT b",
    "a IS JSON",
    "[1, 2][0] = a",
    "a > 1.2.3",
]


def test_other_dialects_syntax_is_left_to_spark() -> None:
    for expression in LEFT_TO_SPARK:
        assert QualityRule("lenient", expression).expression == expression


@pytest.mark.parametrize(("expression", "reason"), REFUSED, ids=[e or "empty" for e, _ in REFUSED])
def test_refuses_malformed_expressions_saying_why(expression: str, reason: str) -> None:
    assert rule_error(expression) == (
        f"rule 'my_rule': malformed expression {expression!r}: {reason}"
    )


@pytest.mark.parametrize(
    "expression",
    [expression for expression, _ in REFUSED]
    + ["a > 1 " * 40 + "b", "x = (" * 30 + "1" + ")" * 29, "CASE " * 50],
)
def test_the_reason_is_one_short_plain_line(expression: str) -> None:
    reason = rule_error(expression).removeprefix(
        f"rule 'my_rule': malformed expression {expression!r}: "
    )
    assert "\n" not in reason and "\x1b" not in reason  # no sqlglot dump with ANSI codes
    assert "sqlglot" not in reason and "Token" not in reason
    assert len(reason) <= 120, reason


def test_refuses_a_non_string_expression() -> None:
    with pytest.raises(RuleDefinitionError) as info:
        QualityRule("typed", 42)  # type: ignore[arg-type]
    assert str(info.value) == "rule 'typed': the expression must be a SQL string, not int"


def test_a_dataset_rule_is_checked_like_a_row_rule() -> None:
    assert rule_error("count(*) >", name="few") == (
        "rule 'few': malformed expression 'count(*) >': it ends with the operator '>'"
    )
    rule = QualityRule("some", "count(*) > 0", kind="dataset", action=Action.WARN)
    assert rule.kind is RuleKind.DATASET
