"""Unit tests of medallion.schema: DDL parsing and rendering without a JVM."""

from __future__ import annotations

import pytest
from pyspark.sql import types as T

from medallion.errors import MedallionError, SchemaError
from medallion.schema import as_string_schema, column_names, parse_ddl, to_ddl, to_struct_type


def field(
    name: str, data_type: T.DataType, nullable: bool = True, comment: str | None = None
) -> T.StructField:
    return T.StructField(name, data_type, nullable, {"comment": comment} if comment else None)


def parse_error(ddl: str) -> str:
    with pytest.raises(SchemaError) as info:
        parse_ddl(ddl)
    return str(info.value)


# --- the three accepted forms ---------------------------------------------------------------


def test_parse_ddl_accepts_name_space_type_pairs() -> None:
    assert parse_ddl("a INT, b STRING") == T.StructType(
        [field("a", T.IntegerType()), field("b", T.StringType())]
    )


def test_parse_ddl_accepts_name_colon_type_pairs() -> None:
    assert parse_ddl("a: int, b: string") == T.StructType(
        [field("a", T.IntegerType()), field("b", T.StringType())]
    )


def test_parse_ddl_accepts_a_struct_wrapper() -> None:
    assert parse_ddl("struct<a: int, b: string>") == T.StructType(
        [field("a", T.IntegerType()), field("b", T.StringType())]
    )


def test_parse_ddl_accepts_an_upper_case_struct_wrapper_without_spaces() -> None:
    assert parse_ddl("STRUCT<a:INT,b:STRING NOT NULL>") == T.StructType(
        [field("a", T.IntegerType()), field("b", T.StringType(), nullable=False)]
    )


def test_parse_ddl_accepts_an_empty_struct_wrapper() -> None:
    assert parse_ddl("struct<>") == T.StructType([])


def test_parse_ddl_returns_a_struct_type_with_columns_in_order() -> None:
    schema = parse_ddl("z STRING, a INT, m DOUBLE")
    assert isinstance(schema, T.StructType)
    assert schema.fieldNames() == ["z", "a", "m"]


def test_parse_ddl_ignores_surrounding_whitespace_and_newlines() -> None:
    assert parse_ddl("\n    a INT,\n\tb STRING   \n") == parse_ddl("a INT, b STRING")


def test_parse_ddl_treats_struct_as_a_column_name_when_no_angle_bracket_follows() -> None:
    assert parse_ddl("struct STRING, comment INT") == T.StructType(
        [field("struct", T.StringType()), field("comment", T.IntegerType())]
    )


# --- NOT NULL and COMMENT ----------------------------------------------------------------


def test_parse_ddl_not_null_makes_a_column_non_nullable() -> None:
    schema = parse_ddl("id BIGINT NOT NULL, name STRING")
    assert [f.nullable for f in schema.fields] == [False, True]


def test_parse_ddl_keywords_are_case_insensitive() -> None:
    assert parse_ddl("id bigint not null comment 'k'") == parse_ddl(
        "id BIGINT NOT NULL COMMENT 'k'"
    )


def test_parse_ddl_comment_is_stored_in_the_field_metadata() -> None:
    schema = parse_ddl("id INT NOT NULL COMMENT 'the key', name STRING COMMENT \"who\"")
    assert schema.fields[0] == field("id", T.IntegerType(), nullable=False, comment="the key")
    assert schema.fields[0].metadata == {"comment": "the key"}
    assert schema.fields[1].metadata == {"comment": "who"}


def test_parse_ddl_comment_unescapes_backslash_escapes() -> None:
    schema = parse_ddl(r"a INT COMMENT 'it\'s a \"key\"', b INT COMMENT 'tab\there'")
    assert schema.fields[0].metadata == {"comment": 'it\'s a "key"'}
    assert schema.fields[1].metadata == {"comment": "tab\there"}


def test_parse_ddl_comment_keeps_non_ascii_characters() -> None:
    schema = parse_ddl("city STRING COMMENT 'café in Zürich €'")
    assert schema.fields[0].metadata == {"comment": "café in Zürich €"}


