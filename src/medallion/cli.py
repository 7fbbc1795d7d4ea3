"""The ``medallion`` command."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import difflib
import importlib
import importlib.util
import json
import os
import re
import sys
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NoReturn

from medallion._version import __version__
from medallion.config import ConfigError
from medallion.errors import (
    MedallionError,
    MissingParamsError,
    RunCancelledError,
    RunNotFoundError,
    StepFailedError,
    TableNotFoundError,
)
from medallion.lakehouse import resolve_root
from medallion.readonly import LakehouseNotFoundError
from medallion.secrets import REDACTED, names_secret, redact

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from medallion.pipeline import Pipeline
    from medallion.readonly import QuarantinedTable, RunSummary, TableCommit, TableDescription
    from medallion.table import Table

__all__ = ["main"]


def _jars_fetch(args: argparse.Namespace) -> int:
    from medallion.jars import delta_package, fetch_jars, kafka_package

    packages = [delta_package()]
    if args.kafka:
        packages.append(kafka_package())
    packages.extend(args.package or [])
    jars = fetch_jars(args.dest, packages, mvn=args.mvn)
    print(f"{len(jars)} jar(s) in {args.dest} for {', '.join(packages)}")
    return 0


def _jars_list(args: argparse.Namespace) -> int:
    from medallion.jars import delta_package, kafka_package

    print(delta_package())
    print(kafka_package())
    return 0


#: Exit codes.
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3


class UsageError(MedallionError):
    """A command was given arguments it cannot use (exit code 2)."""


def load_pipeline(spec: str) -> Pipeline:
    """Import a pipeline from ``module:attribute`` or ``path/to/file.py:attribute``.

    The attribute defaults to ``pipeline``.

    Args:
        spec: Where the pipeline is.

    Returns:
        The pipeline.

    Raises:
        UsageError: The module or attribute is missing, or is not a Pipeline.

    Example:
        >>> load_pipeline("examples.ecommerce.pipeline").name
        'ecommerce'
    """
    from medallion.pipeline import Pipeline

    target, _, attribute = spec.partition(":")
    attribute = attribute or "pipeline"
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise UsageError(f"pipeline file {target!r} does not exist")
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        if module_spec is None or module_spec.loader is None:
            raise UsageError(f"cannot import {target!r}")
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            raise UsageError(f"cannot import pipeline module {target!r}: {exc}") from exc
    found = getattr(module, attribute, None)
    if not isinstance(found, Pipeline):
        pipelines = sorted(k for k, v in vars(module).items() if isinstance(v, Pipeline))
        close = difflib.get_close_matches(attribute, pipelines, n=1) or pipelines[:1]
        what = "has no attribute" if found is None else "has an attribute that is not a Pipeline:"
        hint = f"; did you mean {target}:{close[0]}?" if close else ""
        raise UsageError(f"{target} {what} {attribute!r}{hint}")
    return found


def _settings(pairs: Sequence[str] | None, what: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{what} {_shown(pair)} is not KEY=VALUE")
        values[key] = value
    return values


def _shown(pair: str) -> str:
    """A malformed ``KEY=VALUE`` as an error shows it: a secret's value (or all) as ``****``."""
    if not names_secret(pair):
        return repr(pair)
    cut = min((i for i in map(pair.find, "=: ") if i >= 0), default=-1)
    if cut < 0:  # a name or a value: not shown
        return f"{REDACTED!r} (not shown: it names a secret)"
    return repr(pair[: cut + 1] + REDACTED)


