"""Unit tests of Pipeline registration, planning, selection and dry runs, without Spark."""

from __future__ import annotations

import datetime as dt
import graphlib
import inspect
import itertools
import os
from pathlib import Path
from typing import cast

import attrs
import pytest
from pyspark.sql import SparkSession

from medallion import Layer, Pipeline, Plan, QualityRule, Step, StepContext, Table
from medallion.errors import (
    CycleError,
    MissingParamsError,
    PipelineDefinitionError,
    PipelineError,
    UnknownStepError,
)
from medallion.pipeline import PlannedStep, graph
from medallion.pipeline.step import StepOutput

RAW_ORDERS = Table("orders", "bronze", schema="order_id STRING, customer_id STRING, amount DOUBLE")
ORDERS = Table(
    "orders",
    "silver",
    schema="order_id STRING NOT NULL, customer_id STRING, amount DOUBLE",
    primary_keys="order_id",
    # Table.rules uses converter=tuple, which mypy's attrs plugin types as Iterable[_T_co].
    rules=[QualityRule("positive_amount", "amount > 0", action="quarantine")],  # type: ignore[list-item]
)
ORDER_FLAGS = Table("order_flags", "silver", schema="order_id STRING", primary_keys="order_id")
REPORT = Table("order_report", "gold")
RAW_CUSTOMERS = Table("customers", "bronze", schema="customer_id STRING, name STRING")
CUSTOMERS = Table("customers", "silver", schema="customer_id STRING", primary_keys="customer_id")


def write_nothing(ctx: StepContext) -> StepOutput:
    """Nothing to write; the steps of these tests never touch data."""
    return None


def add(pipeline: Pipeline, table: Table, inputs: tuple[Table, ...] = (), *, name: str) -> Step:
    return pipeline.step(table, inputs=inputs, name=name)(write_nothing)


def diamond(root_name: str = "shop") -> Pipeline:
    """bronze.orders -> (silver.orders, silver.order_flags) -> gold.order_report.

    Registered out of order: the plan must still put producers before consumers.
    """
    pipeline = Pipeline(root_name)
    add(pipeline, REPORT, (ORDERS, ORDER_FLAGS), name="report")
    add(pipeline, ORDER_FLAGS, (RAW_ORDERS,), name="flag_orders")
    add(pipeline, RAW_ORDERS, name="ingest_orders")
    add(pipeline, ORDERS, (RAW_ORDERS,), name="clean_orders")
    return pipeline


def names(plan: Plan) -> list[str]:
    return [planned.step.name for planned in plan.steps]


def context(table: Table, root: str = "/lake") -> StepContext:
    return StepContext(
        spark=cast(SparkSession, None),
        root=root,
        run_id="run-1",
        started_at=dt.datetime(2024, 1, 1),
        table=table,
    )


# --- the step decorator ------------------------------------------------------------------


def test_step_decorator_returns_a_registered_step() -> None:
    pipeline = Pipeline("shop")

    @pipeline.step(ORDERS, inputs=[RAW_ORDERS])
    def clean_orders(ctx: StepContext) -> StepOutput:
        """Keep the orders that parsed.

        Longer explanation that is not part of the description.
        """
        return write_nothing(ctx)

    assert isinstance(clean_orders, Step)
    assert pipeline.steps == (clean_orders,)
    assert clean_orders.name == "clean_orders"
    assert clean_orders.table is ORDERS
    assert clean_orders.inputs == (RAW_ORDERS,)
    assert clean_orders.description == "Keep the orders that parsed."


def test_step_source_is_the_file_and_line_of_the_definition() -> None:
    pipeline = Pipeline("shop")
    frame = inspect.currentframe()
    assert frame is not None
    decorator_line = frame.f_lineno + 2

    @pipeline.step(ORDERS, inputs=[RAW_ORDERS])
    def clean_orders(ctx: StepContext) -> StepOutput:
        return write_nothing(ctx)

    assert clean_orders.source == f"{os.path.relpath(__file__)}:{decorator_line}"
    source_file, _, line = clean_orders.source.rpartition(":")
    assert Path(source_file).resolve() == Path(__file__).resolve()
    assert "@pipeline.step(ORDERS" in Path(__file__).read_text().splitlines()[int(line) - 1]


