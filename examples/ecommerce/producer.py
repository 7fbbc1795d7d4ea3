"""Send the e-commerce transactions to Kafka, one JSON message per order line.

The messages are the lines the batch generator writes to its transaction files
(:func:`examples.ecommerce.generator.transaction_lines`): with the same arguments (``seed``,
``transactions``, ``bad_share``, ...) the stream holds the same transactions, in the same
order, as ``python -m examples.ecommerce.generator`` writes, and refers to the customers and
products that generator run writes (load those through the batch pipeline, so that silver's
reference rules find them). ``skip`` starts further into the same sequence, e.g. to resume an
interrupted run; ``count`` bounds how many are sent.

Each message's key is its ``transaction_id``. Transaction ids are unique, so the messages
spread evenly over the topic's partitions, and a transaction sent again (a correction, a
duplicate) lands in the partition of its first version, after it. The lines of one order may
land in different partitions: nothing downstream needs them together (silver is keyed by
``transaction_id``). Keying by ``order_id`` would keep an order's lines in order, at the price
of skew towards big orders.

On top of the generator's own dirty records (``bad_share``), a stream can get:

* malformed messages (``malformed_share``): the line cut short, so not JSON; bronze puts them
  in its dead-letter table;
* late events (``late_share``): the transaction with its ``event_time`` moved back by
  ``late_days`` (3 to 10 days by default), as if it arrived days after it happened; bronze
  flags those older than its watermark with ``_late``.

Exactly ``round(share * count)`` messages of each, at positions drawn with the seed among the
clean lines, so the same arguments always send the same messages.

The producer is idempotent (``enable.idempotence``, ``acks=all``): a retried send is not
written twice. It sends at ``rate`` messages per second (``0``: as fast as it can), counts
the deliveries the broker confirms and the ones that failed, and on SIGINT or SIGTERM (from
the command line) stops sending, flushes what it has queued and prints the counts.

Run it as::

    python -m examples.ecommerce.producer --bootstrap-servers 127.0.0.1:9092
        --topic transactions --count 20000 --rate 500
        --malformed-share 0.01 --late-share 0.01 --seed 42

(one command line).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import math
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

import attrs

from .generator import TransactionLine, transaction_lines

if TYPE_CHECKING:
    from confluent_kafka import KafkaError, Message

__all__ = ["PRODUCER_DEFAULTS", "ProduceResult", "main", "produce", "stream_lines"]

_SECONDS_PER_DAY = 86_400
#: The producer's settings; ``config`` overrides them.
PRODUCER_DEFAULTS: Mapping[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 5,
    "compression.type": "lz4",
}


@attrs.frozen
class ProduceResult:
    """What :func:`produce` sent.

    Attributes:
        topic: The topic.
        produced: Messages handed to the producer.
        delivered: Messages the broker confirmed.
        failed: Messages whose delivery failed (after the producer's retries).
        pending: Messages neither confirmed nor failed when the flush timed out.
        malformed: Malformed (not JSON) messages injected among the produced ones.
        late: Late events injected among the produced ones.
        dirty: The generator's dirty records among the produced ones, by kind.
        seconds: Wall time, from the first message to the end of the flush.
        interrupted: Whether a stop request ended it before all messages were produced.
        error: The first delivery error, if any.
    """

    topic: str
    produced: int
    delivered: int
    failed: int
    pending: int
    malformed: int
    late: int
    dirty: Mapping[str, int]
    seconds: float
    interrupted: bool
    error: str | None = None

    @property
    def rate(self) -> float:
        """Messages produced per second."""
        return self.produced / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One line with the counts.

        Returns:
            The text.
        """
        dirty = ", ".join(f"{k}={v}" for k, v in self.dirty.items() if v)
        return (
            f"{'interrupted: ' if self.interrupted else ''}produced {self.produced} messages to "
            f"{self.topic!r} ({self.malformed} malformed, {self.late} late"
            + (f", generator dirt: {dirty}" if dirty else "")
            + f") in {self.seconds:.1f} s ({self.rate:.0f}/s): delivered {self.delivered}, "
            f"failed {self.failed}, pending {self.pending}"
            + (f" (first error: {self.error})" if self.error else "")
        )


def _share(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def _round(value: float) -> int:
    return math.floor(value + 0.5)


def _malformed(text: str, rng: random.Random) -> str:
    """The line cut short: never valid JSON (a JSON object ends with its closing brace)."""
    return text[: rng.randrange(len(text) // 4, len(text) - 1)]


def _late(text: str, rng: random.Random, days: tuple[int, int]) -> str:
    """The line with its event time moved back by ``days[0]`` to ``days[1]`` days."""
    record = json.loads(text)
    seconds = rng.randrange(days[0] * _SECONDS_PER_DAY, days[1] * _SECONDS_PER_DAY + 1)
    moved = dt.datetime.fromisoformat(record["event_time"]) - dt.timedelta(seconds=seconds)
    record["event_time"] = moved.isoformat()
    return json.dumps(record)


def stream_lines(
    *,
    count: int | None = None,
    skip: int = 0,
    malformed_share: float = 0.0,
    late_share: float = 0.0,
    late_days: tuple[int, int] = (3, 10),
    seed: int = 42,
    transactions: int = 20_000,
    customers: int | None = None,
    products: int | None = None,
    batches: int = 3,
    bad_share: float = 0.02,
    start_date: dt.date = dt.date(2026, 1, 1),
    days: int = 90,
) -> list[tuple[TransactionLine, str | None]]:
    """The messages :func:`produce` sends, without Kafka: each line with what was injected.

    Args:
        count: How many messages; ``None``: all the lines after ``skip``.
        skip: Lines of the generated sequence to leave out at the start.
        malformed_share: Share of the messages sent malformed (not JSON).
        late_share: Share of the messages sent as late events.
        late_days: How far back a late event's ``event_time`` moves, in days (both ends
            included, to the second).
        seed: The generator's seed; it also places the injected messages.
        transactions: The generator's ``transactions``: the length of the sequence.
        customers: The generator's ``customers``.
        products: The generator's ``products``.
        batches: The generator's ``batches``.
        bad_share: The generator's share of dirty records.
        start_date: The generator's first day.
        days: The generator's number of days.

    Returns:
        ``(line, injected)`` pairs in sending order: ``line.text`` is the message value
        (after injection), ``injected`` is ``"malformed"``, ``"late"`` or ``None``.

    Raises:
        ValueError: An argument is out of range, or there are not enough clean lines for the
            messages to inject.

    Example:
        >>> sent = stream_lines(count=100, malformed_share=0.05, late_share=0.02, bad_share=0,
        ...                     transactions=1000, seed=1)
        >>> len(sent), sum(i == "malformed" for _, i in sent), sum(i == "late" for _, i in sent)
        (100, 5, 2)
    """
    malformed_share = _share("malformed_share", malformed_share)
    late_share = _share("late_share", late_share)
    if not 0 <= late_days[0] <= late_days[1]:
        raise ValueError(f"late_days must be (low, high) with 0 <= low <= high, got {late_days}")
    if skip < 0:
        raise ValueError(f"skip must be >= 0, got {skip}")
    available = transactions - skip
    if count is None:
        count = available
    if not 0 <= count <= available:
        raise ValueError(f"count must be in [0, {available}] (transactions - skip), got {count}")
    generated = transaction_lines(
        transactions=transactions,
        customers=customers,
        products=products,
        batches=batches,
        bad_share=bad_share,
        seed=seed,
        start_date=start_date,
        days=days,
    )
    lines = list(itertools.islice(generated, skip, skip + count))
    clean = [i for i, line in enumerate(lines) if line.kind is None]
    n_malformed, n_late = _round(malformed_share * count), _round(late_share * count)
    if n_malformed + n_late > len(clean):
        raise ValueError(
            f"{n_malformed} malformed and {n_late} late messages do not fit in the "
            f"{len(clean)} clean lines of {count}"
        )
    rng = random.Random(f"examples.ecommerce.producer:{seed}:{skip}")
    chosen = rng.sample(clean, n_malformed + n_late)
    injected: dict[int, str] = dict.fromkeys(chosen[:n_malformed], "malformed")
    injected.update(dict.fromkeys(chosen[n_malformed:], "late"))
    sent: list[tuple[TransactionLine, str | None]] = []
    for index, line in enumerate(lines):
        kind = injected.get(index)
        if kind == "malformed":
            line = line._replace(text=_malformed(line.text, rng))
        elif kind == "late":
            line = line._replace(text=_late(line.text, rng, late_days))
        sent.append((line, kind))
    return sent


@attrs.define
class _Deliveries:
    delivered: int = 0
    failed: int = 0
    first_error: str | None = None

    def __call__(self, error: KafkaError | None, message: Message[Any, Any]) -> None:
        if error is None:
            self.delivered += 1
        else:
            self.failed += 1
            if self.first_error is None:
                self.first_error = str(error)


def _paced(
    total: int, rate: float, stop: threading.Event, wait: Callable[[float], object]
) -> Iterator[int]:
    """Yield 0..total-1, the i-th not before ``i / rate`` seconds; ``wait(seconds)`` idles."""
    started = time.monotonic()
    for index in range(total):
        if stop.is_set():
            return
        if rate > 0:
            due = started + index / rate
            while not stop.is_set():
                left = due - time.monotonic()
                if left <= 0:
                    break
                wait(min(left, 0.1))
            if stop.is_set():
                return
        yield index


def produce(
    bootstrap_servers: str,
    topic: str,
    *,
    count: int | None = None,
    rate: float = 0.0,
    skip: int = 0,
    malformed_share: float = 0.0,
    late_share: float = 0.0,
    late_days: tuple[int, int] = (3, 10),
    seed: int = 42,
    transactions: int = 20_000,
    customers: int | None = None,
    products: int | None = None,
    batches: int = 3,
    bad_share: float = 0.02,
    start_date: dt.date = dt.date(2026, 1, 1),
    days: int = 90,
    config: Mapping[str, Any] | None = None,
    flush_timeout: float = 60.0,
    stop: threading.Event | None = None,
) -> ProduceResult:
    """Send the generator's transactions to a topic, as :func:`stream_lines` prepares them.

    Args:
        bootstrap_servers: ``host:port[,host:port...]``.
        topic: The topic; created by the broker on first use if it allows that.
        count: How many messages; ``None``: all the lines after ``skip``.
        rate: Messages per second; ``0`` sends as fast as the producer accepts them.
        skip: Lines of the generated sequence to leave out at the start (to resume).
        malformed_share: Share of the messages sent malformed (not JSON).
        late_share: Share of the messages sent as late events.
        late_days: How far back a late event's ``event_time`` moves, in days.
        seed: The generator's seed; it also places the injected messages.
        transactions: The generator's ``transactions``: the length of the sequence.
        customers: The generator's ``customers``.
        products: The generator's ``products``.
        batches: The generator's ``batches``.
        bad_share: The generator's share of dirty records (its own default, 0.02).
        start_date: The generator's first day.
        days: The generator's number of days.
        config: More producer settings (security, say), over :data:`PRODUCER_DEFAULTS`.
        flush_timeout: Seconds to wait for outstanding deliveries at the end.
        stop: Set it to stop sending early (the command line sets it on SIGINT and SIGTERM);
            what was sent is still flushed.

    Returns:
        The counts.

    Raises:
        ValueError: An argument is out of range.

    Example:
        Against a running broker::

            result = produce("127.0.0.1:9092", "transactions", count=1000, rate=200,
                             malformed_share=0.01, late_share=0.01)
            assert result.delivered == 1000
    """
    from confluent_kafka import Producer

    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate >= 0:
        raise ValueError(f"rate must be a number >= 0, got {rate!r}")
    messages = stream_lines(
        count=count,
        skip=skip,
        malformed_share=malformed_share,
        late_share=late_share,
        late_days=late_days,
        seed=seed,
        transactions=transactions,
        customers=customers,
        products=products,
        batches=batches,
        bad_share=bad_share,
        start_date=start_date,
        days=days,
    )
    stop = stop if stop is not None else threading.Event()
    deliveries = _Deliveries()
    producer = Producer(
        {**PRODUCER_DEFAULTS, **(config or {}), "bootstrap.servers": bootstrap_servers}
    )
    produced = malformed = late = 0
    dirty: dict[str, int] = {}
    started = time.monotonic()
    for index in _paced(len(messages), rate, stop, producer.poll):
        line, injected = messages[index]
        while True:
            try:
                producer.produce(
                    topic, value=line.text, key=line.transaction_id, on_delivery=deliveries
                )
                break
            except BufferError:  # the local queue is full: let deliveries drain it
                producer.poll(0.05)
        producer.poll(0)
        produced += 1
        if injected == "malformed":
            malformed += 1
        elif injected == "late":
            late += 1
        elif line.kind is not None:
            dirty[line.kind] = dirty.get(line.kind, 0) + 1
    pending = producer.flush(flush_timeout)
    return ProduceResult(
        topic,
        produced,
        deliveries.delivered,
        deliveries.failed,
        pending,
        malformed,
        late,
        dirty,
        time.monotonic() - started,
        produced < len(messages),
        deliveries.first_error,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m examples.ecommerce.producer",
        description="Send the generated e-commerce transactions to a Kafka topic.",
    )
    parser.add_argument("--bootstrap-servers", required=True, help="host:port[,host:port]")
    parser.add_argument("--topic", default="transactions")
    parser.add_argument("--count", type=int, default=None, help="messages (default: all)")
    parser.add_argument("--rate", type=float, default=0.0, help="messages/s, 0: no limit")
    parser.add_argument("--skip", type=int, default=0, help="lines of the sequence to skip")
    parser.add_argument("--malformed-share", type=float, default=0.0)
    parser.add_argument("--late-share", type=float, default=0.0)
    parser.add_argument(
        "--late-days", type=int, nargs=2, default=(3, 10), metavar=("LOW", "HIGH"),
        help="how many days a late event is behind (default: 3 10)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--transactions", type=int, default=20_000, help="generator size")
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--products", type=int, default=None)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--bad-share", type=float, default=0.02, help="generator dirt")
    parser.add_argument(
        "--start-date", type=dt.date.fromisoformat, default=dt.date(2026, 1, 1),
        help="first day, YYYY-MM-DD",
    )  # fmt: skip
    parser.add_argument("--days", type=int, default=90)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The ``python -m examples.ecommerce.producer`` command.

    SIGINT (Ctrl-C) and SIGTERM stop the sending; the messages already handed to the
    producer are flushed and the counts printed.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` when ``None``.

    Returns:
        0 when every message sent was delivered, 1 when some failed or are pending, 2 on
        invalid arguments.
    """
    args = _parser().parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        print(f"{signal.Signals(signum).name}: stopping", file=sys.stderr, flush=True)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = produce(
            args.bootstrap_servers,
            args.topic,
            count=args.count,
            rate=args.rate,
            skip=args.skip,
            malformed_share=args.malformed_share,
            late_share=args.late_share,
            late_days=(args.late_days[0], args.late_days[1]),
            seed=args.seed,
            transactions=args.transactions,
            customers=args.customers,
            products=args.products,
            batches=args.batches,
            bad_share=args.bad_share,
            start_date=args.start_date,
            days=args.days,
            stop=stop,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(result.summary(), flush=True)
    return 0 if result.failed == 0 and result.pending == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