def _secret_values(args: argparse.Namespace) -> list[str]:
    """The values of the settings (``--conf``, ``--param``, ``--storage-option``) naming secrets."""
    pairs = [
        *(getattr(args, "conf", None) or ()),
        *(getattr(args, "param", None) or ()),
        *(getattr(args, "storage_option", None) or ()),
    ]
    return [v for k, _, v in (p.partition("=") for p in pairs) if names_secret(k)]


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Point file descriptor 1 at standard error while a JVM starts.

    The JVM inherits it, so nothing it prints (Ivy's report on a first start) reaches standard
    output.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _spark(args: argparse.Namespace) -> SparkSession:
    from medallion.session import spark_session

    level = args.log_level or ("WARN" if getattr(args, "verbose", False) else "ERROR")
    with _stdout_to_stderr():
        return spark_session(
            "medallion-cli",
            master=args.master,
            remote=args.remote,
            jars_dir=args.jars_dir,
            config={**args.config.spark, **_settings(args.conf, "--conf")},
            driver_memory=args.driver_memory,
            log_level=level,
        )


def _configure(args: argparse.Namespace) -> None:
    """Fill the settings a command was not given from the environment and ``[tool.medallion]``.

    A flag wins over the environment, which wins over the project file (``medallion.config``).
    """
    from medallion.config import load_config

    config = load_config()
    args.config = config
    if config.path is not None:
        # The project's modules import as its tests import them, installed or not.
        project = config.path.parent
        for folder in (project, project / "src"):
            if folder.is_dir() and str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
    if hasattr(args, "root"):
        args.root = config.setting("root", args.root, "MEDALLION_ROOT") or "lakehouse"
    if hasattr(args, "pipeline"):
        args.pipeline = config.setting("pipeline", args.pipeline, "MEDALLION_PIPELINE")
    if hasattr(args, "master"):
        args.master = config.setting("master", args.master) or "local[*]"
        args.remote = config.setting("remote", args.remote, "SPARK_REMOTE")
        args.jars_dir = config.setting("jars_dir", args.jars_dir, "MEDALLION_JARS_DIR")
        args.driver_memory = config.setting("driver_memory", args.driver_memory)


def _pipeline_spec(args: argparse.Namespace) -> str:
    """The pipeline a command works on: its argument, or the project's ``pipeline``."""
    if not args.pipeline:
        raise UsageError(
            "which pipeline? give PIPELINE (module:attribute or file.py:attribute), set "
            "MEDALLION_PIPELINE, or set pipeline = \"...\" in [tool.medallion] of pyproject.toml"
        )
    return str(args.pipeline)


def _params(args: argparse.Namespace) -> dict[str, str]:
    """The run's parameters: ``[tool.medallion.params]``, then ``--param`` over them."""
    return {**args.config.params, **_settings(args.param, "--param")}


def _tables(args: argparse.Namespace) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    if args.pipeline:
        for step in load_pipeline(args.pipeline).steps:
            for table in (step.table, *step.inputs):
                tables[table.qualified_name] = table
    return tables


def _resolve(args: argparse.Namespace, name: str) -> tuple[str, Table | None]:
    """A table argument as (location, declared table): a path, or ``layer.name``."""
    from medallion.lakehouse import Lakehouse

    known = _tables(args)
    if name in known:
        return known[name].location(args.root), known[name]
    matches = [t for t in known.values() if t.name == name]
    if len(matches) == 1:
        return matches[0].location(args.root), matches[0]
    if len(matches) > 1:
        names = ", ".join(sorted(t.qualified_name for t in matches))
        raise UsageError(f"table {name!r} is ambiguous: {names}")
    if "/" in name or "://" in name:
        return name, None
    layer, dot, table = name.partition(".")
    if dot and layer in ("bronze", "silver", "gold"):
        return Lakehouse.at(args.root).table_location(layer, table), None
    raise UsageError(
        f"table {name!r}: give LAYER.NAME (silver.orders), a path, or --pipeline to look it up"
    )


def _progress(line: str) -> None:
    print(line, flush=True)


def _stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _run(args: argparse.Namespace) -> int:
    pipeline = load_pipeline(_pipeline_spec(args))
    params = _params(args)
    # Everything that needs no Spark is checked before Spark starts.
    plan = pipeline.plan(args.root, args.select, downstream=not args.no_downstream)
    try:
        pipeline.check_params(params, (planned.step for planned in plan.steps))
    except MissingParamsError as exc:
        flags = " ".join(f"--param {name}=VALUE" for name in exc.missing)
        raise UsageError(
            f"pipeline {pipeline.name!r} needs {flags} (or [tool.medallion.params] in "
            "pyproject.toml)"
        ) from None
    spark = _spark(args)
    progress = None if args.quiet else _stderr_progress if args.json else _progress
    try:
        result = pipeline.run(
            spark,
            args.root,
            args.select,
            downstream=not args.no_downstream,
            run_id=args.run_id,
            params=params,
            progress=progress,
            wait=args.wait,
        )
    except StepFailedError as exc:
        _print_result(args, exc.result.run_id, exc.result.render())
        raise
    except RunCancelledError as exc:
        print(f"medallion: {exc}", file=sys.stderr)
        return exc.exit_code
    _print_result(args, result.run_id, result.render())
    return EXIT_OK


def _print_result(args: argparse.Namespace, run_id: str, text: str) -> None:
    """A run's result: its text, or with ``--json`` the run log's answer for the run.

    The JSON is what ``medallion runs RUN_ID --json`` prints.
    """
    if not args.json:
        print(text)
        return
    from medallion.readonly import check_root

    answer = argparse.Namespace(**{**vars(args), "run_id": run_id, "storage_option": None})
    _one_run(answer, check_root(args.root), None)


def _dry_run(args: argparse.Namespace) -> int:
    pipeline = load_pipeline(_pipeline_spec(args))
    spark = _spark(args) if args.spark else None
    plan = pipeline.dry_run(
        args.root,
        args.select,
        downstream=not args.no_downstream,
        spark=spark,
        echo=True,
        params=_params(args),
    )
    return EXIT_OK if plan.ok else EXIT_FAILED


def _optimize(args: argparse.Namespace) -> int:
    from medallion.delta.ops import DeltaOps

    spark = _spark(args)
    for name in args.tables:
        location, table = _resolve(args, name)
        ops = DeltaOps(spark, location, table=table)
        zorder = [c for c in (args.zorder_by or "").split(",") if c] or None
        result = ops.optimize(where=args.where, zorder_by=zorder)
        print(f"{name}: {result.files_removed} file(s) compacted into {result.files_added}")
    return EXIT_OK


def _vacuum(args: argparse.Namespace) -> int:
    from medallion.delta.ops import DeltaOps

    spark = _spark(args)
    for name in args.tables:
        location, table = _resolve(args, name)
        ops = DeltaOps(spark, location, table=table)
        result = ops.vacuum(args.retain_hours, force=args.force)
        print(f"{name}: {result.files_deleted} file(s) deleted")
    return EXIT_OK


def _existing_root(root: str) -> None:
    """Refuse a local lakehouse root that does not exist (a typo, not an empty lakehouse)."""
    from medallion.runner.lease import lease_path

    local = lease_path(root)
    if local is not None and not local.parent.parent.exists():
        raise UsageError(f"no lakehouse at {root}: the folder does not exist")


def _rollback(args: argparse.Namespace) -> int:
    from medallion.runner.rollback import rollback_run

    _existing_root(args.root)
    result = rollback_run(
        _spark(args), args.root, args.run_id, force=args.force, dry_run=args.dry_run
    )
    print(result.render())
    return EXIT_OK if result.complete else EXIT_INCOMPLETE


# --- read-only commands: delta-rs, no JVM ----------------------------------------------------


def _nonnegative(text: str) -> int:
    """An argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative: give 0 or more")
    return value


def _storage(args: argparse.Namespace) -> dict[str, str] | None:
    """The ``--storage-option`` settings (delta-rs's credentials of an object store)."""
    return _settings(args.storage_option, "--storage-option") or None


def _when(value: dt.datetime | None) -> str:
    """A time as the commands print it: in the local time zone, to the second."""
    return f"{value.astimezone():%Y-%m-%d %H:%M:%S}" if value is not None else "-"


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _print_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, default=_json_value))


