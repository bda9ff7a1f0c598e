"""A stand-in for Supabase's password sign-in endpoint, served on 127.0.0.1 for the browser tests.

Supabase (GoTrue) cannot run on the test machine, so this answers the one call the page makes,
`POST /auth/v1/token?grant_type=password` with an `apikey` header, the way GoTrue does: an access
token signed with the project's JWT secret on success, `400 invalid_grant` on a wrong password.
The app under test then verifies that token with its real verifier.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from backend.auth import mint_dev_token


@dataclass
class Account:
    user_id: str
    email: str
    password: str


@dataclass
class FakeSupabase:
    secret: str
    anon_key: str
    accounts: list[Account]
    server: ThreadingHTTPServer | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeSupabase:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def sign_in(self, apikey: str | None, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if apikey != self.anon_key:
            return 401, {"message": "Invalid API key", "hint": "Double check your Supabase `anon` key."}
        for account in self.accounts:
            if account.email == body.get("email") and account.password == body.get("password"):
                token = mint_dev_token(self.secret, self.url, account.user_id, email=account.email)
                user = {"id": account.user_id, "email": account.email, "aud": "authenticated"}
                return 200, {"access_token": token, "token_type": "bearer", "expires_in": 3600, "user": user}
        return 400, {"error": "invalid_grant", "error_description": "Invalid login credentials"}


def _handler_for(fake: FakeSupabase) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
            pass

        def _cors(self) -> None:
            self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
            self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            self.send_header(
                "Access-Control-Allow-Headers", "apikey, authorization, content-type, x-client-info"
            )

        def do_OPTIONS(self) -> None:
            self.send_response(204)
            self._cors()
            self.end_headers()

        def do_POST(self) -> None:
            parsed = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                body = {}
            fake.requests.append({"path": parsed.path, "query": parse_qs(parsed.query), "body": body})
            if parsed.path != "/auth/v1/token" or parse_qs(parsed.query).get("grant_type") != ["password"]:
                status, answer = 404, {"message": "not found"}
            else:
                status, answer = fake.sign_in(self.headers.get("apikey"), body)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self._cors()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