def test_step_stays_callable_and_runs_the_function() -> None:
    pipeline = Pipeline("shop")
    seen: list[StepContext] = []

    @pipeline.step(ORDERS, inputs=[RAW_ORDERS])
    def clean_orders(ctx: StepContext) -> StepOutput:
        seen.append(ctx)
        return None

    ctx = context(ORDERS)
    assert callable(clean_orders)
    assert clean_orders(ctx) is None
    assert seen == [ctx]
    assert clean_orders.fn(ctx) is None
    assert len(seen) == 2


def test_step_name_and_description_can_be_given() -> None:
    pipeline = Pipeline("shop")

    @pipeline.step(ORDERS, inputs=(t for t in [RAW_ORDERS]), name="orders", description="Clean.")
    def clean(ctx: StepContext) -> StepOutput:
        """Ignored docstring."""
        return write_nothing(ctx)

    assert (clean.name, clean.description, clean.inputs) == ("orders", "Clean.", (RAW_ORDERS,))


def test_step_without_docstring_has_an_empty_description() -> None:
    pipeline = Pipeline("shop")

    @pipeline.step(RAW_ORDERS)
    def ingest_orders(ctx: StepContext) -> StepOutput:
        return write_nothing(ctx)

    assert ingest_orders.description == ""
    assert ingest_orders.inputs == ()


def test_pipeline_steps_keep_registration_order() -> None:
    assert [s.name for s in diamond().steps] == [
        "report",
        "flag_orders",
        "ingest_orders",
        "clean_orders",
    ]


def test_pipeline_add_registers_a_built_step() -> None:
    pipeline = Pipeline("shop")
    step = Step.from_function(write_nothing, ORDERS, (RAW_ORDERS,), name="clean_orders")
    assert pipeline.add(step) is step
    assert pipeline.steps == (step,)
    assert step.description == "Nothing to write; the steps of these tests never touch data."


# --- definition errors -------------------------------------------------------------------


def test_duplicate_step_names_are_rejected_naming_the_step_and_its_first_definition() -> None:
    pipeline = Pipeline("shop")
    first = add(pipeline, ORDERS, (RAW_ORDERS,), name="clean_orders")
    with pytest.raises(PipelineDefinitionError) as info:
        add(pipeline, CUSTOMERS, (RAW_CUSTOMERS,), name="clean_orders")
    assert str(info.value) == (
        f"pipeline 'shop': a step named 'clean_orders' is already registered (at {first.source}; "
        f"again at {first.source})"
    )
    assert pipeline.steps == (first,)


def test_two_steps_producing_the_same_table_are_rejected_naming_both() -> None:
    pipeline = Pipeline("shop")
    first = add(pipeline, ORDERS, (RAW_ORDERS,), name="clean_orders")
    with pytest.raises(PipelineDefinitionError) as info:
        add(pipeline, ORDERS, (RAW_ORDERS,), name="clean_orders_again")
    message = str(info.value)
    assert "'silver.orders'" in message
    assert "'clean_orders'" in message
    assert "'clean_orders_again'" in message
    assert pipeline.steps == (first,)


def test_same_table_name_in_two_layers_is_not_a_duplicate() -> None:
    pipeline = Pipeline("shop")
    add(pipeline, RAW_ORDERS, name="ingest_orders")
    add(pipeline, ORDERS, (RAW_ORDERS,), name="clean_orders")
    assert len(pipeline.steps) == 2


def test_graph_dependencies_reject_two_producers_of_a_table_naming_both() -> None:
    steps = [
        Step.from_function(write_nothing, ORDERS, (), name="clean_orders"),
        Step.from_function(write_nothing, ORDERS, (), name="clean_orders_again"),
    ]
    with pytest.raises(PipelineDefinitionError) as info:
        graph.dependencies(steps)
    assert str(info.value) == (
        "table 'silver.orders' is produced by two steps: 'clean_orders' and 'clean_orders_again'"
    )


