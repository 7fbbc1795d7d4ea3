"""write_table on real Delta tables: each write mode, schema conformance, table creation."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from medallion import DeltaOps, Table, WriteMode, read_table, write_table
from medallion.errors import SchemaEvolutionError
from medallion.io import create_table, table_exists

CUSTOMERS = Table(
    "customers",
    "silver",
    schema="customer_id STRING NOT NULL, name STRING, visits BIGINT",
    primary_keys=["customer_id"],
    properties={"delta.appendOnly": False},
    comment="one row per customer",
)
SCHEMA = "customer_id STRING, name STRING, visits BIGINT"


def test_silver_merges_on_its_keys(spark: SparkSession, lakehouse: str) -> None:
    first = write_table(
        spark.createDataFrame([("c1", "Ann", 1), ("c2", "Bob", 2)], SCHEMA), CUSTOMERS, lakehouse
    )
    second = write_table(
        spark.createDataFrame([("c2", "Bob", 5), ("c3", "Cy", 1)], SCHEMA),
        CUSTOMERS,
        lakehouse,
        run_id="r2",
    )
    assert (first.mode, first.rows_inserted, first.version) == (WriteMode.MERGE, 2, 1)
    assert (second.rows_inserted, second.rows_updated, second.version) == (1, 1, 2)
    assert_df_equality(
        read_table(spark, CUSTOMERS, lakehouse),
        spark.createDataFrame([("c1", "Ann", 1), ("c2", "Bob", 5), ("c3", "Cy", 1)], SCHEMA),
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )


def test_the_table_is_created_with_its_declared_layout(spark: SparkSession, lakehouse: str) -> None:
    assert create_table(spark, CUSTOMERS, lakehouse) is True
    assert create_table(spark, CUSTOMERS, lakehouse) is False
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{CUSTOMERS.location(lakehouse)}`").first()
    assert detail is not None
    assert detail["description"] == "one row per customer"
    assert detail["properties"]["delta.appendOnly"] == "false"
    commit = DeltaOps.of(spark, CUSTOMERS, lakehouse).last_commit()
    assert (commit.version, commit.operation) == (0, "CREATE TABLE")


def test_gold_overwrites_and_partitioned_gold_replaces_partitions(
    spark: SparkSession, lakehouse: str
) -> None:
    totals = Table("totals", "gold", schema="day STRING, revenue DOUBLE")
    write_table(
        spark.createDataFrame([("d1", 1.0), ("d2", 2.0)], "day STRING, revenue DOUBLE"),
        totals,
        lakehouse,
    )
    result = write_table(
        spark.createDataFrame([("d3", 3.0)], "day STRING, revenue DOUBLE"), totals, lakehouse
    )
    assert (result.mode, result.rows_inserted) == (WriteMode.OVERWRITE, 1)
    assert [r["day"] for r in read_table(spark, totals, lakehouse).collect()] == ["d3"]

    daily = Table(
        "daily", "gold", schema="day STRING, shop STRING, revenue DOUBLE", partition_by="day"
    )
    schema = "day STRING, shop STRING, revenue DOUBLE"
    write_table(
        spark.createDataFrame([("d1", "a", 1.0), ("d2", "a", 2.0)], schema), daily, lakehouse
    )
    replaced = write_table(spark.createDataFrame([("d2", "b", 9.0)], schema), daily, lakehouse)
    assert replaced.mode is WriteMode.REPLACE_PARTITIONS
    assert_df_equality(
        read_table(spark, daily, lakehouse),
        spark.createDataFrame([("d1", "a", 1.0), ("d2", "b", 9.0)], schema),
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
        ignore_column_order=True,
    )
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{daily.location(lakehouse)}`").first()
    assert detail is not None and detail["partitionColumns"] == ["day"]


def test_a_table_without_schema_takes_the_data_as_is(spark: SparkSession, lakehouse: str) -> None:
    free = Table("free", "gold")
    assert not table_exists(spark, free.location(lakehouse))
    write_table(spark.createDataFrame([(1, "x")], "n INT, s STRING"), free, lakehouse)
    assert read_table(spark, free, lakehouse).columns == ["n", "s"]


def test_safe_types_widen_and_column_order_follows_the_table(
    spark: SparkSession, lakehouse: str
) -> None:
    df = spark.createDataFrame([(3, "Dee", "c4")], "visits INT, name STRING, customer_id STRING")
    write_table(df, CUSTOMERS, lakehouse)
    stored = read_table(spark, CUSTOMERS, lakehouse)
    assert stored.dtypes == [("customer_id", "string"), ("name", "string"), ("visits", "bigint")]
    assert stored.first() == ("c4", "Dee", 3)


def test_data_that_does_not_fit_is_refused_with_every_difference(
    spark: SparkSession, lakehouse: str
) -> None:
    df = spark.createDataFrame([("Ann", 1.5, "x")], "name STRING, visits DOUBLE, extra STRING")
    with pytest.raises(SchemaEvolutionError) as caught:
        write_table(df, CUSTOMERS, lakehouse)
    assert str(caught.value) == (
        "table 'silver.customers': the data does not fit the schema: "
        "key column 'customer_id' (string) is missing from the data; "
        "column 'visits': double in the data cannot be stored as bigint without loss; "
        "column 'extra' (string) is new"
    )
    assert [c.column for c in caught.value.changes] == ["customer_id", "visits", "extra"]
    assert read_table(spark, CUSTOMERS, lakehouse).count() == 0


def test_a_missing_non_key_column_is_written_as_null(spark: SparkSession, lakehouse: str) -> None:
    write_table(
        spark.createDataFrame([("c1", 2)], "customer_id STRING, visits INT"), CUSTOMERS, lakehouse
    )
    assert read_table(spark, CUSTOMERS, lakehouse).collect() == [("c1", None, 2)]


def test_catalog_name_registers_the_table(spark: SparkSession, lakehouse: str) -> None:
    named = Table("named", "gold", catalog_name="shop_test.gold_named")
    write_table(spark.createDataFrame([("a",)], "k STRING"), named, lakehouse)
    assert spark.table("shop_test.gold_named").collect()[0]["k"] == "a"
    spark.sql("DROP TABLE shop_test.gold_named")
