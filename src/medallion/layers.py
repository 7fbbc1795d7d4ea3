"""The three layers of a medallion lakehouse and the conventions each one carries.

Example:
    >>> from medallion import Layer, WriteMode
    >>> Layer.BRONZE.conventions.write_mode is WriteMode.APPEND
    True
    >>> Layer("silver").conventions.requires_primary_keys
    True
    >>> Layer.GOLD < Layer.SILVER
    False
"""

from __future__ import annotations

import enum

import attrs

__all__ = ["Layer", "LayerConventions", "WriteMode"]


class WriteMode(str, enum.Enum):
    """How a step's output DataFrame is written into its Delta table.

    Attributes:
        APPEND: Add the rows; existing rows are never changed (bronze).
        MERGE: Upsert on the table's primary keys: matched rows are updated, new rows inserted
            (silver).
        OVERWRITE: Replace the whole table with the output (gold without partitions).
        REPLACE_PARTITIONS: Replace only the partitions present in the output (partitioned gold).

    Example:
        >>> WriteMode("replace_partitions") is WriteMode.REPLACE_PARTITIONS
        True
        >>> Layer.SILVER.conventions.write_mode.value
        'merge'
    """

    APPEND = "append"
    MERGE = "merge"
    OVERWRITE = "overwrite"
    REPLACE_PARTITIONS = "replace_partitions"


@attrs.frozen
class LayerConventions:
    """What a layer implies for the tables declared in it.

    Attributes:
        write_mode: The default way a step's output is written.
        requires_primary_keys: Whether tables of the layer must declare primary keys.
        adds_ingestion_metadata: Whether rows carry ingestion metadata columns
            (ingestion time, source file, run id).
        append_only: Whether existing rows are never updated or deleted.

    Example:
        >>> conventions = Layer.BRONZE.conventions
        >>> conventions.append_only, conventions.adds_ingestion_metadata
        (True, True)
    """

    write_mode: WriteMode
    requires_primary_keys: bool
    adds_ingestion_metadata: bool
    append_only: bool


_CONVENTIONS = {
    "bronze": LayerConventions(
        write_mode=WriteMode.APPEND,
        requires_primary_keys=False,
        adds_ingestion_metadata=True,
        append_only=True,
    ),
    "silver": LayerConventions(
        write_mode=WriteMode.MERGE,
        requires_primary_keys=True,
        adds_ingestion_metadata=False,
        append_only=False,
    ),
    "gold": LayerConventions(
        write_mode=WriteMode.OVERWRITE,
        requires_primary_keys=False,
        adds_ingestion_metadata=False,
        append_only=False,
    ),
}

_ORDER = {"bronze": 0, "silver": 1, "gold": 2}


def _order_of(value: object) -> int | None:
    """The flow position of a Layer or layer name; ``None`` for values of other types."""
    if not isinstance(value, str):
        return None
    try:
        return _ORDER[Layer(value).value]
    except ValueError as exc:
        raise TypeError(f"cannot compare a Layer with {value!r}: not a layer name") from exc


class Layer(str, enum.Enum):
    """A medallion layer: raw ``BRONZE``, cleaned ``SILVER``, aggregated ``GOLD``.

    Layers compare in data-flow order (``BRONZE < SILVER < GOLD``) and convert from their
    lower-case names (``Layer("gold")``).

    Attributes:
        BRONZE: Raw data as it arrived, append-only, with ingestion metadata columns.
        SILVER: Keyed, cleaned, standardised data, merged on its primary keys.
        GOLD: Business-level aggregates and dimensions, overwritten or partition-replaced.

    Example:
        >>> Layer("gold") is Layer.GOLD
        True
        >>> sorted([Layer.GOLD, Layer.BRONZE, Layer.SILVER])
        [<Layer.BRONZE: 'bronze'>, <Layer.SILVER: 'silver'>, <Layer.GOLD: 'gold'>]
        >>> Layer.SILVER >= "bronze"
        True
    """

    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"

    @property
    def conventions(self) -> LayerConventions:
        """The conventions of this layer (write mode, keys, metadata columns)."""
        return _CONVENTIONS[self.value]

    def __lt__(self, other: object) -> bool:
        position = _order_of(other)
        if position is None:
            return NotImplemented
        return _ORDER[self.value] < position

    def __le__(self, other: object) -> bool:
        position = _order_of(other)
        if position is None:
            return NotImplemented
        return _ORDER[self.value] <= position

    def __gt__(self, other: object) -> bool:
        position = _order_of(other)
        if position is None:
            return NotImplemented
        return _ORDER[self.value] > position

    def __ge__(self, other: object) -> bool:
        position = _order_of(other)
        if position is None:
            return NotImplemented
        return _ORDER[self.value] >= position

    def __str__(self) -> str:
        return self.value
