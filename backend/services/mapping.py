"""Previewing a field / role mapping on an upload's first records, before the whole analysis runs."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, replace
from typing import Any

from backend.auth import User
from backend.core.errors import NotFoundError
from backend.core.ingest.mapping import check_mapping, preview_mapping
from backend.services import storage
from backend.services.datasets import analysis_options, get_dataset_for
from backend.services.state import AppState


async def mapping_preview(state: AppState, session_id: str, user: User | None, field_mapping: dict[str, str] | None,
                          role_mapping: dict[str, str] | None, count: int) -> dict[str, Any]:
    dataset = await get_dataset_for(state, session_id, user)
    fields, roles = check_mapping(field_mapping, role_mapping)
    path = storage.upload_path(state.settings, session_id, dataset.stored_name)
    if not path.exists():
        raise NotFoundError("The uploaded file is no longer on disk; upload it again.", code="upload_missing")
    options = analysis_options(state, stored=dataset.options).ingest
    options = replace(options, column_mapping=fields, role_mapping=roles)
    records = await asyncio.to_thread(preview_mapping, path, options, count)
    return {"field_mapping": fields, "role_mapping": roles,
            "usable": sum(r.example is not None for r in records), "records": [asdict(r) for r in records]}