def test_parse_ddl_column_without_comment_has_empty_metadata() -> None:
    assert parse_ddl("a INT").fields[0].metadata == {}


def test_parse_ddl_comment_on_a_nested_struct_field() -> None:
    schema = parse_ddl("s STRUCT<x: INT NOT NULL COMMENT 'inner'>")
    assert schema.fields[0].dataType == T.StructType(
        [field("x", T.IntegerType(), nullable=False, comment="inner")]
    )


# --- names -------------------------------------------------------------------------------


def test_parse_ddl_backquoted_names_may_hold_spaces_and_punctuation() -> None:
    schema = parse_ddl("`order id` STRING, `a,b` INT, `x:y<z>` DOUBLE, `select` DATE")
    assert schema.fieldNames() == ["order id", "a,b", "x:y<z>", "select"]


def test_parse_ddl_doubled_backticks_inside_a_quoted_name_are_one_backtick() -> None:
    schema = parse_ddl("`a``b` INT, ```edge``` STRING")
    assert schema.fieldNames() == ["a`b", "`edge`"]


def test_parse_ddl_keeps_the_case_of_column_names() -> None:
    assert parse_ddl("OrderId STRING, customer_ID INT").fieldNames() == ["OrderId", "customer_ID"]


def test_parse_ddl_backquoted_names_in_nested_structs() -> None:
    schema = parse_ddl("s STRUCT<`inner field`: INT, `b``q`: STRING>")
    assert schema.fields[0].dataType == T.StructType(
        [field("inner field", T.IntegerType()), field("b`q", T.StringType())]
    )


# --- types -------------------------------------------------------------------------------

PRIMITIVES: list[tuple[str, T.DataType]] = [
    ("string", T.StringType()),
    ("int", T.IntegerType()),
    ("integer", T.IntegerType()),
    ("bigint", T.LongType()),
    ("long", T.LongType()),
    ("smallint", T.ShortType()),
    ("short", T.ShortType()),
    ("tinyint", T.ByteType()),
    ("byte", T.ByteType()),
    ("double", T.DoubleType()),
    ("float", T.FloatType()),
    ("real", T.FloatType()),
    ("boolean", T.BooleanType()),
    ("bool", T.BooleanType()),
    ("date", T.DateType()),
    ("timestamp", T.TimestampType()),
    ("timestamp_ltz", T.TimestampType()),
    ("timestamp_ntz", T.TimestampNTZType()),
    ("binary", T.BinaryType()),
    ("variant", T.VariantType()),
]


@pytest.mark.parametrize(("alias", "expected"), PRIMITIVES)
def test_parse_ddl_primitive_aliases(alias: str, expected: T.DataType) -> None:
    for spelling in (alias, alias.upper(), alias.capitalize()):
        assert parse_ddl(f"c {spelling}").fields[0].dataType == expected
        assert parse_ddl(f"c: {spelling}").fields[0].dataType == expected


def test_parse_ddl_decimal_with_precision_and_scale() -> None:
    assert parse_ddl("p DECIMAL(10, 2)").fields[0].dataType == T.DecimalType(10, 2)
    assert parse_ddl("p decimal(38,18)").fields[0].dataType == T.DecimalType(38, 18)


def test_parse_ddl_decimal_with_precision_only_has_scale_zero() -> None:
    assert parse_ddl("p DECIMAL(7)").fields[0].dataType == T.DecimalType(7, 0)


def test_parse_ddl_bare_decimal_is_decimal_10_0() -> None:
    assert parse_ddl("p DECIMAL").fields[0].dataType == T.DecimalType(10, 0)


def test_parse_ddl_decimal_aliases_dec_and_numeric() -> None:
    assert parse_ddl("a DEC(5, 1), b NUMERIC(12,4), c numeric").fields == [
        field("a", T.DecimalType(5, 1)),
        field("b", T.DecimalType(12, 4)),
        field("c", T.DecimalType(10, 0)),
    ]


