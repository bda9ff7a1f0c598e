"""Dependency aliases for routers: the app state, the database session, who is asking."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import User
from backend.core.errors import UnauthorizedError
from backend.services.datasets import client_key
from backend.services.state import AppState


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.slmgen
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    async with state.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("The Authorization header must be 'Bearer <Supabase access token>'.",
                                code="invalid_authorization_header")
    return token.strip()


async def get_optional_user(request: Request, state: StateDep) -> User | None:
    """Anonymous when no token is sent; a token that is sent must be valid (never silently anonymous)."""
    token = _bearer_token(request)
    if token is None:
        return None
    return await state.verifier.verify(token)


async def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    if user is None:
        raise UnauthorizedError("Sign in first: send 'Authorization: Bearer <Supabase access token>'.",
                                code="not_authenticated")
    return user


OptionalUserDep = Annotated[User | None, Depends(get_optional_user)]
CurrentUserDep = Annotated[User, Depends(get_current_user)]


def get_client_key(request: Request, user: OptionalUserDep) -> str:
    """Whom rate and concurrency limits count against: the signed-in user, else the peer address."""
    return client_key(user, request.client.host if request.client else None)


ClientKeyDep = Annotated[str, Depends(get_client_key)]
