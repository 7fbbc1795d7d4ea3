"""The e-commerce example's bronze layer: every generated record lands, bad ones are rescued."""

from __future__ import annotations

from pathlib import Path

from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from examples.ecommerce.demo import reconcile
from examples.ecommerce.generator import generate
from examples.ecommerce.pipeline import pipeline
from examples.ecommerce.tables import BRONZE_TRANSACTIONS
from medallion import StepStatus, read_table


def test_bronze_reconciles_with_the_generator_and_reruns_add_nothing(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    manifest = generate(landing, transactions=3_000, seed=7, bad_share=0.05)
    bronze = ["bronze.*"]
    first = pipeline.run(
        spark, lakehouse, bronze, downstream=False, params={"landing": landing}, log=False
    )
    assert first.succeeded

    checks = reconcile(spark, lakehouse, manifest)
    assert [tuple(c) for c in checks] == [
        (
            "customers",
            manifest.records("customers"),
            manifest.records("customers"),
            manifest.bad("customers")["null_key"] + manifest.bad("customers")["malformed_value"],
            manifest.bad("customers")["null_key"] + manifest.bad("customers")["malformed_value"],
        ),
        (
            "products",
            manifest.records("products"),
            manifest.records("products"),
            manifest.bad("products")["malformed_value"],
            manifest.bad("products")["malformed_value"],
        ),
        (
            "transactions",
            3_000,
            3_000,
            manifest.bad("transactions")["malformed_value"]
            + manifest.bad("transactions")["malformed_json"],
            manifest.bad("transactions")["malformed_value"]
            + manifest.bad("transactions")["malformed_json"],
        ),
    ]

    # Each batch file's rows are attributed to that file, and all carry the run's id.
    per_file = (
        read_table(spark, BRONZE_TRANSACTIONS, lakehouse)
        .groupBy(F.regexp_extract("_source_file", r"(transactions_\d+\.json)$", 1).alias("file"))
        .agg(F.count(F.lit(1)).alias("rows"), F.countDistinct("_run_id").alias("runs"))
    )
    expected = spark.createDataFrame(
        [(Path(f.path).name, f.records, 1) for f in manifest.files_for("transactions")],
        "file STRING, rows BIGINT, runs BIGINT",
    )
    assert_df_equality(per_file, expected, ignore_row_order=True, ignore_nullable=True)

    second = pipeline.run(
        spark, lakehouse, bronze, downstream=False, params={"landing": landing}, log=False
    )
    assert [(s.status, s.write) for s in second.steps] == [(StepStatus.UP_TO_DATE, None)] * 3
    assert [tuple(c) for c in reconcile(spark, lakehouse, manifest)] == [tuple(c) for c in checks]
