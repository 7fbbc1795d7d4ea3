"""Delta Lake features on the e-commerce tables, each shown with the figures that prove it.

Run it as ``python -m examples.ecommerce.delta_features`` after the demo (or on its own: it
runs the bronze pipeline first when the bronze tables are missing). Built only on medallion's
public API and PySpark, it reads the bronze tables and writes two demo tables of its own,
recreated on every run so that the figures it prints are the same each time:

``silver.customers_demo``
    Customers from ``bronze.customers``, cleaned and upserted with MERGE; then read as of an
    earlier version and an earlier time, kept intact by a write that fails midway, and given
    new columns.
``gold.orders_daily_demo``
    Order lines and revenue per day and channel, partitioned by month and written as many
    small appends; then compacted and Z-ordered with OPTIMIZE, and cleaned up with VACUUM.

The sections:

1. MERGE: an upsert of changed and new customers whose source holds one key three times (the
   latest ``updated_at`` wins), then an identical re-merge that updates nothing.
2. Time travel: the table as of an earlier version, and as of a time between two commits.
3. ACID: an overwrite whose Spark job fails midway leaves the table as it was.
4. Schema evolution: a new column is added when the table allows it; a type change that would
   lose data is refused with every difference listed; ``add_columns`` adds columns explicitly.
5. OPTIMIZE with Z-order of a table made of many small files.
6. VACUUM: a short retention is refused unless forced; the files OPTIMIZE replaced are
   deleted (and the versions that needed them can no longer be read); the table's history.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import re
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from medallion import (
    DeltaOperationError,
    DeltaOps,
    Layer,
    MergeResult,
    SchemaEvolutionError,
    Table,
    read_table,
    spark_session,
)

from .generator import generate
from .pipeline import pipeline
from .tables import BRONZE_CUSTOMERS, BRONZE_TABLES, BRONZE_TRANSACTIONS

__all__ = [
    "GOLD_ORDERS_DAILY_DEMO",
    "SILVER_CUSTOMERS_DEMO",
    "customers_demo",
    "main",
    "prepare_bronze",
    "run",
]

_CUSTOMERS_DEMO_DDL = (
    "customer_id STRING NOT NULL, first_name STRING, last_name STRING, email STRING, "
    "city STRING, state STRING, country STRING, signup_date DATE, loyalty_tier STRING, "
    "updated_at TIMESTAMP"
)
_ORDERS_DAILY_DEMO_DDL = (
    "order_date DATE, order_month STRING, channel STRING, lines BIGINT, revenue DOUBLE"
)


def customers_demo(*, schema_evolution: bool = False) -> Table:
    """The declaration of ``silver.customers_demo``, with or without schema evolution.

    Both declarations describe the same Delta table; the one with ``schema_evolution=True``
    lets writes and merges add the columns the table does not have yet.

    Args:
        schema_evolution: Whether writes may add new columns.

    Returns:
        The table.
    """
    return Table(
        "customers_demo",
        Layer.SILVER,
        schema=_CUSTOMERS_DEMO_DDL,
        primary_keys="customer_id",
        comment="Demo: clean customers from bronze, one row per customer_id.",
        schema_evolution=schema_evolution,
    )


#: The demo's silver customers (MERGE, time travel, ACID and schema evolution).
SILVER_CUSTOMERS_DEMO = customers_demo()

#: The demo's gold daily orders (many small appends, OPTIMIZE with Z-order, VACUUM).
GOLD_ORDERS_DAILY_DEMO = Table(
    "orders_daily_demo",
    Layer.GOLD,
    schema=_ORDERS_DAILY_DEMO_DDL,
    primary_keys=["order_date", "channel"],
    partition_by="order_month",
    zorder_by=["order_date", "channel"],
    comment="Demo: order lines and revenue per day and channel, partitioned by month.",
)

#: How long after the initial load the demo's changed and new customer rows were updated at
#: the source (a change older than the stored row would not replace it).
CHANGED_AFTER = dt.timedelta(days=1)
#: Days of daily figures per append to ``gold.orders_daily_demo``.
DAYS_PER_APPEND = 15

_ERROR_CLASS = re.compile(r"\[[A-Z][A-Z_]*(?:\.[A-Z_]+)*\][^\n]*")


def _section(title: str) -> None:
    print(f"\n== {title}")


def _merge_line(label: str, result: MergeResult) -> str:
    version = f"v{result.version}" if result.version is not None else "no new version"
    return (
        f"  {label:<32} {result.rows_inserted:>4} inserted {result.rows_updated:>2} updated"
        f" ({result.source_rows} source rows, {result.duplicates_removed} duplicates removed)"
        f" -> {version}"
    )


def _error_line(exc: BaseException) -> str:
    """The root cause of a Spark error: its last ``[ERROR_CLASS] message`` line."""
    causes = _ERROR_CLASS.findall(str(exc))
    if causes:
        return str(causes[-1]).strip()[:140]
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:140] if lines else type(exc).__name__


@contextlib.contextmanager
def _quiet(spark: SparkSession, log_level: str) -> Iterator[None]:
    """Silence the JVM's logs meanwhile (tasks that fail on purpose log stack traces)."""
    spark.sparkContext.setLogLevel("OFF")
    try:
        yield
    finally:
        spark.sparkContext.setLogLevel(log_level)


