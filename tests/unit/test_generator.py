"""Unit tests of the e-commerce example data generator (no Spark)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import itertools
import json
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from examples.ecommerce import schemas
from examples.ecommerce.generator import (
    CUSTOMER_BAD_KINDS,
    PRODUCT_BAD_KINDS,
    TRANSACTION_BAD_KINDS,
    FileManifest,
    Manifest,
    generate,
    main,
)

STATUSES = {"completed", "pending", "cancelled", "returned"}
PAYMENTS = {"credit_card", "debit_card", "paypal", "apple_pay", "gift_card", "cash"}
CHANNELS = {"web", "mobile", "store"}
TIERS = {"bronze", "silver", "gold", "platinum"}
CATEGORIES = {
    "Electronics",
    "Home & Kitchen",
    "Sports & Outdoors",
    "Books",
    "Beauty",
    "Toys & Games",
    "Clothing",
    "Grocery",
}
ISO_SECONDS = "%Y-%m-%dT%H:%M:%S"


def columns(ddl: str) -> list[str]:
    return [part.split()[0] for part in ddl.split(",")]


def lines_of(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    return text[:-1].split("\n")


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, ISO_SECONDS)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    out = tmp_path_factory.mktemp("default")
    return out, generate(out, transactions=2_000)


@pytest.fixture(scope="module")
def rich_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    """Enough products for every product kind, a higher share, four batches."""
    out = tmp_path_factory.mktemp("rich")
    return out, generate(out, transactions=3_000, products=120, batches=4, bad_share=0.1, seed=7)


# --------------------------------------------------------------------------- classifiers


def customer_ids(out: Path) -> set[str]:
    with (out / "customers/customers.csv").open(newline="", encoding="utf-8") as handle:
        return {row["customer_id"] for row in csv.DictReader(handle) if row["customer_id"]}


def classify_transactions(
    out: Path, entry: FileManifest, known_customers: set[str]
) -> tuple[Counter[str], list[dict[str, Any]]]:
    """Recompute the kind of every line of a batch; return the counts and clean records."""
    window_start = parse_time(entry.window_start or "")
    window_end = parse_time(entry.window_end or "")
    kinds: Counter[str] = Counter()
    clean: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for line in lines_of(out / entry.path):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            kinds["malformed_json"] += 1
            continue
        assert list(record) == columns(schemas.TRANSACTIONS_DDL)
        tid = record["transaction_id"]
        if tid in seen:
            assert seen[tid] == line, "a duplicate is an exact copy"
            kinds["duplicate"] += 1
            continue
        seen[tid] = line
        if record["customer_id"] is None or record["product_id"] is None:
            kinds["null_key"] += 1
        elif (
            isinstance(record["quantity"], str)
            or isinstance(record["unit_price"], str)
            or record["event_time"] == "not-a-date"
        ):
            kinds["malformed_value"] += 1
        elif record["quantity"] <= 0 or record["discount"] > 1:
            kinds["out_of_range"] += 1
        elif record["customer_id"] not in known_customers:
            kinds["unknown_customer"] += 1
        elif (
            record["status"] not in STATUSES
            or record["payment_method"] not in PAYMENTS
            or record["channel"] not in CHANNELS
        ):
            kinds["messy_text"] += 1
        elif parse_time(record["event_time"]) < window_start:
            kinds["late"] += 1
            gap = window_start - parse_time(record["event_time"])
            assert dt.timedelta(days=3) <= gap <= dt.timedelta(days=10)
        else:
            assert parse_time(record["event_time"]) < window_end
            clean.append(record)
    return kinds, clean


def classify_customers(out: Path) -> Counter[str]:
    kinds: Counter[str] = Counter()
    seen: set[str] = set()
    with (out / "customers/customers.csv").open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        assert next(reader) == columns(schemas.CUSTOMERS_DDL)
        for row in reader:
            customer_id, first, _last, email, *_, signup, tier = row
            assert tier in TIERS
            if not customer_id:
                kinds["null_key"] += 1
                continue
            if customer_id in seen:
                kinds["duplicate"] += 1
                continue
            seen.add(customer_id)
            try:
                dt.date.fromisoformat(signup)
            except ValueError:
                kinds["malformed_value"] += 1
                continue
            if email != email.strip().lower() or first != first.strip():
                kinds["messy_text"] += 1
    return kinds


def classify_products(out: Path) -> Counter[str]:
    kinds: Counter[str] = Counter()
    seen: dict[str, str] = {}
    for line in lines_of(out / "products/products.json"):
        record = json.loads(line)
        assert list(record) == columns(schemas.PRODUCTS_DDL)
        if record["product_id"] in seen:
            assert seen[record["product_id"]] == line
            kinds["duplicate"] += 1
            continue
        seen[record["product_id"]] = line
        if isinstance(record["price"], str):
            kinds["malformed_value"] += 1
        elif record["price"] < 0:
            kinds["out_of_range"] += 1
        elif record["category"] not in CATEGORIES:
            kinds["messy_text"] += 1
        else:
            assert 0 < record["cost"] < record["price"]
    return kinds


def nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {kind: count for kind, count in counts.items() if count}


# --------------------------------------------------------------------------- tests


def test_layout_and_schemas(default_run: tuple[Path, Manifest]) -> None:
    out, manifest = default_run
    assert [f.path for f in manifest.files] == [
        "customers/customers.csv",
        "products/products.json",
        "transactions/transactions_001.json",
        "transactions/transactions_002.json",
        "transactions/transactions_003.json",
    ]
    assert [f.format for f in manifest.files] == ["csv", "json", "json", "json", "json"]
    assert manifest.seed == 42
    assert manifest.records("transactions") == 2_000
    assert manifest.records("customers") == 100  # max(50, 2000 // 20)
    assert manifest.records("products") == 20  # max(20, 2000 // 100)
    assert Manifest.read(out / "manifest.json") == manifest


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", transactions=600, seed=3)
    second = generate(tmp_path / "b", transactions=600, seed=3)
    other = generate(tmp_path / "c", transactions=600, seed=4)
    assert first == second
    paths = [entry.path for entry in first.files]
    for path in [*paths, "manifest.json"]:
        content = (tmp_path / "a" / path).read_bytes()
        assert content == (tmp_path / "b" / path).read_bytes(), path
        if path != "manifest.json":
            assert content != (tmp_path / "c" / path).read_bytes(), path
    assert other.seed == 4


@pytest.mark.parametrize("run", ["default_run", "rich_run"])
def test_manifest_counts_equal_lines(run: str, request: pytest.FixtureRequest) -> None:
    out, manifest = request.getfixturevalue(run)
    for entry in manifest.files:
        lines = lines_of(out / entry.path)
        expected = entry.records + (1 if entry.format == "csv" else 0)
        assert len(lines) == expected, entry.path
        assert entry.clean + sum(entry.bad_counts().values()) == entry.records
    with (out / "customers/customers.csv").open(newline="", encoding="utf-8") as handle:
        assert sum(1 for _ in csv.reader(handle)) == manifest.records("customers") + 1


@pytest.mark.parametrize("run", ["default_run", "rich_run"])
def test_every_line_is_the_kind_the_manifest_says(run: str, request: pytest.FixtureRequest) -> None:
    out, manifest = request.getfixturevalue(run)
    known = customer_ids(out)
    for entry in manifest.files_for("transactions"):
        kinds, clean = classify_transactions(out, entry, known)
        assert dict(kinds) == nonzero(entry.bad_counts()), entry.path
        assert len(clean) == entry.clean
    assert dict(classify_customers(out)) == nonzero(manifest.bad("customers"))
    assert dict(classify_products(out)) == nonzero(manifest.bad("products"))


def test_all_kinds_present_at_default_share(
    default_run: tuple[Path, Manifest], rich_run: tuple[Path, Manifest]
) -> None:
    _, manifest = default_run
    assert set(nonzero(manifest.bad("transactions"))) == set(TRANSACTION_BAD_KINDS)
    assert set(nonzero(manifest.bad("customers"))) == set(CUSTOMER_BAD_KINDS)
    # 20 products is below the 50 records from which every kind is guaranteed
    assert sum(manifest.bad("products").values()) == 0
    assert set(nonzero(rich_run[1].bad("products"))) == set(PRODUCT_BAD_KINDS)


@pytest.mark.parametrize("run", ["default_run", "rich_run"])
def test_bad_share_is_respected(run: str, request: pytest.FixtureRequest) -> None:
    _, manifest = request.getfixturevalue(run)
    share = 0.02 if run == "default_run" else 0.1
    for dataset in ("transactions", "customers"):
        records = manifest.records(dataset)
        bad = sum(manifest.bad(dataset).values())
        expected = max(math.floor(records * share + 0.5), len(manifest.bad(dataset)))
        assert bad == expected
        assert abs(bad / records - share) <= max(0.005, 8 / records)


def test_malformed_json_lines_fail_and_others_parse(default_run: tuple[Path, Manifest]) -> None:
    out, manifest = default_run
    for entry in manifest.files_for("transactions"):
        failures = 0
        for line in lines_of(out / entry.path):
            try:
                json.loads(line)
            except json.JSONDecodeError:
                failures += 1
        assert failures == entry.bad_counts()["malformed_json"] > 0
    for line in lines_of(out / "products/products.json"):
        json.loads(line)


def test_late_records_precede_their_batch_window(rich_run: tuple[Path, Manifest]) -> None:
    out, manifest = rich_run
    batches = manifest.files_for("transactions")
    assert batches[0].bad_counts()["late"] == 0
    windows = [(f.window_start, f.window_end) for f in batches]
    assert windows[0][0] == "2026-01-01T00:00:00"
    assert windows[-1][1] == "2026-04-01T00:00:00"
    assert all(a[1] == b[0] for a, b in itertools.pairwise(windows))
    total_late = 0
    for entry in batches:
        start = parse_time(entry.window_start or "")
        late = 0
        for line in lines_of(out / entry.path):
            try:
                event_time = json.loads(line)["event_time"]
            except json.JSONDecodeError:
                continue
            if event_time != "not-a-date" and parse_time(event_time) < start:
                late += 1
        assert late == entry.bad_counts()["late"]
        total_late += late
    assert total_late == manifest.bad("transactions")["late"] > 0


def test_single_batch_late_records_precede_start(tmp_path: Path) -> None:
    manifest = generate(tmp_path, transactions=400, batches=1)
    (entry,) = manifest.files_for("transactions")
    times = []
    for line in lines_of(tmp_path / entry.path):
        with contextlib.suppress(json.JSONDecodeError):
            times.append(json.loads(line)["event_time"])
    late = [t for t in times if t != "not-a-date" and t < "2026-01-01"]
    assert len(late) == entry.bad_counts()["late"] > 0


def test_duplicates_repeat_an_earlier_line_of_the_batch(default_run: tuple[Path, Manifest]) -> None:
    out, manifest = default_run
    all_ids: Counter[str] = Counter()
    for entry in manifest.files_for("transactions"):
        seen: dict[str, str] = {}
        duplicates = 0
        for line in lines_of(out / entry.path):
            try:
                tid = json.loads(line)["transaction_id"]
            except json.JSONDecodeError:
                continue
            if tid in seen:
                assert seen[tid] == line
                duplicates += 1
            else:
                seen[tid] = line
                all_ids[tid] += 1
        assert duplicates == entry.bad_counts()["duplicate"] > 0
    assert max(all_ids.values()) == 1, "no id repeats across batches"


def test_clean_transactions_are_consistent(rich_run: tuple[Path, Manifest]) -> None:
    out, manifest = rich_run
    prices: dict[str, float] = {}
    for line in lines_of(out / "products/products.json"):
        record = json.loads(line)
        if isinstance(record["price"], float) and record["price"] > 0:
            prices[record["product_id"]] = record["price"]
    known = customer_ids(out)
    orders: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in manifest.files_for("transactions"):
        _, clean = classify_transactions(out, entry, known)
        for record in clean:
            assert record["transaction_id"][0] == "T"
            assert record["customer_id"].startswith("C") and len(record["customer_id"]) == 7
            assert record["product_id"].startswith("P") and len(record["product_id"]) == 6
            assert 1 <= record["quantity"] <= 5
            assert 0 <= record["discount"] <= 0.3
            assert record["discount"] == round(record["discount"], 2)
            if record["product_id"] in prices:
                assert record["unit_price"] == prices[record["product_id"]]
            assert record["payment_method"] != "cash" or record["channel"] == "store"
            orders[record["order_id"]].append(record)
    discounts = [r["discount"] for rs in orders.values() for r in rs]
    assert discounts.count(0.0) > len(discounts) / 2
    for records in orders.values():
        assert 1 <= len(records) <= 3
        assert len({(r["customer_id"], r["event_time"]) for r in records}) == 1
    assert any(len(records) > 1 for records in orders.values())


def test_zero_share_is_all_clean(tmp_path: Path) -> None:
    manifest = generate(tmp_path, transactions=300, bad_share=0)
    assert all(f.bad_total == 0 for f in manifest.files)
    known = customer_ids(tmp_path)
    for entry in manifest.files_for("transactions"):
        kinds, clean = classify_transactions(tmp_path, entry, known)
        assert not kinds and len(clean) == entry.records


def test_existing_output_is_replaced(tmp_path: Path) -> None:
    stale = tmp_path / "transactions" / "transactions_009.json"
    stale.parent.mkdir()
    stale.write_text("old\n")
    keep = tmp_path / "notes.txt"
    keep.write_text("mine\n")
    generate(tmp_path, transactions=200, batches=2)
    assert not stale.exists()
    assert keep.read_text() == "mine\n"
    assert sorted(p.name for p in (tmp_path / "transactions").iterdir()) == [
        "transactions_001.json",
        "transactions_002.json",
    ]


def test_manifest_round_trip_and_helpers(default_run: tuple[Path, Manifest]) -> None:
    _, manifest = default_run
    data = json.loads(manifest.to_json())
    assert set(data) == {"seed", "files"}
    assert set(data["files"][0]) == {
        "path", "dataset", "format", "records", "bad", "window_start", "window_end"
    }  # fmt: skip
    assert Manifest.from_json(manifest.to_json()) == manifest
    entry = manifest.files[2]
    assert list(entry.bad_counts()) == list(TRANSACTION_BAD_KINDS)
    assert manifest.clean("transactions") + sum(manifest.bad("transactions").values()) == 2_000
    assert FileManifest("x.csv", "customers", "csv", 3, {"null_key": 1}).bad == (("null_key", 1),)
    with pytest.raises(ValueError, match="dataset"):
        manifest.records("orders")
    with pytest.raises(ValueError):
        Manifest.from_json("[]")
    with pytest.raises(ValueError, match="records"):
        Manifest.from_json(
            '{"seed": 1, "files": [{"path": "a", "dataset": "products", "format": "json"}]}'
        )
    with pytest.raises(ValueError):
        FileManifest("a.json", "products", "json", 1, {"duplicate": 2})


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"transactions": 0}, "transactions"),
        ({"transactions": 2.5}, "transactions"),
        ({"customers": 0}, "customers"),
        ({"products": -1}, "products"),
        ({"batches": 0}, "batches"),
        ({"batches": 91}, "batches"),
        ({"transactions": 2, "batches": 3}, "batches"),
        ({"bad_share": -0.1}, "bad_share"),
        ({"bad_share": 0.75}, "bad_share"),
        ({"bad_share": float("nan")}, "bad_share"),
        ({"seed": "42"}, "seed"),
        ({"start_date": "2026-01-01"}, "start_date"),
        ({"days": 0}, "days"),
    ],
)
def test_invalid_arguments(tmp_path: Path, kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name} "):
        generate(tmp_path, **kwargs)
    assert not any(tmp_path.iterdir()), "nothing written on invalid arguments"


def test_out_dir_must_not_be_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("")
    with pytest.raises(ValueError, match=r"^out_dir "):
        generate(target, transactions=10)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--out", str(tmp_path), "--transactions", "500", "--seed", "5", "--batches", "2"]
    assert main([*argv, "--bad-share", "0.04"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 5  # customers, products, two batches, manifest
    assert printed[2].startswith("transactions/transactions_001.json: ")
    manifest = Manifest.read(tmp_path / "manifest.json")
    assert manifest.seed == 5 and manifest.records("transactions") == 500
    assert main([*argv, "--bad-share", "2"]) == 2
    assert "bad_share" in capsys.readouterr().err


@pytest.mark.parametrize("run", ["default_run", "rich_run"])
def test_order_lines_share_time_and_are_contiguous(
    run: str, request: pytest.FixtureRequest
) -> None:
    out, manifest = request.getfixturevalue(run)
    for entry in manifest.files_for("transactions"):
        times: defaultdict[str, set[str]] = defaultdict(set)
        order_sequence: list[str] = []
        seen: set[str] = set()
        for line in lines_of(out / entry.path):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if record["transaction_id"] in seen:
                continue
            seen.add(record["transaction_id"])
            if record["event_time"] != "not-a-date":
                times[record["order_id"]].add(record["event_time"])
            if not order_sequence or order_sequence[-1] != record["order_id"]:
                order_sequence.append(record["order_id"])
        assert all(len(values) == 1 for values in times.values())
        # an order's lines may only be interrupted by a late line or a malformed one
        assert len(order_sequence) - len(set(order_sequence)) <= entry.bad_total
