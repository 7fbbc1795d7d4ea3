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

from medallion._names import check_root
from medallion._typing import SchemaLike
from medallion.columns import METADATA_COLUMNS
from medallion.errors import SchemaError, TableDefinitionError
from medallion.lakehouse import Lakehouse, resolve_root
from medallion.layers import Layer
from medallion.policies import (
    SCD2,
    Append,
    Merge,
    Overwrite,
    ReplacePartitions,
    WritePolicy,
)
from medallion.rule import QualityRule
from medallion.schema import to_struct_type

__all__ = ["METADATA_COLUMNS", "Table", "resolve_root"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")

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


_POLICIES = (Append, Overwrite, ReplacePartitions, Merge, SCD2)


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
        write: How the rows a step returns are written (:class:`~medallion.Merge`,
            :class:`~medallion.SCD2`, ...); ``None`` takes the layer's convention: bronze
            appends, silver merges on the primary keys, gold overwrites (or replaces the
            partitions of a partitioned table). A :class:`~medallion.Merge` without keys merges
            on the primary keys, an :class:`~medallion.SCD2` on them without ``valid_from``.
        schema_evolution: Whether writes and merges may add columns the table does not have
            yet. Narrowing a type or dropping a key is refused either way.
        max_quarantine_share: Fail a step when its quality checks quarantine more than this
            share (0 to 1) of the rows it read.
        optimize_after_write: Have a pipeline run OPTIMIZE (with ``zorder_by``) right after each
            write that committed, except an overwrite of an unpartitioned table that left one
            file of one row group (OPTIMIZE would rewrite it as it is). Worth it for tables
            read often and written in small pieces (gold); a large table is better optimized
            on a schedule (``medallion optimize``), because Z-ordering rewrites every file.

    Example:
        >>> customers = Table("customers", "silver", schema="id STRING, tier STRING",
        ...                   primary_keys="id", zorder_by="tier")
        >>> customers.primary_keys, customers.write
        (('id',), Merge(keys=('id',), sequence_by=(), delete_when=None, only_changed=True))
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
    write: WritePolicy = attrs.field(default=None)
    schema_evolution: bool = False
    max_quarantine_share: float | None = None
    optimize_after_write: bool = False

    def __attrs_post_init__(self) -> None:
        where = f"table {self.name!r}"
        for value in (self.layer, self.schema):
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
        for column in self.zorder_by:
            if "`" in column:
                raise TableDefinitionError(
                    f"{where}: cannot Z-order by {column!r}: Delta's OPTIMIZE fails on a column "
                    "name containing a backtick"
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
        share = self.max_quarantine_share
        if share is not None and not 0 <= share <= 1:
            raise TableDefinitionError(f"{where}: max_quarantine_share must be between 0 and 1")
        # A frozen class sets a derived field once, here: the declared policy, completed.
        object.__setattr__(self, "write", self._policy(where))

    def _policy(self, where: str) -> WritePolicy:
        """The declared write policy (or the layer's), with its keys filled in and checked."""
        policy = self.write
        if policy is None:
            policy = self.layer.conventions.write
            if self.layer is Layer.GOLD and self.partition_by:
                policy = ReplacePartitions()
        if not isinstance(policy, _POLICIES):
            raise TableDefinitionError(
                f"{where}: write must be Append(), Overwrite(), ReplacePartitions(), Merge(...) "
                f"or SCD2(...), not {policy!r}"
            )
        if self.layer is Layer.BRONZE and not isinstance(policy, Append):
            raise TableDefinitionError(f"{where}: bronze tables are append-only (write=Append())")
        if isinstance(policy, ReplacePartitions) and not self.partition_by:
            raise TableDefinitionError(f"{where}: ReplacePartitions() needs partition_by")
        if isinstance(policy, Merge) and not policy.keys:
            if not self.primary_keys:
                raise TableDefinitionError(f"{where}: Merge() needs keys or primary_keys")
            policy = attrs.evolve(policy, keys=self.primary_keys)
        if isinstance(policy, SCD2):
            if not policy.keys:
                keys = tuple(k for k in self.primary_keys if k != policy.valid_from)
                if not keys:
                    raise TableDefinitionError(f"{where}: SCD2() needs keys or primary_keys")
                policy = attrs.evolve(policy, keys=keys)
            self._check_scd2(policy, where)
        elif isinstance(policy, Merge):
            self._check_columns("merge key", policy.keys, where)
        return policy

    def _check_scd2(self, policy: SCD2, where: str) -> None:
        if self.schema is None:
            return
        self._check_columns("SCD2 key", policy.keys, where)
        self._check_columns("SCD2 column", policy.scd_columns, where)
        self._check_columns("tracked column", policy.tracked or (), where)
        self._check_columns("in-place column", policy.in_place, where)
        types = {f.name: f.dataType for f in self.schema.fields}
        for column, wanted in (
            (policy.valid_from, T.TimestampType()),
            (policy.valid_to, T.TimestampType()),
            (policy.is_current, T.BooleanType()),
        ):
            if types[column] != wanted:
                raise TableDefinitionError(
                    f"{where}: SCD2 column {column!r} is {types[column].simpleString()}, "
                    f"not {wanted.simpleString()}"
                )

    def _check_columns(self, label: str, names: tuple[str, ...], where: str) -> None:
        if self.schema is None:
            return
        known = {name.lower() for name in self.schema.fieldNames()}
        for column in names:
            if column.lower() not in known:
                raise TableDefinitionError(
                    f"{where}: {label} {column!r} is not a column of its schema "
                    f"({', '.join(self.schema.fieldNames())})"
                )

    @property
    def qualified_name(self) -> str:
        """``"<layer>.<name>"``: unique across the lakehouse, used in logs and errors."""
        return f"{self.layer.value}.{self.name}"

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
        r"""Where the table's Delta files live under a lakehouse root.

        Args:
            root: The lakehouse root: a local folder or a Hadoop URI (``s3a://bucket/lake``).

        Returns:
            ``<root>/<layer>/<name>``.

        Raises:
            UnaddressableRootError: The root has a character Spark cannot address (see
                :class:`~medallion.errors.UnaddressableRootError`).

        Example:
            >>> Table("events", "bronze", schema="id STRING").location("s3a://lake")
            's3a://lake/bronze/events'
            >>> Table("events", "bronze", schema="id STRING").location("/data/lake\x00")
            Traceback (most recent call last):
            ...
            medallion.errors.UnaddressableRootError: lakehouse root '/data/lake\x00': Spark ...
        """
        return Lakehouse.at(check_root(resolve_root(root))).location(self)

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
        parts.append(f"write={self.write.mode.value}")
        return " ".join(parts)
