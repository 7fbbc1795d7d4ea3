"""Deterministic generator of a realistic, deliberately dirty e-commerce dataset.

The generator writes the raw (bronze) input of the example pipeline::

    OUT/customers/customers.csv                CSV with a header line
    OUT/products/products.json                 JSON Lines
    OUT/transactions/transactions_001.json     JSON Lines, one file per batch
    OUT/transactions/transactions_002.json     ...
    OUT/manifest.json                          what was written (see Manifest)

The same arguments (seed included) always produce byte-identical files for a
given Faker version. Faker is only used for the small customer and product
dimensions; transactions use :class:`random.Random` and pre-formatted strings so
that a million of them take seconds.

A controlled share of every dataset is dirty. Each dirty record is of exactly
one kind, and the manifest counts the records of each kind per file, so
``records == clean + sum(bad)`` holds for every file. The kinds are:

transactions
    ``null_key`` (``customer_id`` or ``product_id`` is ``null``),
    ``malformed_value`` (``"quantity": "three"``, ``"unit_price": "12,50"`` or
    ``"abc"``, ``"event_time": "not-a-date"``), ``malformed_json`` (the line is
    not valid JSON), ``duplicate`` (an exact copy of an earlier line of the same
    batch), ``late`` (``event_time`` 3 to 10 days before the start of the
    batch's time window, in a later batch when there is one), ``out_of_range``
    (``quantity`` <= 0 or ``discount`` > 1), ``unknown_customer`` (a
    ``customer_id`` that no customer has) and ``messy_text`` (``status``,
    ``payment_method`` or ``channel`` with odd case or surrounding spaces).
customers
    ``null_key`` (empty ``customer_id``), ``malformed_value`` (``signup_date``
    such as ``31/02/2024`` or ``yesterday``), ``duplicate`` (a second row for an
    existing ``customer_id``, sometimes with a changed email or tier) and
    ``messy_text`` (upper-case email with surrounding spaces, names in odd case).
products
    ``malformed_value`` (``"price": "N/A"``), ``out_of_range`` (negative price),
    ``duplicate`` (an exact copy of an earlier line) and ``messy_text``
    (category with odd case or surrounding spaces).

Run it as ``python -m examples.ecommerce.generator --out DIR``.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import datetime as dt
import itertools
import json
import math
import random
import re
import shutil
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple

import attrs
from faker import Faker

from .schemas import CUSTOMERS_DDL, PRODUCTS_DDL, TRANSACTIONS_DDL

__all__ = [
    "BAD_KINDS",
    "CUSTOMER_BAD_KINDS",
    "DATASETS",
    "MAX_BAD_SHARE",
    "MIN_RECORDS_FOR_ALL_KINDS",
    "PRODUCT_BAD_KINDS",
    "TRANSACTION_BAD_KINDS",
    "FileManifest",
    "Manifest",
    "TransactionLine",
    "generate",
    "main",
    "transaction_lines",
]

DATASETS: Final[tuple[str, ...]] = ("customers", "products", "transactions")
"""Names of the generated datasets, in the order they appear in the manifest."""

TRANSACTION_BAD_KINDS: Final[tuple[str, ...]] = (
    "null_key",
    "malformed_value",
    "malformed_json",
    "duplicate",
    "late",
    "out_of_range",
    "unknown_customer",
    "messy_text",
)
"""Kinds of dirty transaction records."""

CUSTOMER_BAD_KINDS: Final[tuple[str, ...]] = (
    "null_key",
    "malformed_value",
    "duplicate",
    "messy_text",
)
"""Kinds of dirty customer records."""

PRODUCT_BAD_KINDS: Final[tuple[str, ...]] = (
    "malformed_value",
    "out_of_range",
    "duplicate",
    "messy_text",
)
"""Kinds of dirty product records."""

BAD_KINDS: Final[Mapping[str, tuple[str, ...]]] = {
    "customers": CUSTOMER_BAD_KINDS,
    "products": PRODUCT_BAD_KINDS,
    "transactions": TRANSACTION_BAD_KINDS,
}
"""Dirty-record kinds of each dataset."""

MIN_RECORDS_FOR_ALL_KINDS: Final = 50
"""From this many records on, a positive ``bad_share`` yields every kind at least once."""

MAX_BAD_SHARE: Final = 0.5
"""Largest accepted ``bad_share``."""

_FORMATS: Final[tuple[str, ...]] = ("csv", "json")
_SECONDS_PER_DAY: Final = 86_400


def _columns(ddl: str) -> tuple[str, ...]:
    return tuple(part.split()[0] for part in ddl.split(","))


_CUSTOMER_COLUMNS: Final = _columns(CUSTOMERS_DDL)
_PRODUCT_COLUMNS: Final = _columns(PRODUCTS_DDL)
_TRANSACTION_COLUMNS: Final = _columns(TRANSACTIONS_DDL)


# --------------------------------------------------------------------------- manifest


def _bad_pairs(
    value: Mapping[str, int] | Iterable[tuple[str, int]],
) -> tuple[tuple[str, int], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple((str(kind), int(count)) for kind, count in items)


def _file_tuple(files: Iterable[FileManifest]) -> tuple[FileManifest, ...]:
    return tuple(files)


@attrs.frozen
class FileManifest:
    """Description of one generated file.

    Attributes:
        path: Path of the file relative to the output directory, with ``/``.
        dataset: ``"customers"``, ``"products"`` or ``"transactions"``.
        format: ``"csv"`` or ``"json"`` (JSON Lines).
        records: Number of records (lines, the CSV header excluded).
        bad: ``(kind, count)`` pairs of dirty records; a mapping is accepted too.
        window_start: For a transaction batch, the start of its event-time window
            (``YYYY-MM-DDTHH:MM:SS``, inclusive); ``None`` otherwise.
        window_end: For a transaction batch, the end of its window (exclusive).
    """

    path: str
    dataset: str
    format: str
    records: int
    bad: tuple[tuple[str, int], ...] = attrs.field(default=(), converter=_bad_pairs)
    window_start: str | None = None
    window_end: str | None = None

    def __attrs_post_init__(self) -> None:
        """Check the invariants of the description.

        Raises:
            ValueError: If the dataset or format is unknown, a count is negative
                or the dirty records outnumber the records.
        """
        if self.dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {self.dataset!r}")
        if self.format not in _FORMATS:
            raise ValueError(f"format must be one of {_FORMATS}, got {self.format!r}")
        if self.records < 0:
            raise ValueError(f"records must be >= 0, got {self.records}")
        kinds = [kind for kind, _ in self.bad]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"bad kinds must be unique, got {kinds}")
        if any(count < 0 for _, count in self.bad):
            raise ValueError(f"bad counts must be >= 0, got {self.bad}")
        if self.bad_total > self.records:
            raise ValueError(f"{self.path}: {self.bad_total} bad records out of {self.records}")

    def bad_counts(self) -> dict[str, int]:
        """Return the number of dirty records of each kind.

        Returns:
            A new dict mapping kind to count, in generation order.
        """
        return dict(self.bad)

    @property
    def bad_total(self) -> int:
        """Number of dirty records, all kinds together."""
        return sum(count for _, count in self.bad)

    @property
    def clean(self) -> int:
        """Number of clean records."""
        return self.records - self.bad_total

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form used in ``manifest.json``.

        Returns:
            A dict with the keys ``path``, ``dataset``, ``format``, ``records``,
            ``bad`` (an object kind -> count), ``window_start`` and ``window_end``.
        """
        return {
            "path": self.path,
            "dataset": self.dataset,
            "format": self.format,
            "records": self.records,
            "bad": self.bad_counts(),
            "window_start": self.window_start,
            "window_end": self.window_end,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FileManifest:
        """Build a description from its :meth:`to_dict` form.

        Args:
            data: The parsed JSON object.

        Returns:
            The file description.

        Raises:
            ValueError: If a key is missing or has the wrong type.
        """
        bad = data.get("bad", {})
        if not isinstance(bad, Mapping) or not all(
            isinstance(k, str) and _is_int(v) for k, v in bad.items()
        ):
            raise ValueError(f"manifest file entry: bad must map kind to int, got {bad!r}")
        return cls(
            path=_get_str(data, "path"),
            dataset=_get_str(data, "dataset"),
            format=_get_str(data, "format"),
            records=_get_int(data, "records"),
            bad=bad,
            window_start=_get_optional_str(data, "window_start"),
            window_end=_get_optional_str(data, "window_end"),
        )


@attrs.frozen
class Manifest:
    """What :func:`generate` wrote: the seed and one entry per file.

    Attributes:
        seed: The seed the files were generated with.
        files: One :class:`FileManifest` per data file, customers first, then
            products, then the transaction batches in order.
    """

    seed: int
    files: tuple[FileManifest, ...] = attrs.field(converter=_file_tuple)

    def files_for(self, dataset: str) -> tuple[FileManifest, ...]:
        """Return the files of one dataset.

        Args:
            dataset: ``"customers"``, ``"products"`` or ``"transactions"``.

        Returns:
            The dataset's file descriptions, in order.

        Raises:
            ValueError: If ``dataset`` is not a known dataset name.
        """
        if dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
        return tuple(f for f in self.files if f.dataset == dataset)

    def records(self, dataset: str) -> int:
        """Return the number of records of a dataset over all its files.

        Args:
            dataset: ``"customers"``, ``"products"`` or ``"transactions"``.

        Returns:
            The number of records, dirty ones included.
        """
        return sum(f.records for f in self.files_for(dataset))

    def bad(self, dataset: str) -> dict[str, int]:
        """Return the number of dirty records of each kind of a dataset.

        Args:
            dataset: ``"customers"``, ``"products"`` or ``"transactions"``.

        Returns:
            A dict mapping kind to count summed over the dataset's files.
        """
        totals: dict[str, int] = {}
        for f in self.files_for(dataset):
            for kind, count in f.bad:
                totals[kind] = totals.get(kind, 0) + count
        return totals

    def clean(self, dataset: str) -> int:
        """Return the number of clean records of a dataset.

        Args:
            dataset: ``"customers"``, ``"products"`` or ``"transactions"``.

        Returns:
            Records minus dirty records.
        """
        return sum(f.clean for f in self.files_for(dataset))

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form of the manifest.

        Returns:
            ``{"seed": int, "files": [FileManifest.to_dict(), ...]}``.
        """
        return {"seed": self.seed, "files": [f.to_dict() for f in self.files]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        """Build a manifest from its :meth:`to_dict` form.

        Args:
            data: The parsed JSON object.

        Returns:
            The manifest.

        Raises:
            ValueError: If the structure is not a manifest.
        """
        files = data.get("files")
        if not isinstance(files, list) or not all(isinstance(f, Mapping) for f in files):
            raise ValueError("manifest: files must be a list of objects")
        return cls(
            seed=_get_int(data, "seed"),
            files=[FileManifest.from_dict(f) for f in files],
        )

    def to_json(self) -> str:
        """Serialise the manifest.

        Returns:
            Indented JSON text (deterministic, no trailing newline).
        """
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse a manifest serialised by :meth:`to_json`.

        Args:
            text: The JSON text.

        Returns:
            The manifest.

        Raises:
            ValueError: If the text is not valid JSON or not a manifest.
        """
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("manifest: top level must be a JSON object")
        return cls.from_dict(data)

    def write(self, path: str | Path) -> None:
        """Write the manifest as JSON (with a final newline).

        Args:
            path: The file to (over)write.
        """
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: str | Path) -> Manifest:
        """Read a manifest written by :meth:`write`.

        Args:
            path: The manifest file, usually ``OUT/manifest.json``.

        Returns:
            The manifest.
        """
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _get_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"manifest: {key} must be a string, got {value!r}")
    return value


