"""Steps: plain PySpark functions that produce one table each, and the context they run in."""

from __future__ import annotations

import datetime as dt
import inspect
import os
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Union

import attrs

from medallion.delta.ops import Increment, consumed_tags
from medallion.errors import PipelineError
from medallion.io import WriteResult, read_table
from medallion.quality.engine import QualityResult, evaluate_table
from medallion.quality.quarantine import write_quarantine
from medallion.table import Table

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["Step", "StepContext", "StepFunction", "StepOutput"]

#: What a step function returns: rows for medallion to write the way the table's layer
#: prescribes, or the result of a write the step made itself (``ingest_files``, say).
StepOutput = Union["DataFrame", WriteResult]


def _params(value: Mapping[str, object] | None) -> Mapping[str, str]:
    return MappingProxyType({str(k): str(v) for k, v in dict(value or {}).items()})


#: The signature of a step function.
StepFunction = Callable[["StepContext"], StepOutput]


@attrs.frozen
class StepContext:
    """What a running step gets: the session, the lakehouse, the run, and its inputs.

    Attributes:
        spark: The SparkSession of the run.
        root: The lakehouse root.
        run_id: The id of the run, recorded on every row and commit it writes.
        started_at: When the run began (UTC, naive).
        table: The table this step produces.
        inputs: The tables the step declared as inputs.
        params: The run's parameters (``Pipeline.run(..., params={...})``): source folders,
            dates, anything a step needs from outside.

    Example:
        A step reads its inputs through the context::

            @pipeline.step(silver_orders, inputs=[bronze_orders])
            def clean_orders(ctx: StepContext) -> DataFrame:
                return ctx.read(bronze_orders).where("_rescued_data IS NULL")

        A test can make one by hand:

        >>> import datetime as dt
        >>> from medallion import Table
        >>> orders = Table("orders", "gold")
        >>> ctx = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2), orders,
        ...                   params={"day": 2})
        >>> ctx.run_id, ctx.params["day"]
        ('r1', '2')
    """

    spark: SparkSession
    root: str
    run_id: str
    started_at: dt.datetime
    table: Table
    inputs: tuple[Table, ...] = ()
    params: Mapping[str, str] = attrs.field(factory=dict, converter=_params, hash=False)
    quality: list[QualityResult] = attrs.field(factory=list, eq=False, hash=False, repr=False)
    increments: list[Increment] = attrs.field(factory=list, eq=False, hash=False, repr=False)

    @property
    def tags(self) -> dict[str, Any]:
        """The commit tags the step's write carries: the increments it read, as processed.

        The runner adds them to the write of a returned DataFrame; a step that writes
        itself passes ``tags=ctx.tags`` to ``DeltaOps.merge`` / ``write``.
        """
        return consumed_tags(*self.increments) if self.increments else {}

    def increment(self, source: Table) -> Increment:
        """The rows of ``source`` this step has not processed yet (all of them the first time).

        The source's position is recorded in the commit of this step's write (see
        :attr:`tags`), so a step that fails before writing reads the same rows again next
        time, and a RESTORE of this step's table rewinds it. After the first run the source
        must have the Change Data Feed enabled (``properties={"delta.enableChangeDataFeed":
        "true"}``).

        Args:
            source: The table to read; usually one of the step's inputs.

        Returns:
            The increment; when :attr:`Increment.is_empty` for every source, return
            :meth:`no_changes` so that nothing is written.

        Example:
            >>> import datetime as dt
            >>> from medallion import StepContext, Table, write_table
            >>> orders = Table("orders", "gold")
            >>> ctx = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2), orders)
            >>> events = Table("events", "gold")
            >>> rows = spark.createDataFrame([("e1",), ("e2",)], "id STRING")
            >>> _ = write_table(rows, events, lakehouse)
            >>> changes = ctx.increment(events)
            >>> changes.from_version, changes.to_version, changes.rows.count()
            (None, 0, 2)
        """
        from medallion.delta.ops import DeltaOps

        consumer = f"{source.qualified_name}->{self.table.qualified_name}"
        found = DeltaOps.of(self.spark, source, self.root).increment(
            consumer, DeltaOps.of(self.spark, self.table, self.root)
        )
        self.increments.append(found)
        return found

    def no_changes(self) -> WriteResult:
        """What a step returns when it has nothing to write: no commit is made.

        Returns:
            A write of no version.

        Example:
            >>> import datetime as dt
            >>> from medallion import StepContext, Table
            >>> orders = Table("orders", "gold")
            >>> ctx = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2), orders)
            >>> ctx.no_changes().version is None
            True
        """
        return WriteResult(self.table.qualified_name, self.table.effective_write_mode, None)

    def check(
        self,
        df: DataFrame,
        *,
        source: str | None = None,
        max_quarantine_share: float | None = None,
    ) -> DataFrame:
        """Apply the table's quality rules to ``df`` and quarantine the rows that fail.

        Reference rules read their tables from the lakehouse; unique rules with
        ``against_target`` read this step's table. Quarantined rows go to the layer's
        quarantine table with their reasons; the counts are recorded for the run.

        Args:
            df: The rows the step is about to return.
            source: Where the rows came from, recorded with quarantined rows.
            max_quarantine_share: Fail the step when more than this share is quarantined;
                defaults to the table's ``max_quarantine_share``.

        Returns:
            The rows to write.

        Raises:
            QualityFailedError: A ``fail`` rule failed, or the share was exceeded.

        Example:
            >>> import datetime as dt
            >>> from medallion import StepContext, Table
            >>> from medallion.quality import checks
            >>> orders = Table("orders", "gold", rules=[checks.in_range("amount", 0, None)])
            >>> ctx = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2), orders)
            >>> df = spark.createDataFrame([("o1", 5.0), ("o2", -1.0)], "id STRING, amount DOUBLE")
            >>> ctx.check(df).count(), ctx.quality[0].rows_quarantined
            (1, 1)
        """
        result = evaluate_table(
            df,
            self.table,
            self.root,
            max_quarantine_share=max_quarantine_share,
            spark=self.spark,
        )
        write_quarantine(result, self.table, self.root, run_id=self.run_id, source=source)
        self.quality.append(result)
        return result.valid

    def param(self, name: str) -> str:
        """A run parameter, or an error naming it and the step's table if it was not given.

        Args:
            name: The parameter's name.

        Returns:
            Its value.

        Raises:
            PipelineError: The run was started without this parameter.

        Example:
            >>> import datetime as dt
            >>> from medallion import StepContext, Table
            >>> orders = Table("orders", "gold")
            >>> ctx = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2), orders,
            ...                   params={"day": "2026-01-02"})
            >>> ctx.param("day")
            '2026-01-02'
        """
        try:
            return self.params[name]
        except KeyError as exc:
            given = ", ".join(sorted(self.params)) or "none"
            raise PipelineError(
                f"the step producing {self.table.qualified_name!r} needs the run parameter "
                f"{name!r} (given: {given}); pass params={{{name!r}: ...}} to Pipeline.run"
            ) from exc

    def read(self, table: Table) -> DataFrame:
        """Read the current version of a table of the lakehouse.

        Args:
            table: The table to read; usually one of the step's inputs.

        Returns:
            The table's rows.

        Example:
            >>> import datetime as dt
            >>> from medallion import StepContext, Table, write_table
            >>> orders = Table("orders", "gold")
            >>> ctx = StepContext(spark, lakehouse, "r1", dt.datetime(2026, 1, 2), orders)
            >>> rows = spark.createDataFrame([("o1", 5.0)], "id STRING, amount DOUBLE")
            >>> _ = write_table(rows, orders, lakehouse)
            >>> ctx.read(orders).collect()
            [Row(id='o1', amount=5.0)]
        """
        return read_table(self.spark, table, self.root)

    def location(self, table: Table | None = None) -> str:
        """The storage location of a table (by default, the one this step produces).

        Args:
            table: The table; defaults to :attr:`table`.

        Returns:
            Its path or URI under the lakehouse root.

        Example:
            >>> import datetime as dt
            >>> from medallion import StepContext, Table
            >>> orders = Table("orders", "gold")
            >>> ctx = StepContext(spark, "/lake", "r1", dt.datetime(2026, 1, 2), orders)
            >>> ctx.location(), ctx.location(Table("totals", "gold"))
            ('/lake/gold/orders', '/lake/gold/totals')
        """
        return (table or self.table).location(self.root)


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
        fn: The function.
        source: ``file:line`` where the function is defined, for messages.
        description: The function's docstring's first line, or the given description.

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

    @classmethod
    def from_function(
        cls,
        fn: StepFunction,
        table: Table,
        inputs: tuple[Table, ...],
        name: str | None = None,
        description: str | None = None,
    ) -> Step:
        """Build a step from a function, taking its name, docstring and source location.

        Args:
            fn: The step function.
            table: The table it produces.
            inputs: The tables it reads.
            name: The step's name; defaults to the function's.
            description: Defaults to the docstring's first line.

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
        )

    def __call__(self, ctx: StepContext) -> StepOutput:
        """Run the function."""
        return self.fn(ctx)
