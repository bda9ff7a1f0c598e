"""Records with other field and role names, mapped by the user onto the canonical ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.core.analysis import AnalysisOptions, analyze_file, iter_canonical
from backend.core.errors import InvalidInputError
from backend.core.ingest import IngestOptions
from backend.core.ingest.mapping import check_mapping, parse_map_arguments, preview_mapping

QA = [{"query": "What is 2+2?", "answer": "4"}, {"query": "Capital of France?", "answer": "Paris"}]
DIALOG = [{"dialog": [{"speaker": "Customer", "text": "My order is late."},
                      {"speaker": "bot", "text": "Sorry! It ships today."}]}] * 3


def write(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_unknown_field_names_are_unusable_until_mapped(tmp_path: Path) -> None:
    path = write(tmp_path / "qa.jsonl", QA)
    before = analyze_file(path, AnalysisOptions(), tmp_path / "before")
    assert before.total_examples == 0 and before.unusable[0].code == "unknown_format"
    assert "--map" in before.unusable[0].message and "field_mapping" in before.unusable[0].message
    fields, roles = parse_map_arguments(["prompt=query", "completion=answer"])
    mapped = analyze_file(path, AnalysisOptions(ingest=IngestOptions(column_mapping=fields)), tmp_path / "after")
    assert mapped.total_examples == 2 and mapped.file.format == "prompt_completion"
    assert [e["messages"] for e in iter_canonical(tmp_path / "after")][1] == [
        {"role": "user", "content": "Capital of France?"}, {"role": "assistant", "content": "Paris"}]


def test_message_keys_and_custom_role_names_can_be_mapped_and_previewed(tmp_path: Path) -> None:
    path = write(tmp_path / "dialog.jsonl", DIALOG)
    fields, roles = parse_map_arguments(
        ["messages=dialog", "role=speaker", "content=text", "role:customer=user", "role:bot=assistant"])
    options = IngestOptions(column_mapping=fields, role_mapping=roles)
    preview = preview_mapping(path, options, count=2)
    assert [(r.index, r.format, r.keys) for r in preview] == [(0, "openai_messages", ["dialog"])] * 1 + [
        (1, "openai_messages", ["dialog"])]
    assert preview[0].example == {"messages": [{"role": "user", "content": "My order is late."},
                                               {"role": "assistant", "content": "Sorry! It ships today."}]}
    report = analyze_file(path, AnalysisOptions(ingest=options), tmp_path / "store")
    assert report.total_examples == 3 and report.roles == {"user": 3, "assistant": 3}
    assert report.issue("unknown_role") is None
    unmapped = preview_mapping(path, IngestOptions(), count=1)
    assert unmapped[0].format is None and unmapped[0].issues[0]["code"] == "unknown_format"


@pytest.mark.parametrize(("fields", "roles", "says"), [
    ({"question": "q"}, None, "unknown field"),
    (None, {"bot": "robot"}, "not a role"),
    ({"prompt": ""}, None, "non-empty"),
])
def test_a_mapping_that_cannot_work_is_refused_before_the_analysis(
        fields: dict[str, str] | None, roles: dict[str, str] | None, says: str) -> None:
    with pytest.raises(InvalidInputError, match=says):
        check_mapping(fields, roles)