def _get_int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"manifest: {key} must be an integer, got {value!r}")
    return value


def _get_optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"manifest: {key} must be a string or null, got {value!r}")
    return value


# --------------------------------------------------------------------------- vocabulary

_LOYALTY_TIERS: Final = ("bronze", "silver", "gold", "platinum")
_LOYALTY_CUM: Final = tuple(itertools.accumulate((55, 28, 13, 4)))

_CHANNELS: Final = ("web", "mobile", "store")
_CHANNEL_CUM: Final = tuple(itertools.accumulate((50, 35, 15)))

_PAY_ONLINE: Final = ("credit_card", "debit_card", "paypal", "apple_pay", "gift_card")
_PAY_ONLINE_CUM: Final = tuple(itertools.accumulate((45, 20, 18, 12, 5)))
_PAY_STORE: Final = ("credit_card", "debit_card", "cash", "gift_card")
_PAY_STORE_CUM: Final = tuple(itertools.accumulate((40, 30, 25, 5)))

_STATUSES: Final = ("completed", "pending", "cancelled", "returned")
_STATUS_CUM: Final = tuple(itertools.accumulate((85, 6, 5, 4)))

_QUANTITIES: Final = (1, 2, 3, 4, 5)
_QUANTITY_CUM: Final = tuple(itertools.accumulate((60, 22, 10, 5, 3)))
_QUANTITY_WORDS: Final = ("zero", "one", "two", "three", "four", "five")