def _local_path(location: str) -> str | None:
    if location.startswith("file://"):
        return location[len("file://") :]
    if location.startswith("file:"):
        return location[len("file:") :]
    return None if "://" in location else location


def _drop_demo_tables(root: str) -> None:
    """Delete the demo tables' folders, so that every run starts from the same state.

    Raises:
        ValueError: The lakehouse root is not a local folder.
    """
    paths = [_local_path(t.location(root)) for t in (SILVER_CUSTOMERS_DEMO, GOLD_ORDERS_DAILY_DEMO)]
    for path in paths:
        if path is None:
            raise ValueError(
                f"the Delta features demo recreates its tables; it needs a local lakehouse "
                f"root, not {root!r}"
            )
        shutil.rmtree(path, ignore_errors=True)


def prepare_bronze(spark: SparkSession, root: str, landing: str) -> bool:
    """Run the pipeline's bronze steps (only those) when a bronze table is missing.

    The raw files are generated first (20,000 transactions, seed 42) when the landing folder
    has no ``manifest.json``.

    Args:
        spark: The session.
        root: The lakehouse root.
        landing: The folder of raw files.

    Returns:
        Whether the bronze pipeline was run.
    """
    if all(DeltaOps.of(spark, table, root).exists() for table in BRONZE_TABLES.values()):
        return False
    folder = Path(landing).resolve()
    if not (folder / "manifest.json").exists():
        manifest = generate(folder)
        print(f"generated {sum(f.records for f in manifest.files):,} records under {folder}")
    bronze = [table.qualified_name for table in BRONZE_TABLES.values()]
    outcome = pipeline.run(spark, root, bronze, downstream=False, params={"landing": str(folder)})
    print(f"bronze pipeline: run {outcome.run_id} wrote {len(outcome.steps)} table(s)")
    return True


def _clean_customers(spark: SparkSession, root: str) -> DataFrame:
    """The bronze customers that fit the schema, shaped like ``silver.customers_demo``.

    Bronze's source columns come along: when the CRM export lists a customer twice, the MERGE
    keeps the later line (they are not written to the table).
    """
    return (
        read_table(spark, BRONZE_CUSTOMERS, root)
        .where(F.col("_rescued_data").isNull() & F.col("customer_id").isNotNull())
        .select(
            F.trim("customer_id").alias("customer_id"),
            F.initcap(F.trim("first_name")).alias("first_name"),
            F.initcap(F.trim("last_name")).alias("last_name"),
            F.lower(F.trim("email")).alias("email"),
            "city",
            "state",
            "country",
            "signup_date",
            F.lower(F.trim("loyalty_tier")).alias("loyalty_tier"),
            F.col("_ingested_at").alias("updated_at"),
            "_source_modified_at",
            "_source_file",
            "_source_position",
        )
    )