def _metadata(args: argparse.Namespace) -> dict[str, Any]:
    """The ``metadata`` of a ``--json`` answer (as dbt's run results have one)."""
    return {
        "medallion_version": __version__,
        "generated_at": dt.datetime.now(dt.timezone.utc),
        "root": resolve_root(args.root),
    }


def _known_tables(args: argparse.Namespace) -> list[str]:
    """The tables a name may have meant: the lakehouse's and the ``--pipeline``'s."""
    from medallion.readonly import lakehouse_tables

    names = set(_tables(args)) if args.pipeline else set()
    with contextlib.suppress(OSError):  # an unreadable folder: no suggestion from it
        names.update(lakehouse_tables(args.root))
    return sorted(names)


def _did_you_mean(args: argparse.Namespace, name: str) -> str:
    """``"; did you mean silver.orders?"`` for a mistyped table name, else ``""``."""
    known = _known_tables(args)
    by_name: dict[str, list[str]] = {}
    for qualified in known:
        by_name.setdefault(qualified.partition(".")[2], []).append(qualified)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if "." not in name:  # a bare name: compare it with the tables' names too
        for match in difflib.get_close_matches(name, list(by_name), n=3, cutoff=0.6):
            close.extend(q for q in by_name[match] if q not in close)
    if not close:
        return ""
    *first, last = close[:3]
    return f"; did you mean {', '.join(first) + ' or ' if first else ''}{last}?"


def _located(args: argparse.Namespace, name: str) -> tuple[str, str]:
    """A table argument's location (checked to hold a Delta table) and the name to show.

    The name shown is ``LAYER.NAME`` for a table found in ``--pipeline``, else the argument.

    Raises:
        UsageError: The name is neither LAYER.NAME, a path, nor a name of ``--pipeline``.
        LakehouseNotFoundError: The table is the lakehouse's and its local root is missing.
        TableNotFoundError: No Delta table is there.
    """
    from medallion.readonly import check_root, table_exists

    try:
        location, table = _resolve(args, name)
    except UsageError as exc:
        raise UsageError(f"{exc}{_did_you_mean(args, name)}") from None
    in_lakehouse = table is not None or not ("/" in name or "://" in name)
    if in_lakehouse:
        check_root(args.root)
    if not table_exists(location, storage_options=_storage(args)):
        hint = _did_you_mean(args, name) if in_lakehouse else ""
        raise TableNotFoundError(f"table {name!r}: no Delta table at {location}{hint}")
    return location, table.qualified_name if table is not None else name