_ORDER_SIZES: Final = (1, 2, 3)
_ORDER_SIZE_CUM: Final = tuple(itertools.accumulate((65, 25, 10)))

_DISCOUNT_SHARE: Final = 0.2
_DISCOUNTS: Final = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)

_HOURS: Final = tuple(range(24))
_HOUR_CUM: Final = tuple(
    itertools.accumulate(
        (2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 10, 11, 10, 9, 9, 10, 11, 13, 14, 14, 12, 8, 4)
    )
)

# category, price range, product nouns
_CATEGORIES: Final[tuple[tuple[str, float, float, tuple[str, ...]], ...]] = (
    (
        "Electronics",
        15.0,
        1200.0,
        (
            "Headphones",
            "Speaker",
            "Charger",
            "Keyboard",
            "Mouse",
            "Monitor",
            "Smartwatch",
            "Tablet",
            "Webcam",
            "Router",
        ),
    ),
    (
        "Home & Kitchen",
        5.0,
        400.0,
        (
            "Blender",
            "Knife Set",
            "Frying Pan",
            "Coffee Maker",
            "Toaster",
            "Kettle",
            "Cutting Board",
            "Desk Lamp",
            "Towel Set",
            "Storage Box",
        ),
    ),
    (
        "Sports & Outdoors",
        8.0,
        500.0,
        (
            "Yoga Mat",
            "Water Bottle",
            "Tent",
            "Backpack",
            "Dumbbell Set",
            "Bike Helmet",
            "Jump Rope",
            "Sleeping Bag",
        ),
    ),
    (
        "Books",
        5.0,
        60.0,
        ("Cookbook", "Novel", "Travel Guide", "Biography", "Atlas", "Poetry Collection"),
    ),
    (
        "Beauty",
        4.0,
        120.0,
        ("Face Cream", "Shampoo", "Lipstick", "Perfume", "Hair Dryer", "Nail Kit"),
    ),
    (
        "Toys & Games",
        5.0,
        150.0,
        ("Puzzle", "Board Game", "Building Blocks", "Plush Bear", "RC Car", "Card Game"),
    ),
    (
        "Clothing",
        8.0,
        250.0,
        ("T-Shirt", "Hoodie", "Jeans", "Jacket", "Sneakers", "Scarf", "Socks"),
    ),
    (
        "Grocery",
        1.0,
        50.0,
        ("Coffee Beans", "Olive Oil", "Green Tea", "Dark Chocolate", "Pasta", "Honey", "Granola"),
    ),
)
_ADJECTIVES: Final = (
    "Classic", "Compact", "Deluxe", "Eco", "Essential", "Premium", "Smart", "Ultra",
    "Portable", "Everyday", "Vintage", "Modern",
)  # fmt: skip
_MODEL_SUFFIXES: Final = ("Pro", "Max", "Mini", "Lite", "Plus", "2", "3", "XL")
_BRAND_SUFFIXES: Final = ("", "", " & Co", " Labs", " Works", " Goods", " Supply")

_BAD_SIGNUP_DATES: Final = ("31/02/2024", "yesterday", "N/A", "2024-13-45")
_BAD_PRICES: Final = ("N/A", "n/a", "TBD")

_POOL_SIZE: Final = 2_000
_NON_LETTERS: Final = re.compile(r"[^a-z]")

_TXN_LINE: Final = (
    '{{"transaction_id": "{}", "order_id": "{}", "customer_id": "{}", '
    '"product_id": "{}", "quantity": {}, "unit_price": {}, "discount": {}, '
    '"payment_method": "{}", "status": "{}", "channel": "{}", "event_time": "{}"}}'
).format


# --------------------------------------------------------------------------- helpers


def _bad_total(records: int, share: float, kinds: int, cap: int) -> int:
    """Number of dirty records: ``share`` of ``records`` rounded half up."""
    if share <= 0 or records <= 0:
        return 0
    total = math.floor(records * share + 0.5)
    if records >= MIN_RECORDS_FOR_ALL_KINDS:
        total = max(total, kinds)
    return max(0, min(total, cap))


def _split(total: int, kinds: Sequence[str]) -> dict[str, int]:
    """Spread ``total`` evenly over ``kinds``; the first kinds get the remainder."""
    base, extra = divmod(total, len(kinds))
    return {kind: base + (1 if i < extra else 0) for i, kind in enumerate(kinds)}


def _width(largest: int, minimum: int) -> int:
    return max(minimum, len(str(largest)))


def _messy_case(value: str, rng: random.Random) -> str:
    """Return ``value`` with odd case and/or surrounding spaces (never unchanged)."""
    variant = rng.randrange(5)
    if variant == 0:
        out = value.upper()
    elif variant == 1:
        out = value.title()
    elif variant == 2:
        out = f"  {value.capitalize()} "
    elif variant == 3:
        out = f" {value} "
    else:
        out = value.replace("_", " ").title()
    return out if out != value else f" {value.upper()} "


