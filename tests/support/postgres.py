"""A real PostgreSQL server for the tests: started once per test run on 127.0.0.1, torn down at exit.

`initdb` refuses to run as root, so when the tests run as root the server runs as the `postgres` system
user (Debian's postgresql package creates it). The cluster lives in a temporary directory, listens on a
free TCP port on 127.0.0.1 only, trusts local connections and skips fsync (test data is disposable).

    server = postgres_server()           # starts it on first use; the same server afterwards
    url = create_database("jobs_test")   # a fresh, empty database → postgresql+asyncpg URL
    drop_database(url)

or, in a test module or conftest, `from tests.support.postgres import postgres_url` and request the
`postgres_url` fixture (a fresh database per test, dropped afterwards).

If the server cannot start, `postgres_server()` raises PostgresUnavailable with the server's log: the
tests marked `postgres` must fail loudly, never skip.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

DEFAULT_USER = "postgres"
START_TIMEOUT_SECONDS = 60


class PostgresUnavailable(RuntimeError):
    pass


@dataclass
class PostgresServer:
    bin_dir: Path
    data_dir: Path
    port: int
    run_as: str | None  # system user the server runs as (None: the current user)
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        command = [
            str(self.bin_dir / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-Atqc",
            sql,
        ]
        result = subprocess.run(command, capture_output=True, text=True, env=_clean_env(), check=False)
        if result.returncode != 0:
            raise PostgresUnavailable(f"psql failed ({sql!r}): {result.stderr.strip()}")
        return result.stdout

    def stop(self) -> None:
        _run(
            self.run_as,
            [str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "immediate", "-w"],
            check=False,
        )
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def find_bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found; "
        "run tests/support/install_system_deps.sh "
        "(apt-get install postgresql)."
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server() -> PostgresServer:
    bin_dir = find_bin_dir()
    run_as = DEFAULT_USER if os.geteuid() == 0 else None
    if run_as is not None:
        try:
            account = pwd.getpwnam(run_as)
        except KeyError as exc:
            raise PostgresUnavailable("running as root but there is no 'postgres' system user") from exc
    root = Path(tempfile.mkdtemp(prefix="slmgen-pg-"))
    data_dir, socket_dir = root / "data", root / "socket"
    socket_dir.mkdir()
    if run_as is not None:
        for path in (root, socket_dir):
            os.chown(path, account.pw_uid, account.pw_gid)
    user = run_as or pwd.getpwuid(os.geteuid()).pw_name
    init = _run(
        run_as,
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            user,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        check=False,
    )
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise PostgresUnavailable(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
    port = free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {socket_dir} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
    )
    log_file = root / "server.log"
    started = _run(
        run_as,
        [
            str(bin_dir / "pg_ctl"),
            "start",
            "-D",
            str(data_dir),
            "-l",
            str(log_file),
            "-o",
            options,
            "-w",
            "-t",
            str(START_TIMEOUT_SECONDS),
        ],
        check=False,
    )
    server = PostgresServer(bin_dir, data_dir, port, run_as, user)
    if started.returncode != 0:
        log = log_file.read_text(errors="replace") if log_file.exists() else ""
        server.stop()
        raise PostgresUnavailable(f"pg_ctl start failed: {started.stderr.strip()}\n{log[-2000:]}")
    return server


def _run(run_as: str | None, command: list[str], *, check: bool) -> subprocess.CompletedProcess[str]:
    if run_as is not None:
        command = ["runuser", "-u", run_as, "--", *command]
    return subprocess.run(command, capture_output=True, text=True, env=_clean_env(), check=check, cwd="/")


def _clean_env() -> dict[str, str]:
    # PG* variables from the caller's shell would redirect psql/pg_ctl to another server.
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"LC_ALL": "C"}


_server: PostgresServer | None = None
_lock = threading.Lock()


def postgres_server() -> PostgresServer:
    """The test run's server, started on first call and stopped when the interpreter exits."""
    global _server
    with _lock:
        if _server is None:
            _server = start_server()
            atexit.register(_server.stop)
        return _server


def create_database(prefix: str = "slmgen_test") -> str:
    """A new empty database on the test server; returns its postgresql+asyncpg URL."""
    server = postgres_server()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    server.psql(f'CREATE DATABASE "{name}"')
    return server.url(name)


def drop_database(url: str) -> None:
    server = postgres_server()
    name = url.rsplit("/", 1)[-1]
    server.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database on the test server for one test (mark the test `postgres`)."""
    url = create_database()
    yield url
    drop_database(url)
