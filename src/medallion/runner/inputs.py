"""Incremental inputs: a step declares ``changes(table)``, the runner reads what is new.

A step registered with ``inputs=[changes(silver_orders)]`` gets, through
:meth:`StepContext.changes <medallion.StepContext.changes>`, the rows of ``silver_orders``
that changed since the version its table last consumed: inserts, both images of updates and
deletes, from the Change Data Feed (the whole table the first time). When none of a step's
incremental inputs has anything new, the runner does not run the step and commits nothing.
The versions consumed are recorded in the commit of the step's write (under
``medallion_consumed`` in its userMetadata), so a step that fails reads the same changes
again, and a RESTORE of its table rewinds it.

Example:
    >>> from medallion import Table, changes
    >>> orders = Table("orders", "silver", primary_keys="id")
    >>> changes(orders)
    ChangesOf(table='silver.orders')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from pyspark.sql import functions as F

from medallion.delta._target import Target
from medallion.delta.changes import change_rows, consumed_versions
from medallion.table import Table

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from medallion.lakehouse import Lakehouse

__all__ = ["Changes", "ChangesOf", "changes", "consumed_tags", "consumer_name", "read_changes"]


@attrs.frozen(repr=False)
class ChangesOf:
    """An incremental input: the changes of ``table`` a step has not processed yet.

    Made by :func:`changes`; listed in a step's ``inputs``.

    Attributes:
        table: The source table; it must record its changes (``delta.enableChangeDataFeed``).

    Example:
        >>> from medallion import Table
        >>> changes(Table("orders", "silver", primary_keys="id")).table.name
        'orders'
    """

    table: Table

    def __repr__(self) -> str:
        return f"ChangesOf(table={self.table.qualified_name!r})"


def changes(table: Table) -> ChangesOf:
    """Declare an input read incrementally: the step gets the rows of ``table`` that changed.

    Args:
        table: The source table.

    Returns:
        The input, for ``Pipeline.step(..., inputs=[...])``.

    Example:
        >>> from medallion import Pipeline, Table
        >>> orders = Table("orders", "silver", primary_keys="id")
        >>> totals = Table("totals", "gold")
        >>> pipeline = Pipeline("shop")
        >>> @pipeline.step(totals, inputs=[changes(orders)])
        ... def order_totals(ctx):
        ...     return ctx.changes(orders).upserts().groupBy("status").count()
        >>> [t.qualified_name for t in order_totals.changes_of]
        ['silver.orders']
    """
    return ChangesOf(table)


def consumer_name(source: Table, target: Table) -> str:
    """The name under which ``target``'s commits record what they consumed of ``source``.

    Args:
        source: The table read.
        target: The table written.

    Returns:
        ``"<source>-><target>"``.

    Example:
        >>> from medallion import Table
        >>> consumer_name(Table("orders", "silver", primary_keys="id"), Table("sales", "gold"))
        'silver.orders->gold.sales'
    """
    return f"{source.qualified_name}->{target.qualified_name}"


@attrs.frozen
class Changes:
    """The rows of a source table that changed since a consumer last read it.

    Attributes:
        source: The source table's qualified name.
        consumer: The name the consumer's commits record their position under.
        from_version: The first source version included; ``None`` when :attr:`rows` is the
            whole table (the consumer's first read).
        to_version: The last source version included.
        rows: Every change, with Delta's ``_change_type`` (``insert``, ``update_preimage``,
            ``update_postimage``, ``delete``), ``_commit_version`` and ``_commit_timestamp``;
            on a first read, every row of the table as an ``insert`` of :attr:`to_version`.
        is_empty: Whether the source has no version the consumer has not read.

    Example:
        >>> rows = spark.createDataFrame(
        ...     [("o1", 5, "update_preimage", 3), ("o1", 6, "update_postimage", 3),
        ...      ("o2", 1, "delete", 3)], "id STRING, qty INT, _change_type STRING, "
        ...     "_commit_version BIGINT")
        >>> found = Changes("silver.orders", "silver.orders->gold.sales", 3, 3, rows)
        >>> found.is_full, [r.qty for r in found.upserts().collect()]
        (False, [6])
        >>> [r.id for r in found.keys("id").orderBy("id").collect()]
        ['o1', 'o2']
    """

    source: str
    consumer: str
    from_version: int | None
    to_version: int
    rows: DataFrame = attrs.field(eq=False, repr=False)
    is_empty: bool = False

    @property
    def is_full(self) -> bool:
        """Whether :attr:`rows` is the whole table (the consumer's first read)."""
        return self.from_version is None

    def upserts(self) -> DataFrame:
        """The changed rows as they are now: inserts and the new images of updates.

        Example:
            >>> rows = spark.createDataFrame([("o1", "insert")], "id STRING, _change_type STRING")
            >>> Changes("silver.orders", "c", None, 0, rows).upserts().count()
            1
        """
        return self.rows.where(F.col("_change_type").isin("insert", "update_postimage"))

    def deletes(self) -> DataFrame:
        """The rows deleted, as they were.

        Example:
            >>> rows = spark.createDataFrame([("o1", "delete")], "id STRING, _change_type STRING")
            >>> Changes("silver.orders", "c", 2, 2, rows).deletes().count()
            1
        """
        return self.rows.where(F.col("_change_type") == "delete")

    def keys(self, *columns: str | Column) -> DataFrame:
        """The distinct values of ``columns`` over every image: what the changes touch.

        A row moved from one key to another (an order line moved to another day) touches
        both: the old image has one, the new image the other. Rows whose values are all null
        are left out.

        Args:
            *columns: Column names or expressions (``F.trunc("order_date", "month")``).

        Returns:
            One row per distinct combination.

        Example:
            >>> rows = spark.createDataFrame(
            ...     [("o1", "2026-01-01", "update_preimage"), ("o1", "2026-01-02",
            ...      "update_postimage")], "id STRING, day STRING, _change_type STRING")
            >>> sorted(r.day for r in Changes("s", "c", 1, 1, rows).keys("day").collect())
            ['2026-01-01', '2026-01-02']
        """
        picked = self.rows.select(*columns)
        return picked.dropna(how="all").distinct()


def read_changes(
    lakehouse: Lakehouse, target: Table, sources: Sequence[Table]
) -> dict[str, Changes]:
    """What ``target`` has not consumed yet of each source, by the source's qualified name.

    One read of ``target``'s history finds every source's consumed version; each source's
    current version comes from its log.

    Args:
        lakehouse: The lakehouse (with its session).
        target: The table the consumer writes.
        sources: The tables it reads incrementally.

    Returns:
        The changes of each source.

    Example:
        >>> from medallion import Lakehouse, Table
        >>> orders = Table("orders", "gold", schema="id STRING")
        >>> lake = Lakehouse(spark, lakehouse)
        >>> spark.createDataFrame([("o1",)], "id STRING").write.format("delta").save(
        ...     lake.location(orders))
        >>> found = read_changes(lake, Table("sales", "gold"), [orders])["gold.orders"]
        >>> found.is_full, found.to_version, found.rows.count()
        (True, 0, 1)
    """
    if not sources:
        return {}
    spark = lakehouse.session
    written = Target(spark, lakehouse.location(target), table=target, root=lakehouse.root)
    consumers = {s.qualified_name: consumer_name(s, target) for s in sources}
    done = consumed_versions(written, consumers.values())
    found: dict[str, Changes] = {}
    for source in sources:
        read = Target(spark, lakehouse.location(source), table=source, root=lakehouse.root)
        consumer = consumers[source.qualified_name]
        current = read.version()
        after = done[consumer]
        found[source.qualified_name] = Changes(
            source.qualified_name,
            consumer,
            None if after is None else after + 1,
            current,
            change_rows(read, after, current),
            is_empty=after is not None and after >= current,
        )
    return found


def consumed_tags(found: Iterable[Changes]) -> dict[str, Any]:
    """The commit tags that record changes as consumed (the versions read up to).

    Args:
        found: The changes a write was made from.

    Returns:
        ``{"medallion_consumed": {consumer: version}}``, or ``{}`` for no changes.

    Example:
        >>> rows = spark.range(0)
        >>> consumed_tags([Changes("silver.orders", "silver.orders->gold.sales", 3, 5, rows)])
        {'medallion_consumed': {'silver.orders->gold.sales': 5}}
    """
    versions: Mapping[str, int] = {c.consumer: c.to_version for c in found}
    return {"medallion_consumed": dict(versions)} if versions else {}
