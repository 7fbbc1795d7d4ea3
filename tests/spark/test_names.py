"""Odd names on real Spark and Delta: quoted identifiers, and lakehouse roots Spark can address.

Columns named with a backtick, a space and a dot, in tables whose folder and lakehouse root hold
them too, go through writes, MERGE on keys, partitioning and OPTIMIZE ZORDER BY. A root with a
character Spark cannot address is refused with ``UnaddressableRootError`` (the characters were
found by trying them on Spark; each refusal is shown to be Spark's, not only medallion's).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from medallion import (
    DeltaOps,
    FileSource,
    Lakehouse,
    Merge,
    Pipeline,
    StepContext,
    Table,
    changes,
    read_table,
)
from medallion._names import delta_table, quote, string_literal
from medallion.errors import DeltaOperationError, TableDefinitionError, UnaddressableRootError
from medallion.ingest.records import FileRecord, read_file_records, record_files
from medallion.layers import Layer
from medallion.quality import checks
from medallion.quality.quarantine import read_quarantine
from medallion.runner.runlog import read_run_log
from medallion.schema import to_ddl

KEY = "order`s id.no"
DAY = "sale day.`d`"
PRICE = "unit price.eur"  # Delta cannot Z-order by a name with a backtick (a test shows it)
ODD = "my `lake` v1.0"  # a folder name with a backtick, a space and a dot

#: Delta stores a column with a space in its name only with column mapping.
COLUMN_MAPPING = {
    "delta.columnMapping.mode": "name",
    "delta.minReaderVersion": "2",
    "delta.minWriterVersion": "5",
}
SCHEMA = T.StructType(
    [
        T.StructField(KEY, T.StringType()),
        T.StructField(DAY, T.StringType()),
        T.StructField(PRICE, T.DoubleType()),
    ]
)
ORDERS = Table(
    "odd_orders",
    "silver",
    schema=SCHEMA,
    primary_keys=KEY,
    partition_by=DAY,
    zorder_by=PRICE,
    properties=COLUMN_MAPPING,
)
DAYS = Table("odd_days", "gold", schema=SCHEMA, partition_by=DAY, properties=COLUMN_MAPPING)


def rows(spark: SparkSession, data: list[tuple[str, str, float]]) -> DataFrame:
    return spark.createDataFrame(data, SCHEMA)


def assert_rows(actual: DataFrame, expected: DataFrame) -> None:
    # chispa sorts by the plain column names, which Spark would parse: compare under safe names.
    safe = [f"c{i}" for i in range(len(expected.columns))]
    assert_df_equality(
        actual.select(*[quote(c) for c in expected.columns]).toDF(*safe),
        expected.toDF(*safe),
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )


def test_odd_column_names_go_through_write_merge_partitioning_and_zorder(
    spark: SparkSession, lakehouse: str
) -> None:
    root = f"{lakehouse}/{ODD}"
    ops = DeltaOps.of(spark, ORDERS, root)
    assert ops.location == f"{root}/silver/odd_orders"

    ops.write(rows(spark, [("o1", "d1", 1.0), ("o2", "d1", 2.0), ("o3", "d2", 3.0)]))
    merged = ops.merge(rows(spark, [("o2", "d1", 20.0), ("o4", "d2", 4.0)]))
    assert (merged.rows_inserted, merged.rows_updated) == (1, 1)
    expected = rows(
        spark, [("o1", "d1", 1.0), ("o2", "d1", 20.0), ("o3", "d2", 3.0), ("o4", "d2", 4.0)]
    )
    assert_rows(read_table(spark, ORDERS, root), expected)
    assert ops.detail().partition_columns == (DAY,)

    optimized = ops.optimize()
    assert optimized.zorder_by == (PRICE,)
    assert optimized.version is not None
    commit = ops.history(1)[0]
    assert commit.operation == "OPTIMIZE"
    assert json.loads(commit.parameters["zOrderBy"]) == [quote(PRICE)]  # as Delta was given it
    assert_rows(read_table(spark, ORDERS, root), expected)


def test_partitions_named_oddly_are_replaced_one_by_one(
    spark: SparkSession, lakehouse: str
) -> None:
    root = f"{lakehouse}/{ODD}"
    ops = DeltaOps.of(spark, DAYS, root)
    ops.write(rows(spark, [("o1", "d1", 1.0), ("o2", "d2", 2.0)]))
    ops.write(rows(spark, [("o3", "d1", 3.0)]))  # the gold default: replace partition d1
    assert_rows(read_table(spark, DAYS, root), rows(spark, [("o3", "d1", 3.0), ("o2", "d2", 2.0)]))
    assert ops.detail().partition_columns == (DAY,)


def test_a_path_table_named_oddly_goes_through_every_operation(
    spark: SparkSession, lakehouse: str
) -> None:
    path = f"{lakehouse}/we`ird t.able"
    properties = ", ".join(
        f"{string_literal(k)} = {string_literal(v)}" for k, v in COLUMN_MAPPING.items()
    )
    spark.sql(
        f"CREATE TABLE {delta_table(path)} ({to_ddl(SCHEMA)}) USING DELTA "
        f"PARTITIONED BY ({quote(DAY)}) TBLPROPERTIES ({properties})"
    )
    ops = DeltaOps.of(spark, path)
    ops.write(rows(spark, [("o1", "d1", 1.0), ("o2", "d2", 2.0)]), "append")
    ops.write(rows(spark, [("o3", "d1", 3.0)]), "append")
    merged = ops.merge(rows(spark, [("o1", "d1", 10.0), ("o4", "d2", 4.0)]), [KEY])
    assert (merged.rows_inserted, merged.rows_updated) == (1, 1)
    assert ops.optimize(zorder_by=[PRICE]).zorder_by == (PRICE,)
    ops.optimize(where=f"{quote(DAY)} = 'd1'")  # a condition on the partition column
    assert ops.vacuum(dry_run=True).files_deleted == 0
    ops.set_properties({"medallion.note": "it's a \\ test"})
    assert ops.properties()["medallion.note"] == "it's a \\ test"
    assert ops.add_columns(f"{quote('new col.`x`')} STRING").fieldNames()[-1] == "new col.`x`"
    assert_rows(
        spark.read.format("delta").load(path).select(*[quote(c) for c in SCHEMA.fieldNames()]),
        rows(spark, [("o1", "d1", 10.0), ("o2", "d2", 2.0), ("o3", "d1", 3.0), ("o4", "d2", 4.0)]),
    )


def test_zorder_by_a_backticked_column_is_refused_because_delta_fails_on_it(
    spark: SparkSession, lakehouse: str
) -> None:
    path = f"{lakehouse}/orders"
    writer = rows(spark, [("o1", "d1", 1.0)]).write.format("delta")
    for key, value in COLUMN_MAPPING.items():
        writer = writer.option(key, value)
    writer.save(path)
    # Delta itself cannot: its Z-order step reads the name as an unquoted column path.
    with pytest.raises(Exception, match=r"INVALID_ATTRIBUTE_NAME_SYNTAX|awaitResult"):
        spark.sql(f"OPTIMIZE {delta_table(path)} ZORDER BY ({quote(KEY)})").collect()
    with pytest.raises(DeltaOperationError, match=r"cannot Z-order by 'order`s id\.no'"):
        DeltaOps.of(spark, path).optimize(zorder_by=[KEY])
    with pytest.raises(TableDefinitionError, match="backtick"):
        Table("orders", "silver", schema=SCHEMA, primary_keys=PRICE, zorder_by=KEY)


RAW = Table(
    "orders",
    "bronze",
    schema="order_id STRING NOT NULL, customer STRING, amount DOUBLE",
    properties={"delta.enableChangeDataFeed": "true"},
)
CLEAN = Table(
    "orders",
    "silver",
    schema="order_id STRING NOT NULL, customer STRING, amount DOUBLE",
    primary_keys="order_id",
    write=Merge(),
    rules=[checks.not_null("customer")],
    zorder_by="customer",
)
TOTALS = Table("totals", "gold", schema="customer STRING, orders BIGINT, amount DOUBLE")


def pipeline() -> Pipeline:
    built = Pipeline("odd_root")

    @built.step(RAW)
    def raw(ctx: StepContext) -> DataFrame:
        return ctx.read_files(FileSource(ctx.param("landing"), "json"))

    @built.step(CLEAN, inputs=[changes(RAW)])
    def clean(ctx: StepContext) -> DataFrame:
        return ctx.check(ctx.changes(RAW).upserts().select("order_id", "customer", "amount"))

    @built.step(TOTALS, inputs=[CLEAN])
    def totals(ctx: StepContext) -> DataFrame:
        return (
            ctx.read(CLEAN)
            .groupBy("customer")
            .agg(F.count("*").alias("orders"), F.sum("amount").alias("amount"))
        )

    return built


def land(folder: Path, name: str, records: list[dict[str, object]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in records))


def test_a_root_with_a_backtick_a_space_and_a_dot_works_end_to_end(
    spark: SparkSession, lakehouse: str
) -> None:
    root = f"{lakehouse}/{ODD}"
    # Outside the root: the file source is not the subject here (a space in its path makes
    # bronze ingestion read its files again on every run, a matter of ingest/files.py).
    landing = Path(lakehouse) / "landing"
    land(
        landing,
        "a.json",
        [
            {"order_id": "o1", "customer": "c1", "amount": 1.0},
            {"order_id": "o2", "customer": None, "amount": 2.0},
        ],
    )
    first = pipeline().run(spark, root, params={"landing": str(landing)})
    land(
        landing,
        "b.json",
        [
            {"order_id": "o3", "customer": "c2", "amount": 3.0},
            {"order_id": "o1", "customer": "c1", "amount": 5.0},
        ],
    )
    second = pipeline().run(spark, root, params={"landing": str(landing)})
    assert first.succeeded and second.succeeded
    assert_df_equality(
        read_table(spark, TOTALS, root),
        spark.createDataFrame([("c1", 1, 5.0), ("c2", 1, 3.0)], TOTALS.schema),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert read_table(spark, RAW, root).count() == 4
    quarantined = read_quarantine(spark, root, Layer.SILVER).select("table", "record").collect()
    assert [(r["table"], json.loads(r["record"])["order_id"]) for r in quarantined] == [
        ("silver.orders", "o2")
    ]
    assert read_run_log(spark, root).select("run_id").distinct().count() == 2
    assert DeltaOps.of(spark, CLEAN, root).optimize().zorder_by == ("customer",)

    lake = Lakehouse(spark, root)
    query = (
        spark.readStream.format("delta")
        .load(lake.location(RAW))
        .writeStream.format("delta")
        .option("checkpointLocation", lake.checkpoint("copy"))
        .trigger(availableNow=True)
        .start(f"{root}/gold/copy")
    )
    query.awaitTermination(300)
    assert query.exception() is None
    assert spark.read.format("delta").load(f"{root}/gold/copy").count() == 4


def test_bad_files_are_recorded_under_a_root_with_a_backtick(
    spark: SparkSession, lakehouse: str
) -> None:
    root = f"{lakehouse}/{ODD}"
    bad = FileRecord("file:/in/b.csv", 3, dt.datetime(2026, 3, 1), "bad", "binary content")
    assert record_files(spark, root, "bronze.orders", [bad], run_id="r1") == 1
    recorded = read_file_records(spark, root)
    assert recorded is not None
    assert [r["path"] for r in recorded.collect()] == ["file:/in/b.csv"]


def test_a_root_with_every_other_character_tried_works(spark: SparkSession, lakehouse: str) -> None:
    # Glob characters, ':', '%', '#', quotes, '\\', '=', ',', ';', non-ASCII (UTF-8 locale).
    root = f"{lakehouse}/a {{b}} [c] *?:%#'\"\\=,;é日"
    ops = DeltaOps.of(spark, ORDERS, root)
    ops.write(rows(spark, [("o1", "d1", 1.0), ("o2", "d2", 2.0)]))
    ops.merge(rows(spark, [("o1", "d1", 5.0)]))
    assert ops.optimize().version is not None
    assert ops.vacuum(dry_run=True).files_deleted == 0
    assert_rows(
        read_table(spark, ORDERS, root), rows(spark, [("o1", "d1", 5.0), ("o2", "d2", 2.0)])
    )
    assert os.path.isdir(os.path.join(root, "silver", "odd_orders", "_delta_log"))


@pytest.mark.parametrize("character", ["\x00", "\udcff"], ids=["nul", "lone-surrogate"])
def test_a_root_spark_cannot_address_is_refused_naming_it(
    spark: SparkSession, lakehouse: str, character: str
) -> None:
    root = f"{lakehouse}/a{character}b"
    # Spark itself cannot write there (Py4J cannot send a lone surrogate; no file has a NUL).
    with pytest.raises(Exception):  # noqa: B017 - Py4JJavaError or Py4JError
        spark.range(1).write.format("delta").save(f"{root}/t")
    with pytest.raises(UnaddressableRootError) as caught:
        DeltaOps.of(spark, ORDERS, root)
    assert caught.value.root == root
    assert caught.value.character == character
    assert str(caught.value).startswith(f"lakehouse root {root!r}: Spark cannot address the ")
    with pytest.raises(UnaddressableRootError):
        ORDERS.location(root)


_C_LOCALE = textwrap.dedent(
    """
    import os, sys
    from medallion import Table
    from medallion.errors import UnaddressableRootError
    from medallion.session import spark_session

    root = os.path.join(sys.argv[1], "l\\u00e9ger")
    spark = spark_session("c-locale", master="local[1]", shuffle_partitions=1, driver_memory="512m")
    try:
        spark.range(2).write.format("delta").save(root + "/t")
        print("spark read", spark.read.format("delta").load(root + "/t").count())
    except Exception as exc:
        print("spark failed:", " ".join(str(exc).split())[:3000])
    print("folders:", sorted(os.listdir(sys.argv[1])))
    try:
        Table("t", "gold").location(root)
    except UnaddressableRootError as exc:
        print("refused:", exc.character, str(exc))
    """
)


def test_non_ascii_under_the_c_locale_is_refused_because_spark_loses_it(tmp_path: Path) -> None:
    # A JVM of its own, started in the C locale: it names files in ASCII.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env["LC_ALL"] = "C"
    done = subprocess.run(
        [sys.executable, "-c", _C_LOCALE, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, done.stderr[-3000:]
    # Spark fails on the name, or writes to another folder ('?' in place of 'é').
    lost = "Malformed input or input contains unmappable characters" in out
    misplaced = "folders: ['l?ger']" in out
    assert lost or misplaced, out
    assert "refused: é lakehouse root " in out, out
    assert "(U+00E9): the JVM names files in ANSI_X3.4-1968" in out, out
