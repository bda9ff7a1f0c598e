"""A stand-in for GitHub's gist API, served on 127.0.0.1 for the browser tests.

GitHub cannot be reached from the test machine, so this answers the one call the server makes for
"Open in Colab", `POST /gists` with a bearer token, the way GitHub does: 201 with the new gist's id,
owner and html_url, or 401 for a wrong token. It keeps what it received, for the test to check.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeGitHub:
    token: str
    owner: str = "octocat"
    server: ThreadingHTTPServer | None = None
    gists: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeGitHub:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _handler_for(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            if self.path != "/gists":
                self._answer(404, {"message": "Not Found"})
            elif self.headers.get("Authorization") != f"Bearer {fake.token}":
                self._answer(401, {"message": "Bad credentials"})
            else:
                gist_id = secrets.token_hex(10)
                fake.gists.append({"id": gist_id, **body})
                self._answer(201, {"id": gist_id, "owner": {"login": fake.owner},
                                   "html_url": f"https://gist.github.com/{gist_id}"})

    return Handler
