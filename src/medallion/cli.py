"""The ``medallion`` command."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from medallion._version import __version__
from medallion.errors import (
    MedallionError,
    RunCancelledError,
    StepFailedError,
    TableNotFoundError,
)
from medallion.secrets import REDACTED, names_secret, redact

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from medallion.pipeline import Pipeline
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
        raise UsageError(f"{target}:{attribute} is not a medallion Pipeline")
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
    """The values of the ``--conf`` and ``--param`` settings whose names name secrets."""
    pairs = [*(getattr(args, "conf", None) or ()), *(getattr(args, "param", None) or ())]
    return [v for k, _, v in (p.partition("=") for p in pairs) if names_secret(k)]


def _spark(args: argparse.Namespace) -> SparkSession:
    from medallion.session import spark_session

    return spark_session(
        "medallion-cli",
        master=args.master,
        jars_dir=args.jars_dir,
        config=_settings(args.conf, "--conf"),
        driver_memory=args.driver_memory,
        log_level="ERROR",
    )


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


def _run(args: argparse.Namespace) -> int:
    pipeline = load_pipeline(args.pipeline)
    params = _settings(args.param, "--param")
    pipeline.plan(args.root, args.select, downstream=not args.no_downstream)  # fail fast
    spark = _spark(args)
    try:
        result = pipeline.run(
            spark,
            args.root,
            args.select,
            downstream=not args.no_downstream,
            run_id=args.run_id,
            params=params,
            progress=None if args.quiet else _progress,
            wait=args.wait,
        )
    except StepFailedError as exc:
        print(exc.result.render())
        raise
    except RunCancelledError as exc:
        print(f"medallion: {exc}", file=sys.stderr)
        return exc.exit_code
    print(result.render())
    return EXIT_OK


def _dry_run(args: argparse.Namespace) -> int:
    pipeline = load_pipeline(args.pipeline)
    spark = _spark(args) if args.spark else None
    plan = pipeline.dry_run(
        args.root, args.select, downstream=not args.no_downstream, spark=spark, echo=True
    )
    return EXIT_OK if plan.ok else EXIT_FAILED


def _history(args: argparse.Namespace) -> int:
    from medallion.delta.ops import DeltaOps

    location, _ = _resolve(args, args.table)
    ops = DeltaOps(_spark(args), location)
    if not ops.exists():
        raise TableNotFoundError(f"table {args.table!r}: no Delta table at {location}")
    print(f"history of {args.table} ({location}):")
    for commit in ops.history(args.limit):
        run = f" run {commit.run_id}" if commit.run_id else ""
        metrics = ", ".join(
            f"{k}={v}"
            for k, v in commit.metrics.items()
            if k in ("numOutputRows", "numTargetRowsInserted", "numTargetRowsUpdated",
                     "numTargetRowsDeleted", "numFilesAdded", "numFilesRemoved")
        )  # fmt: skip
        print(f"  v{commit.version:<4} {commit.timestamp:%Y-%m-%d %H:%M:%S} "
              f"{commit.operation:<18}{run} {metrics}".rstrip())  # fmt: skip
    return EXIT_OK


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


def _runs(args: argparse.Namespace) -> int:
    from pyspark.sql import functions as F

    from medallion.delta.ops import DeltaOps
    from medallion.runner.runlog import run_log_location

    _existing_root(args.root)
    ops = DeltaOps(_spark(args), run_log_location(args.root))
    if not ops.exists():
        print(f"no run log at {run_log_location(args.root)}: no run has been logged there")
        return EXIT_OK
    runs = (
        ops.read()
        .groupBy("run_id", "pipeline")
        .agg(
            F.min("run_started_at").alias("started"),
            F.count("*").alias("steps"),
            # How the run ended: the first of these statuses any of its steps has.
            F.coalesce(
                *[
                    F.max(F.when(F.col("status") == state, F.lit(state)))
                    for state in ("running", "abandoned", "cancelled", "failed")
                ],
                F.lit("ok"),
            ).alias("state"),
            F.sum("rows_written").alias("written"),
            F.sum("rows_quarantined").alias("quarantined"),
        )
        .orderBy(F.col("started").desc())
        .limit(args.limit)
        .collect()
    )
    for r in runs:
        state = r["state"]
        print(f"{r['started']:%Y-%m-%d %H:%M:%S}  {r['run_id']}  {r['pipeline']}  {state:<9} "
              f"{r['steps']} step(s), {r['written'] or 0:,} written, "
              f"{r['quarantined'] or 0:,} quarantined")  # fmt: skip
    return EXIT_OK


def _quarantine(args: argparse.Namespace) -> int:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from medallion.delta.ops import DeltaOps
    from medallion.layers import Layer
    from medallion.quality.quarantine import quarantine_location, read_quarantine

    _existing_root(args.root)
    layers = list(Layer)
    if args.table:
        layer, dot, name = args.table.partition(".")
        if not dot or not name or layer not in {str(x.value) for x in Layer}:
            raise UsageError(f"--table {args.table!r}: give LAYER.NAME (silver.orders)")
        layers = [Layer(layer)]
    spark = _spark(args)
    found = False
    for layer in layers:
        if not DeltaOps(spark, quarantine_location(args.root, layer)).exists():
            continue
        rows = read_quarantine(spark, args.root, layer)
        if args.table:
            rows = rows.where(F.col("table") == args.table)
        if args.open or args.resolved:
            rows = rows.where(F.col("resolved_at").isNull() == F.lit(bool(args.open)))
        counts: dict[str, dict[bool, int]] = {}
        grouped = rows.groupBy("table", F.col("resolved_at").isNull().alias("open")).count()
        for r in grouped.collect():
            counts.setdefault(r["table"], {})[bool(r["open"])] = int(r["count"])
        newest = Window.partitionBy("table").orderBy(
            F.col("quarantined_at").desc(), F.col("run_id"), F.col("record")
        )
        listed = (
            rows.withColumn("n", F.row_number().over(newest))
            .where(F.col("n") <= args.limit)
            .orderBy("table", "n")
            .collect()
            if args.limit > 0
            else []
        )
        found = found or bool(counts)
        for table in sorted(counts):
            states = [
                f"{counts[table][is_open]:,} {'open' if is_open else 'resolved'}"
                for is_open in (True, False)
                if is_open in counts[table]
            ]
            print(f"{table}: {', '.join(states)}")
            for r in (r for r in listed if r["table"] == table):
                if r["resolved_at"] is None:
                    state = "open (replayable)" if r["replayable"] else "open"
                else:
                    state = f"resolved by {r['resolved_by']}"
                rules = ", ".join(f["rule"] for f in r["failures"])
                record = r["record"] if len(r["record"]) <= 120 else r["record"][:117] + "..."
                print(f"  {r['quarantined_at']:%Y-%m-%d %H:%M:%S}  run {r['run_id']}  "
                      f"{state:<20} {rules}  {record}")  # fmt: skip
    if not found:
        what = "open" if args.open else "resolved" if args.resolved else "quarantined"
        print(f"{args.table or args.root}: nothing {what}")
    return EXIT_OK


def _spark_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Spark")
    group.add_argument("--master", default="local[*]", help="Spark master (default: local[*])")
    group.add_argument(
        "--jars-dir",
        default=os.environ.get("MEDALLION_JARS_DIR"),
        help="a folder of jars instead of Maven Central (default: $MEDALLION_JARS_DIR)",
    )
    group.add_argument("--conf", action="append", metavar="KEY=VALUE", help="a Spark setting")
    group.add_argument("--driver-memory", default=None, help="e.g. 4g")
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show full tracebacks (Java ones included)",
    )


def _root_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        default=os.environ.get("MEDALLION_ROOT", "lakehouse"),
        help="the lakehouse root: a folder or URI (default: $MEDALLION_ROOT or ./lakehouse)",
    )


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pipeline", help="the pipeline: module:attribute or file.py:attribute")
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


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser (one sub-command per task).

    Returns:
        The parser.
    """
    parser = argparse.ArgumentParser(
        prog="medallion", description="Typed medallion lakehouse pipelines on Spark + Delta."
    )
    parser.add_argument("--version", action="version", version=f"medallion {__version__}")
    parser.add_argument(
        "--verbose", action="store_true", help="show full tracebacks (Java ones included)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    jars = commands.add_parser("jars", help="the JVM packages medallion needs")
    jar_commands = jars.add_subparsers(dest="jars_command", required=True)
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
    run.add_argument("--param", action="append", metavar="KEY=VALUE", help="a run parameter")
    run.add_argument("--run-id", help="the run's id (default: a new UUID)")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
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
    _spark_options(dry)
    dry.set_defaults(handler=_dry_run)

    history = commands.add_parser("history", help="show a table's Delta history")
    history.add_argument("table", help="LAYER.NAME, a name known to --pipeline, or a path")
    _table_options(history)
    history.add_argument("--limit", type=int, default=20, help="latest N versions (20)")
    _spark_options(history)
    history.set_defaults(handler=_history)

    optimize = commands.add_parser("optimize", help="compact and Z-order tables")
    optimize.add_argument("tables", nargs="+", metavar="TABLE")
    _table_options(optimize)
    optimize.add_argument("--zorder-by", help="comma-separated columns (default: the table's)")
    optimize.add_argument("--where", help="a predicate on partition columns")
    _spark_options(optimize)
    optimize.set_defaults(handler=_optimize)

    vacuum = commands.add_parser("vacuum", help="delete files older tables no longer reference")
    vacuum.add_argument("tables", nargs="+", metavar="TABLE")
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
    rollback.add_argument("run_id")
    _root_option(rollback)
    rollback.add_argument("--dry-run", action="store_true", help="only say what would happen")
    rollback.add_argument(
        "--force", action="store_true", help="also restore tables that later runs changed"
    )
    _spark_options(rollback)
    rollback.set_defaults(handler=_rollback)

    quarantine = commands.add_parser(
        "quarantine",
        help="list quarantined rows by table, open or resolved",
        description="List the rows quarantine tables hold, by table: the run that quarantined "
        "each, the rules it failed, and whether it is open (replayable when only reference "
        "rules failed) or resolved (replayed into its table, by the run named).",
    )
    _root_option(quarantine)
    quarantine.add_argument("--table", help="only this table (LAYER.NAME)")
    state = quarantine.add_mutually_exclusive_group()
    state.add_argument("--open", action="store_true", help="only rows still open")
    state.add_argument("--resolved", action="store_true", help="only rows resolved")
    quarantine.add_argument(
        "--limit", type=int, default=20, help="rows listed per table, newest first (20)"
    )
    _spark_options(quarantine)
    quarantine.set_defaults(handler=_quarantine)

    runs = commands.add_parser("runs", help="list the latest runs from the run log")
    _root_option(runs)
    runs.add_argument("--limit", type=int, default=10)
    _spark_options(runs)
    runs.set_defaults(handler=_runs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``medallion`` command.

    Args:
        argv: The arguments; ``sys.argv[1:]`` by default.

    Returns:
        The exit code: 0 on success, 1 when a step, check or operation failed, 2 for bad
        usage, 3 when a rollback could not restore every table.

    Example:
        >>> main(["jars", "list"])  # doctest: +ELLIPSIS
        io.delta:delta-spark_4.1_2.13:...
        org.apache.spark:spark-sql-kafka-0-10_2.13:...
        0
        >>> main(["history", "orders"])  # not LAYER.NAME: an error on stderr, exit code 2
        2
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except UsageError as exc:
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
