"""Pipelines: steps that produce tables, ordered by dependency, dry-run and run."""

from medallion.pipeline.pipeline import Pipeline, Plan, PlannedStep
from medallion.pipeline.step import Step, StepContext, StepFunction, StepOutput
from medallion.runner.results import RunResult, StepRun, StepStatus

__all__ = [
    "Pipeline",
    "Plan",
    "PlannedStep",
    "RunResult",
    "Step",
    "StepContext",
    "StepFunction",
    "StepOutput",
    "StepRun",
    "StepStatus",
]
