"""``Table``: the declaration of one Delta table of the lakehouse.

Example:
    >>> from medallion import Layer, QualityRule, Table
    >>> orders = Table(
    ...     "orders",
    ...     Layer.SILVER,
    ...     schema="order_id STRING NOT NULL, order_date DATE, amount DOUBLE",
    ...     primary_keys=["order_id"],
    ...     partition_by=["order_date"],
    ...     rules=[QualityRule("positive_amount", "amount > 0", action="quarantine")],
    ... )
    >>> orders.qualified_name
    'silver.orders'
    >>> orders.location("/data/lakehouse")
    '/data/lakehouse/silver/orders'
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, cast

import attrs
from pyspark.sql import types as T

from medallion._typing import SchemaLike
from medallion.errors import SchemaError, TableDefinitionError
from medallion.lakehouse import Lakehouse, resolve_root
from medallion.layers import Layer, WriteMode
from medallion.rule import QualityRule
from medallion.schema import to_struct_type

__all__ = ["METADATA_COLUMNS", "Table", "resolve_root"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")

#: The metadata columns bronze ingestion adds to every row, after the declared columns.
METADATA_COLUMNS = T.StructType(
    [
        T.StructField("_ingested_at", T.TimestampType(), False, {"comment": "when the run began"}),
        T.StructField("_run_id", T.StringType(), False, {"comment": "the run that wrote the row"}),
        T.StructField("_source_file", T.StringType(), True, {"comment": "the file read"}),
        T.StructField(
            "_source_modified_at", T.TimestampType(), True, {"comment": "the file's mtime"}
        ),
        T.StructField(
            "_rescued_data",
            T.StringType(),
            True,
            {"comment": "the raw record, when it did not fit the schema"},
        ),
        T.StructField(
            "_rescue_reason", T.StringType(), True, {"comment": "why the record did not fit"}
        ),
    ]
)


def _names(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _properties(value: Mapping[str, Any] | None) -> Mapping[str, str]:
    items = (
        {}
        if value is None
        else {
            str(k): str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in dict(value).items()
        }
    )
    return MappingProxyType(items)


class _Invalid:
    """A field value a converter rejected; ``Table`` reports it with the table's name."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _schema(value: SchemaLike | None) -> T.StructType | None:
    try:
        return None if value is None else to_struct_type(value)
    except SchemaError as exc:
        return cast(T.StructType, _Invalid(exc))


def _layer(value: Layer | str) -> Layer:
    try:
        return Layer(value)
    except ValueError:
        message = f"unknown layer {value!r}; choose one of bronze, silver, gold"
        return cast(Layer, _Invalid(TableDefinitionError(message)))


def _rules(value: Iterable[QualityRule]) -> tuple[QualityRule, ...]:
    return tuple(value)


def _write_mode(value: WriteMode | str | None) -> WriteMode | None:
    if value is None or isinstance(value, WriteMode):
        return value
    try:
        return WriteMode(value)
    except ValueError:
        choices = ", ".join(m.value for m in WriteMode)
        message = f"unknown write mode {value!r}; choose one of {choices}"
        return cast(WriteMode, _Invalid(TableDefinitionError(message)))


