"""A suite's rules and Great Expectations together: :func:`evaluate_suite`, :func:`check_suite`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from medallion.errors import QualityFailedError, RuleDefinitionError
from medallion.quality.engine import QualityResult, RuleMetric, evaluate, evaluate_table
from medallion.quality.gx._expectations import _expectations
from medallion.quality.gx.suite import SuiteLike
from medallion.quality.gx.translate import _batch_action, _plan, _to_action
from medallion.quality.gx.validate import _counter, _metrics, _run_gx
from medallion.rule import Action, QualityRule

if TYPE_CHECKING:

    from pyspark.sql import DataFrame, SparkSession

    from medallion.table import Table


class CheckingContext(Protocol):
    """What :func:`check_suite` needs of a step's context; a ``StepContext`` is one.

    Example:
        >>> import datetime as dt
        >>> from medallion import StepContext, Table
        >>> ctx: CheckingContext = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2),
        ...                                    Table("orders", "gold"))
        >>> ctx.table.qualified_name
        'gold.orders'
    """

    @property
    def spark(self) -> SparkSession:
        """The session."""
        ...

    @property
    def root(self) -> str:
        """The lakehouse root."""
        ...

    @property
    def table(self) -> Table:
        """The table the rows are for."""
        ...

    def accept(self, result: QualityResult, *, source: str | None = None) -> DataFrame:
        """Take an evaluation as the step's check; return the rows to write.

        Args:
            result: The evaluation.
            source: Where the rows came from.

        Example:
            >>> import datetime as dt
            >>> from medallion import StepContext, Table, evaluate
            >>> ctx = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2),
            ...                   Table("orders", "gold"))
            >>> ctx.accept(evaluate(spark.range(2), [])).count()
            2
        """
        ...

__all__ = ["CheckingContext", "check_suite", "evaluate_suite"]


def _evaluate(
    df: DataFrame,
    suite: SuiteLike,
    *,
    rules: Sequence[QualityRule],
    action: Action | str,
    batch_action: Action | str | None,
    parameters: Mapping[str, Any] | None,
    table: str,
    run: Callable[[list[QualityRule]], QualityResult],
) -> QualityResult:
    """GX for the untranslated expectations, then ``run`` (one engine pass) for the rules."""
    row_action = _to_action(action, "action")
    resolved_batch = _batch_action(row_action, batch_action)
    plan = _plan(_expectations(suite), row_action, resolved_batch)
    given = [rule.name for rule in rules]
    clashes = sorted({r.name for r in plan.rules} & set(given))
    if clashes:
        raise RuleDefinitionError(
            f"rule name(s) {', '.join(clashes)} are both the table's and the suite's"
        )
    outcomes = _run_gx(df, plan.gx, parameters)  # before any row is evaluated or written
    everything = [*rules, *plan.rules]
    where = f"table {table!r}: " if table else ""

    def ordered(metrics: Sequence[RuleMetric]) -> tuple[RuleMetric, ...]:
        first = {name: i for i, name in enumerate(given)}
        last = len(first)

        def key(metric: RuleMetric) -> tuple[int, int, int]:
            if metric.rule in first:
                return (first[metric.rule], 0, 0)
            index, part = plan.order.get(metric.rule, (len(plan.order), 0))
            return (last, index, part)

        return tuple(sorted(metrics, key=key))

    try:
        result = run(everything)
    except QualityFailedError as exc:
        checked = exc.metrics[0].rows_checked if exc.metrics else None
        rows = (lambda: checked) if isinstance(checked, int) else _counter(df)
        gx_metrics, problems = _metrics(outcomes, resolved_batch, rows)
        message = str(exc) + ("; " + "; ".join(problems) if problems else "")
        raise QualityFailedError(message, ordered([*exc.metrics, *gx_metrics])) from exc
    gx_metrics, problems = _metrics(outcomes, resolved_batch, lambda: result.rows_read)
    metrics = ordered([*result.metrics, *gx_metrics])
    if problems:
        result.release()
        raise QualityFailedError(f"{where}quality check failed: " + "; ".join(problems), metrics)
    return attrs.evolve(result, metrics=metrics)


def evaluate_suite(
    df: DataFrame,
    suite: SuiteLike,
    *,
    action: Action | str = Action.QUARANTINE,
    batch_action: Action | str | None = None,
    rules: Sequence[QualityRule] = (),
    parameters: Mapping[str, Any] | None = None,
    table: str = "",
    target: DataFrame | None = None,
    references: dict[str, DataFrame] | None = None,
    max_quarantine_share: float | None = None,
) -> QualityResult:
    """Run a suite on a DataFrame: translated expectations as rules, the others through GX.

    The translated expectations (:func:`rules_from_suite`) and ``rules`` run in one pass of
    :func:`~medallion.evaluate`; the other expectations are validated by Great Expectations
    first, with ``batch_action``. Their results are all in the result's ``metrics`` (``rules``
    first, then the suite's, in its order).

    Args:
        df: The batch.
        suite: The suite (see :data:`SuiteLike`).
        action: The action of the row-level expectations (``quarantine`` by default).
        batch_action: The action of the batch-level results (row counts, ``mostly`` shares,
            expectations validated by GX): ``warn`` or ``fail``; by default ``fail`` when
            ``action`` is ``fail``, ``warn`` otherwise.
        rules: More rules to evaluate in the same pass (a table's own rules).
        parameters: Values of the suite's ``$PARAMETER`` references, for GX.
        table: The table's name, for errors.
        target: As for :func:`~medallion.evaluate`.
        references: As for :func:`~medallion.evaluate`.
        max_quarantine_share: As for :func:`~medallion.evaluate`.

    Returns:
        The result; call :meth:`~medallion.QualityResult.release` after writing its rows.

    Raises:
        GXNotInstalledError: Great Expectations is not installed.
        RuleDefinitionError: The suite is invalid, or a rule of ``rules`` has the name of one
            of the suite's.
        QualityFailedError: A ``fail`` rule or expectation failed (the message names each),
            or too many rows were quarantined.

    Example:
        Quarantine what breaks a suite before writing silver::

            result = evaluate_suite(bronze_orders_df, "suites/orders.json", table="orders")
            write_table(result.valid, silver_orders, lakehouse)
            result.release()

        With the suite's JSON as a dict:

        >>> suite = {"name": "orders", "expectations": [
        ...     {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}}]}
        >>> df = spark.createDataFrame([("o1",), (None,)], "id STRING")
        >>> result = evaluate_suite(df, suite, table="silver.orders")
        >>> result.rows_valid, result.rows_quarantined
        (1, 1)
        >>> result.release()
    """
    return _evaluate(
        df,
        suite,
        rules=rules,
        action=action,
        batch_action=batch_action,
        parameters=parameters,
        table=table,
        run=lambda everything: evaluate(
            df,
            everything,
            table=table,
            target=target,
            references=references,
            max_quarantine_share=max_quarantine_share,
        ),
    )


def check_suite(
    ctx: CheckingContext,
    df: DataFrame,
    suite: SuiteLike,
    *,
    action: Action | str = Action.QUARANTINE,
    batch_action: Action | str | None = None,
    parameters: Mapping[str, Any] | None = None,
    source: str | None = None,
    max_quarantine_share: float | None = None,
) -> DataFrame:
    """:meth:`StepContext.check <medallion.StepContext.check>` with a suite's expectations too.

    The table's rules and the suite (as :func:`evaluate_suite`) are applied to ``df``; failing
    rows go to the layer's quarantine table with the rules and expectations they failed, and
    the metrics (the GX results among them) are recorded for the run.

    Args:
        ctx: The step's context.
        df: The rows the step is about to return.
        suite: The suite (see :data:`SuiteLike`).
        action: The action of the row-level expectations (``quarantine`` by default).
        batch_action: The action of the batch-level results (see :func:`evaluate_suite`).
        parameters: Values of the suite's ``$PARAMETER`` references, for GX.
        source: Where the rows came from, recorded with quarantined rows.
        max_quarantine_share: Fail the step when more than this share is quarantined;
            defaults to the table's ``max_quarantine_share``.

    Returns:
        The rows to write.

    Raises:
        QualityFailedError: A ``fail`` rule or expectation failed, or the share was exceeded;
            nothing has been written.

    Example:
        In a step::

            @pipeline.step(silver_orders, inputs=[bronze_orders])
            def clean_orders(ctx: StepContext) -> DataFrame:
                return check_suite(ctx, ctx.read(bronze_orders), "suites/orders.json")

        With a context made by hand, as in a unit test:

        >>> import datetime as dt
        >>> from medallion import StepContext, Table
        >>> orders = Table("orders", "silver", primary_keys="id")
        >>> ctx = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2), orders)
        >>> suite = {"name": "orders", "expectations": [
        ...     {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}}]}
        >>> df = spark.createDataFrame([("o1",), (None,)], "id STRING")
        >>> check_suite(ctx, df, suite).count(), ctx.quality[0].rows_quarantined
        (1, 1)
    """
    result = _evaluate(
        df,
        suite,
        rules=ctx.table.rules,
        action=action,
        batch_action=batch_action,
        parameters=parameters,
        table=ctx.table.qualified_name,
        # The table's reference and against-target rules read the lakehouse as in ctx.check.
        run=lambda everything: evaluate_table(
            df,
            attrs.evolve(ctx.table, rules=everything),
            ctx.root,
            max_quarantine_share=max_quarantine_share,
            spark=ctx.spark,
        ),
    )
    return ctx.accept(result, source=source)
