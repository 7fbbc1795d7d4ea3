"""The errors and warnings medallion raises.

Every error derives from :class:`MedallionError`, so ``except MedallionError`` catches all of
them. Where the meaning of a builtin exception fits, the error subclasses it too (a bad table
definition is also a :class:`ValueError`), so code written against the builtins keeps working.
Messages name the table, column, rule or step concerned.

Example:
    >>> from medallion.errors import MedallionError, TableDefinitionError
    >>> issubclass(TableDefinitionError, ValueError)
    True
    >>> try:
    ...     raise TableDefinitionError("table 'orders': primary key 'id' is not a column")
    ... except MedallionError as exc:
    ...     print(exc)
    table 'orders': primary key 'id' is not a column
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConcurrentWriteError",
    "CycleError",
    "DeltaNotConfiguredError",
    "DeltaOperationError",
    "IngestError",
    "JarResolutionError",
    "MedallionError",
    "MedallionWarning",
    "PipelineDefinitionError",
    "PipelineError",
    "QualityFailedError",
    "RuleDefinitionError",
    "SchemaError",
    "SchemaEvolutionError",
    "SessionError",
    "StepFailedError",
    "TableDefinitionError",
    "UnknownStepError",
]


class MedallionError(Exception):
    """The root of every error medallion raises."""


class MedallionWarning(UserWarning):
    """The root of every warning medallion emits."""


class TableDefinitionError(MedallionError, ValueError):
    """A :class:`~medallion.Table` was declared with invalid fields."""


class RuleDefinitionError(MedallionError, ValueError):
    """A :class:`~medallion.QualityRule` was declared with invalid fields or expression."""


class SchemaError(MedallionError, ValueError):
    """A schema cannot be parsed, or data does not fit the schema it must have."""


class SchemaEvolutionError(SchemaError):
    """Data written to a table differs from its schema in a way the table does not allow.

    Attributes:
        changes: Every difference found (:class:`~medallion.schema.SchemaChange`).
    """

    def __init__(self, message: str, changes: tuple[Any, ...] = ()) -> None:
        super().__init__(message)
        self.changes = changes


class ConcurrentWriteError(MedallionError, RuntimeError):
    """A write kept conflicting with concurrent writes to the same table, retries included."""


class DeltaOperationError(MedallionError, ValueError):
    """A Delta operation was asked for something it cannot do (a bad version, a short VACUUM)."""


class QualityFailedError(MedallionError):
    """A ``fail`` quality rule failed, or too many rows were quarantined; nothing was written.

    Attributes:
        metrics: The metrics of every rule of the batch.
    """

    def __init__(self, message: str, metrics: tuple[Any, ...] = ()) -> None:
        super().__init__(message)
        self.metrics = metrics


class SessionError(MedallionError, RuntimeError):
    """A Spark session could not be built or is not usable by medallion."""


class DeltaNotConfiguredError(SessionError):
    """The Spark session lacks Delta Lake's SQL extension or catalog."""


class JarResolutionError(SessionError):
    """The JVM jars medallion needs could not be found or fetched."""


class IngestError(MedallionError):
    """Files could not be ingested into a bronze table."""


class PipelineError(MedallionError):
    """The root of the errors of pipeline definition and execution."""


class PipelineDefinitionError(PipelineError, ValueError):
    """A pipeline's steps do not form a valid plan (duplicate outputs, bad inputs)."""


class CycleError(PipelineDefinitionError):
    """The steps of a pipeline depend on each other in a cycle.

    Attributes:
        cycle: The tables on the cycle, in order, the first repeated at the end.
    """

    def __init__(self, message: str, cycle: tuple[str, ...]) -> None:
        super().__init__(message)
        self.cycle = cycle


class UnknownStepError(PipelineError, KeyError):
    """A selection names a table or step that the pipeline does not have."""

    def __str__(self) -> str:
        # KeyError's str() quotes its argument; keep the message readable.
        return str(self.args[0]) if self.args else ""


class StepFailedError(PipelineError):
    """A step of a pipeline run failed; its cause is chained as ``__cause__``.

    Attributes:
        step: The name of the step that failed.
        table: The qualified name of the table the step produces.
        result: The run's :class:`~medallion.RunResult`, with the steps that succeeded, failed
            and were skipped.
    """

    def __init__(self, message: str, step: str, table: str, result: Any = None) -> None:
        super().__init__(message)
        self.step = step
        self.table = table
        self.result = result
