"""Steps: plain PySpark functions that produce one table each.

A step's function takes a :class:`~medallion.StepContext` and returns the rows of its table
(a DataFrame), or ``None`` when it has nothing to write; the runner writes the rows by the
table's write policy.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Optional

import attrs

from medallion.runner.context import StepContext
from medallion.table import Table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["Step", "StepContext", "StepFunction", "StepOutput"]

#: What a step function returns: the rows for the runner to write by the table's policy, or
#: ``None`` when there is nothing to write.
StepOutput = Optional["DataFrame"]

#: The signature of a step function.
StepFunction = Callable[[StepContext], StepOutput]


def _source(fn: Callable[..., object]) -> str:
    try:
        file = inspect.getsourcefile(fn) or "?"
        line = inspect.getsourcelines(fn)[1]
    except (OSError, TypeError):
        return getattr(fn, "__qualname__", repr(fn))
    return f"{os.path.relpath(file) if not file.startswith('<') else file}:{line}"


@attrs.frozen
class Step:
    """A registered step: the function, the table it produces and the tables it reads.

    Steps are created by :meth:`medallion.Pipeline.step` and stay callable, so a step can be
    unit-tested by calling it with a :class:`StepContext`.

    Attributes:
        name: The step's name (the function's name unless given).
        table: The table the step produces.
        inputs: The tables the step reads; a table produced by another step of the pipeline
            makes this step run after that one.
        changes_of: The inputs it reads incrementally (declared with
            :func:`~medallion.changes`).
        fn: The function.
        source: ``file:line`` where the function is defined, for messages.
        description: The function's docstring's first line, or the given description.
        params: The run parameters the step reads (:meth:`StepContext.param`), as declared:
            a run of the step without one of them fails before it starts.

    Example:
        A step is unit-tested by calling it:

        >>> import datetime as dt
        >>> from medallion import Pipeline, StepContext, Table
        >>> numbers, pipeline = Table("numbers", "gold"), Pipeline("numbers")
        >>> @pipeline.step(numbers)
        ... def make_numbers(ctx):
        ...     return ctx.spark.range(int(ctx.param("count")))
        >>> ctx = StepContext(spark, lakehouse, "test", dt.datetime(2026, 1, 2), numbers,
        ...                   params={"count": 3})
        >>> make_numbers(ctx).count()
        3
    """

    name: str
    table: Table
    inputs: tuple[Table, ...]
    fn: StepFunction = attrs.field(eq=False, repr=False)
    source: str = attrs.field(eq=False)
    description: str = attrs.field(default="", eq=False)
    changes_of: tuple[Table, ...] = ()
    params: tuple[str, ...] = ()

    @classmethod
    def from_function(
        cls,
        fn: StepFunction,
        table: Table,
        inputs: tuple[Table, ...],
        name: str | None = None,
        description: str | None = None,
        changes_of: tuple[Table, ...] = (),
        params: tuple[str, ...] = (),
    ) -> Step:
        """Build a step from a function, taking its name, docstring and source location.

        Args:
            fn: The step function.
            table: The table it produces.
            inputs: The tables it reads.
            name: The step's name; defaults to the function's.
            description: Defaults to the docstring's first line.
            changes_of: The inputs it reads incrementally.
            params: The run parameters it reads.

        Returns:
            The step.

        Example:
            >>> from medallion import Table
            >>> def make_numbers(ctx):
            ...     "Three numbers."
            ...     return ctx.spark.range(3)
            >>> step = Step.from_function(make_numbers, Table("numbers", "gold"), ())
            >>> step.name, step.table.qualified_name, step.description
            ('make_numbers', 'gold.numbers', 'Three numbers.')
        """
        doc = (inspect.getdoc(fn) or "").strip().splitlines()
        return cls(
            name=name or str(getattr(fn, "__name__", table.name)),
            table=table,
            inputs=inputs,
            fn=fn,
            source=_source(fn),
            description=description if description is not None else (doc[0] if doc else ""),
            changes_of=changes_of,
            params=params,
        )

    def __call__(self, ctx: StepContext) -> StepOutput:
        """Run the function."""
        return self.fn(ctx)
