"""`sqjz demo`: start the whole system on this machine; today, the protocol self-test."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print results as JSON")


def run(args: argparse.Namespace) -> int:
    from sqjz import selftest

    return selftest.run(args)
