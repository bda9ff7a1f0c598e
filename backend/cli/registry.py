"""`slmgen registry`: the operator's view of the model registry (this server's database): list, show.

`slmgen models` is the catalogue of base models; this lists the models trained or imported here, in the shape
`GET /v0/models` answers (seed 002) with the lineage the product adds.
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    registry = sub.add_parser("registry", help="list or show the models trained or imported on this server")
    registry.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    registry.add_argument("model_id", nargs="?", help="the model to show (its model_name)")
    registry.add_argument("--owner", default=None, help="only this user's models (a user id)")
    registry.add_argument("--limit", type=int, default=30)
    registry.add_argument("--json", action="store_true", help="print JSON")
    registry.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from backend.db import training as repo
    from backend.db.engine import create_sync_engine, create_sync_sessionmaker
    from backend.services.registry.service import model_view
    from backend.settings import Settings

    db = create_sync_sessionmaker(create_sync_engine(Settings().resolved_database_url))
    if args.action == "show":
        if not args.model_id:
            print("error: slmgen registry show needs a model id (its model_name)", file=sys.stderr)
            return 2
        with db.begin() as session:
            model = repo.get_model(session, args.model_id)
            if model is None:
                print(f"error: no model {args.model_id}", file=sys.stderr)
                return 1
            print(json.dumps(model_view(model), indent=2))
        return 0
    with db.begin() as session:
        rows, total = repo.list_models(session, args.owner, limit=args.limit, offset=0)
        views = [model_view(model) for model in rows]
    if args.json:
        print(json.dumps(views, indent=2))
        return 0
    table = Table(title=f"{len(views)} of {total} models, newest first")
    for column in ("model", "name", "type", "status", "base model", "updated"):
        table.add_column(column)
    for view in views:
        table.add_row(view["model_name"], view["user_name"], view["model_type"], view["status"],
                      view["base_model"] or "", view["last_updated_time"][:19])
    Console().print(table)
    return 0
