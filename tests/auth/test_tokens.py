"""Token verification with really signed tokens: HS256, and ES256/RS256 through a JWKS on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from backend.auth import TokenVerifier, User, mint_dev_token
from backend.core.errors import UnauthorizedError, UnavailableError
from tests.auth.conftest import SECRET, JwksServer, sign
from tests.support.postgres import free_port

Claims = Callable[..., dict[str, Any]]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{b64(signature)}"


@pytest.fixture
def verifier(jwks_server: JwksServer) -> TokenVerifier:
    return TokenVerifier(jwks_server.url, SECRET, jwks_cache_seconds=600)


async def test_hs256_token_names_the_user(verifier: TokenVerifier, claims: Claims) -> None:
    user = await verifier.verify(sign(claims(), SECRET, "HS256"))
    assert user == User(
        id="7d0f5a0e-3c55-4b0c-9d7e-2f3b1c9a8e11",
        email="ada@example.org",
        role="authenticated",
        is_anonymous=False,
    )


async def test_anonymous_supabase_user_is_flagged(verifier: TokenVerifier, claims: Claims) -> None:
    user = await verifier.verify(sign(claims(is_anonymous=True, email=""), SECRET, "HS256"))
    assert (user.is_anonymous, user.email) == (True, None)


@pytest.mark.parametrize(
    ("alg", "key_name", "kid"), [("ES256", "es", "es-key-1"), ("RS256", "rs", "rs-key-1")]
)
async def test_asymmetric_tokens_verify_through_the_jwks(
    verifier: TokenVerifier,
    jwks_server: JwksServer,
    claims: Claims,
    signing_keys: dict[str, Any],
    alg: str,
    key_name: str,
    kid: str,
) -> None:
    token = sign(claims(sub="user-asym-1"), signing_keys[key_name], alg, kid)
    assert (await verifier.verify(token)).id == "user-asym-1"
    assert (await verifier.verify(token)).id == "user-asym-1"
    assert jwks_server.requests == 1  # the key set is cached


async def test_dev_token_round_trip(jwks_server: JwksServer) -> None:
    token = mint_dev_token(SECRET, jwks_server.url + "/", "local-dev-user", email="dev@example.org", ttl=120)
    user = await TokenVerifier(jwks_server.url, SECRET).verify(token)
    assert (user.id, user.email, user.role) == ("local-dev-user", "dev@example.org", "authenticated")
    assert jwks_server.requests == 0  # HS256 never needs the key set


async def test_rotated_key_is_fetched_when_an_unknown_kid_appears(
    jwks_server: JwksServer, claims: Claims, signing_keys: dict[str, Any]
) -> None:
    verifier = TokenVerifier(jwks_server.url, SECRET, jwks_min_refresh_seconds=0)
    assert (await verifier.verify(sign(claims(), signing_keys["es"], "ES256", "es-key-1"))).email
    jwks_server.publish("es-key-2", signing_keys["es_new"].public_key())
    rotated = sign(claims(sub="after-rotation"), signing_keys["es_new"], "ES256", "es-key-2")
    assert (await verifier.verify(rotated)).id == "after-rotation"
    assert jwks_server.requests == 2


async def test_unknown_kids_refresh_at_most_once_per_interval(
    jwks_server: JwksServer, claims: Claims, signing_keys: dict[str, Any]
) -> None:
    now = [1000.0]
    verifier = TokenVerifier(
        jwks_server.url, SECRET, jwks_cache_seconds=600, jwks_min_refresh_seconds=30, clock=lambda: now[0]
    )
    await verifier.verify(sign(claims(), signing_keys["es"], "ES256", "es-key-1"))
    now[0] += 31
    for n in range(5):
        with pytest.raises(UnauthorizedError) as info:
            await verifier.verify(sign(claims(), signing_keys["es"], "ES256", f"made-up-{n}"))
        assert info.value.code == "unknown_signing_key"
    assert jwks_server.requests == 2  # the first fetch, then one early refresh for all five made-up kids
    now[0] += 600  # the cache has aged out: fetched again on next use
    await verifier.verify(sign(claims(), signing_keys["rs"], "RS256", "rs-key-1"))
    assert jwks_server.requests == 3


async def test_unreachable_jwks_is_a_503_not_a_401(claims: Claims, signing_keys: dict[str, Any]) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    verifier = TokenVerifier(dead, SECRET)
    token = sign(claims(iss=f"{dead}/auth/v1"), signing_keys["es"], "ES256", "es-key-1")
    with pytest.raises(UnavailableError, match="sign-in keys"):
        await verifier.verify(token)
    hs = sign(claims(iss=f"{dead}/auth/v1"), SECRET, "HS256")
    assert (await verifier.verify(hs)).email == "ada@example.org"


def forged_tokens(claims: Claims, keys: dict[str, Any], server: JwksServer) -> dict[str, tuple[str, str]]:
    """name → (token, text the refusal must contain)."""
    good = claims()
    rsa_public_pem = (
        keys["rs"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": "rs-key-1"}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(good).encode())}".encode()
    key_confusion = (
        signing_input.decode() + "." + b64(hmac.new(rsa_public_pem, signing_input, hashlib.sha256).digest())
    )

    valid = sign(good, keys["es"], "ES256", "es-key-1")
    head, _, signature = valid.split(".")
    tampered = f"{head}.{b64(json.dumps(good | {'sub': 'someone-else'}).encode())}.{signature}"
    return {
        "alg none": (hand_made({"alg": "none", "typ": "JWT"}, good), "algorithm 'none' is not accepted"),
        "alg None": (hand_made({"alg": "None", "typ": "JWT"}, good), "is not accepted"),
        "no alg": (hand_made({"typ": "JWT"}, good), "algorithm None is not accepted"),
        "HS256 keyed with the RSA public key": (key_confusion, "signature is not valid"),
        "HS256 with another secret": (
            sign(good, "another-secret-of-32-characters-or-more", "HS256"),
            "signature is not valid",
        ),
        "expired": (sign(claims(exp=int(time.time()) - 120), SECRET, "HS256"), "has expired"),
        "wrong audience": (sign(claims(aud="anon"), SECRET, "HS256"), "audience must be 'authenticated'"),
        "no audience": (sign(claims(aud=None), SECRET, "HS256"), "no 'aud' claim"),
        "wrong issuer": (sign(claims(iss="https://evil.example/auth/v1"), SECRET, "HS256"), "not issued by"),
        "tampered payload": (tampered, "signature is not valid"),
        "unknown kid": (sign(good, keys["es"], "ES256", "never-published"), "does not publish"),
        "no kid": (sign(good, keys["es"], "ES256"), "no 'kid'"),
        "ES256 header on the RSA key": (sign(good, keys["es"], "ES256", "rs-key-1"), "does not match"),
        "RS256 header on the EC key": (sign(good, keys["rs"], "RS256", "es-key-1"), "does not match"),
        "HS512": (sign(good, SECRET, "HS512"), "'HS512' is not accepted"),
        "missing sub": (sign(claims(sub=None), SECRET, "HS256"), "no 'sub' claim"),
        "empty sub": (sign(claims(sub=""), SECRET, "HS256"), "'sub' claim must be a user id"),
        "numeric sub": (sign(claims(sub=None) | {"sub": 42}, SECRET, "HS256"), "invalid"),
        "missing exp": (sign(claims(exp=None), SECRET, "HS256"), "no 'exp' claim"),
        "not yet valid": (sign(claims(nbf=int(time.time()) + 3600), SECRET, "HS256"), "not valid yet"),
        "garbage": ("not a token at all", "malformed"),
        "empty": ("", "malformed"),
        "three dots of garbage": ("a.b.c", "malformed"),
        "JSON that is not an object": (f"{b64(b'[1]')}.{b64(b'{}')}.{b64(b'x')}", "malformed"),
    }


FORGERIES = [
    "alg none",
    "alg None",
    "no alg",
    "HS256 keyed with the RSA public key",
    "HS256 with another secret",
    "expired",
    "wrong audience",
    "no audience",
    "wrong issuer",
    "tampered payload",
    "unknown kid",
    "no kid",
    "ES256 header on the RSA key",
    "RS256 header on the EC key",
    "HS512",
    "missing sub",
    "empty sub",
    "numeric sub",
    "missing exp",
    "not yet valid",
    "garbage",
    "empty",
    "three dots of garbage",
    "JSON that is not an object",
]


@pytest.mark.parametrize("name", FORGERIES)
async def test_forged_and_invalid_tokens_are_refused_with_a_reason(
    name: str, verifier: TokenVerifier, claims: Claims, signing_keys: dict[str, Any], jwks_server: JwksServer
) -> None:
    token, reason = forged_tokens(claims, signing_keys, jwks_server)[name]
    with pytest.raises(UnauthorizedError) as info:
        await verifier.verify(token)
    assert reason in info.value.detail
    assert info.value.code in {"invalid_token", "token_expired", "unknown_signing_key"}


def test_every_forgery_is_in_the_table(
    claims: Claims, signing_keys: dict[str, Any], jwks_server: JwksServer
) -> None:
    assert sorted(forged_tokens(claims, signing_keys, jwks_server)) == sorted(FORGERIES)


async def test_no_secret_means_no_hs256(jwks_server: JwksServer, claims: Claims) -> None:
    verifier = TokenVerifier(jwks_server.url, None)
    with pytest.raises(UnauthorizedError, match="no SUPABASE_JWT_SECRET"):
        await verifier.verify(sign(claims(), SECRET, "HS256"))


async def test_cached_keys_keep_working_when_the_auth_server_goes_away(
    jwks_server: JwksServer, claims: Claims, signing_keys: dict[str, Any]
) -> None:
    now = [0.0]
    verifier = TokenVerifier(jwks_server.url, SECRET, jwks_cache_seconds=60, clock=lambda: now[0])
    token = sign(claims(), signing_keys["rs"], "RS256", "rs-key-1")
    await verifier.verify(token)
    jwks_server.published.clear()  # the next fetch answers an empty key set...
    verifier.jwks.url = (
        f"http://127.0.0.1:{free_port()}/auth/v1/.well-known/jwks.json"  # ...or nothing at all
    )
    now[0] += 61
    assert (await verifier.verify(token)).email == "ada@example.org"  # stale keys beat refusing everyone
    assert verifier.jwks.fetch_count == 2