def _history(args: argparse.Namespace) -> int:
    from medallion.readonly import table_history

    location, name = _located(args, args.table)
    commits = table_history(location, limit=args.limit, storage_options=_storage(args))
    if args.json:
        _print_json({"table": name, "location": location,
                     "history": [_commit_json(c) for c in commits]})  # fmt: skip
        return EXIT_OK
    print(f"history of {name} ({location}):")
    for commit in commits:
        run = f" run {commit.run_id}" if commit.run_id else ""
        metrics = ", ".join(
            f"{k}={v}"
            for k, v in commit.metrics.items()
            if k in ("numOutputRows", "numTargetRowsInserted", "numTargetRowsUpdated",
                     "numTargetRowsDeleted", "numFilesAdded", "numFilesRemoved")
        )  # fmt: skip
        print(f"  v{commit.version:<4} {_when(commit.timestamp)} "
              f"{commit.operation:<18}{run} {metrics}".rstrip())  # fmt: skip
    return EXIT_OK


def _commit_json(commit: TableCommit) -> dict[str, Any]:
    return {
        "version": commit.version,
        "timestamp": commit.timestamp,
        "operation": commit.operation,
        "run_id": commit.run_id,
        "parameters": dict(commit.parameters),
        "metrics": dict(commit.metrics),
        "user_metadata": commit.user_metadata,
    }


def _size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{size:,} bytes" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _describe(args: argparse.Namespace) -> int:
    from medallion.readonly import describe_table

    location, name = _located(args, args.table)
    description = describe_table(location, storage_options=_storage(args))
    if args.json:
        _print_json({"table": name, **_description_json(description)})
        return EXIT_OK
    d = description
    rows = f"{d.rows:,} row(s)" if d.rows is not None else "rows unknown (unreadable by delta-rs)"
    print(name if name == location else f"{name} ({location})")
    if d.last_commit is not None:
        c = d.last_commit
        run = f" by run {c.run_id}" if c.run_id else ""
        print(f"  version      {d.version}: {c.operation} at {_when(c.timestamp)}{run}")
    else:
        print(f"  version      {d.version}")
    print(f"  data         {rows} in {d.files:,} file(s), {_size(d.size_bytes)}")
    partitions = ", ".join(d.partition_columns)
    print(f"  partitioned  {'by ' + partitions if partitions else 'no'}")
    features = f": {', '.join(d.features)}" if d.features else ""
    print(f"  protocol     reader {d.reader_version}, writer {d.writer_version}{features}")
    if d.created_at is not None:
        print(f"  created      {_when(d.created_at)}")
    for i, (key, value) in enumerate(sorted(d.properties.items())):
        print(f"  {'properties' if i == 0 else '':<12} {key}={value}")
    print(f"  columns      {len(d.columns)}")
    width = max((len(c.name) for c in d.columns), default=0)
    for column in d.columns:
        null = "" if column.nullable else " not null"
        print(f"    {column.name:<{width}}  {column.type}{null}")
    return EXIT_OK


def _description_json(d: TableDescription) -> dict[str, Any]:
    return {
        "location": d.location,
        "version": d.version,
        "rows": d.rows,
        "files": d.files,
        "size_bytes": d.size_bytes,
        "partition_columns": list(d.partition_columns),
        "columns": [{"name": c.name, "type": c.type, "nullable": c.nullable} for c in d.columns],
        "properties": dict(d.properties),
        "protocol": {
            "min_reader_version": d.reader_version,
            "min_writer_version": d.writer_version,
            "features": list(d.features),
        },
        "created_at": d.created_at,
        "last_commit": _commit_json(d.last_commit) if d.last_commit is not None else None,
    }


def _run_json(run: RunSummary) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "pipeline": run.pipeline,
        "state": run.state,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "elapsed_seconds": run.elapsed_seconds,
        "steps": run.steps,
        "statuses": dict(run.statuses),
        "rows_written": run.rows_written,
        "rows_quarantined": run.rows_quarantined,
    }


def _run_line(run: RunSummary) -> str:
    return (f"{_when(run.started_at)}  {run.run_id}  {run.pipeline}  {run.state:<9} "
            f"{run.steps} step(s), {run.rows_written:,} written, "
            f"{run.rows_quarantined:,} quarantined")  # fmt: skip


def _runs(args: argparse.Namespace) -> int:
    from medallion.lakehouse import Lakehouse
    from medallion.readonly import check_root, run_summaries, table_exists

    root = check_root(args.root)
    storage = _storage(args)
    if args.run_id is not None:
        return _one_run(args, root, storage)
    location = Lakehouse.at(root).run_log()
    if not table_exists(location, storage_options=storage):
        if args.json:
            _print_json({"metadata": _metadata(args), "runs": []})
        else:
            print(f"no run log at {location}: no run has been logged there")
        return EXIT_OK
    runs = run_summaries(root, limit=args.limit, storage_options=storage)
    if args.json:
        _print_json({"metadata": _metadata(args), "runs": [_run_json(r) for r in runs]})
        return EXIT_OK
    for run in runs:
        print(_run_line(run))
    return EXIT_OK