def test_inputs_that_are_not_tables_are_rejected() -> None:
    pipeline = Pipeline("shop")
    with pytest.raises(PipelineDefinitionError) as info:
        pipeline.step(ORDERS, inputs=[RAW_ORDERS, "bronze.customers"])  # type: ignore[list-item]
    assert str(info.value) == (
        "pipeline 'shop': inputs of the step producing 'silver.orders' must be tables or "
        "changes(table), got 'bronze.customers'"
    )
    assert pipeline.steps == ()


# --- planning ----------------------------------------------------------------------------


def test_plan_orders_a_diamond_by_dependency_keeping_registration_order() -> None:
    plan = diamond().plan("/lake")
    assert names(plan) == ["ingest_orders", "flag_orders", "clean_orders", "report"]


def test_plan_keeps_registration_order_among_independent_steps() -> None:
    pipeline = Pipeline("shop")
    add(pipeline, RAW_ORDERS, name="zeta")
    add(pipeline, RAW_CUSTOMERS, name="alpha")
    add(pipeline, REPORT, name="middle")
    assert names(pipeline.plan("/lake")) == ["zeta", "alpha", "middle"]


def test_plan_records_locations_and_upstream_steps() -> None:
    plan = diamond().plan("/lake/")
    assert plan.pipeline == "shop"
    assert plan.root == "/lake"
    assert plan.problems == ()
    assert plan.ok
    by_name = {planned.step.name: planned for planned in plan.steps}
    assert by_name["report"] == PlannedStep(
        step=by_name["report"].step,
        location="/lake/gold/order_report",
        upstream=("clean_orders", "flag_orders"),
        external_inputs=(),
    )
    assert by_name["ingest_orders"].location == "/lake/bronze/orders"
    assert by_name["ingest_orders"].upstream == ()
    assert by_name["clean_orders"].upstream == ("ingest_orders",)


def test_plan_root_is_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    plan = diamond().plan("lake")
    assert plan.root == os.path.join(os.getcwd(), "lake")
    assert diamond().plan("s3a://bucket/lake/").steps[0].location == (
        "s3a://bucket/lake/bronze/orders"
    )


def test_plan_lists_external_inputs() -> None:
    pipeline = Pipeline("shop")
    add(pipeline, ORDERS, (RAW_ORDERS,), name="clean_orders")
    add(pipeline, REPORT, (ORDERS, RAW_CUSTOMERS, CUSTOMERS), name="report")
    plan = pipeline.plan("/lake")
    assert [(p.step.name, p.external_inputs, p.upstream) for p in plan.steps] == [
        ("clean_orders", ("bronze.orders",), ()),
        ("report", ("bronze.customers", "silver.customers"), ("clean_orders",)),
    ]


def test_plan_of_an_empty_pipeline_has_no_steps() -> None:
    plan = Pipeline("empty").plan("/lake")
    assert plan.steps == ()
    assert plan.ok


# --- cycles ------------------------------------------------------------------------------


def test_graphlib_reports_a_cycle_in_data_flow_order() -> None:
    # {node: predecessors}: a feeds b, b feeds c, c feeds a.
    sorter = graphlib.TopologicalSorter({"b": {"a"}, "c": {"b"}, "a": {"c"}})
    with pytest.raises(graphlib.CycleError) as info:
        sorter.prepare()
    assert info.value.args[1] == ["b", "c", "a", "b"]


def cycle_of_three() -> Pipeline:
    a = Table("a", "gold")
    b = Table("b", "gold")
    c = Table("c", "gold")
    pipeline = Pipeline("loop")
    add(pipeline, b, (a,), name="make_b")
    add(pipeline, c, (b,), name="make_c")
    add(pipeline, a, (c,), name="make_a")
    return pipeline


def test_a_cycle_of_three_steps_raises_a_cycle_error() -> None:
    with pytest.raises(CycleError) as info:
        cycle_of_three().plan("/lake")
    assert isinstance(info.value, PipelineDefinitionError)
    assert info.value.cycle == ("gold.b", "gold.c", "gold.a", "gold.b")


