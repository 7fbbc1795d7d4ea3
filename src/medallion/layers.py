"""The three layers of a medallion lakehouse and the conventions each one carries.

Example:
    >>> from medallion import Append, Layer
    >>> Layer.BRONZE.conventions.write == Append()
    True
    >>> Layer("silver").conventions.requires_primary_keys
    True
    >>> Layer.GOLD < Layer.SILVER
    False
"""

from __future__ import annotations

import enum

import attrs

from medallion.policies import Append, Merge, Overwrite, WriteMode, WritePolicy

__all__ = ["Layer", "LayerConventions", "WriteMode"]


@attrs.frozen
class LayerConventions:
    """What a layer implies for the tables declared in it.

    Attributes:
        write: The default write policy of the layer's tables (a partitioned gold table
            replaces its partitions instead of overwriting).
        requires_primary_keys: Whether tables of the layer must declare primary keys.
        adds_ingestion_metadata: Whether rows carry ingestion metadata columns
            (ingestion time, source file, run id).
        append_only: Whether existing rows are never updated or deleted.

    Example:
        >>> conventions = Layer.BRONZE.conventions
        >>> conventions.append_only, conventions.adds_ingestion_metadata
        (True, True)
    """

    write: WritePolicy
    requires_primary_keys: bool
    adds_ingestion_metadata: bool
    append_only: bool


_CONVENTIONS = {
    "bronze": LayerConventions(
        write=Append(),
        requires_primary_keys=False,
        adds_ingestion_metadata=True,
        append_only=True,
    ),
    "silver": LayerConventions(
        write=Merge(),
        requires_primary_keys=True,
        adds_ingestion_metadata=False,
        append_only=False,
    ),
    "gold": LayerConventions(
        write=Overwrite(),
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
