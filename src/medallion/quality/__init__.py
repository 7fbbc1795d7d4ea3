"""Quality rules: named checks with an action for the rows that fail them, and their engine."""

from medallion.quality import checks
from medallion.quality.engine import (
    FAILURES_COLUMN,
    QualityResult,
    RuleMetric,
    evaluate,
    evaluate_table,
)
from medallion.rule import Action, QualityRule, RuleKind

__all__ = [
    "FAILURES_COLUMN",
    "Action",
    "QualityResult",
    "QualityRule",
    "RuleKind",
    "RuleMetric",
    "checks",
    "evaluate",
    "evaluate_table",
]