def test_parse_ddl_char_and_varchar_keep_their_length() -> None:
    schema = parse_ddl("code CHAR(3), label VARCHAR(255), lower varchar(1)")
    assert [f.dataType for f in schema.fields] == [
        T.CharType(3),
        T.VarcharType(255),
        T.VarcharType(1),
    ]


def test_parse_ddl_array_type() -> None:
    assert parse_ddl("tags ARRAY<STRING>").fields[0].dataType == T.ArrayType(T.StringType(), True)


def test_parse_ddl_map_type() -> None:
    assert parse_ddl("m map<string, double>").fields[0].dataType == T.MapType(
        T.StringType(), T.DoubleType(), True
    )


def test_parse_ddl_struct_type_column() -> None:
    assert parse_ddl("address STRUCT<street: STRING, zip INT NOT NULL>").fields[
        0
    ].dataType == T.StructType(
        [field("street", T.StringType()), field("zip", T.IntegerType(), nullable=False)]
    )


def test_parse_ddl_deeply_nested_types() -> None:
    schema = parse_ddl(
        "m MAP<STRING, ARRAY<STRUCT<x: INT NOT NULL, `y z`: DECIMAL(5,2), "
        "w: MAP<INT, ARRAY<ARRAY<BIGINT>>>>>> NOT NULL"
    )
    inner = T.StructType(
        [
            field("x", T.IntegerType(), nullable=False),
            field("y z", T.DecimalType(5, 2)),
            field(
                "w",
                T.MapType(
                    T.IntegerType(), T.ArrayType(T.ArrayType(T.LongType(), True), True), True
                ),
            ),
        ]
    )
    assert schema == T.StructType(
        [field("m", T.MapType(T.StringType(), T.ArrayType(inner, True), True), nullable=False)]
    )


def test_parse_ddl_type_names_are_case_insensitive() -> None:
    assert parse_ddl("a Array<Map<String, Decimal(4,1)>>, b sTrUcT<c: BiGiNt>") == parse_ddl(
        "a ARRAY<MAP<STRING, DECIMAL(4,1)>>, b STRUCT<c: BIGINT>"
    )


# --- errors ------------------------------------------------------------------------------


def test_schema_error_is_a_medallion_error_and_a_value_error() -> None:
    with pytest.raises(SchemaError) as info:
        parse_ddl("")
    assert isinstance(info.value, MedallionError)
    assert isinstance(info.value, ValueError)


def test_parse_ddl_rejects_an_empty_schema() -> None:
    assert parse_error("") == "cannot parse schema '': it is empty"


def test_parse_ddl_rejects_a_blank_schema() -> None:
    assert "it is empty" in parse_error("   \n  ")


def test_parse_ddl_rejects_a_trailing_comma() -> None:
    assert parse_error("a INT, b STRING,") == (
        "cannot parse schema 'a INT, b STRING,': expected a column name, found 'end of input'"
    )


def test_parse_ddl_rejects_an_unknown_type_and_names_it() -> None:
    assert parse_error("a INT, b FOO") == (
        "cannot parse schema 'a INT, b FOO': expected a data type, found 'FOO'"
    )


def test_parse_ddl_rejects_an_unknown_type_inside_a_nested_type() -> None:
    assert parse_error("a ARRAY<NOPE>") == (
        "cannot parse schema 'a ARRAY<NOPE>': expected a data type, found 'NOPE'"
    )


def test_parse_ddl_rejects_a_missing_type() -> None:
    assert parse_error("a") == (
        "cannot parse schema 'a': expected a data type, found 'end of input'"
    )


def test_parse_ddl_rejects_duplicate_column_names() -> None:
    assert parse_error("a INT, b STRING, a DOUBLE") == (
        "schema 'a INT, b STRING, a DOUBLE' repeats column(s) a"
    )


