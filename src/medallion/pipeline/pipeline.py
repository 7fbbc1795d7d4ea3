"""``Pipeline``: register steps, order them, dry-run the plan, run it."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import attrs

from medallion.delta.tables import table_exists
from medallion.errors import (
    MissingParamsError,
    PipelineDefinitionError,
    RunCancelledError,
    StepFailedError,
)
from medallion.lakehouse import Lakehouse, resolve_root
from medallion.pipeline import graph
from medallion.pipeline.step import Step, StepFunction
from medallion.runner.executor import RunInfo, Work, execute, utcnow
from medallion.runner.inputs import ChangesOf
from medallion.runner.lease import Holder, RunLease
from medallion.runner.results import RunResult, StepRun, StepStatus, describe_step
from medallion.runner.runlog import abandon_dead_runs, start_run_log, write_run_log
from medallion.runner.stop import StopSignals
from medallion.table import Table

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_CHANGE_FEED = "delta.enableChangeDataFeed"

__all__ = ["Pipeline", "Plan", "PlannedStep", "RunResult", "StepRun"]


@attrs.frozen
class PlannedStep:
    """One step of a :class:`Plan`.

    Attributes:
        step: The step.
        location: Where its table lives.
        upstream: Names of the steps it waits for.
        external_inputs: Qualified names of inputs no step of the pipeline produces.

    Example:
        >>> from medallion import Pipeline, Table
        >>> raw = Table("orders", "bronze", schema="id STRING")
        >>> clean = Table("orders", "silver", primary_keys="id")
        >>> pipeline = Pipeline("orders")
        >>> _ = pipeline.step(clean, inputs=[raw], name="clean")(lambda ctx: ctx.read(raw))
        >>> planned = pipeline.plan("/lake").steps[0]
        >>> planned.location, planned.upstream, planned.external_inputs
        ('/lake/silver/orders', (), ('bronze.orders',))
    """

    step: Step
    location: str
    upstream: tuple[str, ...]
    external_inputs: tuple[str, ...]


@attrs.frozen
class Plan:
    """The steps a run would execute, in order, with what each reads and writes.

    Attributes:
        pipeline: The pipeline's name.
        root: The lakehouse root.
        steps: The planned steps, in run order.
        problems: What validation found wrong (empty when the plan is valid).

    Example:
        >>> from medallion import Pipeline, Table
        >>> raw = Table("orders", "bronze", schema="id STRING")
        >>> clean = Table("orders", "silver", primary_keys="id")
        >>> pipeline = Pipeline("orders")
        >>> _ = pipeline.step(clean, inputs=[raw], name="clean")(lambda ctx: ctx.read(raw))
        >>> _ = pipeline.step(raw, name="load")(lambda ctx: ctx.spark.range(3))
        >>> plan = pipeline.plan("/lake")
        >>> plan.ok, [planned.step.name for planned in plan.steps]
        (True, ['load', 'clean'])
    """

    pipeline: str
    root: str
    steps: tuple[PlannedStep, ...]
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether validation found no problem."""
        return not self.problems

    def render(self) -> str:
        """The plan as text, one numbered step per line, then any problems.

        Returns:
            The text.

        Example:
            >>> from medallion import Pipeline, Table
            >>> raw = Table("orders", "bronze", schema="id STRING")
            >>> pipeline = Pipeline("orders")
            >>> _ = pipeline.step(raw, name="load")(lambda ctx: ctx.spark.range(3))
            >>> print(pipeline.plan("/lake").render())  # doctest: +ELLIPSIS
            pipeline 'orders': 1 step(s), lakehouse /lake
              1. load: (files) -> bronze.orders write=append
                 at /lake/bronze/orders  [...]
            plan is valid
        """
        lines = [f"pipeline {self.pipeline!r}: {len(self.steps)} step(s), lakehouse {self.root}"]
        for number, planned in enumerate(self.steps, start=1):
            step = planned.step
            incremental = {t.qualified_name for t in step.changes_of}
            reads = [
                f"changes({name})" if name in incremental else name
                for name in (t.qualified_name for t in step.inputs)
            ] or ["(files)"]
            lines.append(f"{number:>3}. {step.name}: {', '.join(reads)} -> {step.table.describe()}")
            lines.append(f"     at {planned.location}  [{step.source}]")
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s):")
            lines.extend(f"  - {p}" for p in self.problems)
        else:
            lines.append("plan is valid")
        return "\n".join(lines)


