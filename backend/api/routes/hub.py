"""The signed-in user's saved Hugging Face token: GET|PUT|DELETE /settings/hub-token (never read back)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from backend.api.deps import CurrentUserDep, StateDep
from backend.api.schemas.hub import HubTokenRead, HubTokenWrite
from backend.services.hub import tokens

router = APIRouter(tags=["hub"])


@router.get("/settings/hub-token", response_model=HubTokenRead)
async def hub_token(state: StateDep, user: CurrentUserDep) -> HubTokenRead:
    """Whether a token is saved, and whose it is; the token itself is never sent back."""
    return HubTokenRead(**await tokens.hub_token_status(state, user))


@router.put("/settings/hub-token", response_model=HubTokenRead)
async def save_hub_token(body: HubTokenWrite, state: StateDep, user: CurrentUserDep) -> HubTokenRead:
    """Check the token with the Hub (whoami), then keep it encrypted for this user's Hub tasks."""
    return HubTokenRead(**await tokens.save_hub_token(state, user, body.token))


@router.delete("/settings/hub-token", status_code=204)
async def forget_hub_token(state: StateDep, user: CurrentUserDep) -> Response:
    await tokens.forget_hub_token(state, user)
    return Response(status_code=204)