def test_parse_ddl_rejects_duplicate_column_names_case_insensitively() -> None:
    assert parse_error("Id INT, name STRING, ID STRING, NAME INT") == (
        "schema 'Id INT, name STRING, ID STRING, NAME INT' repeats column(s) id, name"
    )


def test_parse_ddl_rejects_duplicate_backquoted_column_names() -> None:
    assert "repeats column(s) a b" in parse_error("`a b` INT, `A B` INT")


def test_parse_ddl_rejects_an_unclosed_angle_bracket() -> None:
    message = parse_error("tags ARRAY<STRING")
    assert message.startswith("cannot parse schema 'tags ARRAY<STRING': expected ")
    assert ">" in message.removeprefix("cannot parse schema 'tags ARRAY<STRING'")
    assert message.endswith("found 'end of input'")


def test_parse_ddl_rejects_an_unclosed_struct_wrapper() -> None:
    message = parse_error("struct<a: int, b: string")
    assert message.startswith("cannot parse schema 'struct<a: int, b: string': expected ")
    assert message.endswith("found 'end of input'")


def test_parse_ddl_rejects_an_unclosed_decimal_parenthesis() -> None:
    assert parse_error("p DECIMAL(10, 2").endswith("found 'end of input'")


def test_parse_ddl_rejects_char_without_a_length() -> None:
    assert parse_error("c CHAR").startswith("cannot parse schema 'c CHAR': expected ")


def test_parse_ddl_rejects_a_map_without_a_value_type() -> None:
    assert parse_error("m MAP<STRING>") == (
        "cannot parse schema 'm MAP<STRING>': expected ',', found '>'"
    )


def test_parse_ddl_rejects_two_columns_without_a_comma() -> None:
    assert parse_error("a INT b INT") == (
        "cannot parse schema 'a INT b INT': expected ',' or end of input, found 'b'"
    )


def test_parse_ddl_rejects_not_without_null() -> None:
    assert parse_error("a INT NOT, b INT").endswith("found ','")


def test_parse_ddl_rejects_an_unquoted_comment() -> None:
    assert parse_error("a INT COMMENT 5").endswith("found '5'")


def test_parse_ddl_rejects_an_unexpected_character_and_says_where() -> None:
    assert parse_error("a INT; b INT") == (
        "cannot parse schema 'a INT; b INT': unexpected character at position 5"
    )


def test_parse_ddl_rejects_an_unclosed_backquote() -> None:
    assert "unexpected character" in parse_error("`a INT")


def test_parse_ddl_rejects_text_after_a_struct_wrapper() -> None:
    assert parse_error("struct<a: int>, b int") == (
        "cannot parse schema 'struct<a: int>, b int': expected ',' or end of input, found ','"
    )


# --- to_ddl ------------------------------------------------------------------------------


def test_to_ddl_renders_quoted_upper_case_types() -> None:
    assert to_ddl(parse_ddl("a int not null, b map<string, double>")) == (
        "`a` INT NOT NULL, `b` MAP<STRING, DOUBLE>"
    )


def test_to_ddl_renders_decimals_chars_and_nested_structs() -> None:
    schema = parse_ddl(
        "id BIGINT NOT NULL, tags ARRAY<STRING>, price DECIMAL(10, 2), code CHAR(3), "
        "label VARCHAR(20), s STRUCT<x: INT NOT NULL, y: ARRAY<DATE>>"
    )
    assert to_ddl(schema) == (
        "`id` BIGINT NOT NULL, `tags` ARRAY<STRING>, `price` DECIMAL(10,2), `code` CHAR(3), "
        "`label` VARCHAR(20), `s` STRUCT<`x`: INT NOT NULL, `y`: ARRAY<DATE>>"
    )


def test_to_ddl_doubles_backticks_in_names() -> None:
    assert to_ddl(parse_ddl("`a``b` INT, `c d` STRING")) == "`a``b` INT, `c d` STRING"


def test_to_ddl_of_an_empty_schema_is_empty() -> None:
    assert to_ddl(T.StructType([])) == ""