class Pipeline:
    """A set of table-producing steps, run in dependency order.

    Register steps with the :meth:`step` decorator; it returns a :class:`Step`, so the
    decorated name stays a typed object. :meth:`plan` and :meth:`dry_run` order and check the
    steps without touching data; :meth:`run` executes all steps or a selection with the steps
    downstream of it.

    Run parameters (:meth:`StepContext.param`: a landing folder, a date) can be declared, by
    the pipeline (with defaults) or by the steps that read them (``@pipeline.step(...,
    params=["landing"])``), so that a run missing one fails before it starts (and
    ``medallion run`` before Spark starts).

    Args:
        name: The pipeline's name.
        params: Run parameters every run needs: names (required), or a mapping of names to
            defaults (``None``: required). Parameters not declared can still be passed and
            read; a step reading a missing one fails when it runs.

    Example:
        >>> from medallion import Pipeline, Table
        >>> raw = Table("events", "bronze", schema="id STRING, kind STRING")
        >>> counts = Table("event_counts", "gold")
        >>> pipeline = Pipeline("events")
        >>> @pipeline.step(counts, inputs=[raw])
        ... def count_events(ctx):
        ...     return ctx.read(raw).groupBy("kind").count()
        >>> [planned.step.name for planned in pipeline.plan("/tmp/lake").steps]
        ['count_events']
    """

    def __init__(
        self, name: str, *, params: Iterable[str] | Mapping[str, str | None] = ()
    ) -> None:
        self.name = name
        self._steps: list[Step] = []
        declared = params.items() if isinstance(params, Mapping) else ((p, None) for p in params)
        self._params: dict[str, str | None] = {
            str(key): None if value is None else str(value) for key, value in declared
        }

    @property
    def params(self) -> Mapping[str, str | None]:
        """The declared run parameters and their defaults (``None``: required).

        Example:
            >>> Pipeline("shop", params={"landing": None, "days": "7"}).params
            {'landing': None, 'days': '7'}
        """
        return dict(self._params)

    def check_params(
        self, given: Mapping[str, object] | None, steps: Iterable[Step] | None = None
    ) -> dict[str, str]:
        """The run's parameters: ``given`` over the declared defaults, all required ones there.

        Required are the pipeline's parameters without a default and those the ``steps``
        declare (all the pipeline's steps by default).

        Args:
            given: The parameters a run was given.
            steps: The steps the run includes.

        Returns:
            The parameters the run's steps see.

        Raises:
            MissingParamsError: A required parameter is missing (named with the hint).

        Example:
            >>> shop = Pipeline("shop", params={"landing": None, "days": "7"})
            >>> shop.check_params({"landing": "data/landing"})
            {'days': '7', 'landing': 'data/landing'}
        """
        values = {k: v for k, v in self._params.items() if v is not None}
        values.update({str(k): str(v) for k, v in (given or {}).items()})
        required = dict.fromkeys(self._params)
        for step in self._steps if steps is None else steps:
            required.update(dict.fromkeys(step.params))
        missing = tuple(name for name in required if name not in values)
        if missing:
            raise MissingParamsError(self.name, missing)
        return values

    @property
    def steps(self) -> tuple[Step, ...]:
        """The registered steps, in registration order."""
        return tuple(self._steps)

    def step(
        self,
        table: Table,
        *,
        inputs: Iterable[Table | ChangesOf] = (),
        name: str | None = None,
        description: str | None = None,
        params: Iterable[str] = (),
    ) -> Callable[[StepFunction], Step]:
        """Register the decorated function as the step that produces ``table``.

        The function takes a :class:`StepContext` and returns its table's rows (a DataFrame),
        or ``None`` when it has nothing to write. The runner writes the rows by the table's
        write policy (:attr:`Table.write <medallion.Table.write>`), in one commit with the
        run's id and the versions of the incremental inputs it read.

        Args:
            table: The table the step produces.
            inputs: The tables it reads: a table, or ``changes(table)`` to read only what
                changed since the step's last write (see :func:`~medallion.changes`).
            name: The step's name; defaults to the function's name.
            description: Defaults to the first line of the function's docstring.
            params: The run parameters the step reads: a run that includes the step fails
                before it starts without them (unless the pipeline gives a default).

        Returns:
            A decorator that returns the registered :class:`Step`.

        Raises:
            PipelineDefinitionError: The name or the table is already taken by another step.

        Example:
            >>> from medallion import Pipeline, Table
            >>> raw = Table("orders", "bronze", schema="id STRING")
            >>> pipeline = Pipeline("orders")
            >>> @pipeline.step(Table("orders", "silver", primary_keys="id"), inputs=[raw])
            ... def clean_orders(ctx):
            ...     "Orders without rescued data."
            ...     return ctx.read(raw).where("_rescued_data IS NULL")
            >>> clean_orders.name, clean_orders.description, pipeline.steps == (clean_orders,)
            ('clean_orders', 'Orders without rescued data.', True)
        """
        input_tables: list[Table] = []
        incremental: list[Table] = []
        for item in inputs:
            if isinstance(item, ChangesOf):
                incremental.append(item.table)
                item = item.table
            if not isinstance(item, Table):
                raise PipelineDefinitionError(
                    f"pipeline {self.name!r}: inputs of the step producing "
                    f"{table.qualified_name!r} must be tables or changes(table), got {item!r}"
                )
            input_tables.append(item)

        needs = tuple(params)

        def register(fn: StepFunction) -> Step:
            created = Step.from_function(
                fn, table, tuple(input_tables), name, description, tuple(incremental), needs
            )
            self.add(created)
            return created

        return register

    def add(self, step: Step) -> Step:
        """Register an already built step.

        Args:
            step: The step.

        Returns:
            The same step.

        Raises:
            PipelineDefinitionError: The name or the table is already taken by another step.

        Example:
            >>> from medallion import Pipeline, Step, Table
            >>> numbers = Table("numbers", "gold")
            >>> step = Step.from_function(lambda ctx: ctx.spark.range(3), numbers, (), "numbers")
            >>> pipeline = Pipeline("numbers")
            >>> pipeline.add(step) is step, [added.name for added in pipeline.steps]
            (True, ['numbers'])
        """
        for existing in self._steps:
            if existing.name == step.name:
                raise PipelineDefinitionError(
                    f"pipeline {self.name!r}: a step named {step.name!r} is already registered "
                    f"(at {existing.source}; again at {step.source})"
                )
            if existing.table.qualified_name == step.table.qualified_name:
                raise PipelineDefinitionError(
                    f"pipeline {self.name!r}: steps {existing.name!r} (at {existing.source}) "
                    f"and {step.name!r} (at {step.source}) both produce table "
                    f"{step.table.qualified_name!r}"
                )
        self._steps.append(step)
        return step

    def plan(
        self,
        root: str | os.PathLike[str],
        select: Sequence[str] | None = None,
        *,
        downstream: bool = True,
    ) -> Plan:
        """Order the steps (all, or a selection with its downstream steps) without running them.

        Args:
            root: The lakehouse root.
            select: Step or table names to run; ``None`` for all.
            downstream: With ``select``, also run the steps that depend on the selection.

        Returns:
            The plan.

        Raises:
            CycleError: The steps depend on each other in a cycle.
            UnknownStepError: ``select`` names an unknown step or table.

        Example:
            >>> from medallion import Pipeline, Table
            >>> raw = Table("orders", "bronze", schema="id STRING")
            >>> clean = Table("orders", "silver", primary_keys="id")
            >>> pipeline = Pipeline("orders")
            >>> _ = pipeline.step(clean, inputs=[raw], name="clean")(lambda ctx: ctx.read(raw))
            >>> _ = pipeline.step(raw, name="load")(lambda ctx: ctx.spark.range(3))
            >>> [planned.step.name for planned in pipeline.plan("/lake", ["silver.orders"]).steps]
            ['clean']
        """
        base = resolve_root(root)
        if isinstance(select, str):
            select = [select]
        chosen = (
            graph.order(self._steps)
            if select is None
            else graph.select(self._steps, select, downstream=downstream)
        )
        upstream = graph.dependencies(self._steps)
        produced = {s.table.qualified_name for s in self._steps}
        return Plan(
            pipeline=self.name,
            root=base,
            steps=tuple(
                PlannedStep(
                    step=s,
                    location=s.table.location(base),
                    upstream=tuple(sorted(upstream[s.name])),
                    external_inputs=tuple(
                        t.qualified_name for t in s.inputs if t.qualified_name not in produced
                    ),
                )
                for s in chosen
            ),
        )

    def dry_run(
        self,
        root: str | os.PathLike[str],
        select: Sequence[str] | None = None,
        *,
        downstream: bool = True,
        spark: SparkSession | None = None,
        echo: bool = True,
        params: Mapping[str, object] | None = None,
    ) -> Plan:
        """Build and validate the plan, print it, and touch no data.

        Without ``spark`` the checks are those that need no JVM: order, cycles, selection, and
        that every table read incrementally (``changes(table)``) records its changes.
        With ``spark`` each table's quality rules are also resolved against its schema by
        Spark's analyzer, and inputs that no step produces, and tables that rules refer to
        (``exists_in``) that no earlier step produces, must exist as Delta tables (only their
        transaction logs are read).

        Args:
            root: The lakehouse root.
            select: Step or table names to run; ``None`` for all.
            downstream: With ``select``, include the steps downstream of it.
            spark: A session for the checks that need Spark.
            echo: Print the plan.
            params: The run parameters a run would get: when given, a missing required one
                is a problem.

        Returns:
            The plan, with the problems found in :attr:`Plan.problems`.

        Raises:
            CycleError: The steps depend on each other in a cycle.
            UnknownStepError: ``select`` names an unknown step or table.

        Example:
            An input that no step produces must exist:

            >>> from medallion import Pipeline, Table
            >>> raw = Table("orders", "bronze", schema="id STRING")
            >>> pipeline = Pipeline("orders")
            >>> @pipeline.step(Table("orders", "silver", primary_keys="id"), inputs=[raw])
            ... def clean_orders(ctx):
            ...     return ctx.read(raw)
            >>> plan = pipeline.dry_run(lakehouse, spark=spark, echo=False)
            >>> plan.ok, plan.problems  # doctest: +ELLIPSIS
            (False, ("step 'clean_orders': input 'bronze.orders' is produced by no step ...",))
        """
        from medallion.errors import RuleDefinitionError

        plan = self.plan(root, select, downstream=downstream)
        problems: list[str] = []
        if params is not None:
            try:
                self.check_params(params, (planned.step for planned in plan.steps))
            except MissingParamsError as exc:
                problems.append(str(exc))
        for planned in plan.steps:
            for source in planned.step.changes_of:
                if source.properties.get(_CHANGE_FEED, "false").lower() != "true":
                    problems.append(
                        f"step {planned.step.name!r} reads the changes of "
                        f"{source.qualified_name!r}, which does not declare "
                        f"properties={{{_CHANGE_FEED!r}: 'true'}}: after its first run, the step "
                        "could not read them"
                    )
        produced: set[str] = set()
        if spark is not None:
            for planned in plan.steps:
                table = planned.step.table
                if table.schema is not None:
                    for rule in table.rules:
                        try:
                            rule.check(spark, table.schema, table.qualified_name)
                        except RuleDefinitionError as exc:
                            problems.append(str(exc))
                for item in planned.step.inputs:
                    if item.qualified_name in planned.external_inputs and not table_exists(
                        spark, item.location(plan.root)
                    ):
                        problems.append(
                            f"step {planned.step.name!r}: input {item.qualified_name!r} is "
                            f"produced by no step and has no Delta table at "
                            f"{item.location(plan.root)}"
                        )
                for reference in graph.references(planned.step):
                    if reference.qualified_name not in produced and not table_exists(
                        spark, reference.location(plan.root)
                    ):
                        named = next(r.name for r in table.rules if r.reference == reference)
                        problems.append(
                            f"table {table.qualified_name!r}: rule {named!r} refers to "
                            f"{reference.qualified_name!r}, which no planned step produces and "
                            f"has no Delta table at {reference.location(plan.root)}"
                        )
                produced.add(table.qualified_name)
        plan = attrs.evolve(plan, problems=tuple(problems))
        if echo:
            print(plan.render())
        return plan

    def run(
        self,
        spark: SparkSession,
        root: str | os.PathLike[str],
        select: Sequence[str] | None = None,
        *,
        downstream: bool = True,
        run_id: str | None = None,
        params: Mapping[str, object] | None = None,
        log: bool = True,
        progress: Callable[[str], None] | None = None,
        wait: float = 0.0,
    ) -> RunResult:
        """Run the steps (all, or a selection with its downstream steps) in dependency order.

        Each step's output is written to its table by the table's write policy. When a step
        fails, the steps after it are skipped and :class:`~medallion.errors.StepFailedError` is
        raised, with the run's result as its ``result`` attribute.

        One run at a time writes a lakehouse: the run takes the lakehouse's lease first (see
        :mod:`medallion.runner.lease`) and fails at once with
        :class:`~medallion.errors.LakehouseBusyError` while another live run holds it (or waits
        ``wait`` seconds for it). The run is in the run log from its start (``running``); a run
        whose driver died is marked ``abandoned`` by the next one. SIGINT (Ctrl-C) or SIGTERM
        cancels the current step's Spark jobs and stops the run (logged ``cancelled``;
        :class:`~medallion.errors.RunCancelledError`).

        Args:
            spark: The SparkSession to use.
            root: The lakehouse root.
            select: Step or table names to run; ``None`` for all.
            downstream: With ``select``, also run the steps downstream of it.
            run_id: The run's id; a new UUID by default.
            params: Parameters the steps read with :meth:`StepContext.param`, over the
                declared defaults.
            log: Append the run to the lakehouse's run log (``<root>/_medallion/runs``), one
                row per step, failed and skipped steps included.
            progress: Called with a line of text when each step starts and ends (``print``,
                a logger's ``info``).
            wait: Seconds to wait for another run holding the lakehouse to end; 0 fails at once.

        Returns:
            The run's result.

        Raises:
            MissingParamsError: A declared required parameter is missing (nothing ran).
            StepFailedError: A step failed; the original error is its ``__cause__``.
            LakehouseBusyError: Another live run holds the lakehouse.
            RunCancelledError: A signal stopped the run; its ``result`` says which steps ran.

        Example:
            >>> from medallion import Pipeline, Table
            >>> numbers = Table("numbers", "gold")
            >>> pipeline = Pipeline("numbers")
            >>> @pipeline.step(numbers)
            ... def make_numbers(ctx):
            ...     return ctx.spark.range(3).withColumnRenamed("id", "n")
            >>> result = pipeline.run(spark, lakehouse)
            >>> result.succeeded, result.step("gold.numbers").write.rows_written
            (True, 3)
        """
        plan = self.plan(root, select, downstream=downstream)
        values = self.check_params(params, (planned.step for planned in plan.steps))
        info = RunInfo(run_id or uuid.uuid4().hex, self.name, utcnow(), values)
        lease = RunLease.take(plan.root, Holder.of(info.run_id, self.name), wait=wait)
        try:
            if log:
                if lease.taken_over is not None:
                    # A run died holding the lease (and no other run is live): it, and any
                    # other run it left running, are abandoned.
                    abandon_dead_runs(spark, plan.root, info.run_id)
                start_run_log(spark, plan.root, self._started(info, plan))
            with StopSignals(spark) as stop:
                result, failure = self._run_steps(spark, plan, info, stop, progress)
            if log:
                write_run_log(spark, plan.root, result, replace=True)
        finally:
            lease.release()
        if stop.requested is not None:
            ran = sum(s.status is StepStatus.SUCCEEDED for s in result.steps)
            name = signal.Signals(stop.requested).name
            raise RunCancelledError(
                f"run {info.run_id} of pipeline {self.name!r} cancelled by {name}: "
                f"{ran} of {len(result.steps)} step(s) committed, the rest did not run",
                stop.requested,
                result,
            )
        if failure is not None:
            failed, cause = failure
            error = StepFailedError(
                f"pipeline {self.name!r}: step {failed.name!r} ({failed.table.qualified_name}, "
                f"{failed.source}) failed: {type(cause).__name__}: {cause}",
                failed.name,
                failed.table.qualified_name,
                result,
            )
            raise error from cause
        return result

    def _started(self, info: RunInfo, plan: Plan) -> RunResult:
        """The run as it starts: every planned step ``running``."""
        steps = tuple(
            StepRun(
                p.step.name, p.step.table.qualified_name, StepStatus.RUNNING, location=p.location
            )
            for p in plan.steps
        )
        return RunResult(info.run_id, self.name, info.started_at, info.started_at, steps)

    def _run_steps(
        self,
        spark: SparkSession,
        plan: Plan,
        info: RunInfo,
        stop: StopSignals,
        progress: Callable[[str], None] | None,
    ) -> tuple[RunResult, tuple[Step, BaseException] | None]:
        """Run the planned steps in order; the run's result and its first failure."""
        lakehouse = Lakehouse(spark, plan.root)
        runs: list[StepRun] = []
        failure: tuple[Step, BaseException] | None = None
        say = progress or (lambda _: None)
        total = len(plan.steps)
        for number, planned in enumerate(plan.steps, 1):
            step = planned.step
            if failure is not None or stop.requested is not None:
                status = StepStatus.SKIPPED if failure is not None else StepStatus.CANCELLED
                runs.append(
                    StepRun(
                        step.name, step.table.qualified_name, status, location=planned.location
                    )
                )
                continue
            say(f"[{number}/{total}] {step.name} -> {step.table.qualified_name} ...")
            work = Work(step.name, step.table, step.fn, step.inputs, step.changes_of)
            outcome = execute(lakehouse, work, info)
            if outcome.error is not None and stop.requested is not None:
                # Its jobs were cancelled: nothing of it was committed.
                runs.append(attrs.evolve(outcome.run, status=StepStatus.CANCELLED, error=None))
                continue
            runs.append(outcome.run)
            if outcome.error is not None:
                failure = (step, outcome.error)
                say(f"[{number}/{total}] {step.name}: failed: {outcome.run.error}")
            else:
                say(f"[{number}/{total}] {step.name}: {describe_step(outcome.run)}")
        result = RunResult(info.run_id, self.name, info.started_at, utcnow(), tuple(runs))
        return result, failure
