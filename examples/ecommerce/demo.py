"""The e-commerce demo: generate raw files, run bronze -> silver -> gold, report.

Run it as ``python -m examples.ecommerce.demo`` (``make demo`` does it in a fresh virtual
environment). The generator writes under ``data/generated``; the demo lands the dimensions and
all transaction batches but the last in ``data/landing`` and runs the whole pipeline, then
lands the last batch and runs again: that second run is incremental, it reads only the new
rows. A second ``make demo`` finds every file ingested and writes nothing.

It prints each run, the rows and Delta version of every table, the quarantined rows by rule,
and a few queries (one of them a time-travel read). It exits with status 1 if a bronze table's
row count does not reconcile with what the generator wrote.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from medallion import DeltaOps, Layer, RunResult, read_table, spark_session
from medallion.quality.quarantine import quarantine_location

from .generator import Manifest, generate
from .pipeline import pipeline
from .tables import ALL_TABLES, BRONZE_TABLES, GOLD_DAILY_SALES

__all__ = ["Reconciliation", "land", "main", "reconcile"]

#: The kinds of bad record that bronze must flag as not fitting the schema, per dataset.
RESCUED_KINDS: dict[str, tuple[str, ...]] = {
    "customers": ("null_key", "malformed_value"),
    "products": ("malformed_value",),
    "transactions": ("malformed_value", "malformed_json"),
}


class Reconciliation(tuple[str, int, int, int, int]):
    """``(dataset, records generated, bronze rows, rescued expected, rescued in bronze)``."""

    @property
    def ok(self) -> bool:
        """Whether the bronze table holds every record, with exactly the expected rescues."""
        return self[1] == self[2] and self[3] == self[4]


def reconcile(spark: SparkSession, root: str, manifest: Manifest) -> list[Reconciliation]:
    """Compare each bronze table with what the generator wrote (one aggregate per table).

    Args:
        spark: The session.
        root: The lakehouse root.
        manifest: The generator's manifest.

    Returns:
        One reconciliation per dataset.
    """
    result = []
    for dataset, table in BRONZE_TABLES.items():
        counts = (
            read_table(spark, table, root)
            .agg(F.count(F.lit(1)).alias("rows"), F.count("_rescued_data").alias("rescued"))
            .first()
        )
        assert counts is not None
        bad = manifest.bad(dataset)
        expected_rescued = sum(bad.get(kind, 0) for kind in RESCUED_KINDS[dataset])
        result.append(
            Reconciliation(
                (
                    dataset,
                    manifest.records(dataset),
                    counts["rows"],
                    expected_rescued,
                    counts["rescued"],
                )
            )
        )
    return result


def _existing_manifest(generated: Path, seed: int, transactions: int) -> Manifest | None:
    path = generated / "manifest.json"
    if not path.exists():
        return None
    manifest = Manifest.read(path)
    if manifest.seed != seed or manifest.records("transactions") != transactions:
        return None
    return manifest


def _clear(root: Path, landing: Path) -> None:
    """Remove the demo's tables and landed files (only what the demo made)."""
    for layer in ("bronze", "silver", "gold", "_medallion"):
        shutil.rmtree(root / layer, ignore_errors=True)
    shutil.rmtree(landing, ignore_errors=True)


def land(generated: Path, landing: Path, manifest: Manifest, batches: int) -> int:
    """Copy the dimensions and the first ``batches`` transaction files into the landing folder.

    Files already landed are left alone (their modification time is kept, so bronze does not
    ingest them again).

    Args:
        generated: Where the generator wrote.
        landing: The folder the pipeline ingests.
        manifest: The generator's manifest.
        batches: How many transaction batches to land.

    Returns:
        The number of files copied.
    """
    copied = 0
    wanted = [
        *manifest.files_for("customers"),
        *manifest.files_for("products"),
        *manifest.files_for("transactions")[:batches],
    ]
    for entry in wanted:
        target = landing / entry.path
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(generated / entry.path, target)
        copied += 1
    return copied


def _print_run(title: str, run: RunResult) -> None:
    print(f"\n{title}")
    print(run.render())


def _table_summary(spark: SparkSession, root: str) -> None:
    print("\ntables (rows, Delta version):")
    for table in ALL_TABLES:
        ops = DeltaOps.of(spark, table, root)
        if not ops.exists():
            print(f"  {table.qualified_name:<28} (not written)")
            continue
        rows = ops.read().count()
        print(f"  {table.qualified_name:<28}{rows:>10,} rows  v{ops.version()}")


def _quarantine_summary(spark: SparkSession, root: str) -> None:
    print("\nquarantined rows by table and rule:")
    found = False
    for layer in (Layer.SILVER, Layer.GOLD):
        ops = DeltaOps(spark, quarantine_location(root, layer))
        if not ops.exists():
            continue
        rows = (
            ops.read()
            .select("table", F.explode("failures.rule").alias("rule"))
            .groupBy("table", "rule")
            .count()
            .orderBy("table", F.desc("count"))
            .collect()
        )
        for row in rows:
            found = True
            print(f"  {row['table']:<24}{row['rule']:<44}{row['count']:>7,}")
    if not found:
        print("  (none)")


