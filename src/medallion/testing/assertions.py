"""Assertions for lakehouse tests: tables, rows, quarantined rows and row conservation.

DataFrame comparisons use `chispa <https://github.com/MrPowers/chispa>`_ (the ``testing``
extra: ``pip install 'medallion-lakehouse[testing]'``), so a mismatch shows both sides, row by row.
Every helper raises :class:`AssertionError`, which pytest reports as a test failure.

Example:
    A pipeline test::

        from medallion.testing.assertions import (
            assert_conserved, assert_quarantined, assert_rows, assert_table_equals,
        )

        result = pipeline.run(spark, root)
        step = result.step("silver.orders")
        assert_conserved(step)
        assert_quarantined(spark, root, SILVER_ORDERS, {"positive_amount": 3})
        assert_rows(read_table(spark, GOLD_TOTALS, root), [("web", 120.0), ("store", 80.5)])
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from medallion.runner.results import StepRun, StepStatus

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from medallion.table import Table

__all__ = [
    "assert_conserved",
    "assert_quarantined",
    "assert_rows",
    "assert_table_equals",
    "quarantine_counts",
]

_CHISPA_MISSING = (
    "medallion.testing.assertions compares DataFrames with chispa, which is not installed: "
    "pip install 'medallion-lakehouse[testing]' (or pip install 'chispa>=0.12')"
)


def _assert_frames_equal(
    actual: DataFrame,
    expected: DataFrame,
    *,
    ignore_row_order: bool,
    ignore_column_order: bool,
    ignore_nullable: bool,
    ignore_columns: Sequence[str] | None,
    precision: float | None,
    allow_nan_equality: bool,
) -> None:
    try:
        import chispa
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(_CHISPA_MISSING) from exc

    options: dict[str, Any] = {
        "ignore_nullable": ignore_nullable,
        "ignore_row_order": ignore_row_order,
        "ignore_column_order": ignore_column_order,
        "ignore_columns": list(ignore_columns) if ignore_columns else None,
        "allow_nan_equality": allow_nan_equality,
    }
    errors = (chispa.DataFramesNotEqualError, chispa.SchemasNotEqualError)
    try:
        if precision is None:
            chispa.assert_df_equality(actual, expected, **options)
        else:
            chispa.assert_approx_df_equality(actual, expected, precision, **options)
    except errors as exc:
        raise AssertionError(f"{type(exc).__name__}: {exc}") from exc


def _location(
    table_or_location: Table | str | os.PathLike[str], root: str | os.PathLike[str] | None
) -> str:
    if isinstance(table_or_location, (str, os.PathLike)):
        return os.fspath(table_or_location)
    if root is None:
        raise TypeError(
            f"assert_table_equals: root is required to locate table "
            f"{table_or_location.qualified_name!r}"
        )
    return table_or_location.location(root)


def assert_table_equals(
    spark: SparkSession,
    table_or_location: Table | str | os.PathLike[str],
    expected_df: DataFrame,
    *,
    root: str | os.PathLike[str] | None = None,
    ignore_row_order: bool = True,
    ignore_nullable: bool = True,
    ignore_column_order: bool = False,
    ignore_columns: Sequence[str] | None = None,
    precision: float | None = None,
    allow_nan_equality: bool = False,
    version: int | None = None,
) -> None:
    """Assert that a Delta table holds exactly the rows (and schema) of a DataFrame.

    Args:
        spark: The session.
        table_or_location: A :class:`~medallion.Table` (with ``root``) or a table's path/URI.
        expected_df: The expected rows.
        root: The lakehouse root; required with a :class:`~medallion.Table`.
        ignore_row_order: Compare rows as a multiset.
        ignore_nullable: Ignore the columns' nullability.
        ignore_column_order: Match columns by name, not position.
        ignore_columns: Columns left out on both sides (audit columns such as
            ``_ingested_at``, say).
        precision: Compare floating-point values within this absolute tolerance.
        allow_nan_equality: Consider NaN equal to NaN.
        version: Read this Delta version (time travel) instead of the current one.

    Raises:
        AssertionError: The table differs; the message shows chispa's comparison.
        TypeError: A :class:`~medallion.Table` was given without ``root``.
        ImportError: chispa is not installed.

    Example:
        >>> from medallion import Table, write_table
        >>> totals = Table("totals", "gold", schema="channel STRING, total DOUBLE")
        >>> df = spark.createDataFrame([("web", 120.0), ("store", 80.5)], totals.schema)
        >>> _ = write_table(df, totals, lakehouse)
        >>> assert_table_equals(spark, totals, df, root=lakehouse)
    """
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    actual = reader.load(_location(table_or_location, root))
    _assert_frames_equal(
        actual,
        expected_df,
        ignore_row_order=ignore_row_order,
        ignore_column_order=ignore_column_order,
        ignore_nullable=ignore_nullable,
        ignore_columns=ignore_columns,
        precision=precision,
        allow_nan_equality=allow_nan_equality,
    )


def assert_rows(
    df: DataFrame,
    expected_rows_or_df: DataFrame | Sequence[Any],
    *,
    ignore_row_order: bool = True,
    ignore_nullable: bool = True,
    ignore_column_order: bool = False,
    ignore_columns: Sequence[str] | None = None,
    precision: float | None = None,
    allow_nan_equality: bool = False,
) -> None:
    """Assert that a DataFrame holds exactly the expected rows.

    Args:
        df: The actual DataFrame.
        expected_rows_or_df: A DataFrame, or rows (tuples by position, dicts or ``Row`` by
            name) that are given ``df``'s schema.
        ignore_row_order: Compare rows as a multiset.
        ignore_nullable: Ignore the columns' nullability.
        ignore_column_order: Match columns by name, not position.
        ignore_columns: Columns left out on both sides.
        precision: Compare floating-point values within this absolute tolerance.
        allow_nan_equality: Consider NaN equal to NaN.

    Raises:
        AssertionError: The rows differ; the message shows chispa's comparison.
        ImportError: chispa is not installed.

    Example:
        >>> df = spark.createDataFrame([("web", 120.0), ("store", 80.5)], "shop STRING, n DOUBLE")
        >>> assert_rows(df, [("store", 80.5), ("web", 120.0)])
        >>> assert_rows(df, [("web", 120.0)])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        AssertionError: ...
    """
    from pyspark.sql import DataFrame

    if isinstance(expected_rows_or_df, DataFrame):
        expected = expected_rows_or_df
    else:
        schema = df.schema
        if ignore_columns:
            dropped = set(ignore_columns)
            df = df.drop(*[c for c in df.columns if c in dropped])
            schema = df.schema
            ignore_columns = None
        expected = df.sparkSession.createDataFrame(list(expected_rows_or_df), schema=schema)
    _assert_frames_equal(
        df,
        expected,
        ignore_row_order=ignore_row_order,
        ignore_column_order=ignore_column_order,
        ignore_nullable=ignore_nullable,
        ignore_columns=ignore_columns,
        precision=precision,
        allow_nan_equality=allow_nan_equality,
    )


def quarantine_counts(
    spark: SparkSession,
    root: str | os.PathLike[str],
    table: Table,
    *,
    run_id: str | None = None,
) -> dict[str, int]:
    """Count a table's quarantined rows by the rule they failed.

    A row that failed several rules counts once for each.

    Args:
        spark: The session.
        root: The lakehouse root.
        table: The table the rows were meant for.
        run_id: Count only this run's rows.

    Returns:
        ``{rule name: rows}``; empty when nothing was quarantined (or the layer has no
        quarantine table yet).

    Example:
        >>> from medallion import Table, evaluate
        >>> from medallion.quality import checks
        >>> from medallion.quality.quarantine import write_quarantine
        >>> orders = Table("orders", "silver", primary_keys="id", rules=[checks.not_null("cust")])
        >>> df = spark.createDataFrame([("o1", None)], "id STRING, cust STRING")
        >>> _ = write_quarantine(evaluate(df, orders.rules), orders, lakehouse, run_id="r1")
        >>> quarantine_counts(spark, lakehouse, orders)
        {'cust_not_null': 1}
    """
    from pyspark.sql import functions as F

    from medallion.io import table_exists
    from medallion.quality.quarantine import quarantine_location, read_quarantine

    if not table_exists(spark, quarantine_location(root, table.layer)):
        return {}
    rows = read_quarantine(spark, root, table.layer).where(F.col("table") == table.qualified_name)
    if run_id is not None:
        rows = rows.where(F.col("run_id") == run_id)
    counts = rows.select(F.explode("failures.rule").alias("rule")).groupBy("rule").count()
    return {row["rule"]: int(row["count"]) for row in counts.collect()}


def assert_quarantined(
    spark: SparkSession,
    root: str | os.PathLike[str],
    table: Table,
    expected: Mapping[str, int],
    *,
    run_id: str | None = None,
) -> None:
    """Assert how many of a table's rows were quarantined, per rule.

    The counts come from the layer's quarantine table
    (:func:`~medallion.quality.quarantine.read_quarantine`), one per entry of each row's
    ``failures.rule``. Rules missing from ``expected`` (or given 0) must have quarantined
    nothing.

    Args:
        spark: The session.
        root: The lakehouse root.
        table: The table the rows were meant for.
        expected: ``{rule name: rows}``.
        run_id: Count only this run's rows.

    Raises:
        AssertionError: The counts differ.

    Example:
        >>> from medallion import Table, evaluate
        >>> from medallion.quality import checks
        >>> from medallion.quality.quarantine import write_quarantine
        >>> orders = Table("orders", "silver", primary_keys="id", rules=[checks.not_null("cust")])
        >>> df = spark.createDataFrame([("o1", None)], "id STRING, cust STRING")
        >>> _ = write_quarantine(evaluate(df, orders.rules), orders, lakehouse, run_id="r1")
        >>> assert_quarantined(spark, lakehouse, orders, {"cust_not_null": 1})
        >>> assert_quarantined(spark, lakehouse, orders, {"cust_not_null": 2})
        Traceback (most recent call last):
        ...
        AssertionError: quarantined rows of silver.orders differ by rule:
          cust_not_null: expected 2, got 1
    """
    actual = quarantine_counts(spark, root, table, run_id=run_id)
    wanted = {rule: count for rule, count in expected.items() if count}
    if actual != wanted:
        rules = sorted(set(actual) | set(wanted))
        lines = [
            f"  {rule}: expected {wanted.get(rule, 0)}, got {actual.get(rule, 0)}"
            for rule in rules
            if actual.get(rule, 0) != wanted.get(rule, 0)
        ]
        raise AssertionError(
            f"quarantined rows of {table.qualified_name} differ by rule:\n" + "\n".join(lines)
        )


def assert_conserved(step_run: StepRun) -> None:
    """Assert that a step accounted for every row its quality checks read.

    ``rows_read == rows_written + rows_quarantined + rows_dropped``, where ``rows_written`` is
    what the step's write inserted or updated.

    Args:
        step_run: A step of a :class:`~medallion.RunResult` (``result.step("silver.orders")``).

    Raises:
        AssertionError: The step did not succeed, has no quality checks (nothing to balance),
            or rows went missing or appeared.

    Example:
        >>> from medallion import StepRun, WriteResult
        >>> write = WriteResult("silver.orders", "merge", 1, rows_inserted=7)
        >>> assert_conserved(StepRun("clean", "silver.orders", "succeeded", write=write,
        ...                          rows_read=10, rows_quarantined=3))
        >>> assert_conserved(StepRun("clean", "silver.orders", "succeeded", write=write,
        ...                          rows_read=10, rows_quarantined=2))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        AssertionError: step 'clean' (silver.orders) read 10 rows but accounted for 9: ...
    """
    name = f"step {step_run.step!r} ({step_run.table})"
    if step_run.status is not StepStatus.SUCCEEDED:
        raise AssertionError(f"{name} did not succeed: {step_run.status} ({step_run.error})")
    if step_run.rows_read is None:
        raise AssertionError(f"{name} has no quality checks: its rows read are not counted")
    written = step_run.write.rows_written if step_run.write is not None else 0
    accounted = written + step_run.rows_quarantined + step_run.rows_dropped
    if step_run.rows_read != accounted:
        raise AssertionError(
            f"{name} read {step_run.rows_read} rows but accounted for {accounted}: "
            f"{written} written + {step_run.rows_quarantined} quarantined + "
            f"{step_run.rows_dropped} dropped"
        )
