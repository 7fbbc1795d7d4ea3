"""The ``medallion`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from medallion._version import __version__
from medallion.errors import MedallionError

__all__ = ["main"]


def _jars_fetch(args: argparse.Namespace) -> int:
    from medallion.jars import delta_package, fetch_jars, kafka_package

    packages = [delta_package()]
    if args.kafka:
        packages.append(kafka_package())
    packages.extend(args.package or [])
    jars = fetch_jars(args.dest, packages, mvn=args.mvn)
    print(f"{len(jars)} jar(s) in {args.dest} for {', '.join(packages)}")
    return 0


def _jars_list(args: argparse.Namespace) -> int:
    from medallion.jars import delta_package, kafka_package

    print(delta_package())
    print(kafka_package())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser (one sub-command per task).

    Returns:
        The parser.
    """
    parser = argparse.ArgumentParser(
        prog="medallion", description="Typed medallion lakehouse pipelines on Spark + Delta."
    )
    parser.add_argument("--version", action="version", version=f"medallion {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    jars = commands.add_parser("jars", help="the JVM packages medallion needs")
    jar_commands = jars.add_subparsers(dest="jars_command", required=True)
    fetch = jar_commands.add_parser(
        "fetch",
        help="resolve Delta's jars (and optionally Kafka's) into a folder with mvn",
        description="Resolve the Maven packages medallion needs into a folder, for Spark "
        "sessions that cannot reach Maven Central (pass it as jars_dir or MEDALLION_JARS_DIR).",
    )
    fetch.add_argument("--dest", required=True, help="the folder to fill")
    fetch.add_argument("--kafka", action="store_true", help="add Spark's Kafka connector")
    fetch.add_argument(
        "--package", action="append", help="extra Maven coordinates group:artifact:version"
    )
    fetch.add_argument("--mvn", default="mvn", help="the Maven executable (default: mvn)")
    fetch.set_defaults(handler=_jars_fetch)
    listing = jar_commands.add_parser("list", help="print the Maven coordinates medallion uses")
    listing.set_defaults(handler=_jars_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``medallion`` command.

    Args:
        argv: The arguments; ``sys.argv[1:]`` by default.

    Returns:
        The exit code: 0 on success, 1 when medallion reports an error, 2 for bad usage.
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except MedallionError as exc:
        print(f"medallion: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
