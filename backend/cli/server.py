"""`slmgen serve` and `slmgen migrate`."""

from __future__ import annotations

import argparse
import logging


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="serve the API and the web page")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-migrate", action="store_true", help="do not apply database migrations first")
    serve.set_defaults(handler=run_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations (creates the database if needed)")
    migrate.set_defaults(handler=run_migrate)


def run_migrate(_: argparse.Namespace) -> int:
    from backend.db.engine import upgrade_database
    from backend.settings import Settings

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings.resolved_database_url)
    print(f"database is at the latest migration ({_redact(settings.resolved_database_url)})")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from backend.api.app import create_app
    from backend.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = Settings()
    settings.check_production_safety()
    if not args.no_migrate:
        run_migrate(args)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0


def _redact(url: str) -> str:
    # postgresql+asyncpg://user:password@host/db → hide the password in anything printed
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url