def _new_customers(spark: SparkSession, changed_at: dt.datetime) -> DataFrame:
    people = [
        ("Ada", "Byron", "Boston", "MA"),
        ("Alan", "Turing", "Denver", "CO"),
        ("Grace", "Hopper", "Austin", "TX"),
    ]
    rows = [
        (f"C-NEW-{i}", first, last, f"{first}.{last}@example.com".lower(), city, state)
        for i, (first, last, city, state) in enumerate(people, start=1)
    ]
    return spark.createDataFrame(
        rows,
        "customer_id STRING, first_name STRING, last_name STRING, email STRING, city STRING, "
        "state STRING",
    ).select(
        "*",
        F.lit("US").alias("country"),
        F.lit(changed_at.date()).alias("signup_date"),
        F.lit("bronze").alias("loyalty_tier"),
        F.lit(changed_at).alias("updated_at"),
    )


def _demo_merge(spark: SparkSession, root: str, ops: DeltaOps) -> dict[str, object]:
    _section(f"1. MERGE (upsert) into {ops.name}, keyed on customer_id")
    initial = ops.merge(_clean_customers(spark, root), sequence_by="updated_at")
    print(_merge_line("initial load from bronze", initial))
    print("  (bronze.customers holds every row the CRM exported, some customers twice)")

    # Five customers change their email, five are sent again unchanged, three are new; the
    # first changed customer comes three times, with a different tier each time.
    snapshot = ops.read(version=initial.version)
    loaded = snapshot.agg(F.max("updated_at")).first()
    assert loaded is not None
    changed_at: dt.datetime = loaded[0] + CHANGED_AFTER
    ids = [r["customer_id"] for r in snapshot.select("customer_id").orderBy("customer_id").take(10)]
    key = ids[0]
    changed = snapshot.where(F.col("customer_id").isin(ids[:5])).withColumns(
        {
            "email": F.concat(F.lower("customer_id"), F.lit("@new-mail.example")),
            "loyalty_tier": F.when(F.col("customer_id") == key, F.lit("platinum")).otherwise(
                F.col("loyalty_tier")
            ),
            "updated_at": F.lit(changed_at),
        }
    )
    stale = (
        changed.where(F.col("customer_id") == key)
        .drop("loyalty_tier", "updated_at")
        .crossJoin(
            spark.createDataFrame(
                [
                    ("gold", changed_at - dt.timedelta(hours=1)),
                    ("silver", changed_at - dt.timedelta(hours=2)),
                ],
                "loyalty_tier STRING, updated_at TIMESTAMP",
            )
        )
    )
    unchanged = snapshot.where(F.col("customer_id").isin(ids[5:]))
    new = _new_customers(spark, changed_at)
    upsert = stale.unionByName(changed).unionByName(unchanged).unionByName(new)
    merged = ops.merge(upsert, sequence_by="updated_at")
    print(_merge_line("5 changed, 5 unchanged, 3 new", merged))
    winner = ops.read().where(F.col("customer_id") == key).select("loyalty_tier").first()
    assert winner is not None
    print(
        f"  {key} came 3 times (silver, gold, then platinum, an hour apart): "
        f"loyalty_tier is now {winner['loyalty_tier']!r}"
    )
    remerged = ops.merge(upsert, sequence_by="updated_at")
    print(_merge_line("the same rows again", remerged))
    if remerged.version is None:
        print("  (nothing differs: no row is rewritten and no version is made)")
    else:
        print("  (nothing differs, so no row is rewritten; Delta still records the MERGE)")
    return {
        "initial_version": initial.version,
        "initial_inserted": initial.rows_inserted,
        "initial_source_rows": initial.source_rows,
        "initial_duplicates_removed": initial.duplicates_removed,
        "merge_version": merged.version,
        "merge_source_rows": merged.source_rows,
        "merge_duplicates_removed": merged.duplicates_removed,
        "merge_inserted": merged.rows_inserted,
        "merge_updated": merged.rows_updated,
        "merge_key": key,
        "merge_key_tier": winner["loyalty_tier"],
        "remerge_version": remerged.version,
        "remerge_inserted": remerged.rows_inserted,
        "remerge_updated": remerged.rows_updated,
    }


