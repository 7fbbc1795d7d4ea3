"""Schemas as ``StructType`` or DDL strings, parsed without a JVM.

Tables are usually declared at import time, before any SparkSession exists, so medallion parses
DDL schemas in Python: a table's keys and partition columns are checked against its schema the
moment it is defined.

Example:
    >>> from medallion.schema import parse_ddl, to_ddl
    >>> schema = parse_ddl("id BIGINT NOT NULL, tags ARRAY<STRING>, price DECIMAL(10, 2)")
    >>> [f.name for f in schema.fields]
    ['id', 'tags', 'price']
    >>> to_ddl(schema)
    '`id` BIGINT NOT NULL, `tags` ARRAY<STRING>, `price` DECIMAL(10,2)'
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

import attrs
from pyspark.sql import types as T

from medallion._names import quote
from medallion._typing import SchemaLike
from medallion.errors import SchemaError

__all__ = [
    "SchemaChange",
    "SchemaChangeKind",
    "as_string_schema",
    "column_names",
    "parse_ddl",
    "schema_changes",
    "to_ddl",
    "to_struct_type",
    "widens_safely",
]

_PRIMITIVES: dict[str, T.DataType] = {
    "string": T.StringType(),
    "int": T.IntegerType(),
    "integer": T.IntegerType(),
    "bigint": T.LongType(),
    "long": T.LongType(),
    "smallint": T.ShortType(),
    "short": T.ShortType(),
    "tinyint": T.ByteType(),
    "byte": T.ByteType(),
    "double": T.DoubleType(),
    "float": T.FloatType(),
    "real": T.FloatType(),
    "boolean": T.BooleanType(),
    "bool": T.BooleanType(),
    "date": T.DateType(),
    "timestamp": T.TimestampType(),
    "timestamp_ltz": T.TimestampType(),
    "timestamp_ntz": T.TimestampNTZType(),
    "binary": T.BinaryType(),
    "variant": T.VariantType(),
}

_TOKEN = re.compile(
    r"\s*(?:(?P<quoted>`(?:[^`]|``)*`)|(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<number>\d+)|(?P<punct>[<>(),:]))"
)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        stripped = text.rstrip()
        while pos < len(stripped):
            match = _TOKEN.match(stripped, pos)
            if match is None or match.end() == pos:
                raise SchemaError(
                    f"cannot parse schema {text!r}: unexpected character at position {pos}"
                )
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.index = 0

    def error(self, expected: str) -> SchemaError:
        found = self.tokens[self.index][1] if self.index < len(self.tokens) else "end of input"
        return SchemaError(
            f"cannot parse schema {self.text!r}: expected {expected}, found {found!r}"
        )

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        token = self.peek()
        if token is None:
            raise self.error(value or kind or "a token")
        if value is not None and token[1].lower() != value:
            raise self.error(repr(value))
        if kind is not None and token[0] != kind:
            raise self.error(kind)
        self.index += 1
        return token[1]

    def accept(self, value: str) -> bool:
        token = self.peek()
        if token is not None and token[0] in ("word", "punct") and token[1].lower() == value:
            self.index += 1
            return True
        return False

    def name(self) -> str:
        token = self.peek()
        if token is None or token[0] not in ("word", "quoted"):
            raise self.error("a column name")
        self.index += 1
        return token[1][1:-1].replace("``", "`") if token[0] == "quoted" else token[1]

    def fields(self, closing: str | None) -> list[T.StructField]:
        result: list[T.StructField] = []
        if closing is not None and self.accept(closing):
            return result
        while True:
            name = self.name()
            self.accept(":")
            data_type = self.data_type()
            nullable = True
            metadata: dict[str, str] = {}
            if self.accept("not"):
                self.take("null")
                nullable = False
            if self.accept("comment"):
                literal = self.take(kind="string")
                metadata["comment"] = _unescape(literal[1:-1])
            result.append(T.StructField(name, data_type, nullable, metadata or None))
            if self.accept(","):
                continue
            if closing is not None:
                self.take(closing)
            return result

    def integer(self) -> int:
        return int(self.take(kind="number"))

    def data_type(self) -> T.DataType:
        token = self.peek()
        if token is None or token[0] != "word":
            raise self.error("a data type")
        word = self.take().lower()
        if word == "array":
            self.take("<")
            element = self.data_type()
            self.take(">")
            return T.ArrayType(element, True)
        if word == "map":
            self.take("<")
            key = self.data_type()
            self.take(",")
            value = self.data_type()
            self.take(">")
            return T.MapType(key, value, True)
        if word == "struct":
            self.take("<")
            return T.StructType(self.fields(">"))
        if word in ("decimal", "dec", "numeric"):
            if self.accept("("):
                precision = self.integer()
                scale = self.integer() if self.accept(",") else 0
                self.take(")")
                return T.DecimalType(precision, scale)
            return T.DecimalType(10, 0)
        if word in ("char", "varchar"):
            self.take("(")
            length = self.integer()
            self.take(")")
            return T.CharType(length) if word == "char" else T.VarcharType(length)
        if word in _PRIMITIVES:
            return _PRIMITIVES[word]
        self.index -= 1
        raise self.error("a data type")


def parse_ddl(ddl: str) -> T.StructType:
    """Parse a DDL schema string into a ``StructType``, without a JVM.

    Accepts the forms Spark accepts for schemas: ``"a INT, b STRING"``, ``"a: int, b: string"``
    and ``"struct<a: int, b: string>"``, with ``NOT NULL``, ``COMMENT '...'``, back-quoted names,
    and nested ``ARRAY``, ``MAP`` and ``STRUCT`` types.

    Args:
        ddl: The schema as DDL.

    Returns:
        The parsed schema.

    Raises:
        SchemaError: The string is not a valid schema; the message says where.

    Example:
        >>> parse_ddl("id INT NOT NULL COMMENT 'the key'").fields[0].nullable
        False
    """
    parser = _Parser(ddl)
    if not parser.tokens:
        raise SchemaError("cannot parse schema '': it is empty")
    first = parser.peek()
    if (
        first is not None
        and first[1].lower() == "struct"
        and len(parser.tokens) > 1
        and parser.tokens[1][1] == "<"
    ):
        result = parser.data_type()
        assert isinstance(result, T.StructType)
    else:
        result = T.StructType(parser.fields(None))
    if parser.peek() is not None:
        raise parser.error("',' or end of input")
    names = [f.name.lower() for f in result.fields]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SchemaError(f"schema {ddl!r} repeats column(s) {', '.join(duplicates)}")
    return result


def to_struct_type(schema: SchemaLike) -> T.StructType:
    """Return ``schema`` as a ``StructType``, parsing it if it is a DDL string.

    Args:
        schema: A ``StructType`` or a DDL string.

    Returns:
        The schema as a ``StructType``.

    Raises:
        SchemaError: The DDL string cannot be parsed.

    Example:
        >>> to_struct_type("a INT").fieldNames()
        ['a']
    """
    if isinstance(schema, T.StructType):
        return schema
    if isinstance(schema, str):
        return parse_ddl(schema)
    raise SchemaError(f"a schema must be a StructType or a DDL string, not {type(schema).__name__}")


def _type_ddl(data_type: T.DataType) -> str:
    if isinstance(data_type, T.StructType):
        inner = ", ".join(
            f"{quote(f.name)}: {_type_ddl(f.dataType)}{'' if f.nullable else ' NOT NULL'}"
            for f in data_type.fields
        )
        return f"STRUCT<{inner}>"
    if isinstance(data_type, T.ArrayType):
        return f"ARRAY<{_type_ddl(data_type.elementType)}>"
    if isinstance(data_type, T.MapType):
        return f"MAP<{_type_ddl(data_type.keyType)}, {_type_ddl(data_type.valueType)}>"
    return data_type.simpleString().upper()


def to_ddl(schema: T.StructType) -> str:
    """Render a ``StructType`` as a DDL string that :func:`parse_ddl` and Spark both accept.

    Args:
        schema: The schema to render.

    Returns:
        The DDL, one ``name TYPE [NOT NULL]`` per column.

    Example:
        >>> to_ddl(parse_ddl("a int not null, b map<string, double>"))
        '`a` INT NOT NULL, `b` MAP<STRING, DOUBLE>'
    """
    return ", ".join(
        f"{quote(f.name)} {_type_ddl(f.dataType)}{'' if f.nullable else ' NOT NULL'}"
        for f in schema.fields
    )


def column_names(schema: SchemaLike) -> tuple[str, ...]:
    """The top-level column names of a schema, in order.

    Args:
        schema: A ``StructType`` or a DDL string.

    Returns:
        The column names.

    Example:
        >>> column_names("a INT, b STRING")
        ('a', 'b')
    """
    return tuple(to_struct_type(schema).fieldNames())


def as_string_schema(schema: T.StructType) -> T.StructType:
    """The same top-level columns, every one typed ``STRING`` and nullable.

    Used to re-read a record as text and find which of its values did not fit their types.

    Args:
        schema: The typed schema.

    Returns:
        A schema with the same names, all strings.

    Example:
        >>> to_ddl(as_string_schema(parse_ddl("a INT NOT NULL")))
        '`a` STRING'
    """
    return T.StructType([T.StructField(f.name, T.StringType(), True) for f in schema.fields])


_SAFE_WIDENINGS: dict[type[T.DataType], tuple[type[T.DataType], ...]] = {
    T.ByteType: (T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType),
    T.ShortType: (T.IntegerType, T.LongType, T.FloatType, T.DoubleType),
    T.IntegerType: (T.LongType, T.DoubleType),
    T.FloatType: (T.DoubleType,),
    T.DateType: (T.TimestampType, T.TimestampNTZType),
}


def _nullable(data_type: T.DataType) -> T.DataType:
    """The type with every nested field, element and value nullable (nullability is not type)."""
    if isinstance(data_type, T.StructType):
        return T.StructType(
            [T.StructField(f.name, _nullable(f.dataType), True) for f in data_type.fields]
        )
    if isinstance(data_type, T.ArrayType):
        return T.ArrayType(_nullable(data_type.elementType), True)
    if isinstance(data_type, T.MapType):
        return T.MapType(_nullable(data_type.keyType), _nullable(data_type.valueType), True)
    return data_type


def widens_safely(source: T.DataType, target: T.DataType) -> bool:
    """Whether every value of ``source`` converts to ``target`` without loss.

    Args:
        source: The incoming type.
        target: The stored type.

    Returns:
        ``True`` for equal types and for widenings (``INT`` to ``BIGINT``, ``FLOAT`` to
        ``DOUBLE``, ``DATE`` to ``TIMESTAMP``, a decimal to a wider decimal).

    Example:
        >>> widens_safely(T.IntegerType(), T.LongType())
        True
        >>> widens_safely(T.LongType(), T.IntegerType())
        False
    """
    if source == target:
        return True
    if isinstance(source, T.DecimalType) and isinstance(target, T.DecimalType):
        return (
            target.scale >= source.scale
            and target.precision - target.scale >= source.precision - source.scale
        )
    return type(target) in _SAFE_WIDENINGS.get(type(source), ())


class SchemaChangeKind(str, enum.Enum):
    """How a column of incoming data differs from the table's.

    Attributes:
        ADDED: The column is new in the data.
        MISSING: The data lacks the column.
        WIDENED: Its type converts to the table's without loss.
        RETYPED: Its type does not.

    Example:
        >>> SchemaChangeKind("widened") is SchemaChangeKind.WIDENED
        True
    """

    ADDED = "added"
    MISSING = "missing"
    WIDENED = "widened"
    RETYPED = "retyped"


@attrs.frozen
class SchemaChange:
    """One difference between a table's schema and the schema of data written to it.

    Attributes:
        column: The column's name.
        kind: How it differs (:class:`SchemaChangeKind`, or its value).
        stored: The column's type in the table, if it has the column.
        incoming: The column's type in the data, if the data has it.
        key: Whether the column is a primary key.

    Example:
        >>> change = SchemaChange("amount", "widened", stored="bigint", incoming="int")
        >>> change.compatible, str(change)
        (True, "column 'amount' widens from int to bigint")
        >>> SchemaChange("id", "missing", stored="string", incoming=None, key=True).compatible
        False
    """

    column: str
    kind: SchemaChangeKind = attrs.field(converter=SchemaChangeKind)
    stored: str | None
    incoming: str | None
    key: bool = False

    @property
    def compatible(self) -> bool:
        """Whether the change can be applied without losing or corrupting data.

        New columns (added when the table allows schema evolution), missing non-key columns
        (written as null) and widenings are compatible; a missing key or any other retyping is
        not.
        """
        if self.kind is SchemaChangeKind.RETYPED:
            return False
        return not (self.kind is SchemaChangeKind.MISSING and self.key)

    def __str__(self) -> str:
        what = "key column" if self.key else "column"
        if self.kind is SchemaChangeKind.ADDED:
            return f"{what} {self.column!r} ({self.incoming}) is new"
        if self.kind is SchemaChangeKind.MISSING:
            return f"{what} {self.column!r} ({self.stored}) is missing from the data"
        if self.kind is SchemaChangeKind.WIDENED:
            return f"{what} {self.column!r} widens from {self.incoming} to {self.stored}"
        return (
            f"{what} {self.column!r}: {self.incoming} in the data cannot be stored as "
            f"{self.stored} without loss"
        )


def schema_changes(
    stored: T.StructType, incoming: T.StructType, keys: Iterable[str] = ()
) -> tuple[SchemaChange, ...]:
    """Every top-level difference between a stored schema and incoming data's schema.

    Column names are compared case-insensitively, as Spark does by default.

    Args:
        stored: The table's schema.
        incoming: The data's schema.
        keys: The table's primary keys.

    Returns:
        The changes, stored columns first (in order), then new columns.

    Example:
        >>> stored = parse_ddl("id BIGINT, n BIGINT, price DOUBLE")
        >>> incoming = parse_ddl("id INT, price STRING, m INT")
        >>> for change in schema_changes(stored, incoming, keys=["id"]):
        ...     print(change.compatible, change)
        True key column 'id' widens from int to bigint
        True column 'n' (bigint) is missing from the data
        False column 'price': string in the data cannot be stored as double without loss
        True column 'm' (int) is new
    """
    key_names = {k.lower() for k in keys}
    by_name = {f.name.lower(): f for f in incoming.fields}
    stored_names = {f.name.lower() for f in stored.fields}
    changes: list[SchemaChange] = []
    for field in stored.fields:
        is_key = field.name.lower() in key_names
        other = by_name.get(field.name.lower())
        if other is None:
            changes.append(
                SchemaChange(field.name, "missing", field.dataType.simpleString(), None, is_key)
            )
        elif _nullable(other.dataType) != _nullable(field.dataType):
            kind = "widened" if widens_safely(other.dataType, field.dataType) else "retyped"
            changes.append(
                SchemaChange(
                    field.name,
                    kind,
                    field.dataType.simpleString(),
                    other.dataType.simpleString(),
                    is_key,
                )
            )
    changes.extend(
        SchemaChange(f.name, "added", None, f.dataType.simpleString(), f.name.lower() in key_names)
        for f in incoming.fields
        if f.name.lower() not in stored_names
    )
    return tuple(changes)
