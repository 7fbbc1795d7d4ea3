"""Validating expectations with Great Expectations itself: :func:`validate_suite`."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from medallion.errors import (
    ExpectationError,
    MedallionWarning,
    QualityFailedError,
    RuleDefinitionError,
)
from medallion.quality.engine import RuleMetric
from medallion.quality.gx._expectations import _META_KEY, _expectations, _GXCheck
from medallion.quality.gx.suite import SuiteLike, _gx
from medallion.quality.gx.translate import _plan, _to_action
from medallion.rule import Action, RuleKind

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["validate_suite"]


@attrs.frozen
class _Outcome:
    check: _GXCheck
    success: bool
    unexpected: int | None
    elements: int | None
    detail: str
    error: str


def _error_message(info: Any) -> str:
    if not isinstance(info, Mapping):
        return ""
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "an exception was raised")
    messages = [_error_message(v) for v in info.values() if isinstance(v, Mapping)]
    return "; ".join(dict.fromkeys(m for m in messages if m))


def _run_gx(
    df: DataFrame, gx_checks: Sequence[_GXCheck], parameters: Mapping[str, Any] | None
) -> list[_Outcome]:
    if not gx_checks:
        return []
    gx = _gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    batch = (
        context.data_sources.add_spark("medallion", persist=False)
        .add_dataframe_asset("batch")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": df})
    )
    suite = gx.ExpectationSuite(
        name="medallion", expectations=[c.expectation.config for c in gx_checks]
    )
    if len(suite.expectations) != len(gx_checks):
        raise ExpectationError("Great Expectations refused expectations that it loaded before")
    validation = batch.validate(
        suite,
        # The counts without samples of unexpected values, which take Spark jobs of their own.
        result_format={"result_format": "BASIC", "partial_unexpected_count": 0},
        expectation_parameters=dict(parameters or {}) or None,
    )
    by_name = {r.expectation_config.meta.get(_META_KEY): r for r in validation.results}
    outcomes = []
    for check in gx_checks:
        found = by_name.get(check.expectation.name)
        if found is None:
            raise ExpectationError(
                f"Great Expectations returned no result for {check.expectation.type} "
                f"({check.expectation.name})"
            )
        result = dict(found.result or {})
        unexpected = result.get("unexpected_count")
        elements = result.get("element_count")
        detail = ""
        if "observed_value" in result:
            detail = f"observed {result['observed_value']!r}"
        elif isinstance(unexpected, int):
            detail = f"{unexpected} unexpected value(s)"
        outcomes.append(
            _Outcome(
                check=check,
                success=bool(found.success),
                unexpected=unexpected if isinstance(unexpected, int) else None,
                elements=elements if isinstance(elements, int) else None,
                detail=detail,
                error=_error_message(found.exception_info),
            )
        )
    return outcomes


def _metrics(
    outcomes: Sequence[_Outcome], action: Action, rows: Callable[[], int]
) -> tuple[list[RuleMetric], list[str]]:
    """The metrics of GX's results, and the failures that ``action`` makes fatal."""
    metrics: list[RuleMetric] = []
    problems: list[str] = []
    for outcome in outcomes:
        expectation = outcome.check.expectation
        what = f"expectation {expectation.type} ({expectation.name})"
        if outcome.error:
            warnings.warn(
                f"Great Expectations could not evaluate {what}: {outcome.error}",
                MedallionWarning,
                stacklevel=3,
            )
        failed = 0 if outcome.success else 1
        if outcome.check.verdict_only:
            name = f"{expectation.name}_mostly"
            metrics.append(RuleMetric(name, action, RuleKind.DATASET, rows(), failed))
        elif outcome.unexpected is not None and not outcome.error:
            checked = outcome.elements if outcome.elements is not None else rows()
            if expectation.mostly < 1:
                metrics.append(
                    RuleMetric(
                        expectation.name, Action.WARN, RuleKind.ROW, checked, outcome.unexpected
                    )
                )
                metrics.append(
                    RuleMetric(
                        f"{expectation.name}_mostly", action, RuleKind.DATASET, checked, failed
                    )
                )
            else:
                metrics.append(
                    RuleMetric(expectation.name, action, RuleKind.ROW, checked, outcome.unexpected)
                )
        else:
            metrics.append(RuleMetric(expectation.name, action, RuleKind.DATASET, rows(), failed))
        if action is Action.FAIL and not outcome.success:
            reason = outcome.error or outcome.detail or "it failed"
            problems.append(f"{what} failed (Great Expectations: {reason})")
    return metrics, problems


def _counter(df: DataFrame) -> Callable[[], int]:
    counted: list[int] = []

    def rows() -> int:
        if not counted:
            counted.append(df.count())
        return counted[0]

    return rows


def validate_suite(
    df: DataFrame,
    suite: SuiteLike,
    *,
    action: Action | str = Action.WARN,
    untranslated_only: bool = False,
    parameters: Mapping[str, Any] | None = None,
) -> tuple[RuleMetric, ...]:
    """Validate a suite's expectations on a DataFrame with Great Expectations, as rule metrics.

    Each expectation gives a metric named like its rule (:func:`rules_from_suite`): a row
    metric with GX's ``unexpected_count`` as ``rows_failed`` for the expectations that count
    values, a dataset metric (0 or 1) for the others; with ``mostly`` below 1 the row metric
    warns and a ``<name>_mostly`` dataset metric carries GX's verdict. An expectation that GX
    cannot evaluate (a missing column) fails, with a :class:`~medallion.errors.MedallionWarning`.

    Args:
        df: The batch.
        suite: The suite (see :data:`SuiteLike`).
        action: ``warn`` (the default) records the results; ``fail`` also raises when an
            expectation fails.
        untranslated_only: Validate only what :func:`rules_from_suite` does not translate
            (the expectations it would raise for).
        parameters: Values of the suite's ``$PARAMETER`` references.

    Returns:
        The metrics, in the suite's order.

    Raises:
        GXNotInstalledError: Great Expectations is not installed.
        QualityFailedError: ``action`` is ``fail`` and an expectation failed; the message names
            each, and ``metrics`` holds every metric.

    Example:
        >>> suite = {"name": "orders", "expectations": [
        ...     {"type": "expect_column_max_to_be_between",
        ...      "kwargs": {"column": "qty", "max_value": 10}}]}
        >>> df = spark.createDataFrame([(3,), (12,)], "qty INT")
        >>> [(m.rule, m.passed) for m in validate_suite(df, suite)]
        [('gx__expect_column_max_to_be_between__qty', False)]
    """
    resolved = _to_action(action, "action")
    if resolved not in (Action.WARN, Action.FAIL):
        raise RuleDefinitionError(
            f"validate_suite judges the batch, so its action is warn or fail, not {resolved.value}"
        )
    expectations = _expectations(suite)
    if untranslated_only:
        plan = _plan(expectations, Action.QUARANTINE, Action.WARN)
        gx_checks = plan.gx
    else:
        gx_checks = tuple(_GXCheck(e, "validated with Great Expectations") for e in expectations)
    outcomes = _run_gx(df, gx_checks, parameters)
    metrics, problems = _metrics(outcomes, resolved, _counter(df))
    if problems:
        raise QualityFailedError("quality check failed: " + "; ".join(problems), tuple(metrics))
    return tuple(metrics)
