"""`slmgen models` lists the catalogue; `slmgen recommend FILE` analyses a file and ranks models for it.

`--json` prints exactly what the API returns (GET /models, POST /recommend), built from the same schemas.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.cli.analyze import positive_int
from backend.core.catalog import Catalog, load_catalog
from backend.core.errors import CoreError
from backend.core.recommend import DeploymentTarget, RecommendRequest, TaskType, recommend_models
from backend.core.recommend.options import FREE_COLAB_T4_GB

if TYPE_CHECKING:
    from backend.api.schemas.recommend import RecommendRead

DETAILED = 3  # reasons and warnings are printed for this many top models


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = sub.add_parser("models", help="list the model catalogue")
    models.add_argument("--json", action="store_true", help="print the API's JSON (GET /models)")
    models.set_defaults(handler=run_models)

    rec = sub.add_parser("recommend", help="analyse a dataset file and rank models for it")
    rec.add_argument("file", type=Path)
    rec.add_argument(
        "--task", required=True, choices=[t.value for t in TaskType], help="what the model will do"
    )
    rec.add_argument(
        "--deploy",
        required=True,
        choices=[d.value for d in DeploymentTarget],
        help="where the model will run",
    )
    rec.add_argument("--commercial-only", action="store_true", help="only licences that allow commercial use")
    rec.add_argument("--no-gated", action="store_true", help="only models whose Hub repo has no access gate")
    rec.add_argument("--max-params", type=float, default=None, metavar="B", help="largest size, in billions")
    rec.add_argument(
        "--gpu-gb",
        type=float,
        default=FREE_COLAB_T4_GB,
        help="training GPU memory (default: free Colab T4, 16)",
    )
    rec.add_argument("--tokenizer", default="cl100k_base", help="tokenizer to count with (see the README)")
    rec.add_argument("--workers", type=positive_int, default=2, help="analysis worker processes (default 2)")
    rec.add_argument("--json", action="store_true", help="print the API's JSON (POST /recommend)")
    rec.set_defaults(handler=run_recommend)


def models_payload(catalog: Catalog) -> list[dict[str, Any]]:
    return [entry.model_dump(mode="json") for entry in catalog]


def run_models(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    if args.json:
        print(json.dumps(models_payload(catalog), indent=2, ensure_ascii=False))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{len(catalog)} models (facts verified {catalog.verified_on}; sources: GET /models/ID)"
    )
    for column in (
        "model_id",
        "size",
        "context",
        "licence",
        "commercial",
        "gated",
        "system role",
        "template",
    ):
        table.add_column(column)
    for e in catalog:
        table.add_row(
            e.model_id,
            e.size_label,
            f"{e.context_length:,}",
            e.license,
            _yes(e.commercial_use),
            _yes(e.gated),
            _yes(e.supports_system_role),
            e.chat_template,
        )
    Console(width=140).print(table)
    return 0


def run_recommend(args: argparse.Namespace) -> int:
    from backend.api.schemas.recommend import RecommendRead
    from backend.cli.analyze import analyze_with_progress
    from backend.core.analysis import AnalysisOptions

    if not args.file.is_file():
        print(f"error: {args.file} is not a file", file=sys.stderr)
        return 2
    try:
        request = RecommendRequest.create(
            args.task,
            args.deploy,
            commercial_only=args.commercial_only,
            no_gated=args.no_gated,
            max_params_b=args.max_params,
            training_gpu_gb=args.gpu_gb,
        )
        options = AnalysisOptions(tokenizer=args.tokenizer, allow_tokenizer_download=True)
        with tempfile.TemporaryDirectory(prefix="slmgen-") as store:
            report = analyze_with_progress(args.file, options, args.workers, sys.stderr.isatty(), Path(store))
        result = recommend_models(report.profile(), request, load_catalog())
    except CoreError as exc:
        if args.json:
            print(json.dumps(exc.to_dict(), indent=2, ensure_ascii=False))
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    payload = RecommendRead.from_result(result)
    if args.json:
        print(json.dumps(payload.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        print_ranking(payload, args.file.name)
    return 0


def print_ranking(payload: RecommendRead, filename: str) -> None:
    """A readable ranking: the table, the top models' reasons and warnings, and why the others are out."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=120)
    req = payload.request
    table = Table(title=f"Models for {filename}: {req.task_type.value} on {req.deployment_target.value}")
    for column in ("#", "model", "size", "score", "licence", "gated", "serve GB", "train GB"):
        table.add_column(column)
    for r in payload.recommendations:
        table.add_row(
            str(r.rank),
            r.model_id,
            r.size,
            f"{r.score:.3f}",
            r.license,
            _yes(r.is_gated),
            f"{r.inference_memory_gb:g}",
            f"{r.training_memory_gb:g}",
        )
    console.print(table)
    for warning in payload.warnings:
        console.print(f"[yellow]! {warning}[/yellow]", highlight=False)
    for r in payload.recommendations[:DETAILED]:
        console.print(
            f"\n[bold]{r.rank}. {r.model_name}[/bold] ({r.model_id}, score {r.score:.3f})", highlight=False
        )
        for reason in r.reasons:
            console.print(f"  + {reason}", highlight=False)
        for warning in r.warnings:
            console.print(f"  [yellow]! {warning}[/yellow]", highlight=False)
    if payload.excluded:
        console.print(f"\n[bold]Excluded ({len(payload.excluded)})[/bold]")
        for x in payload.excluded:
            console.print(f"  - {x.model_id}: {' '.join(x.reasons)}", highlight=False)
    console.print(f"\nScore = {payload.scoring}. {payload.tie_break}", highlight=False)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
