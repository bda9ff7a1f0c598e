"""`slmgen token` mints a token the server's own verifier accepts, and refuses production."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from backend.auth import TokenVerifier
from backend.cli import auth as auth_cli
from backend.settings import DEV_JWT_SECRET


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="slmgen")
    auth_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    for name in ("ENVIRONMENT", "SUPABASE_URL", "SUPABASE_JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)


async def test_token_is_accepted_by_the_verifier(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["token", "--user-id", "dev-user-1", "--email", "dev@example.org", "--ttl", "600"]) == 0
    token = capsys.readouterr().out.strip()
    user = await TokenVerifier("http://127.0.0.1:54321", DEV_JWT_SECRET).verify(token)
    assert (user.id, user.email) == ("dev-user-1", "dev@example.org")


async def test_token_uses_the_configured_project(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPABASE_URL", "https://abcd.supabase.co")
    monkeypatch.setenv("SUPABASE_JWT_SECRET", "project-secret-from-the-dashboard-0123456789")
    assert run_cli(["token", "--user-id", "u-42"]) == 0
    token = capsys.readouterr().out.strip()
    verified = await TokenVerifier(
        "https://abcd.supabase.co", "project-secret-from-the-dashboard-0123456789"
    ).verify(token)
    assert (verified.id, verified.email) == ("u-42", None)
    from backend.core.errors import UnauthorizedError

    with pytest.raises(UnauthorizedError, match="not issued by"):
        await TokenVerifier("http://127.0.0.1:54321", "project-secret-from-the-dashboard-0123456789").verify(
            token
        )


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["token", "--user-id", "u"], {"ENVIRONMENT": "production"}, "for development"),
        (["token", "--user-id", "x" * 65], {}, "1 to 64 characters"),
        (["token", "--user-id", "u", "--ttl", "0"], {}, "positive number"),
    ],
)
def test_token_refusals(
    argv: list[str],
    env: dict[str, str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert run_cli(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err
