"""Quality rules: named SQL conditions with an action for the rows that fail them."""

from medallion.quality.rule import Action, QualityRule

__all__ = ["Action", "QualityRule"]
