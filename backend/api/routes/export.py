"""GET /datasets/{session_id}/export?format=canonical|openai|sharegpt|alpaca&gzip=false: the data, streamed.
Also serves the fix-it routes of backend.api.routes.fixes."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from backend.api.deps import OptionalUserDep, StateDep
from backend.api.routes.fixes import router as fixes_router
from backend.services.exports import open_export

router = APIRouter(tags=["export"])


@router.get("/datasets/{session_id}/export", response_class=StreamingResponse,
            responses={200: {"content": {"application/x-ndjson": {}, "application/gzip": {}}}})
async def export(session_id: str, state: StateDep, user: OptionalUserDep,
                 format: str = Query("canonical", max_length=20, description="canonical | openai | sharegpt | alpaca"),
                 gzip: bool = Query(False, description="gzip the JSON Lines")) -> StreamingResponse:
    """One example per line. An example the format cannot carry is a 422 listing them, before any byte is sent."""
    stream = await open_export(state, session_id, user, format, gzip)
    return StreamingResponse(stream.body, media_type=stream.media_type,
                             headers={"Content-Disposition": f'attachment; filename="{stream.filename}"'})


# The fix-it routes (their own module) ride on this router: both are datasets out, and ROUTER_MODULES stays as it is.
router.include_router(fixes_router)