def _queries(spark: SparkSession, root: str, before_increment: int | None) -> None:
    def show(title: str, sql: str) -> None:
        print(f"\n{title}\n  {sql}")
        for row in spark.sql(sql).collect():
            print("   ", "  ".join(str(v) for v in row))

    gold = f"{root}/gold"
    show(
        "monthly revenue:",
        f"SELECT month_start, orders, revenue FROM delta.`{gold}/monthly_sales` "
        "ORDER BY month_start",
    )
    show(
        "top 5 products by revenue:",
        f"SELECT revenue_rank, product_name, category, revenue FROM "
        f"delta.`{gold}/product_performance` ORDER BY revenue_rank, product_id LIMIT 5",
    )
    show(
        "customers per RFM segment:",
        f"SELECT segment, count(*) AS customers, round(avg(monetary), 2) AS avg_spend "
        f"FROM delta.`{gold}/customer_rfm` GROUP BY segment ORDER BY customers DESC",
    )
    if before_increment is not None:
        show(
            f"time travel: daily sales before the incremental run (version {before_increment}) "
            "and now:",
            f"SELECT 'before' AS at, count(*) AS days, sum(revenue) AS revenue FROM "
            f"delta.`{gold}/daily_sales` VERSION AS OF {before_increment} UNION ALL "
            f"SELECT 'now', count(*), sum(revenue) FROM delta.`{gold}/daily_sales`",
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Generate data, run the pipeline (a full run, then an incremental one), print a summary.

    Args:
        argv: Command-line arguments (``--help`` lists them).

    Returns:
        0 when every bronze table reconciles with the generator's manifest, 1 otherwise.
    """
    parser = argparse.ArgumentParser(prog="python -m examples.ecommerce.demo")
    parser.add_argument("--lakehouse", default="lakehouse", help="lakehouse root folder")
    parser.add_argument("--data", default="data", help="where raw files are generated and land")
    parser.add_argument("--transactions", type=int, default=20_000)
    parser.add_argument("--batches", type=int, default=4, help="transaction files")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--bad-share", type=float, default=0.02)
    parser.add_argument(
        "--regenerate",
        action="store_true",
        help="write new raw files (and start a new lakehouse) even if matching ones exist",
    )
    args = parser.parse_args(argv)

    clock = time.perf_counter()
    root = str(Path(args.lakehouse).resolve())
    generated = Path(args.data) / "generated"
    landing = Path(args.data) / "landing"
    manifest = _existing_manifest(generated, args.seed, args.transactions)
    if manifest is None or args.regenerate:
        manifest = generate(
            generated,
            transactions=args.transactions,
            seed=args.seed,
            bad_share=args.bad_share,
            batches=args.batches,
        )
        _clear(Path(root), landing)
        print(
            f"generated {sum(f.records for f in manifest.files):,} records in "
            f"{len(manifest.files)} files under {generated} "
            f"({time.perf_counter() - clock:.1f}s); new lakehouse at {root}"
        )
    else:
        print(f"reusing the files under {generated} (seed {manifest.seed})")

    spark = spark_session("medallion-ecommerce-demo")
    params = {"landing": str(landing.resolve())}
    batches = len(manifest.files_for("transactions"))
    before_increment: int | None = None
    if land(generated, landing, manifest, batches - 1):
        pipeline.dry_run(root, spark=spark)
        first = pipeline.run(spark, root, params=params, progress=_progress)
        _print_run(f"full run: every transaction batch but the last ({batches - 1})", first)
        before_increment = DeltaOps.of(spark, GOLD_DAILY_SALES, root).version()
    copied = land(generated, landing, manifest, batches)
    title = (
        "incremental run: the last transaction batch arrives; only its rows are processed"
        if copied
        else "rerun: every file is already ingested, so nothing is read or written"
    )
    second = pipeline.run(spark, root, params=params, progress=_progress)
    _print_run(title, second)

    print(
        "\nbronze reconciliation (every generated record is a bronze row; records that do "
        "not fit the schema are rescued):"
    )
    print(f"  {'dataset':<14}{'generated':>10}{'in bronze':>11}{'to rescue':>11}{'rescued':>9}")
    checks = reconcile(spark, root, manifest)
    for check in checks:
        dataset, generated_rows, rows, expected, rescued = check
        mark = "ok" if check.ok else "MISMATCH"
        print(
            f"  {dataset:<14}{generated_rows:>10,}{rows:>11,}{expected:>11,}{rescued:>9,}  {mark}"
        )
    _table_summary(spark, root)
    _quarantine_summary(spark, root)
    _queries(spark, root, before_increment)
    print(f"\ndone in {time.perf_counter() - clock:.1f}s; lakehouse at {root}")
    print(f"try: .venv/bin/medallion runs --root {args.lakehouse}")
    return 0 if all(c.ok for c in checks) else 1


def _progress(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
