"""The e-commerce demo: generate raw files, run the pipeline on local Spark + Delta, report.

Run it as ``python -m examples.ecommerce.demo`` (``make demo`` does it in a fresh virtual
environment). It exits with status 1 if a bronze table's row count does not reconcile with
what the generator wrote.
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

from medallion import RunResult, read_table, spark_session

from .generator import Manifest, generate
from .pipeline import pipeline
from .tables import BRONZE_TABLES

__all__ = ["Reconciliation", "main", "reconcile"]

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


def _existing_manifest(landing: Path, seed: int, transactions: int) -> Manifest | None:
    path = landing / "manifest.json"
    if not path.exists():
        return None
    manifest = Manifest.read(path)
    if manifest.seed != seed or manifest.records("transactions") != transactions:
        return None
    return manifest


def _clear_lakehouse(root: Path) -> None:
    """Remove the demo's tables (only the layer folders: the root may hold other things)."""
    for layer in ("bronze", "silver", "gold", "_medallion"):
        shutil.rmtree(root / layer, ignore_errors=True)


def _print_run(run: RunResult) -> None:
    print(f"\nrun {run.run_id}: {'succeeded' if run.succeeded else 'FAILED'}")
    for step in run.steps:
        write = step.write
        rows = f"{write.rows_written:>9,} rows" if write else ""
        version = f"v{write.version}" if write and write.version is not None else "-"
        print(
            f"  {step.table:<24} {step.status:<10} {rows:>14}  {version:>4}  {step.seconds:6.1f}s"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Generate data, run the pipeline, print the summary.

    Args:
        argv: Command-line arguments (``--help`` lists them).

    Returns:
        0 when every bronze table reconciles with the generator's manifest, 1 otherwise.
    """
    parser = argparse.ArgumentParser(prog="python -m examples.ecommerce.demo")
    parser.add_argument("--lakehouse", default="lakehouse", help="lakehouse root folder")
    parser.add_argument("--landing", default="data/landing", help="where raw files are written")
    parser.add_argument("--transactions", type=int, default=20_000)
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
    manifest = _existing_manifest(Path(args.landing), args.seed, args.transactions)
    if manifest is None or args.regenerate:
        manifest = generate(
            args.landing, transactions=args.transactions, seed=args.seed, bad_share=args.bad_share
        )
        _clear_lakehouse(Path(root))
        print(
            f"generated {sum(f.records for f in manifest.files):,} records in "
            f"{len(manifest.files)} files under {args.landing} "
            f"({time.perf_counter() - clock:.1f}s); new lakehouse at {root}"
        )
    else:
        print(
            f"reusing the files under {args.landing} (seed {manifest.seed}); files already "
            "ingested are skipped (pass --regenerate for new data)"
        )

    spark = spark_session("medallion-ecommerce-demo")
    pipeline.dry_run(root, spark=spark)
    run = pipeline.run(spark, root, params={"landing": str(Path(args.landing).resolve())})
    _print_run(run)

    print(
        "\nbronze reconciliation (every generated record is a bronze row; records that do "
        "not fit the schema are rescued):"
    )
    print(f"  {'dataset':<14}{'generated':>10}{'in bronze':>11}{'to rescue':>11}{'rescued':>9}")
    checks = reconcile(spark, root, manifest)
    for check in checks:
        dataset, generated, rows, expected, rescued = check
        mark = "ok" if check.ok else "MISMATCH"
        print(f"  {dataset:<14}{generated:>10,}{rows:>11,}{expected:>11,}{rescued:>9,}  {mark}")
    reasons = (
        read_table(spark, BRONZE_TABLES["transactions"], root)
        .where("_rescue_reason IS NOT NULL")
        .groupBy(F.regexp_replace("_rescue_reason", r": .*", "").alias("reason"))
        .count()
        .orderBy(F.desc("count"))
    )
    print("\nrescued transactions by reason:")
    for row in reasons.collect():
        print(f"  {row['reason']:<40}{row['count']:>6,}")
    print(f"\ndone in {time.perf_counter() - clock:.1f}s; lakehouse at {root}")
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
