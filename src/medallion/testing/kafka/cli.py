"""The ``python -m medallion.testing.kafka`` command: :func:`main`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

from medallion.errors import MedallionError
from medallion.testing.kafka.broker import KafkaBroker
from medallion.testing.kafka.jars import DEFAULT_KAFKA_VERSION, JARS_ENV, kafka_jars

__all__ = ["main"]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m medallion.testing.kafka",
        description="A single-node Apache Kafka broker (KRaft) on 127.0.0.1, without Docker.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="run a broker in the foreground until Ctrl-C")
    start.add_argument("--port", type=int, help="client port (default: a free one)")
    start.add_argument("--controller-port", type=int, help="controller port (default: free)")
    start.add_argument("--host", default="127.0.0.1", help="address to bind and advertise")
    start.add_argument(
        "--dir",
        dest="directory",
        help="broker folder, kept between runs with its topics (default: a temporary folder)",
    )
    start.add_argument("--partitions", type=int, default=1, help="num.partitions (default: 1)")
    start.add_argument(
        "--no-auto-create-topics",
        dest="auto_create_topics",
        action="store_false",
        help="disable auto.create.topics.enable",
    )
    start.add_argument("--version", default=DEFAULT_KAFKA_VERSION, help="Kafka version")
    start.add_argument("--heap", default="512m", help="JVM maximum heap (default: 512m)")
    start.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for it")
    fetch = commands.add_parser("fetch", help="only fetch Kafka's jars (with mvn)")
    fetch.add_argument("--version", default=DEFAULT_KAFKA_VERSION, help="Kafka version")
    fetch.add_argument("--dest", help=f"jars folder (default: ${JARS_ENV} or the cache)")
    return parser


def _run_foreground(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    broker = KafkaBroker(
        port=args.port,
        controller_port=args.controller_port,
        host=args.host,
        directory=args.directory,
        num_partitions=args.partitions,
        auto_create_topics=args.auto_create_topics,
        version=args.version,
        heap=args.heap,
        start_timeout=args.timeout,
    )
    try:
        broker.start()
        print(broker.bootstrap_servers, flush=True)
        print(
            f"Kafka {broker.version} broker running (pid {broker.pid}); log: {broker.log_file}; "
            "Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(0.5):
            if not broker.running:
                print(f"the Kafka broker exited; see {broker.log_file}", file=sys.stderr)
                return 1
        return 0
    finally:
        broker.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``python -m medallion.testing.kafka`` command: ``start`` a broker, or ``fetch`` jars.

    Args:
        argv: The arguments; defaults to ``sys.argv[1:]``.

    Returns:
        The exit code.

    Example:
        ``fetch`` prints the jars folder (here one that already holds them, so Maven is not run):

        >>> from pathlib import Path
        >>> libs = Path(lakehouse, "libs")
        >>> libs.mkdir()
        >>> (libs / "kafka_2.13-4.1.1.jar").touch()
        >>> main(["fetch", "--version", "4.1.1", "--dest", str(libs)])  # doctest: +ELLIPSIS
        /.../libs
        0
    """
    args = _build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.command == "fetch":
            began = time.monotonic()
            folder = kafka_jars(args.version, args.dest)
            jars = sorted(folder.glob("*.jar"))
            size = sum(jar.stat().st_size for jar in jars) / 1e6
            print(folder)
            print(
                f"{len(jars)} jars, {size:.1f} MB, in {time.monotonic() - began:.1f} s",
                file=sys.stderr,
            )
            return 0
        return _run_foreground(args)
    except MedallionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