@attrs.frozen
class Table:
    """The declaration of a Delta table: its name, layer, schema, keys, layout and rules.

    A ``Table`` is a frozen value: declare it once (usually at module level) and pass it to
    steps, ingestion and :class:`~medallion.DeltaOps`. It is checked when created: keys,
    partition and Z-order columns must be columns of the schema, a silver table needs primary
    keys and a bronze table a schema, and each rule's expression must be well formed.

    Attributes:
        name: The table's name: a letter, then letters, digits or ``_``.
        layer: The layer it belongs to (:class:`~medallion.Layer` or its name).
        schema: Its columns as a ``StructType`` or DDL string; ``None`` for a table whose columns
            come from the data its step writes (gold aggregates, say).
        primary_keys: The columns that identify a row (MERGE keys for silver).
        partition_by: Columns to partition the Delta files by.
        zorder_by: Columns to Z-order the files by when the table is optimized.
        properties: Delta table properties (``{"delta.enableChangeDataFeed": "true"}``).
        comment: A description stored with the table.
        rules: Quality rules the table's rows must meet.
        catalog_name: Optionally, the catalog identifier to register the table under
            (``"shop.silver_orders"``); its data stays at :meth:`location`.
        write_mode: How step outputs are written; ``None`` takes the layer's convention (and
            ``REPLACE_PARTITIONS`` for a partitioned gold table).
        schema_evolution: Whether writes and merges may add columns the table does not have
            yet. Narrowing a type or dropping a key is refused either way.
        max_quarantine_share: Fail a step when its quality checks quarantine more than this
            share (0 to 1) of the rows it read.
        optimize_after_write: Have a pipeline run OPTIMIZE (with ``zorder_by``) right after each
            write that committed. Worth it for tables read often and written in small pieces
            (gold); a large table is better optimized on a schedule (``medallion optimize``),
            because Z-ordering rewrites every file.

    Example:
        >>> customers = Table("customers", "silver", schema="id STRING, tier STRING",
        ...                   primary_keys="id", zorder_by="tier")
        >>> customers.primary_keys, customers.effective_write_mode.value
        (('id',), 'merge')
        >>> customers.location(lakehouse) == f"{lakehouse}/silver/customers"
        True
    """

    name: str
    layer: Layer = attrs.field(converter=_layer)
    schema: T.StructType | None = attrs.field(default=None, converter=_schema)
    primary_keys: tuple[str, ...] = attrs.field(default=(), converter=_names)
    partition_by: tuple[str, ...] = attrs.field(default=(), converter=_names)
    zorder_by: tuple[str, ...] = attrs.field(default=(), converter=_names)
    properties: Mapping[str, str] = attrs.field(factory=dict, converter=_properties, hash=False)
    comment: str = ""
    rules: tuple[QualityRule, ...] = attrs.field(default=(), converter=_rules)
    catalog_name: str | None = None
    write_mode: WriteMode | None = attrs.field(default=None, converter=_write_mode)
    schema_evolution: bool = False
    max_quarantine_share: float | None = None
    optimize_after_write: bool = False

    def __attrs_post_init__(self) -> None:
        where = f"table {self.name!r}"
        for value in (self.layer, self.schema, self.write_mode):
            if isinstance(value, _Invalid):
                error = value.error
                raise type(error)(f"{where}: {error}") from error
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise TableDefinitionError(
                f"{where}: a table name must start with a letter and contain only letters, "
                "digits and '_' (at most 128 characters)"
            )
        conventions = self.layer.conventions
        if conventions.requires_primary_keys and not self.primary_keys:
            raise TableDefinitionError(
                f"{where}: a {self.layer} table needs primary_keys (they are its MERGE keys)"
            )
        if self.layer is Layer.BRONZE and self.schema is None:
            raise TableDefinitionError(
                f"{where}: a bronze table needs a schema (ingestion enforces it)"
            )
        for label, names in (
            ("primary key", self.primary_keys),
            ("partition column", self.partition_by),
            ("Z-order column", self.zorder_by),
        ):
            seen: set[str] = set()
            for column in names:
                if not isinstance(column, str) or not column:
                    raise TableDefinitionError(f"{where}: {label} {column!r} is not a column name")
                if column.lower() in seen:
                    raise TableDefinitionError(f"{where}: {label} {column!r} is listed twice")
                seen.add(column.lower())
                if self.schema is not None and column.lower() not in {
                    n.lower() for n in self.schema.fieldNames()
                }:
                    raise TableDefinitionError(
                        f"{where}: {label} {column!r} is not a column of its schema "
                        f"({', '.join(self.schema.fieldNames())})"
                    )
        clash = {c.lower() for c in self.zorder_by} & {c.lower() for c in self.partition_by}
        if clash:
            raise TableDefinitionError(
                f"{where}: Z-order column(s) {', '.join(sorted(clash))} are partition columns; "
                "Delta cannot Z-order by a partition column"
            )
        if self.schema is not None and self.layer.conventions.adds_ingestion_metadata:
            reserved = {n.lower() for n in METADATA_COLUMNS.fieldNames()}
            taken = [n for n in self.schema.fieldNames() if n.lower() in reserved]
            if taken:
                raise TableDefinitionError(
                    f"{where}: column(s) {', '.join(taken)} are reserved for bronze metadata"
                )
        for rule in self.rules:
            if not isinstance(rule, QualityRule):
                raise TableDefinitionError(f"{where}: rules must be QualityRule, got {rule!r}")
        rule_names = [r.name for r in self.rules]
        for rule in self.rules:
            if rule_names.count(rule.name) > 1:
                raise TableDefinitionError(f"{where}: rule {rule.name!r} is declared twice")
        if self.catalog_name is not None and not _IDENTIFIER.match(self.catalog_name):
            raise TableDefinitionError(
                f"{where}: catalog_name {self.catalog_name!r} is not an identifier "
                "like 'db.table' or 'catalog.db.table'"
            )
        if self.write_mode is WriteMode.MERGE and not self.primary_keys:
            raise TableDefinitionError(f"{where}: write_mode 'merge' needs primary_keys")
        if self.write_mode is WriteMode.REPLACE_PARTITIONS and not self.partition_by:
            raise TableDefinitionError(
                f"{where}: write_mode 'replace_partitions' needs partition_by"
            )
        share = self.max_quarantine_share
        if share is not None and not 0 <= share <= 1:
            raise TableDefinitionError(f"{where}: max_quarantine_share must be between 0 and 1")
        if self.layer is Layer.BRONZE and self.write_mode not in (None, WriteMode.APPEND):
            raise TableDefinitionError(f"{where}: bronze tables are append-only")

    @property
    def qualified_name(self) -> str:
        """``"<layer>.<name>"``: unique across the lakehouse, used in logs and errors."""
        return f"{self.layer.value}.{self.name}"

    @property
    def effective_write_mode(self) -> WriteMode:
        """The write mode used for step outputs: declared, else the layer's convention."""
        if self.write_mode is not None:
            return self.write_mode
        if self.layer is Layer.GOLD and self.partition_by:
            return WriteMode.REPLACE_PARTITIONS
        return self.layer.conventions.write_mode

    @property
    def storage_schema(self) -> T.StructType | None:
        """The columns stored in Delta: the schema, plus the metadata columns for bronze."""
        if self.schema is None:
            return None
        if not self.layer.conventions.adds_ingestion_metadata:
            return self.schema
        return T.StructType(list(self.schema.fields) + list(METADATA_COLUMNS.fields))

    def require_schema(self) -> T.StructType:
        """The declared schema, or an error naming the table if it has none.

        Raises:
            SchemaError: The table was declared without a schema.

        Example:
            >>> Table("customers", "bronze", schema="id STRING").require_schema().simpleString()
            'struct<id:string>'
            >>> Table("daily_sales", "gold").require_schema()
            Traceback (most recent call last):
            ...
            medallion.errors.SchemaError: table 'gold.daily_sales' has no declared schema
        """
        if self.schema is None:
            raise SchemaError(f"table {self.qualified_name!r} has no declared schema")
        return self.schema

    def location(self, root: str | os.PathLike[str]) -> str:
        """Where the table's Delta files live under a lakehouse root.

        Args:
            root: The lakehouse root: a local folder or a Hadoop URI (``s3a://bucket/lake``).

        Returns:
            ``<root>/<layer>/<name>``.

        Example:
            >>> Table("events", "bronze", schema="id STRING").location("s3a://lake")
            's3a://lake/bronze/events'
        """
        return Lakehouse.at(root).location(self)

    def describe(self) -> str:
        """A one-line summary: layer, name, keys, partitioning and rule count.

        Example:
            >>> Table("orders", "silver", schema="id STRING, day DATE", primary_keys="id",
            ...       partition_by="day").describe()
            'silver.orders keys=(id) partitioned by (day) write=merge'
        """
        parts = [self.qualified_name]
        if self.primary_keys:
            parts.append(f"keys=({', '.join(self.primary_keys)})")
        if self.partition_by:
            parts.append(f"partitioned by ({', '.join(self.partition_by)})")
        if self.zorder_by:
            parts.append(f"z-order ({', '.join(self.zorder_by)})")
        if self.rules:
            parts.append(f"{len(self.rules)} rule(s)")
        parts.append(f"write={self.effective_write_mode.value}")
        return " ".join(parts)