def _demo_time_travel(
    spark: SparkSession, ops: DeltaOps, before: int, after: int, key: str
) -> dict[str, object]:
    _section(f"2. Time travel on {ops.name}")
    commits = {c.version: c for c in ops.history()}
    earlier, later = commits[before].timestamp, commits[after].timestamp
    between = earlier + (later - earlier) / 2
    rows_before = ops.read(version=before).count()
    rows_after = ops.read(version=after).count()
    rows_between = ops.read(timestamp=between).count()
    print(f"  version {before}: {rows_before:,} rows;  version {after}: {rows_after:,} rows")
    print(
        f"  as of {between:%Y-%m-%d %H:%M:%S.%f} (between the commits of v{before} and v{after}): "
        f"{rows_between:,} rows, version {before}"
    )
    diff = ops.diff(before, after)
    added, removed = diff.added.count(), diff.removed.count()
    print(f"  diff v{before} -> v{after}: {added} rows added, {removed} removed (updates in both)")
    old = diff.removed.where(F.col("customer_id") == key).select("email").first()
    new = diff.added.where(F.col("customer_id") == key).select("email").first()
    if old is not None and new is not None:
        print(f"  e.g. {key}'s email was {old['email']} in v{before}, {new['email']} in v{after}")
    return {
        "time_travel_version": before,
        "time_travel_rows": rows_before,
        "time_travel_later_version": after,
        "time_travel_later_rows": rows_after,
        "time_travel_timestamp": between,
        "time_travel_timestamp_rows": rows_between,
        "diff_added": added,
        "diff_removed": removed,
    }


def _demo_acid(spark: SparkSession, ops: DeltaOps, log_level: str) -> dict[str, object]:
    _section(f"3. ACID: an overwrite of {ops.name} whose job fails midway")
    version = ops.version()
    ids = [
        r["customer_id"] for r in ops.read().select("customer_id").orderBy("customer_id").collect()
    ]
    poison = ids[len(ids) // 2]
    # Upper-case every email, in four tasks; the task holding `poison` fails when it gets
    # there, after the other tasks may have written their files.
    failing = (
        ops.read(version=version)
        .repartition(4, "customer_id")
        .withColumn(
            "email",
            F.when(
                F.col("customer_id") == poison, F.raise_error(F.lit("simulated failure"))
            ).otherwise(F.upper("email")),
        )
    )
    print(f"  before: version {version}, {len(ids):,} rows; the job fails at customer {poison}")
    error = ""
    with _quiet(spark, log_level):
        try:
            ops.write(failing, mode="overwrite")
        except Exception as exc:  # the job's failure, however PySpark wraps it
            error = _error_line(exc)
    if not error:
        raise AssertionError("the write that should fail did not")
    print(f"  the write failed: {error}")
    version_after = ops.version()
    counts = (
        ops.read()
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.count_if(F.col("email") != F.lower("email")).alias("up"),
        )
        .first()
    )
    assert counts is not None
    rows_after, upper = int(counts["rows"]), int(counts["up"])
    print(
        f"  after: version {version_after}, {rows_after:,} rows, {upper} upper-cased emails: "
        "nothing of the failed write is visible"
    )
    return {
        "acid_version_before": version,
        "acid_version_after": version_after,
        "acid_rows_before": len(ids),
        "acid_rows_after": rows_after,
        "acid_upper_cased": upper,
        "acid_error": error,
    }


