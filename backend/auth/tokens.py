"""Verifying Supabase access tokens and minting local development ones.

A token is accepted only when its signature, `exp`, `aud == "authenticated"` and
`iss == <SUPABASE_URL>/auth/v1` all check out and it names a user (`sub`). The algorithm is taken from a
closed list and the key is chosen by that algorithm (HS256 → the project secret, ES256/RS256 → the
project's JWKS), so a token cannot pick its own verification method (`alg: none`, HS256 keyed with a
public key). Every refusal is an UnauthorizedError whose detail says what was wrong.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK

from backend.auth.jwks import JwksCache
from backend.core.errors import UnauthorizedError

AUDIENCE = "authenticated"
SYMMETRIC_ALGORITHM = "HS256"
ASYMMETRIC_ALGORITHMS = ("ES256", "RS256")
CLOCK_SKEW_SECONDS = 30


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str | None = None
    role: str = "authenticated"
    is_anonymous: bool = False


def issuer_for(supabase_url: str) -> str:
    return f"{supabase_url.rstrip('/')}/auth/v1"


def _refuse(detail: str, code: str = "invalid_token") -> UnauthorizedError:
    return UnauthorizedError(detail, code=code)


class TokenVerifier:
    def __init__(
        self,
        supabase_url: str,
        jwt_secret: str | None,
        *,
        jwks_cache_seconds: float = 600.0,
        jwks_min_refresh_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer_for(supabase_url)
        self._secret = jwt_secret or None
        self.jwks = JwksCache(
            f"{self.issuer}/.well-known/jwks.json",
            cache_seconds=jwks_cache_seconds,
            min_refresh_seconds=jwks_min_refresh_seconds,
            clock=clock,
        )

    async def verify(self, token: str) -> User:
        """The user the token speaks for; UnauthorizedError (with a reason) for anything else."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise _refuse("The access token is malformed: it is not a JSON Web Token.") from exc
        algorithm = header.get("alg")
        key = await self._key_for(algorithm, header.get("kid"))
        claims = self._decode(token, key, str(algorithm))
        return _user_from(claims)

    async def _key_for(self, algorithm: object, kid: object) -> str | PyJWK:
        if algorithm == SYMMETRIC_ALGORITHM:
            if self._secret is None:
                raise _refuse("HS256 tokens are not accepted: no SUPABASE_JWT_SECRET is configured.")
            return self._secret
        if not isinstance(algorithm, str) or algorithm not in ASYMMETRIC_ALGORITHMS:
            allowed = ", ".join([SYMMETRIC_ALGORITHM, *ASYMMETRIC_ALGORITHMS])
            raise _refuse(f"The access token's algorithm {algorithm!r} is not accepted (only {allowed}).")
        if not isinstance(kid, str) or not kid:
            raise _refuse(f"The {algorithm} access token names no signing key (no 'kid' in its header).")
        key = await self.jwks.get_key(kid)
        if key is None:
            raise _refuse(
                f"The access token was signed with key {kid!r}, which this project does not publish.",
                code="unknown_signing_key",
            )
        # PyJWK derives its algorithm from the key (EC P-256 → ES256, RSA → RS256 unless the JWK says).
        if key.algorithm_name != algorithm:
            raise _refuse(f"The access token's algorithm {algorithm} does not match signing key {kid!r}.")
        return key

    def _decode(self, token: str, key: str | PyJWK, algorithm: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=AUDIENCE,
                issuer=self.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "aud", "iss", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise _refuse("The access token has expired; sign in again.", code="token_expired") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise _refuse(f"The access token has no '{exc.claim}' claim.") from exc
        except jwt.InvalidAudienceError as exc:
            detail = f"The access token is not meant for this API (its audience must be '{AUDIENCE}')."
            raise _refuse(detail) from exc
        except jwt.InvalidIssuerError as exc:
            detail = f"The access token was not issued by this project's auth server ({self.issuer})."
            raise _refuse(detail) from exc
        except jwt.InvalidSignatureError as exc:
            raise _refuse("The access token's signature is not valid.") from exc
        except jwt.ImmatureSignatureError as exc:
            raise _refuse("The access token is not valid yet; check the clock of the machine.") from exc
        except jwt.InvalidTokenError as exc:
            raise _refuse(f"The access token is invalid: {exc}.") from exc
        return claims


def _user_from(claims: dict[str, Any]) -> User:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > 64:
        raise _refuse("The access token's 'sub' claim must be a user id (a string of 1 to 64 characters).")
    email = claims.get("email")
    role = claims.get("role")
    return User(
        id=subject,
        email=email if isinstance(email, str) and email else None,
        role=role if isinstance(role, str) and role else AUDIENCE,
        is_anonymous=claims.get("is_anonymous") is True,
    )


def mint_dev_token(
    secret: str, supabase_url: str, user_id: str, email: str | None = None, ttl: int = 3600
) -> str:
    """An HS256 access token shaped like Supabase's, for development on one machine without Supabase."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer_for(supabase_url),
        "aud": AUDIENCE,
        "sub": user_id,
        "role": AUDIENCE,
        "iat": now,
        "exp": now + ttl,
        "session_id": uuid.uuid4().hex,
        "is_anonymous": False,
    }
    if email:
        claims["email"] = email
    return jwt.encode(claims, secret, algorithm=SYMMETRIC_ALGORITHM)