def test_a_cycle_error_names_the_tables_in_data_flow_order() -> None:
    # Data flows a -> b (make_b reads a), b -> c (make_c reads b) and c -> a (make_a reads c).
    with pytest.raises(CycleError) as info:
        cycle_of_three().plan("/lake")
    assert str(info.value) == (
        "the steps depend on each other in a cycle: gold.b -> gold.c -> gold.a -> gold.b"
    )


def test_a_cycle_error_message_follows_the_data_flow_edge_by_edge() -> None:
    pipeline = cycle_of_three()
    producer = {s.table.qualified_name: s for s in pipeline.steps}
    with pytest.raises(CycleError) as info:
        pipeline.plan("/lake")
    path = str(info.value).split(": ", 1)[1].split(" -> ")
    for upstream, downstream in itertools.pairwise(path):
        reads = {t.qualified_name for t in producer[downstream].inputs}
        assert upstream in reads, f"{downstream} does not read {upstream}"


def test_a_step_reading_its_own_table_raises_a_cycle_error() -> None:
    pipeline = Pipeline("shop")
    add(pipeline, RAW_ORDERS, name="ingest_orders")
    add(pipeline, ORDERS, (RAW_ORDERS, ORDERS), name="dedupe_orders")
    with pytest.raises(CycleError) as info:
        pipeline.plan("/lake")
    assert str(info.value) == (
        "step 'dedupe_orders' reads the table it produces (silver.orders); "
        "a step cannot be its own input"
    )
    assert info.value.cycle == ("silver.orders", "silver.orders")


def test_a_cycle_is_reported_for_a_selection_too() -> None:
    with pytest.raises(CycleError):
        cycle_of_three().plan("/lake", select=["make_a"], downstream=False)


# --- selection ---------------------------------------------------------------------------


def test_select_includes_downstream_steps_by_default() -> None:
    assert names(diamond().plan("/lake", select=["clean_orders"])) == ["clean_orders", "report"]


def test_select_includes_transitive_downstream_steps_in_run_order() -> None:
    assert names(diamond().plan("/lake", select=["ingest_orders"])) == [
        "ingest_orders",
        "flag_orders",
        "clean_orders",
        "report",
    ]


def test_select_without_downstream_runs_only_the_selection() -> None:
    assert names(diamond().plan("/lake", select=["clean_orders"], downstream=False)) == [
        "clean_orders"
    ]
    assert names(diamond().plan("/lake", select=["report", "ingest_orders"], downstream=False)) == [
        "ingest_orders",
        "report",
    ]


def test_select_by_bare_table_name() -> None:
    assert names(diamond().plan("/lake", select=["order_flags"])) == ["flag_orders", "report"]
    assert names(diamond().plan("/lake", select=["order_report"])) == ["report"]


def test_select_by_qualified_table_name() -> None:
    assert names(diamond().plan("/lake", select=["silver.orders"], downstream=False)) == [
        "clean_orders"
    ]
    assert names(diamond().plan("/lake", select=["bronze.orders"], downstream=False)) == [
        "ingest_orders"
    ]


def test_select_planned_steps_keep_upstream_of_the_whole_pipeline() -> None:
    plan = diamond().plan("/lake", select=["report"])
    assert plan.steps[0].upstream == ("clean_orders", "flag_orders")
    assert plan.steps[0].external_inputs == ()


def test_select_an_ambiguous_bare_table_name_is_rejected() -> None:
    with pytest.raises(PipelineDefinitionError) as info:
        diamond().plan("/lake", select=["orders"])
    assert str(info.value) == "'orders' is ambiguous: it matches bronze.orders, silver.orders"


def test_select_prefers_a_step_name_over_a_bare_table_name() -> None:
    pipeline = Pipeline("shop")
    add(pipeline, RAW_ORDERS, name="ingest_orders")
    add(pipeline, ORDERS, (RAW_ORDERS,), name="clean_orders")
    add(pipeline, REPORT, name="orders")
    assert names(pipeline.plan("/lake", select=["orders"])) == ["orders"]


def test_select_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownStepError) as info:
        diamond().plan("/lake", select=["clean_orders", "nope"])
    assert str(info.value) == (
        "no step or table named 'nope'; known: bronze.orders, clean_orders, flag_orders, "
        "gold.order_report, ingest_orders, report, silver.order_flags, silver.orders"
    )
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, PipelineError)


