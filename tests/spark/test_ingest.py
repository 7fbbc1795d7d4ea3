"""Bronze ingestion on real Spark and Delta: schema enforcement, rescue, metadata, idempotency."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from medallion import FileSource, Table, ingest_files, read_table
from medallion.errors import IngestError
from medallion.table import METADATA_COLUMNS

ORDERS = Table(
    "orders",
    "bronze",
    schema="order_id STRING NOT NULL, quantity INT, price DOUBLE, ordered_at TIMESTAMP",
)
DECLARED = ["order_id", "quantity", "price", "ordered_at"]
RUN_AT = dt.datetime(2026, 3, 1, 12, 0, 0)
A2_LINE = (
    '{"order_id": "A2", "quantity": "three", "price": 1.0, "ordered_at": "2026-02-01T11:00:00"}'
)


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def declared_rows(spark: SparkSession, rows: list[tuple[object, ...]]):  # type: ignore[no-untyped-def]
    return spark.createDataFrame(rows, ORDERS.require_schema())


def test_json_records_that_do_not_fit_are_kept_with_their_reason(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    source = write_lines(
        tmp_path / "landing" / "orders" / "day1.json",
        [
            '{"order_id": "A1", "quantity": 2, "price": 9.5, "ordered_at": "2026-02-01T10:00:00"}',
            A2_LINE,
            '{"order_id": "A3", "quantity": 1, "price": 1.0',
            '{"order_id": null, "quantity": 4, "price": 2.0, "ordered_at": "2026-02-02T09:30:00"}',
        ],
    )
    result = ingest_files(
        spark,
        ORDERS,
        FileSource(source.parent, "json"),
        lakehouse,
        run_id="run-1",
        ingested_at=RUN_AT,
    )

    assert (result.rows_inserted, result.rows_rescued, result.version) == (4, 3, 1)
    assert result.files_read == (f"file:{source}",)
    stored = read_table(spark, ORDERS, lakehouse)
    assert stored.columns == DECLARED + METADATA_COLUMNS.fieldNames()
    expected = spark.createDataFrame(
        [
            ("A1", 2, 9.5, dt.datetime(2026, 2, 1, 10), None, None),
            (
                "A2",
                None,
                1.0,
                dt.datetime(2026, 2, 1, 11),
                A2_LINE,
                "value does not fit its column type: quantity (int)",
            ),
            (
                None,
                None,
                None,
                None,
                '{"order_id": "A3", "quantity": 1, "price": 1.0',
                "malformed JSON record",
            ),
            (
                None,
                4,
                2.0,
                dt.datetime(2026, 2, 2, 9, 30),
                '{"quantity":4,"price":2.0,"ordered_at":"2026-02-02T09:30:00.000Z"}',
                "null in NOT NULL column(s): order_id",
            ),
        ],
        "order_id STRING, quantity INT, price DOUBLE, ordered_at TIMESTAMP, "
        "_rescued_data STRING, _rescue_reason STRING",
    )
    assert_df_equality(
        stored.select(*DECLARED, "_rescued_data", "_rescue_reason"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )


def test_metadata_columns_record_run_time_file_and_mtime(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    source = write_lines(
        tmp_path / "in" / "a.json",
        ['{"order_id": "A1", "quantity": 1, "price": 1.0, "ordered_at": "2026-02-01T10:00:00"}'],
    )
    mtime = dt.datetime(2026, 2, 3, 4, 5, 6)
    os.utime(source, (mtime.timestamp(), mtime.timestamp()))
    ingest_files(
        spark,
        ORDERS,
        FileSource(source.parent, "json"),
        lakehouse,
        run_id="run-7",
        ingested_at=RUN_AT,
    )
    row = read_table(spark, ORDERS, lakehouse).select(*METADATA_COLUMNS.fieldNames()).first()
    assert row is not None
    local_mtime = dt.datetime.fromtimestamp(mtime.timestamp(), dt.timezone.utc).replace(tzinfo=None)
    assert row.asDict() == {
        "_ingested_at": RUN_AT,
        "_run_id": "run-7",
        "_source_file": f"file:{source}",
        "_source_modified_at": local_mtime,
        "_rescued_data": None,
        "_rescue_reason": None,
        "_source_position": 0,  # the first record of the only file read
    }


def test_ingesting_the_same_files_twice_adds_nothing(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    write_lines(landing / "a.json", ['{"order_id": "A1", "quantity": 1}'])
    write_lines(landing / "b.json", ['{"order_id": "B1", "quantity": 2}', '{"order_id": "B2"}'])
    first = ingest_files(spark, ORDERS, FileSource(landing, "json"), lakehouse)
    second = ingest_files(spark, ORDERS, FileSource(landing, "json"), lakehouse)

    assert (first.rows_inserted, len(first.files_read), first.files_skipped) == (3, 2, ())
    assert (second.rows_inserted, second.files_read, second.version) == (0, (), None)
    assert len(second.files_skipped) == 2
    assert read_table(spark, ORDERS, lakehouse).count() == 3

    # A new file is picked up alone; the old ones stay skipped.
    write_lines(landing / "c.json", ['{"order_id": "C1", "quantity": 3}'])
    third = ingest_files(spark, ORDERS, FileSource(landing, "json"), lakehouse)
    assert (third.rows_inserted, third.files_read) == (1, (f"file:{landing / 'c.json'}",))
    assert_df_equality(
        read_table(spark, ORDERS, lakehouse).select("order_id", "quantity"),
        spark.createDataFrame(
            [("A1", 1), ("B1", 2), ("B2", None), ("C1", 3)], "order_id STRING, quantity INT"
        ),
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )


def test_a_file_rewritten_in_place_is_ingested_again(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "in" / "a.json", ['{"order_id": "A1", "quantity": 1}'])
    ingest_files(spark, ORDERS, FileSource(path.parent, "json"), lakehouse, run_id="r1")
    write_lines(path, ['{"order_id": "A1", "quantity": 5}'])
    later = dt.datetime.now().timestamp() + 10
    os.utime(path, (later, later))
    again = ingest_files(spark, ORDERS, FileSource(path.parent, "json"), lakehouse, run_id="r2")
    assert again.rows_inserted == 1
    assert_df_equality(
        read_table(spark, ORDERS, lakehouse).select("order_id", "quantity", "_run_id"),
        spark.createDataFrame(
            [("A1", 1, "r1"), ("A1", 5, "r2")], "order_id STRING, quantity INT, _run_id STRING"
        ),
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )


def test_csv_type_mismatch_and_wrong_field_count(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    source = write_lines(
        tmp_path / "csv" / "orders.csv",
        [
            "order_id,quantity,price,ordered_at",
            "A1,2,9.5,2026-02-01T10:00:00",
            "A2,two,9.5,2026-02-01T10:00:00",
            "A3,1",
            '"A4",1,"1,5",2026-02-01T10:00:00',
        ],
    )
    result = ingest_files(spark, ORDERS, FileSource(source.parent, "csv"), lakehouse)
    assert (result.rows_inserted, result.rows_rescued) == (4, 3)
    assert_df_equality(
        read_table(spark, ORDERS, lakehouse).select("order_id", "quantity", "_rescue_reason"),
        spark.createDataFrame(
            [
                ("A1", 2, None),
                ("A2", None, "value does not fit its column type: quantity (int)"),
                ("A3", 1, "malformed CSV record (expected 4 fields)"),
                ("A4", 1, "value does not fit its column type: price (double)"),
            ],
            "order_id STRING, quantity INT, _rescue_reason STRING",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )


def test_parquet_columns_are_cast_and_mismatches_rescued(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    folder = tmp_path / "parquet"
    spark.createDataFrame(
        [("A1", "2", 9.5, "x"), ("A2", "lots", 1.0, None)],
        "order_id STRING, quantity STRING, price DOUBLE, channel STRING",
    ).coalesce(1).write.parquet(str(folder))
    result = ingest_files(spark, ORDERS, FileSource(folder, "parquet", glob="*.parquet"), lakehouse)
    assert (result.rows_inserted, result.rows_rescued) == (2, 2)
    stored = read_table(spark, ORDERS, lakehouse)
    assert_df_equality(
        stored.select(
            "order_id", "quantity", "price", "ordered_at", "_rescued_data", "_rescue_reason"
        ),
        spark.createDataFrame(
            [
                (
                    "A1",
                    2,
                    9.5,
                    None,
                    '{"channel":"x"}',
                    "value does not fit its column type: channel (not in the schema)",
                ),
                (
                    "A2",
                    None,
                    1.0,
                    None,
                    '{"quantity":"lots"}',
                    "value does not fit its column type: quantity (string is not int)",
                ),
            ],
            "order_id STRING, quantity INT, price DOUBLE, ordered_at TIMESTAMP, "
            "_rescued_data STRING, _rescue_reason STRING",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )


def test_every_line_of_a_file_becomes_exactly_one_row(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    lines = []
    for i in range(500):
        if i % 50 == 0:
            lines.append('{"order_id": "broken"')
        elif i % 7 == 0:
            lines.append(json.dumps({"order_id": f"O{i}", "quantity": "n/a"}))
        else:
            lines.append(json.dumps({"order_id": f"O{i}", "quantity": i}))
    source = write_lines(tmp_path / "many" / "orders.json", lines)
    result = ingest_files(spark, ORDERS, FileSource(source.parent, "json"), lakehouse)
    stored = read_table(spark, ORDERS, lakehouse)
    counts = stored.agg(
        F.count(F.lit(1)).alias("rows"), F.count("_rescued_data").alias("rescued")
    ).first()
    assert counts is not None
    broken = len([i for i in range(500) if i % 50 == 0])
    mismatched = len([i for i in range(500) if i % 50 != 0 and i % 7 == 0])
    assert (counts["rows"], counts["rescued"]) == (500, broken + mismatched)
    assert (result.rows_inserted, result.rows_rescued) == (500, broken + mismatched)


def test_missing_source_and_non_bronze_tables_are_clear_errors(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    with pytest.raises(IngestError, match=r"source path .*nowhere.* does not exist"):
        ingest_files(spark, ORDERS, FileSource(tmp_path / "nowhere", "json"), lakehouse)
    silver = Table("orders", "silver", schema="order_id STRING", primary_keys="order_id")
    with pytest.raises(IngestError, match=r"'silver\.orders': files are ingested into bronze"):
        ingest_files(spark, silver, FileSource(tmp_path, "json"), lakehouse)
    with pytest.raises(IngestError, match="unknown file format 'xml'"):
        FileSource(tmp_path, "xml")  # type: ignore[arg-type]


def test_files_under_a_path_with_spaces_percent_and_backticks_are_ingested_once(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    # Spark stores the file as a URI (my%20landing%2520...); the listing gives it as is.
    landing = tmp_path / "my landing%20 `x`"
    landing.mkdir()
    (landing / "a b%41.json").write_text('{"id": "e1"}\n{"id": "e2"}\n')
    (landing / "plain.json").write_text('{"id": "e3"}\n')
    events = Table("events", "bronze", schema="id STRING")
    source = FileSource(landing, "json")
    first = ingest_files(spark, events, source, lakehouse)
    again = ingest_files(spark, events, source, lakehouse)
    assert (first.rows_written, len(first.files_read)) == (3, 2)
    assert (again.rows_written, len(again.files_read), len(again.files_skipped)) == (0, 0, 2)
    assert read_table(spark, events, lakehouse).count() == 3