def _odd_name_case(value: str, rng: random.Random) -> str:
    variant = rng.randrange(3)
    if variant == 0:
        out = value.upper()
    elif variant == 1:
        out = value.lower()
    else:
        out = value[:1].lower() + value[1:].upper()
    return out if out != value else f" {value.swapcase()}"


class _Dimension(NamedTuple):
    """Ids a transaction may reference, with popularity weights."""

    ids: list[str]
    cum_weights: list[float]


class _DatasetResult(NamedTuple):
    records: int
    bad: dict[str, int]


# --------------------------------------------------------------------------- customers


def _write_customers(
    path: Path | None,
    fake: Faker,
    rng: random.Random,
    rows_wanted: int,
    share: float,
    start_date: dt.date,
) -> tuple[_DatasetResult, _Dimension]:
    kinds = _split(
        _bad_total(rows_wanted, share, len(CUSTOMER_BAD_KINDS), rows_wanted - 1),
        CUSTOMER_BAD_KINDS,
    )
    n_ids = rows_wanted - kinds["null_key"] - kinds["duplicate"]
    width = _width(n_ids, 6)

    pool = min(rows_wanted, _POOL_SIZE)
    first_names = [fake.first_name() for _ in range(pool)]
    last_names = [fake.last_name() for _ in range(pool)]
    places = [(fake.city(), fake.state_abbr(include_territories=False)) for _ in range(pool)]
    domains = [fake.free_email_domain() for _ in range(min(pool, 50))]
    used_emails: set[str] = set()

    def email_for(first: str, last: str) -> str:
        f, s = _NON_LETTERS.sub("", first.lower()), _NON_LETTERS.sub("", last.lower())
        pattern = rng.randrange(4)
        if pattern == 0:
            local = f"{f}.{s}"
        elif pattern == 1:
            local = f"{f[:1]}{s}"
        elif pattern == 2:
            local = f"{f}_{s}"
        else:
            local = f"{f}{s}{rng.randrange(1, 100)}"
        email = f"{local}@{rng.choice(domains)}"
        while email in used_emails:
            email = f"{local}{rng.randrange(1, 10_000)}@{rng.choice(domains)}"
        used_emails.add(email)
        return email

    def profile(customer_id: str) -> list[str]:
        first, last = rng.choice(first_names), rng.choice(last_names)
        city, state = rng.choice(places)
        phone = f"{rng.randrange(201, 990)}-{rng.randrange(200, 1000)}-{rng.randrange(10_000):04d}"
        signup = start_date - dt.timedelta(days=rng.randrange(1, 3 * 365))
        tier = rng.choices(_LOYALTY_TIERS, cum_weights=_LOYALTY_CUM)[0]
        return [
            customer_id, first, last, email_for(first, last), phone, city, state, "US",
            signup.isoformat(), tier,
        ]  # fmt: skip

    rows = [profile(f"C{i:0{width}d}") for i in range(1, n_ids + 1)]

    n_malformed, n_messy = kinds["malformed_value"], kinds["messy_text"]
    targets = rng.sample(range(n_ids), n_malformed + n_messy)
    for index in targets[:n_malformed]:
        row = rows[index]
        signup = dt.date.fromisoformat(row[8])
        row[8] = rng.choice((*_BAD_SIGNUP_DATES, signup.strftime("%d/%m/%Y")))
    for index in targets[n_malformed:]:
        row = rows[index]
        row[3] = rng.choice(("  {} ", " {}", "{}  ")).format(row[3].upper())
        if rng.random() < 0.7:
            row[1] = _odd_name_case(row[1], rng)
        if rng.random() < 0.5:
            row[2] = _odd_name_case(row[2], rng)

    dirty = set(targets)
    clean = [i for i in range(n_ids) if i not in dirty]
    extras: dict[int, list[list[str]]] = {}
    for _ in range(kinds["null_key"]):
        extras.setdefault(rng.randrange(-1, n_ids), []).append(profile(""))
    for _ in range(kinds["duplicate"]):
        source = rng.choice(clean)
        copy = list(rows[source])
        change = rng.random()
        if change < 0.4:
            copy[3] = email_for(copy[1], copy[2])
        elif change < 0.7:
            copy[9] = rng.choice([t for t in _LOYALTY_TIERS if t != copy[9]])
        extras.setdefault(rng.randrange(source, n_ids), []).append(copy)

    ordered = list(extras.get(-1, ()))
    for index in range(n_ids):
        ordered.append(rows[index])
        ordered.extend(extras.get(index, ()))
    if path is not None:
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(_CUSTOMER_COLUMNS)
            writer.writerows(ordered)

    ids = [rows[i][0] for i in range(n_ids)]
    weights = itertools.accumulate(rng.lognormvariate(0.0, 1.0) for _ in ids)
    return _DatasetResult(len(ordered), kinds), _Dimension(ids, list(weights))


# --------------------------------------------------------------------------- products


