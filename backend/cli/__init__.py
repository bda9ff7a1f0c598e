"""The `slmgen` command. Each subcommand lives in its own module with `register(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules under backend.cli, each exposing register(subparsers) -> None.
SUBCOMMAND_MODULES = ("server", "analyze", "models", "notebook", "auth", "worker", "tasks", "export", "hub",
                      "generate", "train", "registry")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slmgen", description="From a chat fine-tuning dataset to a small model.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"backend.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result = args.handler(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
