"""Write policies: how a step's rows are written into its table, declared on the table.

A step returns a DataFrame; the runner writes it by its table's policy, in one Delta commit
that also records the run and the source versions the step consumed:

* :class:`Append`: add the rows (bronze's default).
* :class:`Overwrite`: replace the table (gold's default).
* :class:`ReplacePartitions`: replace the partitions the rows fall in (partitioned gold's
  default).
* :class:`Merge`: upsert on keys, the latest row of each key winning, with an optional delete
  condition (silver's default, on the primary keys).
* :class:`SCD2`: keep every version of a key, with validity times (slowly changing dimension
  of type 2).

Columns a policy reads that the table does not have (a change feed's ``_change_type``, an
``op`` flag, a sequence number) are used and not written, and so are medallion's own columns
(bronze's ``_source_file``, a change feed's ``_commit_version``, ...) unless the table declares
them.

Example:
    >>> from medallion import Layer, Merge, Table
    >>> customers = Table(
    ...     "customers", Layer.SILVER, schema="id STRING, tier STRING, changed_at TIMESTAMP",
    ...     primary_keys="id", write=Merge(sequence_by="changed_at", delete_when="op = 'D'"),
    ... )
    >>> customers.write.keys, customers.write.mode.value
    (('id',), 'merge')
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import attrs

from medallion._sql import expression_problem
from medallion.errors import TableDefinitionError

__all__ = [
    "SCD2",
    "Append",
    "DeleteAction",
    "Merge",
    "Overwrite",
    "ReplacePartitions",
    "WriteMode",
    "WritePolicy",
    "as_policy",
]


class WriteMode(str, enum.Enum):
    """The kind of a write: what a :class:`WritePolicy` does, as the run log records it.

    Attributes:
        APPEND: Add the rows; existing rows are never changed (bronze).
        MERGE: Upsert on keys: matched rows are updated, new rows inserted (silver).
        OVERWRITE: Replace the whole table (gold without partitions).
        REPLACE_PARTITIONS: Replace only the partitions present in the rows (partitioned gold).
        SCD2: Close a key's current row when a tracked column changes, and insert the new one.

    Example:
        >>> WriteMode("replace_partitions") is WriteMode.REPLACE_PARTITIONS
        True
        >>> Merge().mode.value
        'merge'
    """

    APPEND = "append"
    MERGE = "merge"
    OVERWRITE = "overwrite"
    REPLACE_PARTITIONS = "replace_partitions"
    SCD2 = "scd2"


class DeleteAction(str, enum.Enum):
    """What an SCD2 dimension does with a source row that says its key was deleted.

    Attributes:
        CLOSE: Close the key's current row at the delete's effective time; no row is current.
        IGNORE: Keep the key's current row as it is.

    Example:
        >>> SCD2(keys="id", delete_when="op = 'D'").on_delete
        <DeleteAction.CLOSE: 'close'>
    """

    CLOSE = "close"
    IGNORE = "ignore"


def _names(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _optional_names(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    return None if value is None else _names(value)


def _condition(instance: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is None:
        return
    problem = expression_problem(value) if isinstance(value, str) else "it is not a SQL string"
    if problem is not None:
        raise TableDefinitionError(
            f"{type(instance).__name__}.{attribute.name} {value!r} is malformed: {problem}"
        )


@attrs.frozen
class Append:
    """Add the rows; existing rows are never changed.

    Example:
        >>> Append().mode
        <WriteMode.APPEND: 'append'>
    """

    @property
    def mode(self) -> WriteMode:
        """:attr:`WriteMode.APPEND`."""
        return WriteMode.APPEND

    def columns(self) -> tuple[str, ...]:
        """The columns the policy reads besides the table's: none.

        Example:
            >>> Append().columns()
            ()
        """
        return ()


@attrs.frozen
class Overwrite:
    """Replace the whole table with the rows.

    Example:
        >>> Overwrite().mode.value
        'overwrite'
    """

    @property
    def mode(self) -> WriteMode:
        """:attr:`WriteMode.OVERWRITE`."""
        return WriteMode.OVERWRITE

    def columns(self) -> tuple[str, ...]:
        """The columns the policy reads besides the table's: none.

        Example:
            >>> Overwrite().columns()
            ()
        """
        return ()


@attrs.frozen
class ReplacePartitions:
    """Replace the partitions the rows fall in; the other partitions stay (dynamic overwrite).

    Example:
        >>> ReplacePartitions().mode.value
        'replace_partitions'
    """

    @property
    def mode(self) -> WriteMode:
        """:attr:`WriteMode.REPLACE_PARTITIONS`."""
        return WriteMode.REPLACE_PARTITIONS

    def columns(self) -> tuple[str, ...]:
        """The columns the policy reads besides the table's: none.

        Example:
            >>> ReplacePartitions().columns()
            ()
        """
        return ()


@attrs.frozen
class Merge:
    """Upsert the rows on keys: one row per key, the latest winning, in one MERGE.

    Rows with a null key are dropped (they could never match) and counted. When a key appears
    more than once in the rows, the one with the greatest ``sequence_by`` values wins; rows
    that tie there are ordered by where they came from, latest first: a change feed's commit
    version, then (bronze metadata) the ingestion time, the Kafka partition and offset, the
    file's modification time and name, and the record's position in its file. Rows that still
    tie with different values are an error: nothing says which is the latest.

    Attributes:
        keys: The key columns; empty means the table's primary keys.
        sequence_by: Columns whose greatest values mark the latest row of a key; they may be
            columns the table does not store (a change's sequence number): they are not
            written.
        delete_when: A SQL condition over a source row (its columns by name, e.g.
            ``"op = 'D'"`` or ``"_change_type = 'delete'"``): the key's row is deleted, and a
            row meeting it is never inserted. It may use columns the table does not store.
        only_changed: Update a matched row only when one of its values differs, so an
            unchanged row makes no new file.

    Example:
        >>> Merge(keys="order_id", sequence_by=["updated_at"], delete_when="op = 'D'").columns()
        ('updated_at', 'op')
    """

    keys: tuple[str, ...] = attrs.field(default=(), converter=_names)
    sequence_by: tuple[str, ...] = attrs.field(default=(), converter=_names)
    delete_when: str | None = attrs.field(default=None, validator=_condition)
    only_changed: bool = True

    @property
    def mode(self) -> WriteMode:
        """:attr:`WriteMode.MERGE`."""
        return WriteMode.MERGE

    def columns(self) -> tuple[str, ...]:
        """The source columns the policy reads besides the keys (sequence and delete columns).

        The names in ``delete_when`` are found by parsing it (sqlglot, no JVM).

        Example:
            >>> Merge(delete_when="_change_type = 'delete'").columns()
            ('_change_type',)
        """
        return _unique(self.sequence_by + _referenced(self.delete_when))


@attrs.frozen
class SCD2:
    """Keep every version of each key: a slowly changing dimension of type 2.

    A key seen for the first time gets a current row. When a tracked column changes, the key's
    current row is closed (``valid_to`` set to the new version's effective time,
    ``is_current`` false) and the new version inserted as current, in one commit. A change in
    an in-place column updates the current row (type 1). A key with several versions in one
    batch is merged with its latest (by ``effective_at``, then by where it came from, as for
    :class:`Merge`).

    Attributes:
        keys: The business keys; empty means the table's primary keys without ``valid_from``.
        tracked: Columns whose change makes a new version; ``None`` means every column that is
            not a key, an SCD2 column or in ``in_place``.
        in_place: Columns updated on the current row without a new version.
        effective_at: The source column holding when a version took effect; ``None`` for the
            time the run started (the load time).
        delete_when: A SQL condition over a source row meaning its key was deleted.
        on_delete: What a deleted key's current row gets (see :class:`DeleteAction`).
        valid_from: The column that opens a version.
        valid_to: The column that closes it (null while current).
        is_current: The boolean column marking current rows.

    Example:
        >>> dim = SCD2(keys="customer_id", tracked=["city", "tier"], effective_at="changed_at")
        >>> dim.mode.value, dim.columns()
        ('scd2', ('changed_at',))
    """

    keys: tuple[str, ...] = attrs.field(default=(), converter=_names)
    tracked: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_names)
    in_place: tuple[str, ...] = attrs.field(default=(), converter=_names)
    effective_at: str | None = None
    delete_when: str | None = attrs.field(default=None, validator=_condition)
    on_delete: DeleteAction = attrs.field(default=DeleteAction.CLOSE, converter=DeleteAction)
    valid_from: str = "valid_from"
    valid_to: str = "valid_to"
    is_current: str = "is_current"

    def __attrs_post_init__(self) -> None:
        both = set(self.tracked or ()) & set(self.in_place)
        if both:
            raise TableDefinitionError(
                f"SCD2: column(s) {', '.join(sorted(both))} cannot be both tracked and in place"
            )

    @property
    def mode(self) -> WriteMode:
        """:attr:`WriteMode.SCD2`."""
        return WriteMode.SCD2

    @property
    def scd_columns(self) -> tuple[str, str, str]:
        """``(valid_from, valid_to, is_current)``: the columns the policy maintains."""
        return (self.valid_from, self.valid_to, self.is_current)

    def columns(self) -> tuple[str, ...]:
        """The source columns the policy reads besides the keys (effective time, delete flag).

        Example:
            >>> SCD2(keys="id", effective_at="at", delete_when="op = 'D'").columns()
            ('at', 'op')
        """
        effective = (self.effective_at,) if self.effective_at else ()
        return _unique(effective + _referenced(self.delete_when))


#: Any write policy.
WritePolicy = Append | Overwrite | ReplacePartitions | Merge | SCD2


def as_policy(
    given: WritePolicy | WriteMode | str, primary_keys: Iterable[str] = ()
) -> WritePolicy:
    """A write policy from a policy or a mode's name, with a MERGE's keys filled in.

    Args:
        given: A policy, or a mode (``"merge"`` merges on ``primary_keys``).
        primary_keys: The table's primary keys.

    Returns:
        The policy.

    Raises:
        TableDefinitionError: A MERGE has no keys.

    Example:
        >>> as_policy("merge", ["id"])
        Merge(keys=('id',), sequence_by=(), delete_when=None, only_changed=True)
        >>> as_policy(WriteMode.APPEND)
        Append()
    """
    keys = tuple(primary_keys)
    if isinstance(given, str):
        given = WriteMode(given)
    if isinstance(given, WriteMode):
        plain: dict[WriteMode, WritePolicy] = {
            WriteMode.APPEND: Append(),
            WriteMode.OVERWRITE: Overwrite(),
            WriteMode.REPLACE_PARTITIONS: ReplacePartitions(),
            WriteMode.MERGE: Merge(),
            WriteMode.SCD2: SCD2(),
        }
        given = plain[given]
    if isinstance(given, Merge) and not given.keys:
        if not keys:
            raise TableDefinitionError("a MERGE needs key columns (keys or primary_keys)")
        return attrs.evolve(given, keys=keys)
    if isinstance(given, SCD2) and not given.keys:
        return attrs.evolve(given, keys=tuple(k for k in keys if k != given.valid_from))
    return given


def _unique(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def _referenced(condition: str | None) -> tuple[str, ...]:
    """The column names a SQL condition uses, in order of appearance."""
    if not condition:
        return ()
    from sqlglot import exp

    from medallion._sql import parse_condition

    columns = parse_condition(condition).find_all(exp.Column, bfs=False)
    return _unique(tuple(c.name for c in columns))