def _write_products(
    path: Path | None,
    fake: Faker,
    rng: random.Random,
    rows_wanted: int,
    share: float,
    start_date: dt.date,
) -> tuple[_DatasetResult, _Dimension, list[float]]:
    kinds = _split(
        _bad_total(rows_wanted, share, len(PRODUCT_BAD_KINDS), rows_wanted - 1),
        PRODUCT_BAD_KINDS,
    )
    n_ids = rows_wanted - kinds["duplicate"]
    width = _width(n_ids, 5)
    brands = [
        fake.last_name() + rng.choice(_BRAND_SUFFIXES) for _ in range(min(500, max(5, n_ids // 8)))
    ]
    start = dt.datetime.combine(start_date, dt.time())

    rows: list[dict[str, Any]] = []
    prices: list[float] = []
    for i in range(1, n_ids + 1):
        category, low, high, nouns = rng.choice(_CATEGORIES)
        name = f"{rng.choice(_ADJECTIVES)} {rng.choice(nouns)}"
        if rng.random() < 0.3:
            name = f"{name} {rng.choice(_MODEL_SUFFIXES)}"
        # log-uniform in the category's range, ending in .99
        raw = math.exp(rng.uniform(math.log(low), math.log(high)))
        price = round(max(low, round(raw)) - 0.01, 2)
        created = start - dt.timedelta(seconds=rng.randrange(1, 730 * _SECONDS_PER_DAY))
        rows.append(
            {
                "product_id": f"P{i:0{width}d}",
                "name": name,
                "category": category,
                "brand": rng.choice(brands),
                "price": price,
                "cost": round(price * rng.uniform(0.35, 0.75), 2),
                "active": rng.random() < 0.92,
                "created_at": created.isoformat(),
            }
        )
        prices.append(price)

    n_malformed, n_range, n_messy = (
        kinds["malformed_value"],
        kinds["out_of_range"],
        kinds["messy_text"],
    )
    targets = rng.sample(range(n_ids), n_malformed + n_range + n_messy)
    for index in targets[:n_malformed]:
        row = rows[index]
        row["price"] = rng.choice((*_BAD_PRICES, f"${row['price']:.2f}"))
    for index in targets[n_malformed : n_malformed + n_range]:
        rows[index]["price"] = -rows[index]["price"]
    for index in targets[n_malformed + n_range :]:
        rows[index]["category"] = _messy_case(rows[index]["category"], rng)

    lines = [json.dumps(row) for row in rows]
    dirty = set(targets)
    clean = [i for i in range(n_ids) if i not in dirty]
    extras: dict[int, list[str]] = {}
    for _ in range(kinds["duplicate"]):
        source = rng.choice(clean)
        extras.setdefault(rng.randrange(source, n_ids), []).append(lines[source])

    ordered: list[str] = []
    for index, line in enumerate(lines):
        ordered.append(line)
        ordered.extend(extras.get(index, ()))
    if path is not None:
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            handle.writelines(line + "\n" for line in ordered)
    written = len(ordered)

    ids = [row["product_id"] for row in rows]
    ranks = list(range(1, n_ids + 1))
    rng.shuffle(ranks)
    weights = itertools.accumulate(1.0 / rank**0.9 for rank in ranks)
    return _DatasetResult(written, kinds), _Dimension(ids, list(weights)), prices


# --------------------------------------------------------------------------- transactions


def _allocate(kinds: Mapping[str, int], sizes: Sequence[int]) -> list[dict[str, int]]:
    """Spread the dirty transactions over the batches, proportionally to their sizes.

    A batch always keeps at least one clean record (a duplicate needs a clean
    source); ``late`` records go to batches after the first when there are any.
    Records that do not fit anywhere are dropped (they stay clean).
    """
    batches = len(sizes)
    used = [0] * batches
    per_batch = [dict.fromkeys(TRANSACTION_BAD_KINDS, 0) for _ in range(batches)]
    for position, kind in enumerate(TRANSACTION_BAD_KINDS):
        count = kinds.get(kind, 0)
        first = 1 if kind == "late" and batches > 1 else 0
        eligible = list(range(first, batches))
        cumulative = list(itertools.accumulate(sizes[b] for b in eligible))
        if count == 0 or cumulative[-1] == 0:
            continue
        offset = (position + 0.5) / len(TRANSACTION_BAD_KINDS)
        for item in range(count):
            target = (item + offset) * cumulative[-1] / count
            start = min(bisect.bisect_right(cumulative, target), len(eligible) - 1)
            for step in range(len(eligible)):
                batch = eligible[(start + step) % len(eligible)]
                if used[batch] < sizes[batch] - 1:
                    used[batch] += 1
                    per_batch[batch][kind] += 1
                    break
    return per_batch


class TransactionLine(NamedTuple):
    """One line of the generated transaction files (see :func:`transaction_lines`).

    Attributes:
        text: The line as written, without its line break.
        transaction_id: The id of the transaction the line is about (also for a line that
            is not valid JSON, or that duplicates an earlier one).
        kind: The dirty-record kind of the line (one of :data:`TRANSACTION_BAD_KINDS`), or
            ``None`` for a clean line.
    """

    text: str
    transaction_id: str
    kind: str | None


class _TransactionWriter:
    """Writes the transaction batches; keeps the id counters across batches."""

    def __init__(
        self,
        rng: random.Random,
        customers: _Dimension,
        products: _Dimension,
        prices: Sequence[float],
        start_date: dt.date,
        total: int,
    ) -> None:
        self.rng = rng
        self.customers = customers
        self.products = products
        self.prices = prices
        self.start_date = start_date
        self.id_width = _width(total, 8)
        self.transaction_no = 0
        self.order_no = 0
        self._dates: dict[int, str] = {}
        self.unknown_base = len(customers.ids)
        self.customer_width = _width(len(customers.ids), 6)

    def timestamp(self, seconds: int) -> str:
        """Format an offset from ``start_date`` midnight as ``YYYY-MM-DDTHH:MM:SS``."""
        day, second = divmod(seconds, _SECONDS_PER_DAY)
        date = self._dates.get(day)
        if date is None:
            date = (self.start_date + dt.timedelta(days=day)).isoformat()
            self._dates[day] = date
        hour, rest = divmod(second, 3600)
        minute, sec = divmod(rest, 60)
        return f"{date}T{hour:02d}:{minute:02d}:{sec:02d}"

    def _orders(self, count: int, day_low: int, day_high: int) -> list[tuple[Any, ...]]:
        """Draw ``count`` order lines in the window, sorted by time then order."""
        rng = self.rng
        random_, randrange, pick = rng.random, rng.randrange, bisect.bisect
        # weekends sell a bit more; a slow upward trend over the period
        day_cum = list(
            itertools.accumulate(
                (1.3 if (self.start_date + dt.timedelta(days=d)).weekday() >= 5 else 1.0)
                * (1.0 + d / 365)
                for d in range(day_low, day_high)
            )
        )
        # weighted draws as bisect(cumulative weights, random() * total), like
        # random.choices but without its per-call overhead
        days_total, last_day = day_cum[-1], len(day_cum) - 1
        customer_cum = self.customers.cum_weights
        customer_total, last_customer = customer_cum[-1], len(customer_cum) - 1
        product_cum = self.products.cum_weights
        product_total, last_product = product_cum[-1], len(product_cum) - 1
        hour_total, channel_total = _HOUR_CUM[-1], _CHANNEL_CUM[-1]
        store_total, online_total = _PAY_STORE_CUM[-1], _PAY_ONLINE_CUM[-1]
        status_total, size_total = _STATUS_CUM[-1], _ORDER_SIZE_CUM[-1]
        quantity_total = _QUANTITY_CUM[-1]
        n_discounts = len(_DISCOUNTS)
        lines: list[tuple[Any, ...]] = []
        order_key = 0
        remaining = count
        while remaining > 0:
            day = day_low + pick(day_cum, random_() * days_total, 0, last_day)
            hour = pick(_HOUR_CUM, random_() * hour_total, 0, 23)
            seconds = day * _SECONDS_PER_DAY + hour * 3600 + randrange(3600)
            customer = pick(customer_cum, random_() * customer_total, 0, last_customer)
            channel = _CHANNELS[pick(_CHANNEL_CUM, random_() * channel_total, 0, 2)]
            if channel == "store":
                payment = _PAY_STORE[pick(_PAY_STORE_CUM, random_() * store_total, 0, 3)]
            else:
                payment = _PAY_ONLINE[pick(_PAY_ONLINE_CUM, random_() * online_total, 0, 4)]
            status = _STATUSES[pick(_STATUS_CUM, random_() * status_total, 0, 3)]
            size = _ORDER_SIZES[pick(_ORDER_SIZE_CUM, random_() * size_total, 0, 2)]
            size = min(remaining, size)
            items = [
                pick(product_cum, random_() * product_total, 0, last_product) for _ in range(size)
            ]
            if size > 1:
                items = list(dict.fromkeys(items))
            for product in items:
                quantity = _QUANTITIES[pick(_QUANTITY_CUM, random_() * quantity_total, 0, 4)]
                discount = (
                    _DISCOUNTS[int(random_() * n_discounts)] if random_() < _DISCOUNT_SHARE else 0.0
                )
                lines.append(
                    (seconds, order_key, customer, product, quantity, discount,
                     payment, status, channel)
                )  # fmt: skip
            remaining -= len(items)
            order_key += 1
        lines.sort()
        return lines

    def _new_order_id(self) -> str:
        self.order_no += 1
        return f"O{self.order_no:0{self.id_width}d}"

    def _new_transaction_id(self) -> str:
        self.transaction_no += 1
        return f"T{self.transaction_no:0{self.id_width}d}"

    def _record(self, ids: tuple[str, str], line: tuple[Any, ...]) -> dict[str, Any]:
        seconds, _, customer, product, quantity, discount, payment, status, channel = line
        return {
            "transaction_id": ids[0],
            "order_id": ids[1],
            "customer_id": self.customers.ids[customer],
            "product_id": self.products.ids[product],
            "quantity": quantity,
            "unit_price": self.prices[product],
            "discount": discount,
            "payment_method": payment,
            "status": status,
            "channel": channel,
            "event_time": self.timestamp(seconds),
        }

    def _dirty(self, kind: str, record: dict[str, Any], clean_line: str) -> str:
        """Render ``record`` (whose clean rendering is ``clean_line``) as ``kind``."""
        rng = self.rng
        if kind == "null_key":
            roll = rng.random()
            if roll < 0.45:
                record["customer_id"] = None
            elif roll < 0.9:
                record["product_id"] = None
            else:
                record["customer_id"] = record["product_id"] = None
        elif kind == "malformed_value":
            variant = rng.randrange(4)
            if variant == 0:
                record["quantity"] = _QUANTITY_WORDS[record["quantity"]]
            elif variant == 1:
                record["unit_price"] = f"{record['unit_price']:.2f}".replace(".", ",")
            elif variant == 2:
                record["unit_price"] = "abc"
            else:
                record["event_time"] = "not-a-date"
        elif kind == "malformed_json":
            roll = rng.random()
            if roll < 0.6:
                return clean_line[: rng.randrange(len(clean_line) // 4, len(clean_line) - 1)]
            if roll < 0.8:
                return clean_line[:-1] + ", }"
            return clean_line.replace('"', "'")
        elif kind == "out_of_range":
            if rng.random() < 0.5:
                record["quantity"] = rng.choice((0, -1, -2, -5))
            else:
                record["discount"] = rng.choice((1.5, 5.0, 10.0, 25.0))
        elif kind == "unknown_customer":
            number = self.unknown_base + rng.randrange(1, max(1_000, self.unknown_base))
            record["customer_id"] = f"C{number:0{self.customer_width}d}"
        elif kind == "messy_text":
            fields = ("status", "payment_method", "channel")
            for name in rng.sample(fields, rng.randrange(1, len(fields) + 1)):
                record[name] = _messy_case(record[name], rng)
        else:  # pragma: no cover - guarded by TRANSACTION_BAD_KINDS
            raise AssertionError(kind)
        return json.dumps(record)

    def write_batch(
        self, path: Path, size: int, kinds: Mapping[str, int], day_low: int, day_high: int
    ) -> dict[str, int]:
        """Write one batch of ``size`` lines covering days ``[day_low, day_high)``.

        Returns:
            The number of dirty records of each kind actually written.
        """
        with path.open("w", encoding="utf-8", newline="\n", buffering=1 << 20) as handle:
            write = handle.write
            for line in self.batch_lines(size, kinds, day_low, day_high):
                write(line.text)
                write("\n")
        return {kind: kinds.get(kind, 0) for kind in TRANSACTION_BAD_KINDS}

    def batch_lines(
        self, size: int, kinds: Mapping[str, int], day_low: int, day_high: int
    ) -> Iterator[TransactionLine]:
        """Yield the ``size`` lines of one batch covering days ``[day_low, day_high)``."""
        rng = self.rng
        n_duplicate, n_late = kinds.get("duplicate", 0), kinds.get("late", 0)
        fresh_count = size - n_duplicate - n_late
        fresh = self._orders(fresh_count, day_low, day_high)

        in_place = [k for k in TRANSACTION_BAD_KINDS if k not in ("duplicate", "late")]
        dirty_kinds = [k for k in in_place for _ in range(kinds.get(k, 0))]
        positions = rng.sample(range(fresh_count), len(dirty_kinds))
        dirty_at = dict(zip(positions, dirty_kinds, strict=True))
        clean_positions = [i for i in range(fresh_count) if i not in dirty_at]

        extras: dict[int, list[int]] = {}  # after fresh index -> sources (-1: late)
        for _ in range(n_duplicate):
            source = rng.choice(clean_positions)
            extras.setdefault(rng.randrange(source, fresh_count), []).append(source)
        for _ in range(n_late):
            extras.setdefault(rng.randrange(-1, fresh_count), []).append(-1)
        sources = {s for group in extras.values() for s in group if s >= 0}
        source_lines: dict[int, TransactionLine] = {}

        customer_ids, product_ids, prices = self.customers.ids, self.products.ids, self.prices
        timestamp, render = self.timestamp, _TXN_LINE
        new_order_id, new_transaction_id = self._new_order_id, self._new_transaction_id
        window_start = day_low * _SECONDS_PER_DAY
        last_order, order_id = -1, ""
        for index in range(-1, fresh_count):
            if index >= 0:
                line = fresh[index]
                if line[1] != last_order:  # lines of an order are consecutive
                    last_order, order_id = line[1], new_order_id()
                ids = (new_transaction_id(), order_id)
                seconds, _, customer, product, quantity, discount, pay, status, channel = line
                text = render(
                    ids[0], ids[1], customer_ids[customer], product_ids[product],
                    quantity, prices[product], discount, pay, status, channel,
                    timestamp(seconds),
                )  # fmt: skip
                kind = dirty_at.get(index)
                if kind is not None:
                    yield TransactionLine(
                        self._dirty(kind, self._record(ids, line), text), ids[0], kind
                    )
                else:
                    clean = TransactionLine(text, ids[0], None)
                    if index in sources:
                        source_lines[index] = clean
                    yield clean
            for source in extras.get(index, ()):
                if source >= 0:
                    yield source_lines[source]._replace(kind="duplicate")
                else:
                    late = self._orders(1, day_low, day_low + 1)[0]
                    moved = window_start - rng.randrange(
                        3 * _SECONDS_PER_DAY, 10 * _SECONDS_PER_DAY + 1
                    )
                    late = (moved, *late[1:])
                    ids = (new_transaction_id(), new_order_id())
                    yield TransactionLine(json.dumps(self._record(ids, late)), ids[0], "late")


# --------------------------------------------------------------------------- public API


def _check_int(name: str, value: object, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _reset_dir(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    path.mkdir(parents=True)


def generate(
    out_dir: str | Path,
    *,
    transactions: int = 20_000,
    customers: int | None = None,
    products: int | None = None,
    batches: int = 3,
    bad_share: float = 0.02,
    seed: int = 42,
    start_date: dt.date = dt.date(2026, 1, 1),
    days: int = 90,
) -> Manifest:
    """Generate the e-commerce dataset into ``out_dir`` and return its manifest.

    The ``customers``, ``products`` and ``transactions`` subfolders of
    ``out_dir`` and ``manifest.json`` are replaced; nothing else is touched.
    Every dataset gets ``round(bad_share * records)`` dirty records (at least one
    of each kind from :data:`MIN_RECORDS_FOR_ALL_KINDS` records on), spread
    evenly over its kinds.

    Args:
        out_dir: Output directory, created if missing.
        transactions: Number of transaction lines over all batches.
        customers: Number of customer rows; default ``max(50, transactions // 20)``.
        products: Number of product lines; default ``max(20, transactions // 100)``.
        batches: Number of transaction files; batch ``k`` covers the ``k``-th
            consecutive slice of the ``days``-day period.
        bad_share: Share of dirty records in each dataset, in ``[0, 0.5]``.
        seed: Seed of Faker and of :class:`random.Random`.
        start_date: First day of the transaction period.
        days: Length of the transaction period in days.

    Returns:
        The manifest, also written to ``out_dir/manifest.json``.

    Raises:
        ValueError: If an argument is out of range; the message names it.
    """
    settings = _settings(
        transactions, customers, products, batches, bad_share, seed, start_date, days
    )
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir must be a directory, got the file {out}")

    for name in DATASETS:
        _reset_dir(out / name)
    files, writer, plan = _prepare(settings, out)
    for batch in plan:
        bad = writer.write_batch(
            out / batch.path, batch.size, batch.kinds, batch.day_low, batch.day_high
        )
        files.append(
            FileManifest(
                batch.path,
                "transactions",
                "json",
                batch.size,
                bad,
                writer.timestamp(batch.day_low * _SECONDS_PER_DAY),
                writer.timestamp(batch.day_high * _SECONDS_PER_DAY),
            )
        )

    manifest = Manifest(seed=seed, files=files)
    manifest.write(out / "manifest.json")
    return manifest


def transaction_lines(
    *,
    transactions: int = 20_000,
    customers: int | None = None,
    products: int | None = None,
    batches: int = 3,
    bad_share: float = 0.02,
    seed: int = 42,
    start_date: dt.date = dt.date(2026, 1, 1),
    days: int = 90,
) -> Iterator[TransactionLine]:
    """The transaction lines :func:`generate` writes with the same arguments, without files.

    The lines come in file order (batch after batch), each with its transaction id and its
    dirty-record kind; nothing is written. With the same arguments, the ``customers`` and
    ``products`` files :func:`generate` writes hold the customers and products the lines
    refer to. A streaming producer sends these lines as messages
    (:mod:`examples.ecommerce.producer`).

    Args:
        transactions: Number of transaction lines over all batches.
        customers: Number of customer rows; default ``max(50, transactions // 20)``.
        products: Number of product lines; default ``max(20, transactions // 100)``.
        batches: Number of transaction batches.
        bad_share: Share of dirty records in each dataset, in ``[0, 0.5]``.
        seed: Seed of Faker and of :class:`random.Random`.
        start_date: First day of the transaction period.
        days: Length of the transaction period in days.

    Returns:
        An iterator over the ``transactions`` lines; the arguments are checked at once.

    Raises:
        ValueError: If an argument is out of range; the message names it.

    Example:
        >>> lines = list(transaction_lines(transactions=100, bad_share=0, seed=1))
        >>> len(lines), lines[0].transaction_id, lines[0].kind
        (100, 'T00000001', None)
        >>> json.loads(lines[0].text)["transaction_id"]
        'T00000001'
    """
    settings = _settings(
        transactions, customers, products, batches, bad_share, seed, start_date, days
    )
    _, writer, plan = _prepare(settings, None)
    return itertools.chain.from_iterable(
        writer.batch_lines(b.size, b.kinds, b.day_low, b.day_high) for b in plan
    )


class _Settings(NamedTuple):
    """The checked arguments of :func:`generate` (the output folder aside)."""

    transactions: int
    customers: int
    products: int
    batches: int
    bad_share: float
    seed: int
    start_date: dt.date
    days: int


def _settings(
    transactions: int,
    customers: int | None,
    products: int | None,
    batches: int,
    bad_share: float,
    seed: int,
    start_date: dt.date,
    days: int,
) -> _Settings:
    """Check the arguments of :func:`generate` and fill in the defaults."""
    transactions = _check_int("transactions", transactions, 1)
    if customers is None:
        customers = max(50, transactions // 20)
    customers = _check_int("customers", customers, 1)
    if products is None:
        products = max(20, transactions // 100)
    products = _check_int("products", products, 1)
    days = _check_int("days", days, 1)
    batches = _check_int("batches", batches, 1)
    if batches > days:
        raise ValueError(f"batches must be <= days ({days}), got {batches}")
    if batches > transactions:
        raise ValueError(f"batches must be <= transactions ({transactions}), got {batches}")
    if (
        isinstance(bad_share, bool)
        or not isinstance(bad_share, (int, float))
        or not 0 <= bad_share <= MAX_BAD_SHARE
    ):
        raise ValueError(f"bad_share must be a number in [0, {MAX_BAD_SHARE}], got {bad_share!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if isinstance(start_date, dt.datetime):
        start_date = start_date.date()
    if not isinstance(start_date, dt.date):
        raise ValueError(f"start_date must be a datetime.date, got {start_date!r}")
    return _Settings(transactions, customers, products, batches, bad_share, seed, start_date, days)


class _Batch(NamedTuple):
    """One transaction batch to generate."""

    path: str
    size: int
    kinds: dict[str, int]
    day_low: int
    day_high: int


def _prepare(
    settings: _Settings, out: Path | None
) -> tuple[list[FileManifest], _TransactionWriter, list[_Batch]]:
    """Seed the generators, make the dimensions and plan the transaction batches.

    Args:
        settings: The checked arguments.
        out: Where the customer and product files are written; ``None`` writes nothing.

    Returns:
        The manifest entries of the dimension files, the transaction writer (holding the
        dimensions) and the batches it is to produce, in order.
    """
    transactions, customers, products, batches, bad_share, seed, start_date, days = settings
    master = random.Random(seed)
    customer_rng, product_rng, transaction_rng = (
        random.Random(master.getrandbits(64)) for _ in range(3)
    )
    fake = Faker("en_US")
    fake.seed_instance(seed)
    files: list[FileManifest] = []

    customer_path = "customers/customers.csv"
    customer_result, customer_dim = _write_customers(
        out / customer_path if out is not None else None,
        fake, customer_rng, customers, bad_share, start_date,
    )  # fmt: skip
    files.append(FileManifest(customer_path, "customers", "csv", *customer_result))

    product_path = "products/products.json"
    product_result, product_dim, prices = _write_products(
        out / product_path if out is not None else None,
        fake, product_rng, products, bad_share, start_date,
    )  # fmt: skip
    files.append(FileManifest(product_path, "products", "json", *product_result))

    kinds = _split(
        _bad_total(transactions, bad_share, len(TRANSACTION_BAD_KINDS), transactions - batches),
        TRANSACTION_BAD_KINDS,
    )
    sizes = [
        transactions * (k + 1) // batches - transactions * k // batches for k in range(batches)
    ]
    writer = _TransactionWriter(
        transaction_rng, customer_dim, product_dim, prices, start_date, transactions
    )
    name_width = _width(batches, 3)
    plan = [
        _Batch(
            f"transactions/transactions_{k + 1:0{name_width}d}.json",
            size,
            batch_kinds,
            days * k // batches,
            days * (k + 1) // batches,
        )
        for k, (size, batch_kinds) in enumerate(zip(sizes, _allocate(kinds, sizes), strict=True))
    ]
    return files, writer, plan


def _summary(entry: FileManifest) -> str:
    kinds = ", ".join(f"{kind}={count}" for kind, count in entry.bad if count)
    return f"{entry.path}: {entry.records} records, {entry.bad_total} bad" + (
        f" ({kinds})" if kinds else ""
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the generator from the command line.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` when ``None``.

    Returns:
        The exit status: 0 on success, 2 on invalid arguments.
    """
    parser = argparse.ArgumentParser(
        prog="python -m examples.ecommerce.generator",
        description="Generate the dirty e-commerce example dataset.",
    )
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--transactions", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--products", type=int, default=None)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--bad-share", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--start-date", type=dt.date.fromisoformat, default=dt.date(2026, 1, 1),
        help="first day, YYYY-MM-DD",
    )  # fmt: skip
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args(argv)
    try:
        manifest = generate(
            args.out,
            transactions=args.transactions,
            customers=args.customers,
            products=args.products,
            batches=args.batches,
            bad_share=args.bad_share,
            seed=args.seed,
            start_date=args.start_date,
            days=args.days,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for entry in manifest.files:
        print(_summary(entry))
    print(f"manifest.json: {len(manifest.files)} files, seed {manifest.seed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
