"""Ingest on the real third-party datasets: counts and shapes the data README states."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from backend.core.conversation import SourceFormat
from backend.core.errors import NotADatasetError
from backend.core.ingest import ParsedRecord, iter_records, plan_chunks, sniff_file
from tests.conftest import shared_file


def read_all(path: Path) -> list[ParsedRecord]:
    info = sniff_file(path)
    return [record for chunk in plan_chunks(path, info) for record in iter_records(path, info, chunk)]


def role_counts(records: list[ParsedRecord]) -> Counter[str]:
    return Counter(m.role for r in records if r.conversation for m in r.conversation.messages)


@pytest.mark.parametrize(
    ("name", "container", "encoding", "records", "source_format", "roles"),
    [
        (
            "openai_cookbook_toy_chat_fine_tuning.jsonl",
            "jsonl",
            "utf-8",
            5,
            SourceFormat.OPENAI,
            {"system": 4, "user": 7, "assistant": 8},
        ),
        (
            "llamafactory_pr5606_openai_training_data_blank_lines.jsonl",
            "jsonl",
            "utf-8",
            10,
            SourceFormat.OPENAI,
            {"system": 10, "user": 10, "assistant": 10},
        ),
        (
            "llamafactory_pr5606_oai_same10_as_json_array.json",
            "json_array",
            "utf-8",
            10,
            SourceFormat.OPENAI,
            {"system": 10, "user": 10, "assistant": 10},
        ),
        (
            "fastchat_dummy_conversation_with_system.json",
            "json_array",
            "utf-8",
            500,
            SourceFormat.SHAREGPT,
            {"system": 6, "user": 1000, "assistant": 1000},
        ),
        (
            "llamafactory_alpaca_en_demo.json",
            "json_array",
            "utf-8",
            999,
            SourceFormat.ALPACA,
            {"user": 999, "assistant": 999},
        ),
        # 746 gpt turns + 211 function_call turns (assistant tool calls); 211 observations -> tool
        (
            "llamafactory_glaive_toolcall_en_demo.json",
            "json_array",
            "utf-8",
            300,
            SourceFormat.SHAREGPT,
            {"user": 746, "assistant": 957, "tool": 211},
        ),
        (
            "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl",
            "jsonl",
            "utf-8",
            1000,
            SourceFormat.OPENAI,
            {"system": 1000, "user": 1000, "assistant": 1000},
        ),
        (
            "messy_axolotl_pr3685_val_sample10_utf16le_bom.jsonl",
            "jsonl",
            "utf-16-le",
            10,
            SourceFormat.PROMPT_COMPLETION,
            {"user": 10, "assistant": 10},
        ),
    ],
)
def test_real_dataset_reads_completely(
    name: str, container: str, encoding: str, records: int, source_format: SourceFormat, roles: dict[str, int]
) -> None:
    path = shared_file(name)
    info = sniff_file(path)
    assert (info.container, info.encoding, info.compression) == (container, encoding, "none")
    assert info.encoding_note is None
    parsed = read_all(path)
    assert len(parsed) == records
    assert [r.index for r in parsed] == list(range(records))
    assert all(r.conversation is not None for r in parsed)
    assert {r.conversation.format for r in parsed if r.conversation} == {source_format}
    assert dict(role_counts(parsed)) == roles
    assert [i for r in parsed for i in r.issues] == []


def test_blank_line_jsonl_and_json_array_give_identical_conversations() -> None:
    jsonl = read_all(shared_file("llamafactory_pr5606_openai_training_data_blank_lines.jsonl"))
    array = read_all(shared_file("llamafactory_pr5606_oai_same10_as_json_array.json"))
    assert [r.conversation.messages for r in jsonl if r.conversation] == [
        r.conversation.messages for r in array if r.conversation
    ]
    # A blank line separates the records, so record k starts on line 2k+1; array records have no line.
    assert [r.line for r in jsonl] == [2 * k + 1 for k in range(10)]
    assert {r.line for r in array} == {None}


def test_utf16le_bom_crlf_file_reads_as_prompt_completion() -> None:
    parsed = read_all(shared_file("messy_axolotl_pr3685_val_sample10_utf16le_bom.jsonl"))
    assert [r.line for r in parsed] == list(range(1, 11))
    first = parsed[0].conversation
    assert first is not None
    assert first.messages[0].content.startswith("TASK: strategy_selection")
    assert not any(
        m.content.endswith("\r") for r in parsed if r.conversation for m in r.conversation.messages
    )
    assert {r.byte_offset for r in parsed} == {None}  # UTF-16 offsets are not line-splittable bytes


def test_git_lfs_pointer_is_not_a_dataset() -> None:
    with pytest.raises(NotADatasetError) as caught:
        sniff_file(shared_file("messy_llamafactory_alpaca_data_en_52k_git_lfs_pointer.json"))
    assert "Git LFS" in caught.value.detail
    assert "git lfs pull" in caught.value.detail
    assert "22,773,992 bytes" in caught.value.detail
    assert caught.value.fields["kind"] == "git_lfs_pointer"


def test_fastchat_system_field_becomes_leading_system_message() -> None:
    parsed = read_all(shared_file("fastchat_dummy_conversation_with_system.json"))
    with_system = [
        r.conversation for r in parsed if r.conversation and r.conversation.messages[0].role == "system"
    ]
    assert len(with_system) == 6
    assert all(
        r.raw["system"] == c.messages[0].content for r in parsed for c in [r.conversation] if c in with_system
    )
    assert {c.extra_keys for r in parsed for c in [r.conversation] if c} == {()}  # id, system are ShareGPT's


def test_glaive_tool_calls_are_linked_to_their_results() -> None:
    parsed = read_all(shared_file("llamafactory_glaive_toolcall_en_demo.json"))
    calls = [
        call for r in parsed if r.conversation for m in r.conversation.messages for call in m.tool_calls or ()
    ]
    results = [m for r in parsed if r.conversation for m in r.conversation.messages if m.role == "tool"]
    assert len(calls) == 211
    assert len(results) == 211
    assert all(isinstance(call["function"]["arguments"], str) for call in calls)
    assert all(m.tool_call_id is not None for m in results)
    assert sum(1 for r in parsed if r.conversation and r.conversation.tools) == 300
    first_call = next(c for c in calls)
    assert first_call["function"]["name"] == "search_recipes"


def test_alpaca_instruction_and_input_are_joined_with_a_blank_line() -> None:
    parsed = read_all(shared_file("llamafactory_alpaca_en_demo.json"))
    with_input = [r for r in parsed if r.raw["input"]]
    assert with_input, "the demo file has records with input"
    record = with_input[0]
    assert record.conversation is not None
    assert record.conversation.messages[0].content == f"{record.raw['instruction']}\n\n{record.raw['input']}"
    assert record.conversation.messages[1].content == record.raw["output"]


def test_axolotl_extra_keys_are_kept_for_the_report() -> None:
    parsed = read_all(shared_file("axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"))
    extra = Counter(r.conversation.extra_keys for r in parsed if r.conversation)
    assert sum(extra.values()) == 1000
    assert all("task" in keys and "hole" in keys for keys in extra)
    assert all(r.byte_offset is not None for r in parsed)


def test_cookbook_toy_file_keeps_the_long_banana_reply() -> None:
    parsed = read_all(shared_file("openai_cookbook_toy_chat_fine_tuning.jsonl"))
    assert [len(r.conversation.messages) for r in parsed if r.conversation] == [3, 9, 2, 2, 3]
    last = parsed[4].conversation
    assert last is not None
    assert last.messages[-1].content.count("Eat a banana!") == 2000


@pytest.mark.parametrize("block_bytes", [7, 500, 65536])
@pytest.mark.parametrize(
    "name",
    [
        "llamafactory_glaive_toolcall_en_demo.json",
        "llamafactory_pr5606_openai_training_data_blank_lines.jsonl",
        "messy_axolotl_pr3685_val_sample10_utf16le_bom.jsonl",
    ],
)
def test_block_boundaries_do_not_change_what_is_read(
    monkeypatch: pytest.MonkeyPatch, name: str, block_bytes: int
) -> None:
    """Reading in tiny blocks splits strings, escapes, numbers and UTF-8/UTF-16 characters everywhere."""
    path = shared_file(name)
    expected = [(r.index, r.line, r.raw, r.conversation) for r in read_all(path)]
    monkeypatch.setattr("backend.core.ingest.reader.BLOCK_BYTES", block_bytes)
    monkeypatch.setattr("backend.core.ingest.reader.TEXT_BLOCK_BYTES", block_bytes)
    assert [(r.index, r.line, r.raw, r.conversation) for r in read_all(path)] == expected
