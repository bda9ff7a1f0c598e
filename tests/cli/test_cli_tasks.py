"""`slmgen tasks` (the operator's view of the engine) and `slmgen worker`'s refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.cli import main
from backend.db.engine import create_sync_engine, create_sync_sessionmaker, upgrade_database
from backend.db.models import Task
from backend.db.types import utc_now


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = f"sqlite+aiosqlite:///{(tmp_path / 'data' / 'slmgen.db').resolve()}"
    upgrade_database(url)
    db = create_sync_sessionmaker(create_sync_engine(url))
    now = utc_now()
    with db.begin() as session:
        for n, state in enumerate(["QUEUED", "DONE"]):
            session.add(Task(id=f"{n}" * 32, kind="analysis", queue="analysis", client="addr:cli", state=state,
                             attempt=1,
                             max_attempts=2, payload={}, detailed_status=["Queued"], metrics={}, usage={},
                             artifacts={}, created_at=now, updated_at=now))
    return url


def test_tasks_lists_shows_and_cancels(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tasks", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted((t["task_id"][0], t["state"]) for t in listed) == [("0", "QUEUED"), ("1", "DONE")]
    assert main(["tasks", "cancel", "0" * 32]) == 0
    assert "CANCELLED" in capsys.readouterr().out
    assert main(["tasks", "show", "0" * 32]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "CANCELLED"
    assert main(["tasks", "cancel", "1" * 32]) == 1  # a finished task is left as it is
    assert "DONE" in capsys.readouterr().out


@pytest.mark.parametrize("argv,says", [
    (["tasks", "show", "f" * 32], "no task"),
    (["tasks", "cancel"], "needs a task id"),
    (["worker", "--kinds", "analysis,teleport"], "unknown task kind(s) teleport"),
])
def test_mistakes_are_one_line_errors(database: str, argv: list[str], says: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