def _one_run(args: argparse.Namespace, root: str, storage: dict[str, str] | None) -> int:
    """``runs RUN_ID``: the run, and the run log's row of each of its steps."""
    from medallion.readonly import run_log_rows, run_summaries

    try:
        steps = run_log_rows(root, args.run_id, storage_options=storage)
    except RunNotFoundError as exc:
        raise UsageError(str(exc)) from None
    [run] = [r for r in run_summaries(root, storage_options=storage) if r.run_id == args.run_id]
    if args.json:
        _print_json({"metadata": _metadata(args), "run": _run_json(run), "results": steps})
        return EXIT_OK
    print(_run_line(run))
    for step in steps:
        counts = [
            f"{step[column]:,} {word}"
            for column, word in (("rows_read", "read"), ("rows_written", "written"),
                                 ("rows_quarantined", "quarantined"), ("rows_dropped", "dropped"))
            if step.get(column)
        ]  # fmt: skip
        if step.get("delta_version") is not None:
            counts.append(f"version {step['delta_version']}")
        started, ended = step.get("started_at"), step.get("ended_at")
        if started is not None and ended is not None:
            counts.append(f"{(ended - started).total_seconds():.1f} s")
        detail = step.get("error") or step.get("note")
        line = f"  {step['status']:<11}{step['table']:<28} {', '.join(counts)}".rstrip()
        print(f"{line}: {detail}" if detail else line)
    return EXIT_OK


def _quarantine_json(found: QuarantinedTable) -> dict[str, Any]:
    return {
        "table": found.table,
        "open": found.open,
        "resolved": found.resolved,
        "rows": [
            {
                "quarantined_at": r.quarantined_at,
                "run_id": r.run_id,
                "state": "open" if r.resolved_at is None else "resolved",
                "replayable": r.replayable,
                "resolved_at": r.resolved_at,
                "resolved_by": r.resolved_by,
                "rules": list(r.rules),
                "failures": [dict(f) for f in r.failures],
                "source": r.source,
                "record": r.record,
            }
            for r in found.rows
        ],
    }


def _quarantine(args: argparse.Namespace) -> int:
    from medallion.layers import Layer
    from medallion.readonly import check_root, quarantined, run_log_rows

    root = check_root(args.root)
    storage = _storage(args)
    if args.table:
        layer, dot, name = args.table.partition(".")
        if not dot or not name or layer not in {str(x.value) for x in Layer}:
            raise UsageError(f"--table {args.table!r}: give LAYER.NAME (silver.orders)")
    if args.run:
        try:
            run_log_rows(root, args.run, storage_options=storage)
        except RunNotFoundError as exc:
            raise UsageError(str(exc)) from None
    state: Literal["open", "resolved"] | None = (
        "open" if args.open else "resolved" if args.resolved else None
    )
    found = quarantined(
        root, table=args.table, rule=args.rule, run_id=args.run, state=state,
        limit=args.limit, storage_options=storage,
    )  # fmt: skip
    if args.table and not found:
        _located(args, args.table)  # an unknown table is an error (with a suggestion)
    if args.json:
        _print_json({"metadata": _metadata(args), "tables": [_quarantine_json(t) for t in found]})
        return EXIT_OK
    for table in found:
        states = [
            f"{count:,} {word}"
            for count, word in ((table.open, "open"), (table.resolved, "resolved"))
            if count
        ]
        print(f"{table.table}: {', '.join(states)}")
        for r in table.rows:
            record = r.record if len(r.record) <= 120 else r.record[:117] + "..."
            print(f"  {_when(r.quarantined_at)}  run {r.run_id}  "
                  f"{r.state:<20} {', '.join(r.rules)}  {record}")  # fmt: skip
    if not found:
        what = "open" if args.open else "resolved" if args.resolved else "quarantined"
        scope = " ".join(
            part
            for part in (args.table or args.root,
                         f"rule {args.rule}" if args.rule else "",
                         f"run {args.run}" if args.run else "")
            if part
        )  # fmt: skip
        print(f"{scope}: nothing {what}")
    return EXIT_OK


def _read_options(parser: argparse.ArgumentParser, *, table: bool = False) -> None:
    """The options of the read-only commands (no Spark options: they start no JVM)."""
    if table:
        _table_options(parser)
    else:
        _root_option(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--storage-option",
        action="append",
        metavar="KEY=VALUE",
        help="a delta-rs storage option for an object store (AWS_REGION=..., repeatable)",
    )
    parser.add_argument(
        "--verbose", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks"
    )


def _spark_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Spark")
    group.add_argument(
        "--master", help="Spark master (default: [tool.medallion] master, or local[*])"
    )
    group.add_argument(
        "--remote",
        metavar="sc://HOST:PORT",
        help="a Spark Connect server to run on instead of starting Spark (default: "
        "$SPARK_REMOTE, or [tool.medallion] remote)",
    )
    group.add_argument(
        "--jars-dir",
        help="a folder of jars instead of Maven Central (default: $MEDALLION_JARS_DIR, or "
        "[tool.medallion] jars_dir)",
    )
    group.add_argument(
        "--conf",
        action="append",
        metavar="KEY=VALUE",
        help="a Spark setting, over [tool.medallion.spark] (repeatable)",
    )
    group.add_argument(
        "--driver-memory", help="the driver's heap, e.g. 4g (default: a quarter of the memory)"
    )
    group.add_argument(
        "--log-level",
        type=str.upper,
        choices=("ERROR", "WARN", "INFO", "DEBUG"),
        help="Spark's log level, on standard error (default: ERROR; WARN with -v)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show full tracebacks (Java ones included) and Spark's warnings",
    )


