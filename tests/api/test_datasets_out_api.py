"""Datasets out through the real app: export streamed in each format, fix-it versions, the saved Hub token."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import huggingface_hub.constants
import orjson
import pytest
from sqlalchemy import select

from backend.auth import User
from backend.core.analysis import AnalysisOptions, analyze_file
from backend.core.fix import FixAction
from backend.db.models import HubToken
from backend.services import fixes
from backend.services.hub.tokens import resolve_hub_token
from backend.settings import Settings
from tests.api.conftest import upload_and_analyze, wait_for_analysis
from tests.conftest import shared_file
from tests.support.hub_standin import HubStandIn

AXOLOTL = "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"
GLAIVE = "llamafactory_glaive_toolcall_en_demo.json"


@pytest.mark.parametrize("fmt", ["canonical", "openai", "sharegpt", "alpaca"])
async def test_export_streams_every_format(client: httpx.AsyncClient, tmp_path: Path, fmt: str) -> None:
    session_id, _ = await upload_and_analyze(client, shared_file(AXOLOTL))
    r = await client.get(f"/datasets/{session_id}/export", params={"format": fmt, "gzip": "true"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/gzip"
    name = f"axolotl_pr3685_epoch_sample_1000_messages_dups.{fmt}.jsonl.gz"
    assert r.headers["content-disposition"] == f'attachment; filename="{name}"'
    lines = gzip.decompress(r.content).splitlines()
    assert len(lines) == 1000
    out = tmp_path / f"export.{fmt}.jsonl"
    out.write_bytes(b"\n".join(lines) + b"\n")
    report = analyze_file(out, AnalysisOptions(), tmp_path / "store")
    assert (report.total_examples, report.duplicates.exact.count) == (1000, 940)


async def test_export_refusals(client: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]]) -> None:
    session_id, _ = await upload_and_analyze(client, shared_file(GLAIVE))
    r = await client.get(f"/datasets/{session_id}/export", params={"format": "alpaca"})
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "format_cannot_carry" and body["count"] == 300 and len(body["examples"]) == 20
    assert (await client.get(f"/datasets/{session_id}/export", params={"format": "csv"})).json()["error"] == \
        "invalid_input"
    plain = await client.get(f"/datasets/{session_id}/export", params={"format": "openai"})
    assert plain.headers["content-type"] == "application/x-ndjson"
    assert len(plain.content.splitlines()) == 300
    assert (await client.get("/datasets/not-a-real-session/export")).status_code == 404
    mine, _ = await upload_and_analyze(client, shared_file(GLAIVE), headers=auth_headers("owner-1"))
    assert (await client.get(f"/datasets/{mine}/export")).status_code == 404  # someone else's: not found
    assert (await client.get(f"/datasets/{mine}/export", headers=auth_headers("owner-1"))).status_code == 200


async def test_a_fixed_version_is_written_beside_the_original(client: httpx.AsyncClient, settings: Settings) -> None:
    session_id, _ = await upload_and_analyze(client, shared_file(AXOLOTL))
    state = client._transport.app.state.slmgen  # type: ignore[attr-defined]
    actions = [FixAction.DROP_EXACT_DUPLICATES, FixAction.DROP_NEAR_DUPLICATES]
    plan = await fixes.plan_dataset_fixes(state, session_id, None, actions)
    assert (plan.examples_before, plan.examples_after) == (1000, 49)
    started = await client.post(f"/datasets/{session_id}/fixes", json={"actions": [a.value for a in actions]})
    assert started.status_code == 202, started.text
    new_id = started.json()["session_id"]
    assert new_id != session_id and (await wait_for_analysis(client, new_id)).status_code == 200
    folder = settings.uploads_dir / new_id
    assert len((folder / "upload.jsonl").read_bytes().splitlines()) == 49
    record = orjson.loads((folder / "fixes.json").read_bytes())
    assert len(record["removed_records"]["drop_exact_duplicates"]) == 940  # every record number, not the first 20
    assert len(record["source_records"]) == 49
    assert (settings.uploads_dir / session_id).is_dir()  # the original is untouched


@pytest.fixture
def hub_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubStandIn]:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)
    hub = HubStandIn(tokens={"hf_alice_token": ("alice", "write")}).start()
    settings.hf_endpoint = hub.url
    yield hub
    hub.stop()


async def test_the_saved_hub_token_is_checked_and_stored_encrypted(
        hub_settings: HubStandIn, client: httpx.AsyncClient, auth_headers: Callable[..., dict[str, str]]) -> None:
    headers = auth_headers("user-7")
    assert (await client.get("/settings/hub-token")).status_code == 401
    assert (await client.get("/settings/hub-token", headers=headers)).json() == {
        "saved": False, "username": None, "updated_at": None}
    bad = await client.put("/settings/hub-token", json={"token": "hf_wrong"}, headers=headers)
    assert bad.status_code == 401 and bad.json()["error"] == "hub_token_invalid" and "hf_wrong" not in bad.text
    saved = await client.put("/settings/hub-token", json={"token": "hf_alice_token"}, headers=headers)
    assert saved.status_code == 200 and saved.json()["username"] == "alice"
    assert "hf_alice_token" not in (await client.get("/settings/hub-token", headers=headers)).text
    state = client._transport.app.state.slmgen  # type: ignore[attr-defined]
    async with state.session() as session:
        row = (await session.scalars(select(HubToken))).one()
    assert row.owner_id == "user-7" and "hf_alice_token" not in row.token_encrypted
    user = User(id="user-7")
    assert await resolve_hub_token(state, user, None) == "hf_alice_token"
    assert await resolve_hub_token(state, user, "hf_from_header") == "hf_from_header"
    assert await resolve_hub_token(state, None, None) is None
    assert (await client.delete("/settings/hub-token", headers=headers)).status_code == 204
    assert await resolve_hub_token(state, user, None) is None
