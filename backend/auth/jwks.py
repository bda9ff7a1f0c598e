"""The project's published signing keys (`<SUPABASE_URL>/auth/v1/.well-known/jwks.json`), cached.

Keys are fetched on first use, trusted for `cache_seconds`, and fetched again early when a token names a
key id we do not know (Supabase rotates keys), at most once per `min_refresh_seconds` so that a stream of
tokens with made-up key ids cannot turn us into a request amplifier against the auth server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from backend.core.errors import UnavailableError

log = logging.getLogger("slmgen.auth")

FETCH_TIMEOUT_SECONDS = 5.0


class JwksCache:
    def __init__(
        self,
        url: str,
        *,
        cache_seconds: float = 600.0,
        min_refresh_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.cache_seconds = cache_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self.fetch_count = 0
        self._clock = clock
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def get_key(self, kid: str) -> PyJWK | None:
        """The key with this id, or None when the project does not publish it (even after a refresh)."""
        if self._is_stale():
            await self._refresh(only_if_stale=True)
        key = self._keys.get(kid)
        if key is None and self._may_refresh_early():
            await self._refresh(only_if_stale=False, wanted_kid=kid)
            key = self._keys.get(kid)
        return key

    def _is_stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self.cache_seconds

    def _may_refresh_early(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self.min_refresh_seconds

    async def _refresh(self, *, only_if_stale: bool, wanted_kid: str | None = None) -> None:
        async with self._lock:
            # Another request may have refreshed while we waited for the lock.
            if only_if_stale and not self._is_stale():
                return
            if wanted_kid is not None and (wanted_kid in self._keys or not self._may_refresh_early()):
                return
            try:
                document = await self._fetch()
            except UnavailableError:
                if self._keys:  # keep serving with the keys we have rather than refusing everyone
                    log.warning("JWKS refresh failed; keeping %d cached keys", len(self._keys))
                    self._fetched_at = self._clock()
                    return
                raise
            self._keys = parse_jwks(document)
            self._fetched_at = self._clock()

    async def _fetch(self) -> dict[str, Any]:
        self.fetch_count += 1
        try:
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS) as client:
                response = await client.get(self.url, headers={"Accept": "application/json"})
                response.raise_for_status()
                document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise UnavailableError(
                "Could not fetch the sign-in keys from the authentication server; try again shortly.",
                code="jwks_unavailable",
            ) from exc
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise UnavailableError(
                "The authentication server's key set is not a JWKS document; check SUPABASE_URL.",
                code="jwks_unavailable",
            )
        return document


def parse_jwks(document: dict[str, Any]) -> dict[str, PyJWK]:
    """Signing keys by key id; keys without an id, for encryption, or of an unsupported type are skipped."""
    keys: dict[str, PyJWK] = {}
    for entry in document.get("keys", []):
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            continue
        if entry.get("use", "sig") != "sig":
            continue
        try:
            keys[entry["kid"]] = PyJWK(entry)
        except PyJWKError as exc:
            log.warning("skipping JWKS key %s: %s", entry.get("kid"), exc)
    return keys