def _root_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        help="the lakehouse root: a folder or URI (default: $MEDALLION_ROOT, [tool.medallion] "
        "root, or ./lakehouse)",
    )


def _param_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="a run parameter, over [tool.medallion.params] (repeatable)",
    )


def _pipeline_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "pipeline",
        nargs="?",
        help="the pipeline: module:attribute or file.py:attribute (default: "
        "$MEDALLION_PIPELINE, or [tool.medallion] pipeline)",
    )


def _selection(parser: argparse.ArgumentParser) -> None:
    _pipeline_argument(parser)
    _root_option(parser)
    parser.add_argument(
        "--select",
        nargs="+",
        metavar="NAME",
        help="run only these steps or tables (and their downstream steps)",
    )
    parser.add_argument(
        "--no-downstream", action="store_true", help="with --select, skip downstream steps"
    )


def _table_options(parser: argparse.ArgumentParser) -> None:
    _root_option(parser)
    parser.add_argument(
        "--pipeline", help="look table names up in this pipeline (module:attribute)"
    )


def _report(args: argparse.Namespace) -> int:
    import webbrowser

    from medallion.readonly import check_root, run_log_rows
    from medallion.report import build_report, report_run_id, write_report

    rows = run_log_rows(check_root(args.root), storage_options=_storage(args))
    try:
        run_id = report_run_id(rows, args.run_id)
    except RunNotFoundError as exc:
        raise UsageError(str(exc)) from None
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", run_id)  # run ids come from --run-id
    page = build_report(rows, run_id, recent=args.recent)
    path = write_report(page, args.output or f"medallion-report-{safe}.html")
    print(path)
    if args.open:
        webbrowser.open(path.as_uri())
    return EXIT_OK


def _graph(args: argparse.Namespace) -> int:
    from medallion.graph import graph_command

    text = graph_command(load_pipeline(_pipeline_spec(args)), args.format)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return EXIT_OK


