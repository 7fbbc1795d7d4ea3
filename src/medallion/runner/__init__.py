"""Running steps: the executor, a step's context and incremental inputs, the run log, rollback.

The records of a run (:class:`StepRun`, :class:`RunResult`) are here too, so that the pipeline
runner and the streaming writers share them.
"""

from medallion.runner.context import StepContext
from medallion.runner.executor import Batch, Outcome, RunInfo, Work, execute
from medallion.runner.inputs import Changes, ChangesOf, changes, consumed_tags, read_changes
from medallion.runner.results import RunResult, StepRun, StepStatus

__all__ = [
    "Batch",
    "Changes",
    "ChangesOf",
    "Outcome",
    "RunInfo",
    "RunResult",
    "StepContext",
    "StepRun",
    "StepStatus",
    "Work",
    "changes",
    "consumed_tags",
    "execute",
    "read_changes",
]
