"""`slmgen hub push|append|import`: the Hub task bodies, run in this process (token from HF_TOKEN).

    slmgen hub push data.jsonl --repo you/chats [--split 80,10,10 | --split train] [--public] [--fix ACTION]...
    slmgen hub append more.jsonl --repo you/chats --split train
    slmgen hub import you/chats [--config C] [--split train] [--revision R] -o chats.jsonl

The Hub is HF_ENDPOINT (default https://huggingface.co). The token is never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from backend.cli.export import add_fix_options, analysed_and_fixed
from backend.core.errors import CoreError, UnauthorizedError
from backend.services.hub import (
    AppendPayload,
    ImportPayload,
    Origin,
    PushPayload,
    append_store,
    card_facts,
    import_dataset,
    push_store,
)
from backend.services.tasks.context import LocalContext
from backend.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hub = sub.add_parser("hub", help="push a dataset to the Hugging Face Hub, add rows to one, or import one")
    verbs = hub.add_subparsers(dest="hub_command", required=True, metavar="VERB")
    push = verbs.add_parser("push", help="push a dataset file in leak-free splits, with a dataset card")
    push.add_argument("file", type=Path)
    push.add_argument("--repo", required=True, help="owner/name, or a name in your own namespace")
    push.add_argument("--split", default="80,10,10", type=split_value,
                      help="train,validation,test percentages (default 80,10,10), or one split name")
    push.add_argument("--public", action="store_true", help="make a new repo public (default: private)")
    push.add_argument("--seed", type=int, default=42)
    push.add_argument("--stratify", action="store_true", help="classification: keep label proportions per split")
    push.add_argument("--license", default="unknown")
    push.add_argument("--task-category", default="text-generation")
    add_fix_options(push)
    push.set_defaults(handler=run_push)
    append = verbs.add_parser("append", help="add a file's examples to one split of an existing Hub dataset")
    append.add_argument("file", type=Path)
    append.add_argument("--repo", required=True)
    append.add_argument("--split", default="train", choices=["train", "validation", "test"])
    add_fix_options(append)
    append.set_defaults(handler=run_append)
    imported = verbs.add_parser("import", help="write one split of a Hub dataset as a JSON Lines file")
    imported.add_argument("repo")
    imported.add_argument("--config", default=None)
    imported.add_argument("--split", default="train")
    imported.add_argument("--revision", default=None)
    imported.add_argument("-o", "--output", type=Path, required=True)
    imported.add_argument("--max-bytes", type=int, default=Settings.model_fields["max_upload_bytes"].default)
    imported.set_defaults(handler=run_import)


def split_value(text: str) -> list[int] | str:
    if text in ("train", "validation", "test"):
        return text
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected percentages like 80,10,10 or a split name, not {text!r}") from None


def context(work: Path) -> LocalContext:
    def show(kind: str, data: dict[str, Any]) -> None:
        if kind == "status":
            print(data["step"], file=sys.stderr)

    token = os.environ.get("HF_TOKEN") or None
    return LocalContext(work / "task", secrets={"hf_token": token} if token else {}, on_event=show)


def require_token() -> str:
    token = os.environ.get("HF_TOKEN")
    if not token:
        raise UnauthorizedError("Set HF_TOKEN to a Hugging Face access token with write access.")
    return token


def run_push(args: argparse.Namespace) -> int:
    def push(work: Path) -> dict[str, Any]:
        token = require_token()
        store, report, fixed = analysed_and_fixed(args, work)
        fixes = [{"action": o.action.value, "description": o.description, "removed": o.removed,
                  "changed": o.changed} for o in fixed.plan.outcomes] if fixed else []
        origin = Origin(kind="upload", filename=args.file.name, fixes=fixes)
        request = PushPayload(dataset_id="local-file", store=str(store), repo=args.repo, split=args.split,
                              private=not args.public, seed=args.seed, stratify=args.stratify, license=args.license,
                              task_category=args.task_category, card=card_facts(report, origin))
        return push_store(context(work), request, store, token=token, endpoint=Settings().hf_endpoint)

    return run_reporting(args.file, push)


def run_append(args: argparse.Namespace) -> int:
    def append(work: Path) -> dict[str, Any]:
        token = require_token()
        store, _, _ = analysed_and_fixed(args, work)
        request = AppendPayload(dataset_id="local-file", store=str(store), repo=args.repo, split=args.split,
                                note=f"from {args.file.name}")
        return append_store(context(work), request, store, token=token, endpoint=Settings().hf_endpoint)

    return run_reporting(args.file, append)


def run_import(args: argparse.Namespace) -> int:
    def read(work: Path) -> dict[str, Any]:
        request = ImportPayload(repo=args.repo, config=args.config, split=args.split, revision=args.revision,
                                dataset_id="local-file")
        result = import_dataset(context(work), request, args.output, token=os.environ.get("HF_TOKEN") or None,
                                endpoint=Settings().hf_endpoint, max_bytes=args.max_bytes)
        return {**result, "stored_name": str(args.output)}

    return run_reporting(None, read)


def run_reporting(file: Path | None, work: Any) -> int:
    """Run one verb in a temporary directory: its result as JSON on stdout, or one error line."""
    if file is not None and not file.is_file():
        print(f"error: {file} is not a file", file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix="slmgen-hub-") as tmp:
            result = work(Path(tmp))
    except CoreError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0
