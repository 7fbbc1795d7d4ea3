"""Ordering steps by their dependencies, without a JVM."""

from __future__ import annotations

import fnmatch
import graphlib
from collections.abc import Iterable, Mapping, Sequence

from medallion.errors import CycleError, PipelineDefinitionError, UnknownStepError
from medallion.pipeline.step import Step
from medallion.rule import TableRef

__all__ = ["dependencies", "order", "references", "select"]


def references(step: Step) -> tuple[TableRef, ...]:
    """The tables a step's quality rules refer to, each once.

    Args:
        step: The step.

    Returns:
        The referenced tables, in the order of the rules.

    Example:
        >>> from medallion import Table
        >>> from medallion.quality import checks
        >>> customers = Table("customers", "silver", primary_keys="id")
        >>> orders = Table("orders", "silver", primary_keys="id",
        ...                rules=[checks.exists_in("customer_id", customers, "id")])
        >>> step = Step.from_function(lambda ctx: ctx.read(customers), orders, ())
        >>> [table.qualified_name for table in references(step)]
        ['silver.customers']
    """
    found: dict[str, TableRef] = {}
    for rule in step.table.rules:
        if rule.reference is not None:
            found.setdefault(rule.reference.qualified_name, rule.reference)
    return tuple(found.values())


def dependencies(steps: Sequence[Step]) -> dict[str, set[str]]:
    """Map each step's name to the names of the steps producing its inputs.

    The tables its quality rules refer to (``exists_in``) count as inputs: a step runs after
    the steps producing them.

    Args:
        steps: The steps of a pipeline.

    Returns:
        ``{step: {upstream step, ...}}``; inputs no step produces are external.

    Raises:
        PipelineDefinitionError: Two steps produce the same table.

    Example:
        >>> from medallion import Pipeline, Table
        >>> raw = Table("orders", "bronze", schema="id STRING")
        >>> clean = Table("orders", "silver", primary_keys="id")
        >>> pipeline = Pipeline("orders")
        >>> _ = pipeline.step(clean, inputs=[raw], name="clean")(lambda ctx: ctx.read(raw))
        >>> _ = pipeline.step(raw, name="load")(lambda ctx: ctx.spark.range(3))
        >>> dependencies(pipeline.steps)
        {'clean': {'load'}, 'load': set()}
    """
    producer: dict[str, str] = {}
    for step in steps:
        key = step.table.qualified_name
        if key in producer:
            raise PipelineDefinitionError(
                f"table {key!r} is produced by two steps: {producer[key]!r} and {step.name!r}"
            )
        producer[key] = step.name
    return {
        step.name: {
            producer[t.qualified_name]
            for t in (*step.inputs, *references(step))
            if t.qualified_name in producer and producer[t.qualified_name] != step.name
        }
        for step in steps
    }


def order(steps: Sequence[Step]) -> list[Step]:
    """The steps in an order where every step runs after the steps it depends on.

    Among steps that are ready at the same time, the order of registration is kept, so plans
    are stable from run to run.

    Args:
        steps: The steps of a pipeline.

    Returns:
        The steps, ordered.

    Raises:
        CycleError: The steps depend on each other in a cycle; the message names it.

    Example:
        >>> from medallion import Pipeline, Table
        >>> raw = Table("orders", "bronze", schema="id STRING")
        >>> clean = Table("orders", "silver", primary_keys="id")
        >>> pipeline = Pipeline("orders")
        >>> _ = pipeline.step(clean, inputs=[raw], name="clean")(lambda ctx: ctx.read(raw))
        >>> _ = pipeline.step(raw, name="load")(lambda ctx: ctx.spark.range(3))
        >>> [step.name for step in order(pipeline.steps)]
        ['load', 'clean']
    """
    by_name = {s.name: s for s in steps}
    position = {s.name: i for i, s in enumerate(steps)}
    graph = dependencies(steps)
    for step in steps:
        if step.table.qualified_name in {t.qualified_name for t in step.inputs}:
            raise CycleError(
                f"step {step.name!r} reads the table it produces ({step.table.qualified_name}); "
                "a step cannot be its own input",
                (step.table.qualified_name, step.table.qualified_name),
            )
    sorter = graphlib.TopologicalSorter(graph)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        names: list[str] = list(exc.args[1])
        tables = tuple(by_name[n].table.qualified_name for n in names)
        # graphlib reports the cycle from a node back to itself, in data-flow order.
        path = " -> ".join(tables)
        raise CycleError(f"the steps depend on each other in a cycle: {path}", tables) from exc
    result: list[Step] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        for name in ready:
            result.append(by_name[name])
            sorter.done(name)
    return result


