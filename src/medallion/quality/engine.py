"""Applying a table's quality rules to a DataFrame in one pass.

Every row-level rule becomes a column holding a failure or null; the failures of a row are
collected into one array, and one action decides the row's fate (``fail`` over ``quarantine``
over ``drop`` over ``warn``). One aggregate over the annotated rows counts every rule, every
fate and every dataset rule; the annotated rows are cached for the writes that follow, so the
source is read once.

Example:
    >>> from medallion import QualityRule, evaluate
    >>> from medallion.quality import checks
    >>> df = spark.createDataFrame([("a", 1), ("b", -1), (None, 5)], "id STRING, qty INT")
    >>> rules = [checks.not_null("id"), checks.in_range("qty", 0, None, action="drop")]
    >>> result = evaluate(df, rules)
    >>> result.rows_read, result.rows_valid, result.rows_quarantined, result.rows_dropped
    (3, 1, 1, 1)
    >>> [(m.rule, m.rows_failed) for m in result.metrics]
    [('id_not_null', 1), ('qty_in_range', 1)]
    >>> result.quarantined.select("id", "_quality_failures.rule").collect()
    [Row(id=None, rule=['id_not_null'])]
    >>> result.release()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import attrs
from pyspark import StorageLevel
from pyspark.sql import Column, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from medallion._names import quote
from medallion.errors import (
    QualityFailedError,
    RuleDefinitionError,
    TableNotFoundError,
)
from medallion.rule import Action, QualityRule, RuleKind

if TYPE_CHECKING:
    import os

    from pyspark.sql import DataFrame, Row, SparkSession

    from medallion.table import Table

__all__ = ["FAILURES_COLUMN", "QualityResult", "RuleMetric", "evaluate", "evaluate_table"]

#: The column of a quarantined row that lists the rules it failed.
FAILURES_COLUMN = "_quality_failures"
_FATE = "__medallion_fate"
_ORDER = {Action.FAIL: 4, Action.QUARANTINE: 3, Action.DROP: 2, Action.WARN: 1}
FAILURE_TYPE = T.StructType(
    [
        T.StructField("rule", T.StringType(), False),
        T.StructField("action", T.StringType(), False),
        T.StructField("message", T.StringType(), False),
    ]
)


@attrs.frozen
class RuleMetric:
    """How one rule fared on a batch.

    Attributes:
        rule: The rule's name.
        action: Its action.
        kind: Its kind.
        rows_checked: Rows evaluated (the batch's size).
        rows_failed: Rows that failed it; for a dataset rule, 0 or 1 (the batch failed).

    Example:
        >>> metric = RuleMetric("qty_in_range", Action.QUARANTINE, RuleKind.ROW, 10, 2)
        >>> metric.passed, metric.rows_failed / metric.rows_checked
        (False, 0.2)
    """

    rule: str
    action: Action
    kind: RuleKind
    rows_checked: int
    rows_failed: int

    @property
    def passed(self) -> bool:
        """Whether no row failed the rule."""
        return self.rows_failed == 0


@attrs.frozen
class QualityResult:
    """The outcome of :func:`evaluate`: the same fields whatever the rules and actions.

    ``rows_read == rows_valid + rows_quarantined + rows_dropped`` always holds (rows that only
    failed ``warn`` rules are valid, and counted in ``rows_warned`` too). Rows replayed from
    quarantine (see ``replayed`` in :func:`evaluate`) are counted in each, and in
    ``rows_replayed`` too.

    Attributes:
        valid: The rows to write (columns as given).
        quarantined: The rows to quarantine: the given columns plus ``_quality_failures``
            (rule, action and message of each rule the row failed).
        metrics: One entry per rule, in the order given.
        rows_read: Rows evaluated.
        rows_valid: Rows in :attr:`valid`.
        rows_quarantined: Rows in :attr:`quarantined`.
        rows_dropped: Rows removed by ``drop`` rules.
        rows_warned: Valid rows that failed a ``warn`` rule.
        rows_replayed: Rows replayed from quarantine, of :attr:`rows_read`.
        rows_replayed_valid: Replayed rows that passed, of :attr:`rows_valid`.

    Example:
        >>> from medallion.quality import checks
        >>> df = spark.createDataFrame([("a", 3), ("b", -1)], "id STRING, qty INT")
        >>> result = evaluate(df, [checks.in_range("qty", 0, None)])
        >>> result.valid.collect(), result.rows_quarantined
        ([Row(id='a', qty=3)], 1)
        >>> result.quarantined.select("id", "_quality_failures.rule").collect()
        [Row(id='b', rule=['qty_in_range'])]
        >>> result.release()
    """

    valid: DataFrame = attrs.field(eq=False, repr=False)
    quarantined: DataFrame = attrs.field(eq=False, repr=False)
    metrics: tuple[RuleMetric, ...]
    rows_read: int
    rows_valid: int
    rows_quarantined: int
    rows_dropped: int
    rows_warned: int
    rows_replayed: int = 0
    rows_replayed_valid: int = 0
    _annotated: DataFrame | None = attrs.field(
        default=None, eq=False, repr=False, alias="annotated"
    )

    def metric(self, rule: str) -> RuleMetric:
        """The metric of one rule, by name.

        Args:
            rule: The rule's name.

        Returns:
            Its metric.

        Raises:
            KeyError: No rule of that name was evaluated.

        Example:
            >>> from medallion.quality import checks
            >>> df = spark.createDataFrame([("a", 3), ("b", -1)], "id STRING, qty INT")
            >>> result = evaluate(df, [checks.in_range("qty", 0, None)])
            >>> result.metric("qty_in_range").rows_failed
            1
            >>> result.release()
        """
        for metric in self.metrics:
            if metric.rule == rule:
                return metric
        raise KeyError(rule)

    def release(self) -> None:
        """Free the cached rows once :attr:`valid` and :attr:`quarantined` are written.

        Example:
            >>> from medallion.quality import checks
            >>> df = spark.createDataFrame([("a", 3), ("b", -1)], "id STRING, qty INT")
            >>> result = evaluate(df, [checks.in_range("qty", 0, None)])
            >>> valid_rows = result.valid.collect()  # or written to a table
            >>> result.release()
        """
        if self._annotated is not None:
            self._annotated.unpersist()


def _message(rule: QualityRule) -> str:
    return rule.description or rule.expression


def _failure(rule: QualityRule, failed: Column) -> Column:
    return F.when(
        failed,
        F.struct(
            F.lit(rule.name).alias("rule"),
            F.lit(rule.action.value).alias("action"),
            F.lit(_message(rule)).alias("message"),
        ),
    )


def _key(columns: Sequence[str]) -> list[Column]:
    return [F.col(quote(c)) for c in columns]


def evaluate(
    df: DataFrame,
    rules: Sequence[QualityRule],
    *,
    table: str = "",
    target: DataFrame | None = None,
    references: dict[str, DataFrame] | None = None,
    max_quarantine_share: float | None = None,
    replayed: str | None = None,
) -> QualityResult:
    """Apply rules to a DataFrame: valid rows, quarantined rows with reasons, and metrics.

    Args:
        df: The batch.
        rules: The rules (usually ``table.rules``).
        table: The table's name, for errors.
        target: The rows already in the target table, for unique rules with
            ``against_target`` (only their key columns are read).
        references: The referenced tables' rows by qualified name, for reference rules;
            :func:`evaluate_table` fills it from the lakehouse.
        max_quarantine_share: Fail when more than this share (0 to 1) of the rows is
            quarantined.
        replayed: A column of ``df`` that is not null on rows replayed from quarantine (rows
            of an earlier batch checked again). Row and reference rules judge them like the
            others, and they are counted; but the batch is the other rows: the quarantine
            share and dataset rules are computed over those alone (dataset rules are not
            judged when there are none), and a unique rule fails a new row only for another
            new row with its key (a replayed row fails it for any other row).

    Returns:
        The result; call :meth:`QualityResult.release` after writing its rows.

    Raises:
        QualityFailedError: A ``fail`` rule failed, or too many rows were quarantined; the
            message names the rules and the counts. Nothing has been written.
        RuleDefinitionError: A reference rule's table is missing from ``references``.

    Example:
        >>> from medallion.quality import checks
        >>> df = spark.createDataFrame([("a", 3), ("a", 4), ("b", 5)], "id STRING, qty INT")
        >>> result = evaluate(df, [checks.unique("id", action="drop")])
        >>> result.rows_read, result.rows_valid, result.rows_dropped
        (3, 1, 2)
        >>> result.release()

        Rows replayed from quarantine (``key`` set) are checked and counted, but the
        quarantine share is that of the new rows (0 of 2 here, not 2 of 5):

        >>> batch = spark.createDataFrame(
        ...     [("a", 3, None), ("b", 1, None), ("c", -1, "k1"), ("d", -2, "k2"), ("e", 5, "k3")],
        ...     "id STRING, qty INT, key STRING",
        ... )
        >>> result = evaluate(
        ...     batch, [checks.in_range("qty", 0, None)], replayed="key", max_quarantine_share=0.3
        ... )
        >>> result.rows_read, result.rows_quarantined, result.rows_replayed
        (5, 2, 3)
        >>> result.rows_replayed_valid
        1
        >>> result.release()
    """
    where = f"table {table!r}: " if table else ""
    columns = list(df.columns)
    annotated = df
    failures: list[Column] = []
    for index, rule in enumerate(rules):
        if rule.kind is RuleKind.ROW:
            failures.append(_failure(rule, ~F.coalesce(F.expr(rule.expression), F.lit(False))))
        elif rule.kind is RuleKind.UNIQUE:
            flag = f"__medallion_dup_{index}"
            by_key = Window.partitionBy(*_key(rule.columns))
            window = F.count(F.lit(1)).over(by_key)
            duplicate = window > 1
            if replayed is not None:
                # A new row is a duplicate of another new row only; a replayed row of any.
                fresh = F.count(F.when(_fresh(replayed), F.lit(1))).over(by_key)
                duplicate = F.when(_fresh(replayed), fresh > 1).otherwise(duplicate)
            annotated = annotated.withColumn(flag, duplicate)
            failed = F.col(flag)
            if rule.against_target and target is not None:
                seen = f"__medallion_seen_{index}"
                keys = target.select(*_key(rule.columns)).distinct().withColumn(seen, F.lit(True))
                annotated = annotated.join(keys, list(rule.columns), "left")
                failed = failed | F.coalesce(F.col(seen), F.lit(False))
            failures.append(_failure(rule, failed))
        elif rule.kind is RuleKind.REFERENCE:
            assert rule.reference is not None
            reference = (references or {}).get(rule.reference.qualified_name)
            if reference is None:
                raise RuleDefinitionError(
                    f"{where}rule {rule.name!r} needs the rows of {rule.reference.qualified_name}"
                )
            found = f"__medallion_found_{index}"
            keys = (
                reference.select(
                    *[
                        F.col(quote(r)).alias(c)
                        for c, r in zip(rule.columns, rule.reference_columns, strict=True)
                    ]
                )
                .distinct()
                .withColumn(found, F.lit(True))
            )
            annotated = annotated.join(keys, list(rule.columns), "left")
            any_null = F.lit(False)
            for column in rule.columns:
                any_null = any_null | F.col(quote(column)).isNull()
            failures.append(_failure(rule, ~any_null & F.col(found).isNull()))
    listed = F.filter(
        F.array(*failures) if failures else F.array().cast(T.ArrayType(FAILURE_TYPE)),
        lambda f: f.isNotNull(),
    )
    annotated = annotated.withColumn(FAILURES_COLUMN, listed)
    actions = F.col(f"{FAILURES_COLUMN}.action")
    fate = F.lit("pass")
    for action in (Action.WARN, Action.DROP, Action.QUARANTINE, Action.FAIL):
        fate = F.when(F.array_contains(actions, action.value), F.lit(action.value)).otherwise(fate)
    annotated = annotated.withColumn(_FATE, fate).select(*columns, FAILURES_COLUMN, _FATE)
    annotated = annotated.persist(StorageLevel.MEMORY_AND_DISK)

    row_rules = [r for r in rules if r.kind is not RuleKind.DATASET]
    dataset_rules = [r for r in rules if r.kind is RuleKind.DATASET]
    aggregates = [F.count(F.lit(1)).alias("rows")]
    aggregates += [
        F.count_if(F.col(_FATE) == fate).alias(f"fate_{fate}")
        for fate in ["pass", *(a.value for a in Action)]
    ]
    aggregates += [
        F.count_if(F.array_contains(F.col(f"{FAILURES_COLUMN}.rule"), r.name)).alias(f"r{i}")
        for i, r in enumerate(row_rules)
    ]
    dataset_checks = [
        F.coalesce(F.expr(r.expression), F.lit(False)).alias(f"d{i}")
        for i, r in enumerate(dataset_rules)
    ]
    if replayed is None:
        aggregates += dataset_checks
    else:
        fresh = _fresh(replayed)
        aggregates += [
            F.count_if(~fresh).alias("replayed"),
            F.count_if(~fresh & F.col(_FATE).isin("pass", "warn")).alias("replayed_valid"),
            F.count_if(fresh).alias("fresh"),
            F.count_if(fresh & (F.col(_FATE) == "quarantine")).alias("fresh_quarantined"),
        ]
    totals = annotated.agg(*aggregates).first()
    assert totals is not None
    rows = int(totals["rows"])
    batch_rows, batch_quarantined = rows, int(totals["fate_quarantine"])
    dataset: Row | None = totals
    if replayed is not None:
        batch_rows, batch_quarantined = int(totals["fresh"]), int(totals["fresh_quarantined"])
        # Dataset rules judge the new rows (a second aggregate), and nothing without them.
        if dataset_checks and batch_rows:
            dataset = annotated.where(_fresh(replayed)).agg(*dataset_checks).first()
        elif dataset_checks:
            dataset = None
    metrics: list[RuleMetric] = []
    row_index = dataset_index = 0
    for rule in rules:
        if rule.kind is RuleKind.DATASET:
            count = 0 if dataset is None or dataset[f"d{dataset_index}"] else 1
            checked = batch_rows
            dataset_index += 1
        else:
            count = int(totals[f"r{row_index}"])
            checked = rows
            row_index += 1
        metrics.append(RuleMetric(rule.name, rule.action, rule.kind, checked, count))

    quarantined_rows = int(totals["fate_quarantine"])
    failing = [m for m in metrics if m.action is Action.FAIL and not m.passed]
    problems = [
        f"rule {m.rule!r} failed "
        + (f"on {m.rows_failed} of {rows} rows" if m.kind is not RuleKind.DATASET else "the batch")
        for m in failing
    ]
    share = batch_quarantined / batch_rows if batch_rows else 0.0
    if max_quarantine_share is not None and share > max_quarantine_share:
        problems.append(
            f"{batch_quarantined} of {batch_rows} rows ({share:.1%}) were quarantined, "
            f"over the threshold of {max_quarantine_share:.1%}"
        )
    if problems:
        annotated.unpersist()
        raise QualityFailedError(
            f"{where}quality check failed: " + "; ".join(problems), tuple(metrics)
        )

    fate_column = F.col(_FATE)
    return QualityResult(
        valid=annotated.where(fate_column.isin("pass", "warn")).select(*columns),
        quarantined=annotated.where(fate_column == "quarantine").select(*columns, FAILURES_COLUMN),
        metrics=tuple(metrics),
        rows_read=rows,
        rows_valid=int(totals["fate_pass"]) + int(totals["fate_warn"]),
        rows_quarantined=quarantined_rows,
        rows_dropped=int(totals["fate_drop"]),
        rows_warned=int(totals["fate_warn"]),
        rows_replayed=int(totals["replayed"]) if replayed is not None else 0,
        rows_replayed_valid=int(totals["replayed_valid"]) if replayed is not None else 0,
        annotated=annotated,
    )


def _fresh(replayed: str) -> Column:
    """Whether a row is new (not replayed from quarantine)."""
    return F.col(quote(replayed)).isNull()


def evaluate_table(
    df: DataFrame,
    table: Table,
    root: str | os.PathLike[str],
    *,
    max_quarantine_share: float | None = None,
    spark: SparkSession | None = None,
    reference_versions: Mapping[str, int] | None = None,
    replayed: str | None = None,
) -> QualityResult:
    """Apply a table's rules to a DataFrame, reading what they need from the lakehouse.

    Reference rules read their tables' current versions (or those given); unique rules with
    ``against_target`` read ``table`` itself (when it exists yet).

    Args:
        df: The rows about to be written to ``table``.
        table: The table, whose ``rules`` are applied.
        root: The lakehouse root.
        max_quarantine_share: Fail when more than this share is quarantined; defaults to the
            table's ``max_quarantine_share``.
        spark: The session to read with; defaults to ``df``'s.
        reference_versions: The version to read of each referenced table, by qualified name
            (the runner pins them, to record what the rules were checked against).
        replayed: The column marking rows replayed from quarantine (see :func:`evaluate`).

    Returns:
        The result, as :func:`evaluate` gives it.

    Raises:
        QualityFailedError: A ``fail`` rule failed, or too many rows were quarantined.
        TableNotFoundError: A referenced table does not exist yet.

    Example:
        >>> from medallion import Table, write_table
        >>> from medallion.quality import checks
        >>> customers = Table("customers", "silver", schema="id STRING", primary_keys="id")
        >>> _ = write_table(spark.createDataFrame([("c1",)], "id STRING"), customers, lakehouse)
        >>> orders = Table("orders", "silver", schema="id STRING, customer STRING",
        ...                primary_keys="id", rules=[checks.exists_in("customer", customers, "id")])
        >>> batch = spark.createDataFrame(
        ...     [("o1", "c1"), ("o2", "c9")], "id STRING, customer STRING"
        ... )
        >>> result = evaluate_table(batch, orders, lakehouse)
        >>> result.rows_valid, result.rows_quarantined
        (1, 1)
        >>> result.release()
    """
    from medallion.io import read_table, table_exists

    session = spark if spark is not None else df.sparkSession
    rules = table.rules
    references: dict[str, DataFrame] = {}
    for rule in rules:
        if rule.reference is None or rule.reference.qualified_name in references:
            continue
        if not table_exists(session, rule.reference.location(root)):
            raise TableNotFoundError(
                f"table {table.qualified_name!r}: rule {rule.name!r} refers to "
                f"{rule.reference.qualified_name}, which does not exist at "
                f"{rule.reference.location(root)}"
            )
        location = rule.reference.location(root)
        reader = session.read.format("delta")
        pinned = (reference_versions or {}).get(rule.reference.qualified_name)
        if pinned is not None:
            reader = reader.option("versionAsOf", pinned)
        references[rule.reference.qualified_name] = reader.load(location)
    target = None
    if any(r.against_target for r in rules) and table_exists(session, table.location(root)):
        target = read_table(session, table, root)
    return evaluate(
        df,
        rules,
        table=table.qualified_name,
        target=target,
        references=references,
        max_quarantine_share=max_quarantine_share
        if max_quarantine_share is not None
        else table.max_quarantine_share,
        replayed=replayed,
    )
