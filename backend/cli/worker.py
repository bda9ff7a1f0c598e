"""`slmgen worker`: run task workers (on this machine, or on any machine sharing the database and DATA_DIR)."""

from __future__ import annotations

import argparse
import logging
import sys


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = sub.add_parser(
        "worker", help="run task workers (analysis, generation, Hub, training)",
        description="Run the workers that execute tasks. They need the same DATABASE_URL, DATA_DIR (shared "
        "storage) and SECRET_KEY as the server; several workers on several machines share the work.")
    add_arguments(worker)
    worker.set_defaults(handler=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kinds", default=None,
                        help="comma-separated task kinds this worker takes (default: WORKER_KINDS, else all), "
                        "e.g. --kinds training on a GPU machine")
    parser.add_argument("--queues", default=None,
                        help="comma-separated queues to take instead (e.g. gpu); a queue named here is taken "
                        "even if this machine seems to lack what it needs")


def run(args: argparse.Namespace) -> int:
    from backend.services.tasks.kinds import KINDS, load_plugins
    from backend.settings import Settings
    from backend.worker.supervisor import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s")
    logging.getLogger("huey").setLevel(logging.WARNING)  # one line per message executed is noise
    settings = Settings()
    load_plugins(settings.task_plugins)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()] if args.kinds else settings.worker_kinds
    unknown = sorted(set(kinds or []) - set(KINDS))
    if unknown:
        print(f"error: unknown task kind(s) {', '.join(unknown)}; known: {', '.join(sorted(KINDS))}", file=sys.stderr)
        return 2
    queues = [q.strip() for q in args.queues.split(",") if q.strip()] if args.queues else None
    return run_worker(settings, kinds, queues)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="slmgen worker")
    add_arguments(parser)
    return run(parser.parse_args(argv))
