"""Analysed datasets for the fix, export and split tests: a real analysis into a store under tmp_path."""

from __future__ import annotations

from pathlib import Path

import orjson

from backend.core.analysis import AnalysisOptions, Report, analyze_file
from tests.conftest import shared_file


def analyse(tmp_path: Path, source: str | Path, max_seq_length: int = 2048) -> tuple[Path, Report]:
    """(store directory, report) for a shared dataset name or a file path."""
    path = source if isinstance(source, Path) else shared_file(source)
    store = tmp_path / f"store-{path.name}"
    report = analyze_file(path, AnalysisOptions(max_seq_length=max_seq_length), store)
    return store, report


def write_jsonl(path: Path, records: list[object]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def chat(user: str, reply: str | None, system: str | None = None) -> dict[str, object]:
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": user})
    if reply is not None:
        messages.append({"role": "assistant", "content": reply})
    return {"messages": messages}
