"""POST /preview/{session_id}/mapping: how a field / role mapping reads the upload's first records."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api.deps import OptionalUserDep, StateDep
from backend.api.schemas.mapping import MappingPreviewRead, MappingPreviewRequest
from backend.services.mapping import mapping_preview

router = APIRouter(tags=["datasets"])


@router.post("/preview/{session_id}/mapping", response_model=MappingPreviewRead)
async def preview_mapping(session_id: str, body: MappingPreviewRequest, state: StateDep,
                          user: OptionalUserDep) -> MappingPreviewRead:
    """Convert the first records with the mapping given (nothing is stored); then POST /analyze with it."""
    return MappingPreviewRead(**await mapping_preview(state, session_id, user, body.field_mapping,
                                                      body.role_mapping, body.count))