def _init(args: argparse.Namespace) -> int:
    from medallion.scaffold import ScaffoldError, create_project

    try:
        project = create_project(args.name, Path(args.dir), force=args.force)
    except ScaffoldError as exc:
        raise UsageError(str(exc)) from None
    print(f"created {project}: a pipeline, sample data and its test. Next:")
    print(f"  cd {project}")
    print("  python -m venv .venv && . .venv/bin/activate && pip install -e '.[dev]'")
    print("  pytest          # the project's tests, on local Spark + Delta")
    print("  medallion run   # the pipeline, with the settings of [tool.medallion]")
    return EXIT_OK


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors (``unrecognized arguments: ...``) hide secret values."""

    #: The values of the command line's arguments that name secrets (set by :func:`main`).
    hidden: ClassVar[list[str]] = []

    def error(self, message: str) -> NoReturn:
        """Print the usage and the error, secrets hidden, and exit with code 2."""
        super().error(redact(message, _Parser.hidden))


def _hidden(argv: Sequence[str]) -> list[str]:
    """What of a command line to hide in messages.

    That is the value of each ``KEY=VALUE`` (or ``KEY:VALUE``) argument whose key names a
    secret, or the whole argument when it has no separator.
    """
    hidden = []
    for item in argv:
        if names_secret(item):
            cut = min((i for i in map(item.find, "=: ") if i >= 0), default=-1)
            value = item[cut + 1 :] if cut >= 0 else item
            if value:
                hidden.append(value)
    return hidden


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser (one sub-command per task).

    Returns:
        The parser.
    """
    parser = _Parser(
        prog="medallion", description="Typed medallion lakehouse pipelines on Spark + Delta."
    )
    parser.add_argument("--version", action="version", version=f"medallion {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show full tracebacks (Java ones included)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    jars = commands.add_parser("jars", help="the JVM packages medallion needs")
    jar_commands = jars.add_subparsers(
        dest="jars_command", required=True, help="fetch them into a folder, or list them"
    )
    fetch = jar_commands.add_parser(
        "fetch",
        help="resolve Delta's jars (and optionally Kafka's) into a folder with mvn",
        description="Resolve the Maven packages medallion needs into a folder, for Spark "
        "sessions that cannot reach Maven Central (pass it as jars_dir or MEDALLION_JARS_DIR).",
    )
    fetch.add_argument("--dest", required=True, help="the folder to fill")
    fetch.add_argument("--kafka", action="store_true", help="add Spark's Kafka connector")
    fetch.add_argument(
        "--package", action="append", help="extra Maven coordinates group:artifact:version"
    )
    fetch.add_argument("--mvn", default="mvn", help="the Maven executable (default: mvn)")
    fetch.set_defaults(handler=_jars_fetch)
    listing = jar_commands.add_parser("list", help="print the Maven coordinates medallion uses")
    listing.set_defaults(handler=_jars_list)

    run = commands.add_parser(
        "run",
        help="run a pipeline, or chosen tables with their downstream steps",
        description="Run a pipeline's steps in dependency order and log the run.",
    )
    _selection(run)
    _param_option(run)
    run.add_argument("--run-id", help="the run's id (default: a new UUID)")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.add_argument(
        "--json",
        action="store_true",
        help="print the run's result as JSON (as `medallion runs RUN_ID --json`); progress "
        "lines go to standard error",
    )
    run.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another run holding the lakehouse to end (default: fail at once)",
    )
    _spark_options(run)
    run.set_defaults(handler=_run)

    dry = commands.add_parser(
        "dry-run",
        help="print and validate a pipeline's plan without touching data",
        description="Print the plan. With --spark, also resolve every rule against its table's "
        "schema and check that external inputs and referenced tables exist.",
    )
    _selection(dry)
    dry.add_argument("--spark", action="store_true", help="run the checks that need Spark")
    _param_option(dry)
    _spark_options(dry)
    dry.set_defaults(handler=_dry_run)

    history = commands.add_parser(
        "history",
        help="show a table's Delta history (no JVM)",
        description="A table's commits, newest first: version, time, operation, the run that "
        "made it and its row metrics. Read with delta-rs: no JVM starts.",
    )
    history.add_argument("table", help="LAYER.NAME, a name known to --pipeline, or a path")
    _read_options(history, table=True)
    history.add_argument(
        "--limit", type=_nonnegative, default=20, help="latest N versions (20)"
    )
    history.set_defaults(handler=_history)

    describe = commands.add_parser(
        "describe",
        help="show a table's version, schema, files and properties (no JVM)",
        description="A table's current version and last commit, rows, files and size, "
        "partition columns, protocol and features, properties and columns. Read with delta-rs: "
        "no JVM starts.",
    )
    describe.add_argument("table", help="LAYER.NAME, a name known to --pipeline, or a path")
    _read_options(describe, table=True)
    describe.set_defaults(handler=_describe)

    optimize = commands.add_parser("optimize", help="compact and Z-order tables")
    optimize.add_argument(
        "tables",
        nargs="+",
        metavar="TABLE",
        help="LAYER.NAME, a name known to --pipeline, or a path",
    )
    _table_options(optimize)
    optimize.add_argument("--zorder-by", help="comma-separated columns (default: the table's)")
    optimize.add_argument("--where", help="a predicate on partition columns")
    _spark_options(optimize)
    optimize.set_defaults(handler=_optimize)

    vacuum = commands.add_parser("vacuum", help="delete files older tables no longer reference")
    vacuum.add_argument(
        "tables",
        nargs="+",
        metavar="TABLE",
        help="LAYER.NAME, a name known to --pipeline, or a path",
    )
    _table_options(vacuum)
    vacuum.add_argument(
        "--retain-hours", type=float, default=168.0, help="keep files newer than this (168)"
    )
    vacuum.add_argument(
        "--force", action="store_true", help="allow a retention under 168 h (breaks time travel)"
    )
    _spark_options(vacuum)
    vacuum.set_defaults(handler=_vacuum)

    rollback = commands.add_parser(
        "rollback",
        help="restore every table a run wrote to its version from before the run",
        description="Using the run log, RESTORE each table the run changed to its version "
        "before the run, and delete the run's quarantined rows. Exit code 3 when a table "
        "could not be restored.",
    )
    rollback.add_argument("run_id", metavar="RUN_ID", help="the run to undo (see medallion runs)")
    _root_option(rollback)
    rollback.add_argument("--dry-run", action="store_true", help="only say what would happen")
    rollback.add_argument(
        "--force", action="store_true", help="also restore tables that later runs changed"
    )
    _spark_options(rollback)
    rollback.set_defaults(handler=_rollback)

    quarantine = commands.add_parser(
        "quarantine",
        help="list quarantined rows by table, rule and run, open or resolved (no JVM)",
        description="List the rows quarantine tables hold, by table: the run that quarantined "
        "each, the rules it failed, and whether it is open (replayable when only reference "
        "rules failed) or resolved (replayed into its table, by the run named). Read with "
        "delta-rs: no JVM starts.",
    )
    _read_options(quarantine, table=True)
    quarantine.add_argument("--table", help="only this table (LAYER.NAME)")
    quarantine.add_argument("--rule", help="only rows that failed this rule")
    quarantine.add_argument("--run", metavar="RUN_ID", help="only rows this run quarantined")
    state = quarantine.add_mutually_exclusive_group()
    state.add_argument("--open", action="store_true", help="only rows still open")
    state.add_argument("--resolved", action="store_true", help="only rows resolved")
    quarantine.add_argument(
        "--limit", type=_nonnegative, default=20, help="rows listed per table, newest first (20)"
    )
    quarantine.set_defaults(handler=_quarantine)

    runs = commands.add_parser(
        "runs",
        help="list the latest runs from the run log, or one run's steps (no JVM)",
        description="The latest runs, newest first, each ok, failed, running, abandoned or "
        "cancelled; with RUN_ID, that run and the run log's row of each of its steps. Read "
        "with delta-rs: no JVM starts.",
    )
    runs.add_argument("run_id", nargs="?", metavar="RUN_ID", help="show this run's steps")
    _read_options(runs)
    runs.add_argument("--limit", type=_nonnegative, default=10, help="latest N runs (10)")
    runs.set_defaults(handler=_runs)

    report = commands.add_parser(
        "report",
        help="write one self-contained HTML page about a run (no JVM)",
        description="Steps with timings, rows read/written/quarantined/dropped, rule failures "
        "and trends over recent runs, in one HTML file that opens offline. Read with delta-rs.",
    )
    report.add_argument(
        "run_id", nargs="?", metavar="RUN_ID", help="the run (default: the latest)"
    )
    _root_option(report)
    report.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="the page to write (default: ./medallion-report-RUN_ID.html)",
    )
    report.add_argument("--open", action="store_true", help="open it in the default browser")
    report.add_argument(
        "--recent", type=_nonnegative, default=20, help="runs in the trend charts (20)"
    )
    report.add_argument(
        "--storage-option",
        action="append",
        metavar="KEY=VALUE",
        help="a delta-rs storage option for an object store (repeatable)",
    )
    report.add_argument(
        "--verbose", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks"
    )
    report.set_defaults(handler=_report)

    lineage = commands.add_parser(
        "graph",
        help="draw the pipeline's lineage as Mermaid, DOT or JSON (no Spark)",
        description="The tables by layer and the steps between them, from the declarations "
        "alone: no Spark, no lakehouse.",
    )
    _pipeline_argument(lineage)
    lineage.add_argument(
        "--format",
        choices=("mermaid", "dot", "json"),
        default="mermaid",
        help="mermaid (default), dot or json",
    )
    lineage.add_argument("--output", metavar="FILE", help="write to FILE, not standard output")
    lineage.set_defaults(handler=_graph)

    init = commands.add_parser(
        "init",
        help="create a new project: a pipeline, sample data and a test that passes",
        description="Create NAME/ in --dir: a pyproject.toml with [tool.medallion], a bronze -> "
        "silver -> gold pipeline over sample CSV files, and a pytest test that runs it.",
    )
    init.add_argument(
        "name", metavar="NAME", help="the project's name; my-shop gives the package my_shop"
    )
    init.add_argument("--dir", default=".", metavar="PARENT", help="where to create it (.)")
    init.add_argument(
        "--force",
        action="store_true",
        help="write into NAME even if it is not empty (files of the same name are replaced)",
    )
    init.set_defaults(handler=_init)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``medallion`` command.

    Args:
        argv: The arguments; ``sys.argv[1:]`` by default.

    Returns:
        The exit code: 0 on success, 1 when a step, check or operation failed, 2 for bad
        usage (an unknown table, run or pipeline, a local root that does not exist), 3 when a
        rollback could not restore every table.

    Example:
        >>> main(["jars", "list"])  # doctest: +ELLIPSIS
        io.delta:delta-spark_4.1_2.13:...
        org.apache.spark:spark-sql-kafka-0-10_2.13:...
        0
        >>> main(["history", "orders"])  # not LAYER.NAME: an error on stderr, exit code 2
        2
    """
    _Parser.hidden = _hidden(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        _configure(args)
        return int(args.handler(args))
    except (
        UsageError,
        TableNotFoundError,
        LakehouseNotFoundError,
        ConfigError,
        RunNotFoundError,
    ) as exc:
        print(f"medallion: error: {redact(str(exc), _secret_values(args))}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # every failure becomes a message and an exit code
        secrets = _secret_values(args)  # never echoed, even when an error quotes one
        if args.verbose:
            print(redact(traceback.format_exc(), secrets), end="", file=sys.stderr)
        print(f"medallion: error: {redact(_short(exc), secrets)}", file=sys.stderr)
        if not args.verbose and not isinstance(exc, MedallionError):
            print("medallion: run with --verbose for the full traceback", file=sys.stderr)
        return EXIT_FAILED


def _short(exc: BaseException) -> str:
    """The first lines of an error, without a JVM stack trace."""
    text = str(exc)
    kept = [line for line in text.splitlines() if not line.lstrip().startswith("at ")]
    message = "\n".join(kept[:6]).strip()
    return message if isinstance(exc, MedallionError) else f"{type(exc).__name__}: {message}"


if __name__ == "__main__":
    sys.exit(main())
