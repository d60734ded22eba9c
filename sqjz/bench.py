"""`sqjz bench`: run benchmarks, print them, and rewrite their table in docs/benchmarks.md."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("which", nargs="*", default=[], help="benchmarks to run (default: all)")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")


def run(args: argparse.Namespace) -> int:
    from sqjz import benchmarks

    return benchmarks.main(args.which, write=not args.no_write)