def _demo_schema_evolution(spark: SparkSession, root: str) -> dict[str, object]:
    strict = DeltaOps.of(spark, SILVER_CUSTOMERS_DEMO, root)
    evolving = DeltaOps.of(spark, customers_demo(schema_evolution=True), root)
    _section(f"4. Schema evolution of {strict.name}")
    points = (
        strict.read()
        .orderBy("customer_id")
        .limit(10)
        .withColumn("loyalty_points", (F.length("email") * 10).cast("int"))
    )
    refused_new = ""
    try:
        strict.merge(points)
    except SchemaEvolutionError as exc:
        refused_new = str(exc)
        print(f"  declared without schema_evolution: refused:\n    {exc}")
    evolved = evolving.merge(points)
    columns = tuple(evolving.schema().fieldNames())
    with_points = evolving.read().where(F.col("loyalty_points").isNotNull()).count()
    print(
        f"  declared with schema_evolution=True: loyalty_points added (v{evolved.version}), "
        f"{evolved.rows_updated} rows updated; the other customers have null"
    )

    after_add = evolving.add_columns("lifetime_value DOUBLE, preferred_channel STRING")
    added_version = evolving.version()
    print(
        f"  add_columns('lifetime_value DOUBLE, preferred_channel STRING') -> v{added_version}; "
        f"the last columns: "
        + ", ".join(f"{f.name} {f.dataType.simpleString()}" for f in after_add.fields[-3:])
    )

    narrowing = (
        evolving.read()
        .orderBy("customer_id")
        .limit(1)
        .withColumn("lifetime_value", F.lit("12,50"))
        .withColumn("loyalty_points", F.col("loyalty_points").cast("bigint"))
    )
    refused = ""
    changes: tuple[str, ...] = ()
    try:
        evolving.merge(narrowing)
    except SchemaEvolutionError as exc:
        refused = str(exc)
        changes = tuple(str(c) for c in exc.changes)
    if not refused:
        raise AssertionError("the narrowing write was not refused")
    print("  a STRING lifetime_value and a BIGINT loyalty_points are refused, schema evolution")
    print("  or not (the values could not be stored without loss):")
    for change in changes:
        print(f"    - {change}")
    version_after = evolving.version()
    print(f"  the table is still at v{version_after}")
    return {
        "evolution_refused_without_flag": refused_new,
        "evolution_version": evolved.version,
        "evolution_rows_updated": evolved.rows_updated,
        "evolution_rows_with_points": with_points,
        "evolution_columns": columns,
        "add_columns_version": added_version,
        "add_columns_schema": tuple(
            f"{f.name} {f.dataType.simpleString()}" for f in after_add.fields
        ),
        "narrowing_error": refused,
        "narrowing_changes": changes,
        "narrowing_version_after": version_after,
    }


def _daily_orders(spark: SparkSession, root: str) -> DataFrame:
    """Order lines and revenue per day and channel, from the bronze rows that fit."""
    revenue = F.col("quantity") * F.col("unit_price") * (1 - F.coalesce("discount", F.lit(0.0)))
    return (
        read_table(spark, BRONZE_TRANSACTIONS, root)
        .where(F.col("_rescued_data").isNull() & F.col("event_time").isNotNull())
        .groupBy(
            F.to_date("event_time").alias("order_date"),
            F.lower(F.trim("channel")).alias("channel"),
        )
        .agg(F.count(F.lit(1)).alias("lines"), F.round(F.sum(revenue), 2).alias("revenue"))
        .select(
            "order_date",
            F.date_format("order_date", "yyyy-MM").alias("order_month"),
            "channel",
            "lines",
            "revenue",
        )
    )


def _demo_optimize(spark: SparkSession, root: str, ops: DeltaOps) -> dict[str, object]:
    _section(f"5. OPTIMIZE with Z-order of {ops.name}")
    daily = [tuple(r) for r in _daily_orders(spark, root).collect()]
    days = sorted({row[0] for row in daily})
    appends = 0
    for start in range(0, len(days), DAYS_PER_APPEND):
        chunk = set(days[start : start + DAYS_PER_APPEND])
        rows = [row for row in daily if row[0] in chunk]
        # One task per append: one small file per month partition the append touches.
        ops.write(spark.createDataFrame(rows, _ORDERS_DAILY_DEMO_DDL).coalesce(1), mode="append")
        appends += 1
    before = ops.detail()
    months = len({row[1] for row in daily})
    print(
        f"  {len(daily)} rows ({len(days)} days x channels) written as {appends} appends: "
        f"{before.num_files} files in {months} month partitions (v{before.version})"
    )
    optimized = ops.optimize()
    after = ops.detail()
    print(
        f"  OPTIMIZE ZORDER BY ({', '.join(optimized.zorder_by)}) -> v{optimized.version}: "
        f"{optimized.files_removed} files compacted into {optimized.files_added}"
    )
    print(f"  files before: {before.num_files}, after: {after.num_files} (one per partition)")
    return {
        "optimize_rows": len(daily),
        "optimize_days": len(days),
        "optimize_appends": appends,
        "optimize_partitions": months,
        "optimize_files_before": before.num_files,
        "optimize_files_after": after.num_files,
        "optimize_files_removed": optimized.files_removed,
        "optimize_files_added": optimized.files_added,
        "optimize_version": optimized.version,
        "optimize_zorder_by": optimized.zorder_by,
    }


