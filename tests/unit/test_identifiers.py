"""Unit tests of medallion._names: quoting read back by a Spark SQL parser, and root checks.

The quoted text is parsed with sqlglot's Spark dialect (no JVM): whatever a name holds, the
parser must read back exactly that one name. tests/spark/test_names.py runs the same names and
roots through Spark and Delta.
"""

from __future__ import annotations

import codecs
import locale

import pytest
import sqlglot
from sqlglot import exp

from medallion import Table
from medallion._names import (
    check_root,
    delta_table,
    jvm_path_encoding,
    quote,
    quote_path,
    string_literal,
)
from medallion.errors import MedallionError, TableDefinitionError, UnaddressableRootError
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


# --- roots -----------------------------------------------------------------------------------

ADDRESSABLE = " {}[]*?:%#'\"=,;\\`!$&+~@^\n\t"


@pytest.mark.parametrize("character", list(ADDRESSABLE))
@pytest.mark.parametrize("encoding", ["UTF-8", "ANSI_X3.4-1968"])
def test_a_root_with_characters_spark_addresses_is_accepted(character: str, encoding: str) -> None:
    root = f"/data/r{character}x"
    assert check_root(root, encoding=encoding) == root


def test_non_ascii_is_accepted_where_the_jvm_names_files_in_utf8() -> None:
    assert check_root("/data/léger/日本", encoding="UTF-8") == "/data/léger/日本"
    assert check_root("/data/léger", encoding="ISO-8859-1") == "/data/léger"


def refusal(root: str, encoding: str = "UTF-8") -> UnaddressableRootError:
    with pytest.raises(UnaddressableRootError) as caught:
        check_root(root, encoding=encoding)
    return caught.value


def test_non_ascii_is_refused_under_the_c_locale_naming_root_and_character() -> None:
    error = refusal("/data/léger", "ANSI_X3.4-1968")
    assert (error.root, error.character) == ("/data/léger", "é")
    assert str(error) == (
        "lakehouse root '/data/léger': Spark cannot address the character 'é' (U+00E9): the JVM "
        "names files in ANSI_X3.4-1968, set by the locale (LC_ALL, LC_CTYPE, LANG); choose a root "
        "without it, or run with a UTF-8 locale (LANG=C.UTF-8)"
    )
    assert refusal("file:/data/日本", "ascii").character == "日"
    assert refusal("/data/lé日", "ISO-8859-1").character == "日"


def test_nul_and_lone_surrogates_are_refused_whatever_the_encoding() -> None:
    for encoding in ("UTF-8", "ANSI_X3.4-1968"):
        error = refusal("/data/a\x00b", encoding)
        assert error.character == "\x00"
        assert "(U+0000): no file name can hold it" in str(error)
        assert refusal("/data/a\udcffb", encoding).character == "\udcff"
        assert refusal("s3a://bucket/a\x00b", encoding).character == "\x00"


def test_uris_other_than_file_are_left_to_their_file_system() -> None:
    assert check_root("s3a://bucket/léger", encoding="ascii") == "s3a://bucket/léger"
    assert check_root("abfss://c@a.dfs.core.windows.net/日本", encoding="ascii").endswith("日本")


def test_the_error_is_a_table_definition_error() -> None:
    error = refusal("/data/a\x00b")
    assert isinstance(error, TableDefinitionError)
    assert isinstance(error, ValueError)
    assert isinstance(error, MedallionError)


def test_the_jvm_encoding_is_this_process_c_locale_codeset() -> None:
    assert jvm_path_encoding() == locale.nl_langinfo(locale.CODESET)
    codecs.lookup(jvm_path_encoding())


def test_a_table_location_under_an_unaddressable_root_is_refused() -> None:
    events = Table("events", "bronze", schema="id STRING")
    with pytest.raises(UnaddressableRootError, match=r"lakehouse root '/data/a\\x00b'") as caught:
        events.location("/data/a\x00b")
    assert caught.value.character == "\x00"
    assert events.location("/data/my `lake` v1.0") == "/data/my `lake` v1.0/bronze/events"


def test_a_backticked_z_order_column_is_refused_when_the_table_is_declared() -> None:
    with pytest.raises(TableDefinitionError, match="cannot Z-order by 'order`s id': Delta"):
        Table("orders", "gold", schema="`order``s id` STRING", zorder_by="order`s id")
    Table("orders", "gold", schema="`unit price.eur` DOUBLE", zorder_by="unit price.eur")
