"""Running steps: the records of a run, the run log, and rolling a run back."""

from medallion.runner.results import RunResult, StepRun, StepStatus

__all__ = ["RunResult", "StepRun", "StepStatus"]