def _demo_vacuum(spark: SparkSession, ops: DeltaOps, log_level: str) -> dict[str, object]:
    _section(f"6. VACUUM and history of {ops.name}")
    refused = ""
    try:
        ops.vacuum(24)
    except DeltaOperationError as exc:
        refused = str(exc)
    if not refused:
        raise AssertionError("a 24-hour VACUUM was not refused")
    print(f"  vacuum(24) is refused: {refused}")
    vacuumed = ops.vacuum(0, force=True)
    remaining = ops.detail().num_files
    print(
        f"  vacuum(0, force=True): {vacuumed.files_deleted} files deleted (those OPTIMIZE "
        f"replaced); {remaining} remain"
    )
    first_append = min(c.version for c in ops.history() if c.operation == "WRITE")
    readable = True
    with _quiet(spark, log_level):
        try:
            # A sum, not a count: Delta answers a count from its log, without the files.
            ops.read(version=first_append).agg(F.sum("revenue")).collect()
        except Exception as exc:  # its data files are gone
            readable = False
            print(f"  version {first_append} can no longer be read: {_error_line(exc)[:90]}...")
    if readable:
        print(f"  version {first_append} can still be read")
    history = tuple((c.version, c.operation) for c in reversed(ops.history()))
    print("  history:")
    for version, operation in history:
        print(f"    v{version:<3} {operation}")
    return {
        "vacuum_refused": refused,
        "vacuum_files_deleted": vacuumed.files_deleted,
        "vacuum_files_remaining": remaining,
        "vacuum_old_version_readable": readable,
        "history": history,
    }


def run(
    spark: SparkSession, root: str, landing: str, *, log_level: str = "WARN"
) -> dict[str, object]:
    """Show each Delta feature on the demo tables, printing what it shows.

    The bronze tables are made first if they are missing (see :func:`prepare_bronze`); the demo
    tables are recreated.

    Args:
        spark: A Delta-ready session.
        root: The lakehouse root.
        landing: The folder of raw files (used only when a bronze table is missing).
        log_level: The JVM log level to set back after the reads and writes that fail on
            purpose (their task errors are not logged).

    Returns:
        The figures printed, by name: versions, row and file counts, error messages.

    Raises:
        ValueError: The lakehouse root is not a local folder (the demo tables are recreated
            by deleting their folders).
    """
    prepare_bronze(spark, root, landing)
    clock = time.perf_counter()
    _drop_demo_tables(root)
    customers = DeltaOps.of(spark, SILVER_CUSTOMERS_DEMO, root)
    orders = DeltaOps.of(spark, GOLD_ORDERS_DAILY_DEMO, root)

    figures = _demo_merge(spark, root, customers)
    before, after = figures["initial_version"], figures["merge_version"]
    assert isinstance(before, int) and isinstance(after, int)
    figures |= _demo_time_travel(spark, customers, before, after, str(figures["merge_key"]))
    figures |= _demo_acid(spark, customers, log_level)
    figures |= _demo_schema_evolution(spark, root)
    figures |= _demo_optimize(spark, root, orders)
    figures |= _demo_vacuum(spark, orders, log_level)
    print(f"\ndelta features shown in {time.perf_counter() - clock:.1f}s")
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Run the Delta features demo from the command line.

    Args:
        argv: Command-line arguments (``--help`` lists them).

    Returns:
        0.
    """
    parser = argparse.ArgumentParser(
        prog="python -m examples.ecommerce.delta_features",
        description="Show Delta Lake's features on the e-commerce tables.",
    )
    parser.add_argument("--lakehouse", default="lakehouse", help="lakehouse root folder")
    parser.add_argument("--landing", default="data/landing", help="the folder of raw files")
    args = parser.parse_args(argv)
    root = str(Path(args.lakehouse).resolve())
    landing = str(Path(args.landing).resolve())
    spark = spark_session("medallion-delta-features")
    prepare_bronze(spark, root, landing)
    run(spark, root, landing)
    return 0


if __name__ == "__main__":
    sys.exit(main())
