"""``Lakehouse``: a root folder (or URI) and the session that reads and writes it.

Every location medallion uses is derived here, and only here:

=====================  ============================================
tables                 ``<root>/<layer>/<name>``
quarantine             ``<root>/<layer>/_quarantine``
dead letters           ``<root>/<layer>/_dead_letters``
run log                ``<root>/_medallion/runs``
file records           ``<root>/_medallion/files``
streaming checkpoints  ``<root>/_checkpoints/<query>``
=====================  ============================================

Example:
    >>> from medallion import Lakehouse, Layer, Table
    >>> lake = Lakehouse.at("s3a://bucket/lake/")
    >>> lake.location(Table("orders", "silver", primary_keys="id"))
    's3a://bucket/lake/silver/orders'
    >>> lake.quarantine(Layer.SILVER), lake.run_log()
    ('s3a://bucket/lake/silver/_quarantine', 's3a://bucket/lake/_medallion/runs')
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Protocol

import attrs

from medallion.errors import SessionError
from medallion.layers import Layer

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["Lakehouse", "resolve_root"]

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def resolve_root(root: str | os.PathLike[str]) -> str:
    """Normalise a lakehouse root: a URI (``s3a://...``) as is, a local path made absolute.

    Args:
        root: A local folder or any Hadoop file-system URI.

    Returns:
        The root without a trailing slash.

    Example:
        >>> resolve_root("s3a://bucket/lake/")
        's3a://bucket/lake'
    """
    text = os.fspath(root)
    if _URI.match(text) or text.startswith("file:"):
        return text.rstrip("/")
    return os.path.abspath(text)


class _Named(Protocol):
    """A table as far as its location goes: its layer and name (a ``Table`` is one)."""

    @property
    def layer(self) -> Layer: ...

    @property
    def name(self) -> str: ...


@attrs.frozen
class Lakehouse:
    """A lakehouse: where its tables and bookkeeping live, and the session that reads them.

    Attributes:
        spark: The SparkSession that reads and writes it; ``None`` for locations only (see
            :meth:`at`).
        root: A local folder (made absolute) or a Hadoop URI (``s3a://bucket/lake``).

    Example:
        >>> lake = Lakehouse(spark, lakehouse)
        >>> lake.root == lakehouse, lake.session is spark
        (True, True)
    """

    spark: SparkSession | None = attrs.field(eq=False, repr=False)
    root: str = attrs.field(converter=resolve_root)

    @classmethod
    def at(cls, root: str | os.PathLike[str]) -> Lakehouse:
        """The lakehouse at ``root``, without a session: for its locations only.

        Args:
            root: The lakehouse root.

        Returns:
            The lakehouse; :attr:`session` raises.

        Example:
            >>> Lakehouse.at("/data/lake").run_log()
            '/data/lake/_medallion/runs'
        """
        return cls(None, root)

    @property
    def session(self) -> SparkSession:
        """The SparkSession; an error when the lakehouse was made for its locations only."""
        if self.spark is None:
            raise SessionError(f"lakehouse {self.root}: no SparkSession was given")
        return self.spark

    def location(self, table: _Named) -> str:
        """Where a table's Delta files live: ``<root>/<layer>/<name>``.

        Args:
            table: The table.

        Returns:
            Its path or URI.

        Example:
            >>> from medallion import Table
            >>> Lakehouse.at("/lake").location(Table("events", "bronze", schema="id STRING"))
            '/lake/bronze/events'
        """
        return self.table_location(table.layer, table.name)

    def table_location(self, layer: Layer | str, name: str) -> str:
        """Where the table ``name`` of ``layer`` lives (see :meth:`location`).

        Args:
            layer: The table's layer.
            name: The table's name.

        Returns:
            Its path or URI.

        Example:
            >>> Lakehouse.at("/lake").table_location("gold", "daily_sales")
            '/lake/gold/daily_sales'
        """
        return f"{self.root}/{Layer(layer).value}/{name}"

    def quarantine(self, layer: Layer | str) -> str:
        """Where a layer's quarantine table lives: ``<root>/<layer>/_quarantine``.

        Args:
            layer: The layer.

        Returns:
            Its path or URI.

        Example:
            >>> Lakehouse.at("/lake").quarantine("silver")
            '/lake/silver/_quarantine'
        """
        return f"{self.root}/{Layer(layer).value}/_quarantine"

    def dead_letters(self, layer: Layer | str = Layer.BRONZE) -> str:
        """Where a layer's dead-letter table lives: ``<root>/<layer>/_dead_letters``.

        Args:
            layer: The layer (bronze by default: streams land there).

        Returns:
            Its path or URI.

        Example:
            >>> Lakehouse.at("/lake").dead_letters()
            '/lake/bronze/_dead_letters'
        """
        return f"{self.root}/{Layer(layer).value}/_dead_letters"

    def run_log(self) -> str:
        """Where the run log lives: ``<root>/_medallion/runs``.

        Example:
            >>> Lakehouse.at("/lake").run_log()
            '/lake/_medallion/runs'
        """
        return f"{self.root}/_medallion/runs"

    def file_records(self) -> str:
        """Where bronze ingestion records files that left no rows: ``<root>/_medallion/files``.

        Bad files (skipped, with the reason) and files without records are kept there, so that
        they are not read again (see :mod:`medallion.ingest.records`).

        Example:
            >>> Lakehouse.at("/lake").file_records()
            '/lake/_medallion/files'
        """
        return f"{self.root}/_medallion/files"

    def checkpoint(self, query: str) -> str:
        """Where a streaming query keeps its checkpoint: ``<root>/_checkpoints/<query>``.

        Args:
            query: The query's name.

        Returns:
            Its path or URI.

        Example:
            >>> Lakehouse.at("/lake").checkpoint("orders-from-kafka")
            '/lake/_checkpoints/orders-from-kafka'
        """
        return f"{self.root}/_checkpoints/{query}"

    def read(self, table: _Named) -> DataFrame:
        """Read a table's current version.

        Args:
            table: The table.

        Returns:
            Its rows.

        Example:
            >>> from medallion import Table
            >>> events = Table("events", "bronze", schema="id STRING")
            >>> spark.range(2).write.format("delta").save(Lakehouse.at(lakehouse).location(events))
            >>> Lakehouse(spark, lakehouse).read(events).count()
            2
        """
        return self.session.read.format("delta").load(self.location(table))
