"""`slmgen tasks`: the operator's view of the task engine (this server's database): list, show, stop."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tasks = sub.add_parser("tasks", help="list, show or stop tasks (analyses, generations, pushes, training runs)")
    tasks.add_argument("action", nargs="?", choices=["list", "show", "cancel"], default="list")
    tasks.add_argument("task_id", nargs="?", help="the task to show or cancel")
    tasks.add_argument("--kind", default=None, help="only tasks of this kind")
    tasks.add_argument("--state", default=None, help="only tasks in this state (QUEUED, RUNNING, DONE, ...)")
    tasks.add_argument("--limit", type=int, default=30)
    tasks.add_argument("--json", action="store_true", help="print JSON")
    tasks.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from backend.db import tasks as repo
    from backend.db.engine import create_sync_engine, create_sync_sessionmaker
    from backend.services.tasks.engine import task_view
    from backend.settings import Settings

    db = create_sync_sessionmaker(create_sync_engine(Settings().resolved_database_url))
    if args.action in ("show", "cancel"):
        if not args.task_id:
            print(f"error: slmgen tasks {args.action} needs a task id", file=sys.stderr)
            return 2
        with db.begin() as session:
            task = repo.get_task(session, args.task_id)
            if task is None:
                print(f"error: no task {args.task_id}", file=sys.stderr)
                return 1
            if args.action == "cancel":
                outcome = repo.request_cancel(session, task.id)
                print(f"task {task.id}: {outcome}")
                return 0 if outcome in ("CANCELLED", "CANCELLING") else 1
            print(json.dumps(task_view(task), indent=2))
        return 0
    with db.begin() as session:
        rows, total = repo.list_tasks(session, None, kind=args.kind, state=args.state, limit=args.limit, offset=0)
        views = [task_view(task) for task in rows]
    if args.json:
        print(json.dumps(views, indent=2))
        return 0
    table = Table(title=f"{len(views)} of {total} tasks, newest first")
    for column in ("task", "kind", "state", "attempt", "progress", "last step", "created"):
        table.add_column(column)
    for view in views:
        fraction = view["progress"]["fraction"]
        table.add_row(view["task_id"], view["kind"], view["state"], f"{view['attempt']}/{view['max_attempts']}",
                      "" if fraction is None else f"{fraction:.0%}", (view["detailed_status"] or [""])[-1],
                      view["created_at"][:19])
    Console().print(table)
    return 0
