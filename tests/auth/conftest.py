"""A real JWKS endpoint on 127.0.0.1 (http.server in a thread) and real EC P-256 / RSA-2048 signing keys.

- `signing_keys`: {"es": EC private key, "rs": RSA private key, "es_new": a second EC key (rotation)}.
- `jwks_server`: serves `<url>/auth/v1/.well-known/jwks.json`; its `published` list can be edited while it
  runs and `requests` counts the fetches.
- `claims(**overrides)`: Supabase-shaped claims for the server's issuer; `sign(claims, key, alg, kid)`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

JWKS_PATH = "/auth/v1/.well-known/jwks.json"
SECRET = "a-test-project-jwt-secret-long-enough-for-hs512-too-0123456789abcdef"


@dataclass
class JwksServer:
    url: str
    published: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0

    def publish(self, kid: str, public_key: Any, alg: str | None = None) -> None:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(public_key, as_dict=True)
        else:
            jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True)
        jwk.update({"kid": kid, "use": "sig"})
        if alg:
            jwk["alg"] = alg
        self.published.append(jwk)


@pytest.fixture(scope="session")
def signing_keys() -> dict[str, Any]:
    return {
        "es": ec.generate_private_key(ec.SECP256R1()),
        "es_new": ec.generate_private_key(ec.SECP256R1()),
        "rs": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }


@pytest.fixture
def jwks_server(signing_keys: dict[str, Any]) -> Iterator[JwksServer]:
    state = JwksServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            if self.path != JWKS_PATH:
                self.send_error(404)
                return
            state.requests += 1
            body = json.dumps({"keys": state.published}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    state.publish("es-key-1", signing_keys["es"].public_key())
    state.publish("rs-key-1", signing_keys["rs"].public_key(), alg="RS256")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def claims(jwks_server: JwksServer) -> Callable[..., dict[str, Any]]:
    def make(**overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        base: dict[str, Any] = {
            "iss": f"{jwks_server.url}/auth/v1",
            "aud": "authenticated",
            "sub": "7d0f5a0e-3c55-4b0c-9d7e-2f3b1c9a8e11",
            "role": "authenticated",
            "email": "ada@example.org",
            "iat": now,
            "exp": now + 3600,
            "session_id": "0b9c1f7e-1111-4222-8333-944455556666",
            "is_anonymous": False,
        }
        base.update(overrides)
        return {k: v for k, v in base.items() if v is not None}

    return make


def sign(payload: dict[str, Any], key: Any, alg: str, kid: str | None = None) -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(payload, key, algorithm=alg, headers=headers)
