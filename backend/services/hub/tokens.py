"""A signed-in user's saved Hub token: checked with the Hub when saved, stored only encrypted (server key).

Which token a Hub task gets: the request's `X-HuggingFace-Key` header when sent, else the user's saved
one, else none (`resolve_hub_token`). The token then travels only as the task's secret `hf_token`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from backend.auth import User
from backend.core.errors import InvalidInputError
from backend.db import repository as repo
from backend.services import crypto
from backend.services.hub.client import hub_errors, open_api
from backend.services.state import AppState

MAX_TOKEN_CHARS = 400


def check_token_shape(token: str) -> str:
    token = token.strip()
    if not token or len(token) > MAX_TOKEN_CHARS or any(c.isspace() for c in token):
        raise InvalidInputError("A Hugging Face token is one word of letters and digits (it starts with hf_).",
                                field="token")
    return token


def hub_username(endpoint: str, token: str) -> str:
    """Whose token this is, as the Hub says (blocking: one HTTP call)."""
    with hub_errors("your account", token_given=True, action="check the token of"):
        return str(open_api(endpoint, token).whoami()["name"])


async def save_hub_token(state: AppState, user: User, token: str) -> dict[str, Any]:
    token = check_token_shape(token)
    username = await asyncio.to_thread(hub_username, state.settings.hf_endpoint, token)
    encrypted = crypto.encrypt(crypto.server_key(state.settings), token)
    async with state.session() as session:
        await repo.put_hub_token(session, user.id, encrypted, username)
    return {"saved": True, "username": username}


async def hub_token_status(state: AppState, user: User) -> dict[str, Any]:
    async with state.session() as session:
        row = await repo.get_hub_token(session, user.id)
    if row is None:
        return {"saved": False, "username": None, "updated_at": None}
    return {"saved": True, "username": row.hub_username, "updated_at": row.updated_at.isoformat()}


async def forget_hub_token(state: AppState, user: User) -> bool:
    async with state.session() as session:
        return await repo.delete_hub_token(session, user.id)


async def resolve_hub_token(state: AppState, user: User | None, header_token: str | None) -> str | None:
    """The token a Hub task should carry: the header's, else the signed-in user's saved one, else None."""
    if header_token and header_token.strip():
        return check_token_shape(header_token)
    if user is None:
        return None
    async with state.session() as session:
        row = await repo.get_hub_token(session, user.id)
    return None if row is None else crypto.decrypt(crypto.server_key(state.settings), row.token_encrypted)
