"""The small pieces between the routes and the bodies: seed 000's request shapes, the rows a reader tails across
attempts, the context that writes pending reports at checkpoints, and the embedded provider's missing packages."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from backend.core.errors import InvalidInputError, UnavailableError
from backend.services.generation import jobs, seed000
from backend.services.generation.flushing import FlushingContext
from backend.services.generation.local import load_local_model
from backend.services.tasks.context import LocalContext, TaskCancelled


def test_seed_000_data_requests_become_view_requests_with_a_hub_target() -> None:
    body = {"num_samples": 8, "repo": "alice/reviews", "labels": [{"name": "good"}, {"bad": "unhappy"}],
            "bulk_process": True}
    request, hub = seed000.hub_target(body, "push")
    assert request == {"num_samples": 8, "labels": [{"name": "good"}, {"bad": "unhappy"}]}
    assert (hub.action, hub.repo, hub.split, hub.private) == ("push", "alice/reviews", [80, 10, 10], True)
    shaped = seed000.data_request(request)
    assert shaped["task"] == "text_classification" and shaped["prompt"].endswith("one of: good, bad.")
    assert seed000.data_request({"valid_data": [{"text": "x"}]})["prompt"].startswith("More examples like")
    with pytest.raises(InvalidInputError, match="give a prompt, labels or valid_data"):
        seed000.data_request({"num_samples": 3})
    with pytest.raises(InvalidInputError, match="split is required"):
        seed000.hub_target({"repo": "alice/reviews"}, "append")
    with pytest.raises(InvalidInputError, match="one split"):
        seed000.hub_target({"repo": "alice/reviews", "split": [80, 20]}, "append")
    with pytest.raises(InvalidInputError, match="repo is required"):
        seed000.hub_target({"num_samples": 3}, "push")


def write_rows(path: Path, numbers: range, partial: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = b"".join(orjson.dumps({"n": n, "input": f"row {n}"}) + b"\n" for n in numbers)
    path.write_bytes(lines + (b'{"n": 99, "inp' if partial else b""))


def test_a_reader_sees_whole_rows_once_even_when_a_retry_rewrites_them(tmp_path: Path) -> None:
    tail = jobs.RowTail(after=0)
    first = tmp_path / "1" / "rows.jsonl"
    write_rows(first, range(3), partial=True)  # a batch being written: its last line is not complete
    assert [r["n"] for r in tail.read(first)] == [0, 1, 2]
    write_rows(first, range(5))
    assert [r["n"] for r in tail.read(first)] == [3, 4]
    second = tmp_path / "2" / "rows.jsonl"  # the retry copies rows 0-4 into its own file, then goes on
    write_rows(second, range(7))
    assert [r["n"] for r in tail.read(second)] == [5, 6]
    assert tail.read(second) == []


class Recording(LocalContext):
    def __init__(self, work_dir: Path) -> None:
        super().__init__(work_dir)
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1


def test_pending_reports_are_written_at_checkpoints_and_stops_still_raise(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    inner = Recording(tmp_path / "task")
    clock = iter([100.0, 100.1, 100.7, 100.8, 101.4])
    monkeypatch.setattr("backend.services.generation.flushing.time.monotonic", lambda: next(clock))
    ctx = FlushingContext(inner)  # created at 100.0
    for _ in range(4):
        ctx.checkpoint()  # at 100.1 (too soon), 100.7 (flush), 100.8 (too soon), 101.4 (flush)
    assert inner.flushes == 2
    ctx.usage(requests=1)
    assert inner.usage_totals == {"requests": 1} and ctx.work_dir == inner.work_dir
    inner.cancel()
    with pytest.raises(TaskCancelled):
        ctx.checkpoint()


def test_the_embedded_provider_says_what_to_install_when_torch_is_missing(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    with pytest.raises(UnavailableError) as caught:
        load_local_model(tmp_path / "no-model-here")
    assert caught.value.code == "local_model_unavailable"
    assert "pip install torch transformers gguf" in caught.value.detail


def test_the_provider_list_says_whether_the_embedded_model_can_run_here(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    from backend.settings import Settings

    class State:
        settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]

    real = jobs.importlib.util.find_spec
    views: dict[str, Any] = {p["name"]: p for p in jobs.provider_views(State())}  # type: ignore[arg-type]
    assert views["local"]["tiny"] and views["local"]["available"] and views["default"]["needs_request_key"]
    monkeypatch.setattr(jobs.importlib.util, "find_spec", lambda name: None if name == "torch" else real(name))
    local = next(p for p in jobs.provider_views(State()) if p["name"] == "local")  # type: ignore[arg-type]
    assert not local["available"] and "lacks torch" in local["unavailable_reason"]