RICH_SCHEMA = T.StructType(
    [
        field("id", T.LongType(), nullable=False),
        field("order id", T.StringType(), nullable=False),
        field("a`b", T.IntegerType()),
        field("small", T.ShortType()),
        field("tiny", T.ByteType()),
        field("ratio", T.FloatType()),
        field("amount", T.DoubleType()),
        field("price", T.DecimalType(18, 4)),
        field("flag", T.BooleanType()),
        field("day", T.DateType()),
        field("at", T.TimestampType()),
        field("local_at", T.TimestampNTZType()),
        field("payload", T.BinaryType()),
        field("doc", T.VariantType()),
        field("code", T.CharType(3)),
        field("label", T.VarcharType(64)),
        field("tags", T.ArrayType(T.StringType(), True)),
        field("scores", T.MapType(T.StringType(), T.DecimalType(5, 2), True)),
        field(
            "address",
            T.StructType(
                [
                    field("street", T.StringType(), nullable=False),
                    field("zip code", T.IntegerType()),
                    field(
                        "geo",
                        T.StructType([field("lat", T.DoubleType()), field("lon", T.DoubleType())]),
                    ),
                ]
            ),
            nullable=False,
        ),
        field(
            "lines",
            T.ArrayType(
                T.StructType(
                    [
                        field("sku", T.StringType(), nullable=False),
                        field("qty", T.IntegerType()),
                        field("attrs", T.MapType(T.StringType(), T.ArrayType(T.LongType()))),
                    ]
                ),
                True,
            ),
        ),
        field("empty", T.StructType([])),
    ]
)


def test_to_ddl_round_trips_through_parse_ddl() -> None:
    assert parse_ddl(to_ddl(RICH_SCHEMA)) == RICH_SCHEMA


def test_to_ddl_is_stable_after_a_round_trip() -> None:
    ddl = to_ddl(RICH_SCHEMA)
    assert to_ddl(parse_ddl(ddl)) == ddl


# --- as_string_schema, to_struct_type, column_names ---------------------------------------


def test_as_string_schema_keeps_names_and_makes_every_column_a_nullable_string() -> None:
    strings = as_string_schema(
        parse_ddl("id INT NOT NULL COMMENT 'k', tags ARRAY<INT>, s STRUCT<x: INT>, `a b` DATE")
    )
    assert strings == T.StructType(
        [
            field("id", T.StringType()),
            field("tags", T.StringType()),
            field("s", T.StringType()),
            field("a b", T.StringType()),
        ]
    )


def test_as_string_schema_renders_as_string_ddl() -> None:
    assert to_ddl(as_string_schema(parse_ddl("a INT NOT NULL, b DOUBLE"))) == (
        "`a` STRING, `b` STRING"
    )


def test_to_struct_type_returns_a_struct_type_unchanged() -> None:
    schema = T.StructType([field("a", T.IntegerType())])
    assert to_struct_type(schema) is schema


def test_to_struct_type_parses_a_ddl_string() -> None:
    assert to_struct_type("a INT NOT NULL") == T.StructType(
        [field("a", T.IntegerType(), nullable=False)]
    )


@pytest.mark.parametrize(
    ("value", "type_name"),
    [(42, "int"), (None, "NoneType"), (["a INT"], "list"), (T.IntegerType(), "IntegerType")],
)
def test_to_struct_type_rejects_other_types(value: object, type_name: str) -> None:
    with pytest.raises(SchemaError) as info:
        to_struct_type(value)  # type: ignore[arg-type]
    assert str(info.value) == (f"a schema must be a StructType or a DDL string, not {type_name}")


def test_to_struct_type_propagates_parse_errors() -> None:
    with pytest.raises(SchemaError, match="expected a data type, found 'BAD'"):
        to_struct_type("a BAD")


def test_column_names_of_ddl_and_struct_type() -> None:
    assert column_names("b INT, `a c` STRING") == ("b", "a c")
    assert column_names(T.StructType([field("x", T.IntegerType())])) == ("x",)
