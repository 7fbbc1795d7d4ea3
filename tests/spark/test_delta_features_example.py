"""The e-commerce example's Delta features step: every figure it prints, checked on real data."""

from __future__ import annotations

from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from examples.ecommerce.delta_features import (
    DAYS_PER_APPEND,
    SILVER_CUSTOMERS_DEMO,
    prepare_bronze,
    run,
)
from examples.ecommerce.generator import generate
from examples.ecommerce.pipeline import pipeline
from examples.ecommerce.tables import BRONZE_CUSTOMERS, BRONZE_TABLES, BRONZE_TRANSACTIONS
from medallion import DeltaOps, read_table


def _months(days: list[object]) -> int:
    return len({str(d)[:7] for d in days})


def test_delta_features_show_what_they_claim(
    spark: SparkSession, lakehouse: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    landing = str(tmp_path / "landing")
    generate(landing, transactions=2000, seed=3)
    # Only the bronze steps: the demo reads nothing else (silver and gold would take a minute).
    bronze = [table.qualified_name for table in BRONZE_TABLES.values()]
    result = pipeline.run(spark, lakehouse, bronze, downstream=False, params={"landing": landing})
    assert result.succeeded
    assert sorted(step.table for step in result.steps) == sorted(bronze)
    assert prepare_bronze(spark, lakehouse, landing) is False  # bronze is there already

    # What the data determines: the clean customers, and the days and months of the orders.
    clean = read_table(spark, BRONZE_CUSTOMERS, lakehouse).where(
        F.col("_rescued_data").isNull() & F.col("customer_id").isNotNull()
    )
    clean_rows = clean.count()
    ids = clean.select(F.trim("customer_id").alias("customer_id")).distinct()
    customers = ids.count()
    first_id = sorted(r["customer_id"] for r in ids.collect())[0]
    days = sorted(
        r["day"]
        for r in read_table(spark, BRONZE_TRANSACTIONS, lakehouse)
        .where(F.col("_rescued_data").isNull() & F.col("event_time").isNotNull())
        .select(F.to_date("event_time").alias("day"))
        .distinct()
        .collect()
    )
    chunks = [days[i : i + DAYS_PER_APPEND] for i in range(0, len(days), DAYS_PER_APPEND)]
    partitions = _months(days)
    small_files = sum(_months(chunk) for chunk in chunks)
    assert customers < clean_rows  # bronze holds customers exported twice
    assert small_files > partitions

    figures = run(spark, lakehouse, landing, log_level="ERROR")
    out = capsys.readouterr().out

    # 1. MERGE: the initial load de-duplicates bronze; the upsert's source holds 15 rows for
    # 13 keys; re-merging the same rows changes nothing.
    assert figures["initial_version"] == 1
    assert figures["initial_source_rows"] == clean_rows
    assert figures["initial_inserted"] == customers
    assert figures["initial_duplicates_removed"] == clean_rows - customers
    assert figures["merge_version"] == 2
    assert figures["merge_source_rows"] == 15
    assert figures["merge_duplicates_removed"] == 2
    assert (figures["merge_inserted"], figures["merge_updated"]) == (3, 5)
    assert (figures["merge_key"], figures["merge_key_tier"]) == (first_id, "platinum")
    assert (figures["remerge_inserted"], figures["remerge_updated"]) == (0, 0)
    assert figures["remerge_version"] == 3

    # 2. Time travel: by version and by a time between the commits of v1 and v2.
    assert (figures["time_travel_version"], figures["time_travel_rows"]) == (1, customers)
    assert figures["time_travel_later_version"] == 2
    assert figures["time_travel_later_rows"] == customers + 3
    assert figures["time_travel_timestamp_rows"] == customers
    assert (figures["diff_added"], figures["diff_removed"]) == (8, 5)
    ops = DeltaOps.of(spark, SILVER_CUSTOMERS_DEMO, lakehouse)
    version_1 = ops.read(version=1)
    at_time = ops.read(timestamp=str(figures["time_travel_timestamp"]))
    assert_df_equality(at_time, version_1, ignore_row_order=True)
    assert_df_equality(
        version_1.select("customer_id"), ids, ignore_row_order=True, ignore_nullable=True
    )

    # 3. ACID: the failed overwrite left no trace.
    assert figures["acid_version_before"] == figures["acid_version_after"] == 3
    assert figures["acid_rows_before"] == figures["acid_rows_after"] == customers + 3
    assert figures["acid_upper_cased"] == 0
    assert "simulated failure" in str(figures["acid_error"])

    # 4. Schema evolution.
    assert "'loyalty_points' (int) is new" in str(figures["evolution_refused_without_flag"])
    assert figures["evolution_version"] == 4
    assert figures["evolution_rows_updated"] == figures["evolution_rows_with_points"] == 10
    assert figures["evolution_columns"] == (
        *SILVER_CUSTOMERS_DEMO.require_schema().fieldNames(),
        "loyalty_points",
    )
    assert figures["add_columns_version"] == 5
    schema = figures["add_columns_schema"]
    assert isinstance(schema, tuple)
    assert schema[-3:] == (
        "loyalty_points int",
        "lifetime_value double",
        "preferred_channel string",
    )
    assert figures["narrowing_changes"] == (
        "column 'loyalty_points': bigint in the data cannot be stored as int without loss",
        "column 'lifetime_value': string in the data cannot be stored as double without loss",
    )
    assert "'lifetime_value': string" in str(figures["narrowing_error"])
    assert figures["narrowing_version_after"] == 5
    assert ops.version() == 5

    # 5. OPTIMIZE: one small file per (append, month), then one file per month partition.
    assert figures["optimize_days"] == len(days)
    assert figures["optimize_appends"] == len(chunks)
    assert figures["optimize_partitions"] == partitions
    assert figures["optimize_files_before"] == figures["optimize_files_removed"] == small_files
    assert figures["optimize_files_after"] == figures["optimize_files_added"] == partitions
    assert figures["optimize_version"] == len(chunks) + 1
    assert figures["optimize_zorder_by"] == ("order_date", "channel")

    # 6. VACUUM and history.
    assert "under the safe minimum of 168" in str(figures["vacuum_refused"])
    assert figures["vacuum_files_deleted"] == small_files
    assert figures["vacuum_files_remaining"] == partitions
    assert figures["vacuum_old_version_readable"] is False
    assert figures["history"] == (
        (0, "CREATE TABLE"),
        *((v, "WRITE") for v in range(1, len(chunks) + 1)),
        (len(chunks) + 1, "OPTIMIZE"),
        (len(chunks) + 2, "VACUUM START"),
        (len(chunks) + 3, "VACUUM END"),
    )

    assert f"files before: {small_files}, after: {partitions} (one per partition)" in out
    assert "the write failed: [USER_RAISED_EXCEPTION] simulated failure" in out
