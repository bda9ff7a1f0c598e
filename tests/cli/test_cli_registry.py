"""`slmgen registry`: the models of this server's database, as GET /v0/models shows them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.cli import main
from backend.db import training as repo
from backend.db.engine import create_sync_engine, create_sync_sessionmaker, upgrade_database
from backend.services.registry.service import new_model


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = f"sqlite+aiosqlite:///{(tmp_path / 'data' / 'slmgen.db').resolve()}"
    upgrade_database(url)
    db = create_sync_sessionmaker(create_sync_engine(url))
    with db.begin() as session:
        alice = repo.add_model(session, new_model("alice", "support bot", "generator", None, source="training",
                                                  status="Ready", base_model="HuggingFaceTB/SmolLM2-135M-Instruct"))
        bob = repo.add_model(session, new_model("bob", "spam filter", "classifier", 2, source="created"))
        return [alice.id, bob.id]


def test_registry_lists_and_shows(models: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    alice, bob = models
    assert main(["registry", "--json"]) == 0
    listed = {m["model_name"]: m for m in json.loads(capsys.readouterr().out)}
    assert set(listed) == {alice, bob}
    assert (listed[bob]["model_type"], listed[bob]["model_params"], listed[bob]["status"]) == (
        "classifier", {"num_classes": 2}, "Created")
    assert main(["registry", "--owner", "alice", "--json"]) == 0
    assert [m["model_name"] for m in json.loads(capsys.readouterr().out)] == [alice]
    assert main(["registry", "show", alice]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["user_name"], shown["status"], shown["lineage"]["base_model"]) == (
        "support bot", "Ready", "HuggingFaceTB/SmolLM2-135M-Instruct")
    assert main(["registry"]) == 0
    assert "2 of 2 models" in capsys.readouterr().out


def test_registry_mistakes_are_one_line_errors(models: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["registry", "show"]) == 2
    assert "needs a model id" in capsys.readouterr().err
    assert main(["registry", "show", "nope"]) == 1
    assert "no model nope" in capsys.readouterr().err
