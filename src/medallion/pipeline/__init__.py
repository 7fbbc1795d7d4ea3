"""Pipelines: steps that produce tables, ordered by dependency, dry-run and run."""

from medallion.pipeline.pipeline import Pipeline, Plan, PlannedStep, RunResult, StepRun
from medallion.pipeline.step import Step, StepContext, StepFunction, StepOutput

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
]
