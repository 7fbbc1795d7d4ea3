"""Delta's commands as SQL: MERGE, UPDATE, DELETE, RESTORE, history and detail, on any session.

delta-spark's Python ``DeltaTable`` drives the JVM directly; through Spark Connect it needs
Delta's Connect plugin on the server. Delta's SQL needs only Delta's SQL extension there, so
medallion issues every command on a table as SQL, in classic Spark and through Spark Connect
alike: one code path. A MERGE's source is registered as a global temporary view (visible to
every session of the application, so to a child session carrying commit tags too) for the
one statement.

Conditions and values are Spark SQL text; names in them are quoted by the caller
(:func:`medallion._names.quote`) and strings written with :func:`medallion._names.string_literal`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING

from medallion._names import quote

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Row, SparkSession

__all__ = ["MergeStatement", "TableCommands", "is_connect"]


def is_connect(spark: SparkSession) -> bool:
    """Whether a session is a Spark Connect client session.

    Args:
        spark: The session.

    Returns:
        ``True`` for a Spark Connect session (``SparkSession.builder.remote(...)``).

    Example:
        >>> is_connect(spark)
        False
    """
    return type(spark).__module__.startswith("pyspark.sql.connect")


class TableCommands:
    """The SQL commands on one Delta table, run on a given session.

    Args:
        spark: The session the statements run on.
        identifier: The table as a SQL identifier (``delta.`<path>``` or a catalog name).

    Example:
        >>> from medallion._names import delta_table
        >>> path = f"{lakehouse}/numbers"
        >>> spark.range(3).write.format("delta").save(path)
        >>> table = TableCommands(spark, delta_table(path))
        >>> table.delete("id = 0")
        >>> table.update("id = 1", {"id": "10"})
        >>> sorted(r.id for r in spark.read.format("delta").load(path).collect())
        [2, 10]
        >>> [r.operation for r in table.history(2).collect()]
        ['UPDATE', 'DELETE']
    """

    def __init__(self, spark: SparkSession, identifier: str) -> None:
        self.spark = spark
        self.identifier = identifier

    def history(self, limit: int | None = None) -> DataFrame:
        """The table's commits, newest first (``DESCRIBE HISTORY``)."""
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        return self.spark.sql(f"DESCRIBE HISTORY {self.identifier}{tail}")

    def detail(self) -> DataFrame:
        """The table's one-row detail (``DESCRIBE DETAIL``)."""
        return self.spark.sql(f"DESCRIBE DETAIL {self.identifier}")

    def update(self, condition: str | None, values: Mapping[str, str]) -> None:
        """Set columns (quoted names) to SQL expressions in the rows matching ``condition``."""
        where = f" WHERE {condition}" if condition else ""
        self.spark.sql(f"UPDATE {self.identifier} SET {_assignments(values)}{where}")

    def delete(self, condition: str) -> None:
        """Delete the rows matching a SQL condition."""
        self.spark.sql(f"DELETE FROM {self.identifier} WHERE {condition}")

    def restore_version(self, version: int) -> None:
        """Restore a version as a new commit."""
        self.spark.sql(f"RESTORE TABLE {self.identifier} TO VERSION AS OF {int(version)}")

    def restore_timestamp(self, literal: str) -> None:
        """Restore the version current at a timestamp (a SQL string literal) as a new commit."""
        self.spark.sql(f"RESTORE TABLE {self.identifier} TO TIMESTAMP AS OF {literal}")

    def merge(
        self, source: DataFrame, condition: str, *, target: str = "t", alias: str = "s"
    ) -> MergeStatement:
        """A MERGE of ``source`` (aliased ``alias``) into the table (aliased ``target``)."""
        return MergeStatement(self, source, condition, target, alias)


class MergeStatement:
    """One ``MERGE INTO`` statement, built clause by clause, run by :meth:`execute`.

    Clauses apply in the order they are added, as in SQL. Column names in ``values`` are
    quoted; the values are SQL expressions over the two aliases.

    Args:
        table: The table merged into.
        source: The rows merged.
        condition: The SQL condition matching a source row to a target row.
        target: The table's alias in the statement.
        alias: The source's alias in the statement.

    Example:
        >>> from medallion._names import delta_table
        >>> path = f"{lakehouse}/prices"
        >>> spark.createDataFrame([(1, 10)], "id INT, price INT").write.format("delta").save(path)
        >>> changes = spark.createDataFrame([(1, 12), (2, 20)], "id INT, price INT")
        >>> metrics = (
        ...     TableCommands(spark, delta_table(path))
        ...     .merge(changes, "t.id = s.id")
        ...     .when_matched_update({"price": "s.price"})
        ...     .when_not_matched_insert()
        ...     .execute()
        ... )
        >>> metrics["num_updated_rows"], metrics["num_inserted_rows"]
        (1, 1)
    """

    def __init__(
        self, table: TableCommands, source: DataFrame, condition: str, target: str, alias: str
    ) -> None:
        self._table = table
        self._source = source
        self._condition = condition
        self._target = target
        self._alias = alias
        self._clauses: list[str] = []
        self._evolve = False

    def when_matched_update(
        self, values: Mapping[str, str] | None = None, condition: str | None = None
    ) -> MergeStatement:
        """Update matched rows (every column from the source when ``values`` is ``None``)."""
        action = "UPDATE SET *" if values is None else "UPDATE SET " + _assignments(values)
        self._clauses.append(f"WHEN MATCHED{_and(condition)} THEN {action}")
        return self

    def when_matched_delete(self, condition: str | None = None) -> MergeStatement:
        """Delete matched rows."""
        self._clauses.append(f"WHEN MATCHED{_and(condition)} THEN DELETE")
        return self

    def when_not_matched_insert(
        self, values: Mapping[str, str] | None = None, condition: str | None = None
    ) -> MergeStatement:
        """Insert source rows with no match (every column when ``values`` is ``None``)."""
        if values is None:
            action = "INSERT *"
        else:
            names = ", ".join(values)
            action = f"INSERT ({names}) VALUES ({', '.join(values.values())})"
        self._clauses.append(f"WHEN NOT MATCHED{_and(condition)} THEN {action}")
        return self

    def with_schema_evolution(self) -> MergeStatement:
        """Let the MERGE add the source's new columns to the table."""
        self._evolve = True
        return self

    def execute(self) -> Row | None:
        """Run the statement; return Delta's metrics row (``num_inserted_rows``, ...)."""
        view = f"medallion_merge_{uuid.uuid4().hex}"
        self._source.createGlobalTempView(view)
        spark = self._table.spark
        try:
            evolve = " WITH SCHEMA EVOLUTION" if self._evolve else ""
            statement = (
                f"MERGE{evolve} INTO {self._table.identifier} AS {quote(self._target)} "
                f"USING global_temp.{view} AS {quote(self._alias)} ON {self._condition} "
                + " ".join(self._clauses)
            )
            return spark.sql(statement).first()
        finally:
            self._source.sparkSession.catalog.dropGlobalTempView(view)


def _and(condition: str | None) -> str:
    return f" AND ({condition})" if condition else ""


def _assignments(values: Mapping[str, str]) -> str:
    return ", ".join(f"{name} = {value}" for name, value in values.items())
