"""The fix task's body in this process (LocalContext), and the lineage a push's card tells for each kind of version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from backend.core.errors import InvalidInputError
from backend.db.models import Dataset
from backend.services.fix_task import run_fix
from backend.services.hub.card import render_card
from backend.services.hub.facts import card_facts
from backend.services.hub.submit import origin_of, push_payload
from backend.services.tasks.context import LocalContext, TaskCancelled
from backend.settings import Settings
from tests.core.analysed import analyse

AXOLOTL = "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]


def fix_payload(settings: Settings, **fields: Any) -> dict[str, Any]:
    store, report = analyse(settings.data_dir, AXOLOTL)
    return {"source_id": "source-0123456789", "source_store": store.relative_to(settings.data_dir).as_posix(),
            "source_filename": AXOLOTL, "report": report.model_dump(mode="json"),
            "actions": ["drop_exact_duplicates", "drop_near_duplicates"], "dataset_id": "version-0123456789",
            "analysis_options": {"max_seq_length": 1024, "tokenizer": "cl100k_base"}, **fields}


def test_the_fix_body_writes_only_the_new_version_and_says_how_to_analyse_it(settings: Settings,
                                                                            tmp_path: Path) -> None:
    payload = fix_payload(settings)
    ctx = LocalContext(tmp_path / "work", base_dir=settings.data_dir)
    output = run_fix(ctx, payload, settings)
    folder = settings.uploads_dir / "version-0123456789"
    assert sorted(p.name for p in folder.iterdir()) == ["fixes.json", "upload.jsonl"]
    assert len((folder / "upload.jsonl").read_bytes().splitlines()) == output["examples_after"] == 49
    assert [(f["action"], f["removed"]) for f in output["fixes"]] == [("drop_exact_duplicates", 940),
                                                                       ("drop_near_duplicates", 11)]
    version = output["version"]
    assert version["filename"] == "axolotl_pr3685_epoch_sample_1000_messages_dups.fixed.jsonl"
    assert version["analysis"]["upload"] == "uploads/version-0123456789/upload.jsonl"
    assert version["analysis_options"] == {"max_seq_length": 1024, "tokenizer": "cl100k_base"}  # the parent's
    assert (ctx.done, ctx.total) == (1, 1) and ctx.detailed_status[-1].startswith("Wrote 49 of 1,000 examples")
    orjson.dumps(output)  # what on_done gets is plain JSON

    with pytest.raises(InvalidInputError) as invalid:
        run_fix(ctx, {**payload, "actions": []}, settings)
    assert invalid.value.code == "invalid_payload"


def test_a_stopped_fix_leaves_no_half_made_version(settings: Settings, tmp_path: Path) -> None:
    payload = fix_payload(settings, dataset_id="stopped-0123456789")
    folder = settings.uploads_dir / "stopped-0123456789"
    seen: list[bool] = []

    def stop_while_writing(kind: str, data: dict[str, Any]) -> None:
        if kind == "status" and data["step"] == "Writing the new version":
            seen.append(folder.is_dir())  # the new version's file is being written
            ctx.cancel()

    ctx = LocalContext(tmp_path / "work", base_dir=settings.data_dir, on_event=stop_while_writing)
    with pytest.raises(TaskCancelled):
        run_fix(ctx, payload, settings)
    assert seen == [True] and not folder.exists()


def row(origin: str, filename: str, detail: dict[str, Any] | None = None, parent_id: str | None = None) -> Dataset:
    return Dataset(id=f"{origin}-0123456789", filename=filename, stored_name="upload.jsonl", size_bytes=1, sha256="",
                   origin=origin, origin_detail=detail, parent_id=parent_id)


def test_the_card_tells_each_version_s_lineage(tmp_path: Path) -> None:
    _, report = analyse(tmp_path, "openai_cookbook_toy_chat_fine_tuning.jsonl")
    imported = row("hub_import", "alice__chats-train.jsonl",
                   {"repo": "alice/chats", "revision": "abc123", "split": "train", "config": None})
    generated = row("generation", "generated.jsonl", {"provider": {"name": "openai", "model": "gpt-4o-mini"},
                                                      "settings": {"num_samples": 50, "temperature": 0.7,
                                                                   "labels": ["not", "told"]}})
    fixes = [{"action": "drop_exact_duplicates", "description": "exact repeats are left out", "removed": 3,
              "changed": 0}]
    fixed = row("fix", "alice__chats-train.fixed.jsonl", {"fixes": fixes}, parent_id=imported.id)

    def told(dataset: Dataset, parent: Dataset | None = None) -> str:
        facts = card_facts(report, origin_of(dataset, parent))
        return render_card(facts, "alice/out", {"train": 5}, license="mit", task_category="text-generation",
                           split_note="")

    assert "Uploaded to SLMGen as `data.jsonl`" in told(row("upload", "data.jsonl"))
    assert "Imported from the Hub dataset `alice/chats`." in told(imported)
    assert origin_of(imported, None).settings == {"revision": "abc123", "split": "train"}  # no empty config
    assert "- revision: `abc123`" in told(imported)
    text = told(generated)
    assert "Generated by openai, gpt-4o-mini through SLMGen." in text
    assert "- temperature: `0.7`" in text and "labels" not in text
    text = told(fixed, imported)
    assert ("A cleaned version of `alice__chats-train.jsonl`, imported from the Hub dataset `alice/chats`."
            in text)
    assert "- exact repeats are left out (3 removed)" in text

    payload = push_payload(fixed, report, imported, store="tasks/t/1", repo=" alice/out ", split=[90, 10])
    assert (payload["store"], payload["repo"], payload["split"], payload["private"]) == (
        "tasks/t/1", "alice/out", [90, 10], True)
    assert payload["card"]["origin"]["kind"] == "fix" and payload["card"]["origin"]["source_repo"] == "alice/chats"