def test_select_with_an_empty_selection_plans_nothing() -> None:
    assert diamond().plan("/lake", select=[]).steps == ()


# --- dry run -----------------------------------------------------------------------------


def test_dry_run_without_spark_prints_a_valid_plan(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pipeline = diamond()
    root = str(tmp_path / "lake")
    plan = pipeline.dry_run(root, echo=True)
    out = capsys.readouterr().out
    assert isinstance(plan, Plan)
    assert plan.ok is True
    assert plan.problems == ()
    assert names(plan) == ["ingest_orders", "flag_orders", "clean_orders", "report"]
    for step in pipeline.steps:
        assert step.name in out
    assert out == plan.render() + "\n"
    lines = out.splitlines()
    assert lines[0] == f"pipeline 'shop': 4 step(s), lakehouse {root}"
    assert lines[1] == "  1. ingest_orders: (files) -> bronze.orders write=append"
    assert lines[2] == f"     at {root}/bronze/orders  [{pipeline.steps[2].source}]"
    assert lines[5] == (
        "  3. clean_orders: bronze.orders -> silver.orders keys=(order_id) 1 rule(s) write=merge"
    )
    assert lines[7] == (
        "  4. report: silver.orders, silver.order_flags -> gold.order_report write=overwrite"
    )
    assert lines[-1] == "plan is valid"
    assert not (tmp_path / "lake").exists()


def test_dry_run_of_a_selection_prints_only_the_selection(
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan = diamond().dry_run("/lake", select=["flag_orders"], downstream=False)
    out = capsys.readouterr().out
    assert names(plan) == ["flag_orders"]
    assert out.splitlines()[0] == "pipeline 'shop': 1 step(s), lakehouse /lake"
    assert "clean_orders" not in out


def test_dry_run_without_echo_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    plan = diamond().dry_run("/lake", echo=False)
    assert capsys.readouterr().out == ""
    assert plan.ok


def test_dry_run_raises_on_a_cycle(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CycleError):
        cycle_of_three().dry_run("/lake")
    assert capsys.readouterr().out == ""


def test_plan_render_lists_problems() -> None:
    plan = attrs.evolve(diamond().plan("/lake"), problems=("first problem", "second problem"))
    assert not plan.ok
    assert plan.render().splitlines()[-3:] == [
        "2 problem(s):",
        "  - first problem",
        "  - second problem",
    ]
    assert "plan is valid" not in plan.render()


def test_step_context_helpers_need_no_spark() -> None:
    ctx = StepContext(
        spark=cast(SparkSession, None),
        root="/lake",
        run_id="run-1",
        started_at=dt.datetime(2024, 1, 1),
        table=ORDERS,
        inputs=(RAW_ORDERS,),
        params={"day": dt.date(2024, 1, 2), "limit": 5},
    )
    assert ctx.location() == "/lake/silver/orders"
    assert ctx.location(RAW_ORDERS) == "/lake/bronze/orders"
    assert ctx.param("day") == "2024-01-02"
    assert ctx.param("limit") == "5"
    with pytest.raises(PipelineError) as info:
        ctx.param("source")
    assert str(info.value) == (
        "the step producing 'silver.orders' needs the run parameter 'source' (given: day, limit); "
        "pass params={'source': ...} to Pipeline.run (on the command line: --param source=...)"
    )
    assert ORDERS.layer is Layer.SILVER


def test_a_table_referenced_by_a_rule_is_produced_first() -> None:
    from medallion.quality import checks

    checked = Table(
        "checked_orders",
        "silver",
        schema="order_id STRING, customer_id STRING",
        primary_keys="order_id",
        rules=[checks.exists_in("customer_id", CUSTOMERS)],
    )
    pipeline = Pipeline("refs")
    pipeline.add(Step.from_function(write_nothing, checked, (RAW_ORDERS,), name="orders"))
    pipeline.add(Step.from_function(write_nothing, CUSTOMERS, (RAW_CUSTOMERS,), name="customers"))
    plan = pipeline.plan("/lake")
    assert [p.step.name for p in plan.steps] == ["customers", "orders"]
    assert plan.steps[1].upstream == ("customers",)
    assert graph.references(plan.steps[1].step) == (CUSTOMERS,)
    selected = pipeline.plan("/lake", select=["customers"])
    assert [p.step.name for p in selected.steps] == ["customers", "orders"]


def test_select_by_pattern() -> None:
    pipeline = Pipeline("layers")
    pipeline.add(Step.from_function(write_nothing, ORDERS, (RAW_ORDERS,), name="silver_orders"))
    pipeline.add(Step.from_function(write_nothing, CUSTOMERS, (), name="silver_customers"))
    pipeline.add(Step.from_function(write_nothing, REPORT, (ORDERS,), name="report"))
    plan = pipeline.plan("/lake", select=["silver.*"], downstream=False)
    assert [p.step.name for p in plan.steps] == ["silver_orders", "silver_customers"]
    assert [p.step.name for p in pipeline.plan("/lake", select=["silver.c*"]).steps] == [
        "silver_customers"
    ]
    with pytest.raises(UnknownStepError, match=r"no step or table matches 'bronze\.\*'"):
        pipeline.plan("/lake", select=["bronze.*"])


def test_dry_run_reports_changes_of_a_table_that_does_not_record_them() -> None:
    from medallion import changes

    pipeline = Pipeline("shop")
    recorded = Table(
        "customers",
        "silver",
        schema="customer_id STRING",
        primary_keys="customer_id",
        properties={"delta.enableChangeDataFeed": "true"},
    )
    pipeline.step(REPORT, inputs=[changes(ORDERS), changes(recorded)], name="report")(
        write_nothing
    )
    plan = pipeline.dry_run("/tmp/lake", echo=False)
    assert plan.problems == (
        "step 'report' reads the changes of 'silver.orders', which does not declare "
        "properties={'delta.enableChangeDataFeed': 'true'}: after its first run, the step could "
        "not read them",
    )
    line = "  1. report: changes(silver.orders), changes(silver.customers) -> gold.order_report"
    assert line in plan.render()


def _with_params() -> Pipeline:
    pipeline = Pipeline("shop", params={"days": "7", "region": None})
    pipeline.step(RAW_ORDERS, params=["landing"], name="load")(write_nothing)
    pipeline.step(ORDERS, inputs=[RAW_ORDERS], name="clean")(write_nothing)
    return pipeline


def test_declared_params_get_their_defaults_and_missing_ones_are_named() -> None:
    pipeline = _with_params()
    assert pipeline.params == {"days": "7", "region": None}
    assert pipeline.steps[0].params == ("landing",)
    assert pipeline.check_params({"region": "eu", "landing": "/in", "extra": 1}) == {
        "days": "7",
        "region": "eu",
        "landing": "/in",
        "extra": "1",
    }
    with pytest.raises(MissingParamsError) as caught:
        pipeline.check_params({"days": "1"})
    assert caught.value.missing == ("region", "landing")
    assert str(caught.value) == (
        "pipeline 'shop' needs the run parameters 'region', 'landing': pass "
        "params={'region': ..., 'landing': ...} to Pipeline.run "
        "(on the command line: --param region=... --param landing=...)"
    )


def test_a_step_s_params_are_needed_only_when_the_step_runs() -> None:
    pipeline = _with_params()
    plan = pipeline.plan("/lake", ["silver.orders"], downstream=False)
    silver_only = [planned.step for planned in plan.steps]
    assert pipeline.check_params({"region": "eu"}, silver_only) == {"days": "7", "region": "eu"}


def test_dry_run_reports_missing_params_when_given_the_run_s_params() -> None:
    pipeline = _with_params()
    assert pipeline.dry_run("/lake", echo=False).ok  # params not given: not checked
    plan = pipeline.dry_run("/lake", echo=False, params={"region": "eu"})
    assert plan.problems == (
        "pipeline 'shop' needs the run parameter 'landing': pass params={'landing': ...} to "
        "Pipeline.run (on the command line: --param landing=...)",
    )
    selected = pipeline.dry_run(
        "/lake", ["silver.orders"], downstream=False, echo=False, params={"region": "eu"}
    )
    assert selected.ok