def select(steps: Sequence[Step], names: Iterable[str], *, downstream: bool = True) -> list[Step]:
    """Choose steps by step name or table name, with the steps downstream of them.

    Args:
        steps: The steps of a pipeline.
        names: Step names, table names (``"orders"``), qualified table names
            (``"silver.orders"``), or patterns with ``*`` matched against step names and
            qualified table names (``"silver.*"``: every silver table).
        downstream: Also choose every step that depends on a chosen one, directly or not.

    Returns:
        The chosen steps in run order.

    Raises:
        UnknownStepError: A name matches no step; the message lists the known ones.
        PipelineDefinitionError: A bare table name matches tables of several layers.

    Example:
        >>> from medallion import Pipeline, Table
        >>> raw = Table("orders", "bronze", schema="id STRING")
        >>> clean = Table("orders", "silver", primary_keys="id")
        >>> pipeline = Pipeline("orders")
        >>> _ = pipeline.step(clean, inputs=[raw], name="clean")(lambda ctx: ctx.read(raw))
        >>> _ = pipeline.step(raw, name="load")(lambda ctx: ctx.spark.range(3))
        >>> [step.name for step in select(pipeline.steps, ["bronze.orders"])]
        ['load', 'clean']
        >>> [step.name for step in select(pipeline.steps, ["bronze.*"], downstream=False)]
        ['load']
    """
    if isinstance(names, str):
        names = [names]
    lookup: Mapping[str, list[Step]] = _lookup(steps)
    chosen: set[str] = set()
    for name in names:
        if "*" in name or "?" in name:
            found = [
                s.name
                for s in steps
                if fnmatch.fnmatchcase(s.name, name)
                or fnmatch.fnmatchcase(s.table.qualified_name, name)
            ]
            if not found:
                raise UnknownStepError(f"no step or table matches {name!r}")
            chosen.update(found)
            continue
        matches = lookup.get(name)
        if not matches:
            known = ", ".join(
                sorted({s.name for s in steps} | {s.table.qualified_name for s in steps})
            )
            raise UnknownStepError(f"no step or table named {name!r}; known: {known}")
        if len(matches) > 1:
            options = ", ".join(s.table.qualified_name for s in matches)
            raise PipelineDefinitionError(f"{name!r} is ambiguous: it matches {options}")
        chosen.add(matches[0].name)
    if downstream:
        graph = dependencies(steps)
        changed = True
        while changed:
            changed = False
            for step, upstream in graph.items():
                if step not in chosen and upstream & chosen:
                    chosen.add(step)
                    changed = True
    return [s for s in order(steps) if s.name in chosen]


def _lookup(steps: Sequence[Step]) -> dict[str, list[Step]]:
    lookup: dict[str, list[Step]] = {}
    for step in steps:
        for key in {step.name, step.table.qualified_name, step.table.name}:
            lookup.setdefault(key, [])
            if step not in lookup[key]:
                lookup[key].append(step)
    # A step name or a qualified table name is exact; prefer it over a bare table name.
    for step in steps:
        lookup[step.name] = [step]
        lookup[step.table.qualified_name] = [step]
    return lookup
