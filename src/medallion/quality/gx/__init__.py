"""Great Expectations suites as medallion quality rules (the ``medallion-lakehouse[gx]`` extra).

An expectation suite of `Great Expectations <https://greatexpectations.io>`_ (GX 1.x; an
``ExpectationSuite``, its JSON as a dict, or the path of a JSON file) runs on a Spark DataFrame
with medallion's actions, metrics and quarantine:

* Expectations with a row-level meaning become :class:`~medallion.QualityRule` objects built with
  :mod:`medallion.quality.checks` (:func:`rules_from_suite`), so they run in medallion's
  one-pass engine and their failing rows are quarantined (or dropped, warned, failed) with the
  expectation as the reason.
* The other expectations (column statistics, schema, row conditions...) are validated by Great
  Expectations itself (:func:`validate_suite`); their results become entries of the same
  metrics, and a ``fail`` action stops the batch naming them.

:func:`evaluate_suite` does both on a DataFrame, and :func:`check_suite` does both in a pipeline
step and writes the quarantine, like :meth:`~medallion.StepContext.check`.

Translations (nulls pass every rule but the not-null one, as in GX):

* ``expect_column_values_to_not_be_null``: :func:`~medallion.quality.checks.not_null`.
* ``expect_column_values_to_be_between``: :func:`~medallion.quality.checks.in_range`, or
  ``>``/``<`` with ``strict_min``/``strict_max``.
* ``expect_column_values_to_be_in_set``: :func:`~medallion.quality.checks.in_set`;
  ``expect_column_values_to_not_be_in_set``: ``NOT (c IN (...))``.
* ``expect_column_values_to_match_regex``: :func:`~medallion.quality.checks.matches`;
  ``expect_column_values_to_not_match_regex``: ``NOT (c RLIKE ...)`` (Java regexes, as GX's
  Spark engine uses ``rlike``).
* ``expect_column_value_lengths_to_be_between``: :func:`~medallion.quality.checks.max_length`,
  or bounds on ``length(c)``; ``expect_column_value_lengths_to_equal``: ``length(c) = n``.
* ``expect_column_values_to_be_unique``: every row of a duplicated value fails.
* ``expect_compound_columns_to_be_unique``: :func:`~medallion.quality.checks.unique` with
  ``ignore_row_if="never"``; otherwise (GX's default ``"all_values_are_missing"``, or
  ``"any_value_is_missing"``) the rows GX ignores pass.
* ``expect_table_row_count_to_be_between`` and ``_to_equal``:
  :func:`~medallion.quality.checks.row_count`.

Every other expectation (``expect_column_values_to_be_of_type`` checks the column's Spark type,
not its values, so it is one of them) runs through GX.

``mostly``: a failing row always gets the row action (a row that breaks an expectation is a bad
row, whatever the share of them), and ``mostly`` becomes what it is in GX, the verdict on the
batch: a dataset rule ``<name>_mostly`` that passes when at least ``mostly`` of the rows GX
considers pass (GX's own float arithmetic), with the batch action (``warn``, or ``fail`` when the
row action is ``fail``; the row rule then only warns). For the uniqueness expectations the share
needs a window, so their ``_mostly`` verdict comes from GX. Expectations with a
``row_condition``, ``$PARAMETER`` values, or a ``value_set`` holding null (GX's Spark engine lets
every value pass such a set) run through GX, so their results are GX's.

Rule names are ``gx__<expectation type>__<column>[__<column>...]`` (other characters than
letters, digits and ``_`` become ``_``); two expectations of the same type on the same columns
get a suffix from a hash of their arguments, so names do not depend on the suite's order.

Example:
    >>> from medallion import evaluate
    >>> from medallion.quality.gx import rules_from_suite
    >>> suite = {
    ...     "name": "orders",
    ...     "expectations": [
    ...         {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
    ...         {
    ...             "type": "expect_column_values_to_be_between",
    ...             "kwargs": {"column": "qty", "min_value": 0, "max_value": 10},
    ...         },
    ...     ],
    ... }
    >>> rules = rules_from_suite(suite)
    >>> [rule.name for rule in rules]
    ['gx__expect_column_values_to_not_be_null__id', 'gx__expect_column_values_to_be_between__qty']
    >>> df = spark.createDataFrame([("a", 1), (None, 2), ("c", 11)], "id STRING, qty INT")
    >>> result = evaluate(df, rules)
    >>> result.rows_valid, result.rows_quarantined
    (1, 2)
    >>> result.release()
"""

from __future__ import annotations

# In reading order (loading, translating, validating, both together), which is also the
# order of the API reference.
# isort: off
from medallion.quality.gx.suite import GXNotInstalledError, SuiteLike, load_suite
from medallion.quality.gx.translate import rules_from_suite
from medallion.quality.gx.validate import validate_suite
from medallion.quality.gx.evaluate import evaluate_suite, check_suite

# isort: on

__all__ = [
    "GXNotInstalledError",
    "SuiteLike",
    "check_suite",
    "evaluate_suite",
    "load_suite",
    "rules_from_suite",
    "validate_suite",
]
