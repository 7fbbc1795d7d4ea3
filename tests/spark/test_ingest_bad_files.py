"""Bronze ingestion on real Spark and Delta: bad files never block good ones, nothing is lost.

Each bad file lies next to good files: the good files' rows are exactly those of ingesting the
good files alone, the bad file is recorded once with its reason, and a rerun reads nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession

from medallion import FileSource, Pipeline, StepContext, StepStatus, Table, ingest_files, read_table
from medallion.ingest.files import IngestResult
from medallion.ingest.records import read_file_records

ORDERS = Table(
    "orders",
    "bronze",
    schema="order_id STRING NOT NULL, quantity INT, price DOUBLE, ordered_at TIMESTAMP",
)
DECLARED = ["order_id", "quantity", "price", "ordered_at"]
COMPARED = [*DECLARED, "_rescued_data", "_rescue_reason"]


def json_line(order_id: str, quantity: object = 1, price: float = 2.5) -> str:
    return json.dumps(
        {
            "order_id": order_id,
            "quantity": quantity,
            "price": price,
            "ordered_at": "2026-02-01T10:00:00",
        },
        ensure_ascii=False,
    )


def good_json(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    a = folder / "a.json"
    a.write_text("\n".join([json_line("A1"), json_line("A2", "two"), '{"order_id": "A3"']) + "\n")
    b = folder / "b.json"
    b.write_text(json_line("B1", 3) + "\n")
    return [a, b]


def good_csv(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    a = folder / "a.csv"
    a.write_text(
        "order_id,quantity,price,ordered_at\nA1,1,2.5,2026-02-01T10:00:00\nA2,two,1.0,\n,4,1.0,\n"
    )
    b = folder / "b.csv"
    b.write_text("order_id,quantity,price,ordered_at\nB1,3,9.0,2026-02-02T10:00:00\n")
    return [a, b]


def good_parquet(spark: SparkSession, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name, rows in {
        "a": [("A1", 1, 2.5), ("A2", 2, 1.0)],
        "b": [("B1", 3, 9.0)],
    }.items():
        out = folder.parent / f"_{folder.name}_{name}"
        spark.createDataFrame(rows, "order_id STRING, quantity INT, price DOUBLE").coalesce(
            1
        ).write.parquet(str(out))
        part = next(out.glob("part-*.parquet"))
        target = folder / f"{name}.parquet"
        shutil.move(str(part), target)
        shutil.rmtree(out)
        files.append(target)
    return files


def stored(spark: SparkSession, root: str | Path) -> DataFrame:
    return read_table(spark, ORDERS, str(root)).select(*COMPARED)


def records(spark: SparkSession, root: str) -> list[dict[str, object]]:
    found = read_file_records(spark, root)
    if found is None:
        return []
    return [r.asDict() for r in found.orderBy("path").collect()]


def ingest(spark: SparkSession, folder: Path, fmt: str, root: str | Path, **kw: object):  # type: ignore[no-untyped-def]
    return ingest_files(
        spark,
        ORDERS,
        FileSource(folder, fmt, **kw),
        str(root),
        run_id="run-1",  # type: ignore[arg-type]
    )


def truncated_parquet(spark: SparkSession, path: Path) -> None:
    scratch = path.parent.parent / "_scratch"
    good_parquet(spark, scratch)
    data = (scratch / "a.parquet").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    shutil.rmtree(scratch)


BAD_KINDS: dict[str, tuple[str, Callable[[SparkSession, Path], None], str]] = {
    "csv header naming no column": (
        "csv",
        lambda _, p: p.write_text("id,qty,cost\nX1,1,2.0\n"),
        "CSV header names none of the schema's columns (header: id, qty, cost; "
        "schema: order_id, quantity, price, ordered_at)",
    ),
    "binary garbage in a .csv": (
        "csv",
        lambda _, p: p.write_bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256))),
        "binary content, not text (a NUL byte at offset 5)",
    ),
    "binary garbage in a .json": (
        "json",
        lambda _, p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))),
        "binary content, not text (a NUL byte at offset 8)",
    ),
    "truncated parquet": (
        "parquet",
        truncated_parquet,
        "cannot be read: {path} is not a Parquet file. Expected magic number at tail, but found",
    ),
    "latin-1 text in a UTF-8 .json": (
        "json",
        lambda _, p: p.write_bytes((json_line("L1") + "\n").replace("L1", "Lé").encode("latin-1")),
        "not UTF-8 text: byte 0xE9 at offset 15 cannot be decoded (set the file's encoding: "
        "FileSource(..., options={'encoding': ...}))",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_KINDS))
def test_a_bad_file_is_recorded_and_skipped_and_the_good_files_are_ingested(
    spark: SparkSession, lakehouse: str, tmp_path: Path, kind: str
) -> None:
    fmt, make_bad, reason = BAD_KINDS[kind]
    makers = {
        "json": good_json,
        "csv": good_csv,
        "parquet": lambda folder: good_parquet(spark, folder),
    }
    good = makers[fmt](tmp_path / "good")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for path in good:
        shutil.copy(path, mixed / path.name)
    bad = mixed / f"m_bad.{fmt}"  # sorted between the good files
    make_bad(spark, bad)

    alone = ingest(spark, tmp_path / "good", fmt, tmp_path / "alone")
    result = ingest(spark, mixed, fmt, lakehouse)

    assert result.rows_written == alone.rows_written > 0
    assert result.rows_rescued == alone.rows_rescued
    assert [Path(p).name for p in result.files_read] == [p.name for p in good]
    assert [Path(r.path).name for r in result.files_bad] == [bad.name]
    assert result.files_bad[0].reason is not None
    assert result.files_bad[0].reason.startswith(reason.replace("{path}", f"file:{bad}"))
    assert result.bad_files_note == f"1 bad file skipped: file:{bad}: {result.files_bad[0].reason}"
    assert_df_equality(
        stored(spark, lakehouse),
        stored(spark, tmp_path / "alone"),
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )
    expected_record = {
        "table": "bronze.orders",
        "path": f"file:{bad}",
        "size": bad.stat().st_size,
        "status": "bad",
        "reason": result.files_bad[0].reason,
        "rows": None,
        "run_id": "run-1",
    }
    [record] = records(spark, lakehouse)
    assert {k: record[k] for k in expected_record} == expected_record
    assert record["modified"] == result.files_bad[0].modified

    # A rerun reads nothing: the good files are in bronze, the bad one is recorded.
    again = ingest(spark, mixed, fmt, lakehouse)
    assert (again.rows_written, again.files_read, again.files_bad, again.version) == (
        0,
        (),
        (),
        None,
    )
    assert len(again.files_skipped) == len(good) + 1
    assert len(records(spark, lakehouse)) == 1
    assert read_table(spark, ORDERS, lakehouse).count() == alone.rows_written


def test_a_bad_file_is_read_again_once_it_changes(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    landing = tmp_path / "in"
    good_json(landing)
    bad = landing / "c.json"
    bad.write_bytes(b"\x00\x01garbage")
    first = ingest(spark, landing, "json", lakehouse)
    assert [Path(r.path).name for r in first.files_bad] == ["c.json"]

    bad.write_text(json_line("C1", 7) + "\n")
    later = dt.datetime.now().timestamp() + 10
    os.utime(bad, (later, later))
    second = ingest(spark, landing, "json", lakehouse)
    assert (second.rows_written, second.files_bad) == (1, ())
    assert [Path(p).name for p in second.files_read] == ["c.json"]
    assert read_table(spark, ORDERS, lakehouse).where("order_id = 'C1'").count() == 1
    assert [r["status"] for r in records(spark, lakehouse)] == ["bad"]  # the old version's


@pytest.mark.parametrize(
    ("fmt", "content"),
    [("json", ""), ("csv", ""), ("parquet", ""), ("csv", "order_id,quantity,price,ordered_at\n")],
    ids=["zero-byte json", "zero-byte csv", "zero-byte parquet", "csv header alone"],
)
def test_a_file_without_records_is_recorded_once_and_not_listed_again(
    spark: SparkSession, lakehouse: str, tmp_path: Path, fmt: str, content: str
) -> None:
    landing = tmp_path / "in"
    if fmt == "parquet":
        good = good_parquet(spark, landing)
    elif fmt == "csv":
        good = good_csv(landing)
    else:
        good = good_json(landing)
    empty = landing / f"empty.{fmt}"
    empty.write_text(content)
    alone = ingest(spark, landing, fmt, tmp_path / "alone", glob=f"[ab].{fmt}")

    first = ingest(spark, landing, fmt, lakehouse)
    assert first.rows_written == alone.rows_written
    assert first.files_empty == (f"file:{empty}",)
    assert first.files_bad == ()
    assert len(first.files_read) == len(good)
    [record] = records(spark, lakehouse)
    assert {k: record[k] for k in ("path", "size", "status", "reason", "rows", "run_id")} == {
        "path": f"file:{empty}",
        "size": len(content),
        "status": "ingested",
        "reason": None,
        "rows": 0,
        "run_id": "run-1",
    }

    again = ingest(spark, landing, fmt, lakehouse)
    assert (again.rows_written, again.files_read, again.files_empty) == (0, (), ())
    assert f"file:{empty}" in again.files_skipped
    assert len(records(spark, lakehouse)) == 1


def test_records_are_not_duplicated_when_a_crashed_run_is_rerun(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    from medallion.ingest.files import read_new_files
    from medallion.ingest.records import record_files

    landing = tmp_path / "in"
    good_json(landing)
    (landing / "z.json").write_bytes(b"\x00\x00")
    (landing / "e.json").write_text("")
    # The first run read the files and recorded them, then died before its write.
    batch = read_new_files(spark, ORDERS, FileSource(landing, "json"), lakehouse, run_id="dead")
    assert sorted(Path(r.path).name for r in batch.records) == ["e.json", "z.json"]
    assert record_files(spark, lakehouse, "bronze.orders", batch.records, run_id="dead") == 0
    rerun = ingest(spark, landing, "json", lakehouse)
    assert rerun.rows_written == 4 and rerun.files_bad == () and rerun.files_empty == ()
    assert [(Path(str(r["path"])).name, r["run_id"]) for r in records(spark, lakehouse)] == [
        ("e.json", "dead"),
        ("z.json", "dead"),
    ]


def test_non_utf8_bytes_past_the_head_are_rescued_with_their_reason(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    landing = tmp_path / "in"
    landing.mkdir()
    filler = [json_line(f"F{i}") for i in range(1200)]  # more than the 64 KiB looked at
    latin = json_line("caf\u00e9").encode("latin-1")
    (landing / "a.json").write_bytes(("\n".join(filler) + "\n").encode() + latin + b"\n")
    csv_filler = "".join(f"F{i},1,2.0,\n" for i in range(8000))
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "a.csv").write_bytes(
        b"order_id,quantity,price,ordered_at\n"
        + csv_filler.encode()
        + "caf\u00e9,1,2.0,\n".encode("latin-1")
    )

    result = ingest(spark, landing, "json", lakehouse)
    assert (result.rows_written, result.rows_rescued, result.files_bad) == (1201, 1, ())
    [row] = read_table(spark, ORDERS, lakehouse).where("_rescued_data IS NOT NULL").collect()
    assert row.order_id == "caf\ufffd"
    assert row._rescue_reason.startswith("not valid UTF-8 text (undecodable bytes became U+FFFD")

    other = tmp_path / "csv_lake"
    result = ingest(spark, tmp_path / "csv", "csv", other)
    assert (result.rows_written, result.rows_rescued, result.files_bad) == (8001, 1, ())
    [row] = read_table(spark, ORDERS, str(other)).where("_rescued_data IS NOT NULL").collect()
    assert row.quantity == 1
    assert row._rescue_reason.startswith("not valid UTF-8 text")
    assert json.loads(row._rescued_data)["order_id"] == "caf\ufffd"


def test_a_file_with_its_encoding_declared_is_read_in_it(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    landing = tmp_path / "in"
    landing.mkdir()
    (landing / "a.json").write_bytes(
        (json_line("café") + "\n" + json_line("B1", "x") + "\n").encode("latin-1")
    )
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "a.csv").write_bytes("order_id;quantity\nZürich;2\n".encode("latin-1"))
    latin = {"encoding": "ISO-8859-1"}
    result = ingest(spark, landing, "json", lakehouse, options=latin)
    assert (result.rows_written, result.rows_rescued, result.files_bad) == (2, 1, ())
    other = tmp_path / "csv_lake"
    result = ingest(spark, tmp_path / "csv", "csv", other, options={**latin, "sep": ";"})
    assert (result.rows_written, result.rows_rescued, result.files_bad) == (1, 0, ())
    assert_df_equality(
        stored(spark, lakehouse).unionByName(stored(spark, other)),
        spark.createDataFrame(
            [
                ("café", 1, 2.5, dt.datetime(2026, 2, 1, 10), None, None),
                (
                    "B1",
                    None,
                    2.5,
                    dt.datetime(2026, 2, 1, 10),
                    json_line("B1", "x"),
                    "value does not fit its column type: quantity (int)",
                ),
                ("Zürich", 2, None, None, None, None),
            ],
            "order_id STRING, quantity INT, price DOUBLE, ordered_at TIMESTAMP, "
            "_rescued_data STRING, _rescue_reason STRING",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )


def test_json_keys_the_schema_lacks_are_rescued_with_the_record(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    landing = tmp_path / "in"
    landing.mkdir()
    coupon = '{"order_id": "A1", "quantity": 2, "price": 9.5, "coupon": "SPRING"}'
    renamed = '{"order_id": "A2", "qty": 3, "price": 1.0}'
    cased = '{"order_id": "A3", "Quantity": 4}'
    nested = '{"order_id": "A4", "extra": {"a": [1, 2]}, "quantity": "x"}'
    null_extra = '{"order_id": "A5", "quantity": 5, "note": null}'
    plain = '{"order_id": "A6", "quantity": 6}'
    (landing / "a.json").write_text("\n".join([coupon, renamed, cased, nested, null_extra, plain]))

    result = ingest(spark, landing, "json", lakehouse)
    assert (result.rows_written, result.rows_rescued) == (6, 4)
    assert_df_equality(
        read_table(spark, ORDERS, lakehouse).select(
            "order_id", "quantity", "price", "_rescued_data", "_rescue_reason"
        ),
        spark.createDataFrame(
            [
                ("A1", 2, 9.5, coupon, "key(s) not in the schema: coupon"),
                ("A2", None, 1.0, renamed, "key(s) not in the schema: qty"),
                ("A3", None, None, cased, "key(s) not in the schema: Quantity"),
                (
                    "A4",
                    None,
                    None,
                    nested,
                    "value does not fit its column type: quantity (int); "
                    "key(s) not in the schema: extra",
                ),
                ("A5", 5, None, None, None),  # a null value is not lost
                ("A6", 6, None, None, None),
            ],
            "order_id STRING, quantity INT, price DOUBLE, _rescued_data STRING, "
            "_rescue_reason STRING",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )


def test_json_documents_with_multiline_rescue_unknown_keys_too(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    landing = tmp_path / "in"
    landing.mkdir()
    (landing / "a.json").write_text(
        '[\n  {"order_id": "A1", "quantity": 1},\n  {"order_id": "A2", "qty": 2}\n]\n'
    )
    (landing / "b.json").write_text('{\n  "order_id": "B1",\n  "quantity": 3\n}\n')
    result = ingest(spark, landing, "json", lakehouse, options={"multiLine": "true"})
    assert (result.rows_written, result.rows_rescued) == (3, 1)
    rows = read_table(spark, ORDERS, lakehouse).orderBy("order_id").collect()
    assert [(r.order_id, r.quantity, r._rescue_reason) for r in rows] == [
        ("A1", 1, None),
        ("A2", None, "key(s) not in the schema: qty"),
        ("B1", 3, None),
    ]
    assert json.loads(rows[1]._rescued_data) == {"order_id": "A2", "qty": 2}


def test_csv_columns_are_matched_by_header_name_and_extra_columns_rescued(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    landing = tmp_path / "in"
    landing.mkdir()
    (landing / "a.csv").write_text("order_id,quantity,price,ordered_at\nA1,1,2.5,\n")
    (landing / "b.csv").write_text("price,ORDER_ID,quantity\n9.0,B1,3\n")  # reordered
    (landing / "c.csv").write_text("order_id,qty,price,coupon\nC1,4,1.0,SPRING\nC2,5,1.0,\n")
    result = ingest(spark, landing, "csv", lakehouse)
    assert (result.rows_written, result.rows_rescued, result.files_bad) == (4, 2, ())
    assert_df_equality(
        read_table(spark, ORDERS, lakehouse).select(
            "order_id", "quantity", "price", "_rescued_data", "_rescue_reason"
        ),
        spark.createDataFrame(
            [
                ("A1", 1, 2.5, None, None),
                ("B1", 3, 9.0, None, None),
                (
                    "C1",
                    None,
                    1.0,
                    '{"qty":"4","coupon":"SPRING"}',
                    "column(s) not in the schema: qty, coupon",
                ),
                ("C2", None, 1.0, '{"qty":"5"}', "column(s) not in the schema: qty"),
            ],
            "order_id STRING, quantity INT, price DOUBLE, _rescued_data STRING, "
            "_rescue_reason STRING",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )


def test_a_parquet_file_whose_data_fails_is_set_aside_at_write(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    landing = tmp_path / "in"
    good_parquet(spark, landing)
    damaged = landing / "c.parquet"
    data = bytearray((landing / "a.parquet").read_bytes())
    data[4:40] = b"\xff" * 36  # the first page's header: the footer still reads
    damaged.write_bytes(bytes(data))
    result = ingest(spark, landing, "parquet", lakehouse)
    assert result.rows_written == 3
    assert [Path(r.path).name for r in result.files_bad] == ["c.parquet"]
    assert str(result.files_bad[0].reason).startswith("cannot be read: ")
    assert [r["status"] for r in records(spark, lakehouse)] == ["bad"]
    again = ingest(spark, landing, "parquet", lakehouse)
    assert (again.rows_written, len(again.files_skipped)) == (0, 3)


def _files_pipeline() -> Pipeline:
    pipeline = Pipeline("landing")

    @pipeline.step(ORDERS)
    def orders(ctx: StepContext) -> DataFrame:
        return ctx.read_files(FileSource(ctx.param("landing"), "csv"))

    return pipeline


def test_a_pipeline_step_writes_the_good_files_and_names_the_bad_ones(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    good = good_csv(landing)
    (landing / "c.csv").write_text("id,qty\nX,1\n")
    (landing / "d.csv").write_bytes(b"\x00\x01\x02")
    (landing / "e.csv").write_text("")
    alone = ingest(spark, tmp_path / "landing", "csv", tmp_path / "alone", glob="[ab].csv")

    run = _files_pipeline().run(spark, lakehouse, params={"landing": landing}, log=False)
    step = run.step("bronze.orders")
    assert step.status is StepStatus.SUCCEEDED
    assert isinstance(step.write, IngestResult)
    assert step.write.rows_written == alone.rows_written
    assert [Path(p).name for p in step.write.files_read] == [p.name for p in good]
    assert [Path(r.path).name for r in step.write.files_bad] == ["c.csv", "d.csv"]
    assert step.write.files_empty == (f"file:{landing / 'e.csv'}",)
    assert step.write.bad_files_note is not None
    assert step.write.bad_files_note.startswith(f"2 bad files skipped: file:{landing}/c.csv: CSV")
    # The step's entry (the run log's note, and the report the command prints) names them.
    assert step.note == step.write.bad_files_note
    assert step.write.bad_files_note in run.render()
    assert_df_equality(
        stored(spark, lakehouse),
        stored(spark, tmp_path / "alone"),
        ignore_row_order=True,
        ignore_nullable=True,
        ignore_metadata=True,
    )
    assert [
        (Path(str(r["path"])).name, r["status"], r["run_id"]) for r in records(spark, lakehouse)
    ] == [
        ("c.csv", "bad", run.run_id),
        ("d.csv", "bad", run.run_id),
        ("e.csv", "ingested", run.run_id),
    ]

    again = _files_pipeline().run(spark, lakehouse, params={"landing": landing}, log=False)
    assert again.step("bronze.orders").status is StepStatus.UP_TO_DATE
    assert again.step("bronze.orders").note == "no new file (5 seen before)"
    assert len(records(spark, lakehouse)) == 3


def test_a_step_whose_only_new_file_is_bad_succeeds_and_names_it(
    spark: SparkSession, lakehouse: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a.csv").write_text("order_id,quantity\nA1,1\n")
    _files_pipeline().run(spark, lakehouse, params={"landing": landing}, log=False)
    (landing / "b.csv").write_bytes(b"\x00garbage")

    step = (
        _files_pipeline()
        .run(spark, lakehouse, params={"landing": landing}, log=False)
        .step("bronze.orders")
    )
    assert step.status is StepStatus.SUCCEEDED
    assert isinstance(step.write, IngestResult)
    assert (step.write.rows_written, step.write.files_read) == (0, ())
    assert step.write.bad_files_note == (
        f"1 bad file skipped: file:{landing}/b.csv: binary content, not text (a NUL byte at "
        "offset 0)"
    )
    assert read_table(spark, ORDERS, lakehouse).count() == 1
