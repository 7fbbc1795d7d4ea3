"""Unit tests of medallion._names: quoting read back by a Spark SQL parser.

The quoted text is parsed with sqlglot's Spark dialect (no JVM): whatever a name holds, the
parser must read back exactly that one name.
"""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from medallion._names import delta_table, quote, quote_path, string_literal
from medallion.quality import checks
from medallion.schema import parse_ddl, to_ddl

NAMES = [
    "amount",
    "order id",
    "a.b",
    "we`ird",
    "`",
    "``",
    "`leading and trailing`",
    "select",
    "a,b;c",
    "it's",
    "日本 語",
    "order`s id.no",
]


def parsed_parts(sql: str) -> list[str]:
    """The name parts Spark SQL reads in ``sql`` (a column or table reference)."""
    node = sqlglot.parse_one(sql, read="spark")
    assert isinstance(node, exp.Column), sql
    return [part.name for part in node.parts]


@pytest.mark.parametrize("name", NAMES)
def test_quote_is_read_back_as_the_one_name(name: str) -> None:
    assert parsed_parts(quote(name)) == [name]


@pytest.mark.parametrize("name", NAMES)
def test_quote_path_keeps_each_part_whole(name: str) -> None:
    assert parsed_parts(quote_path(["s", name])) == ["s", name]
    assert parsed_parts(quote_path(["shop", "silver", name])) == ["shop", "silver", name]


def test_quote_doubles_backticks_and_nothing_else() -> None:
    assert quote("a`b") == "`a``b`"
    assert quote("a b.c") == "`a b.c`"
    assert quote("") == "``"


@pytest.mark.parametrize(
    "location",
    [
        "/lake/silver/orders",
        "/data/my `lake` v1.0/silver/orders",
        "/data/a {b} [c] *?:%#'=,;\\ é/gold/sales",
        "s3a://bucket/lake/bronze/events",
    ],
)
def test_delta_table_reads_back_as_the_location(location: str) -> None:
    assert parsed_parts(delta_table(location)) == ["delta", location]


@pytest.mark.parametrize("text", ["paid", "it's", "C:\\lake\\", "a\\'b", "'", "\\", "日本"])
def test_string_literal_reads_back_as_the_text(text: str) -> None:
    node = sqlglot.parse_one(string_literal(text), read="spark")
    assert isinstance(node, exp.Literal) and node.is_string
    assert node.this == text


def test_sql_built_for_rules_and_schemas_quotes_odd_names() -> None:
    key = checks.not_null("order`s id.no", name="key_given")
    assert key.expression == "`order``s id.no` IS NOT NULL"
    known = checks.in_set("a b", ["x'y"], name="known")
    assert known.expression == "`a b` IS NULL OR `a b` IN ('x\\'y')"
    ddl = to_ddl(parse_ddl("`order``s id.no` STRING, `unit price.eur` DOUBLE"))
    assert ddl == "`order``s id.no` STRING, `unit price.eur` DOUBLE"
    assert parse_ddl(ddl).fieldNames() == ["order`s id.no", "unit price.eur"]
