"""The batch checks (numpy over a whole batch) say exactly what the per-conversation reference says."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.core.analysis.batch_checks import check_batch
from backend.core.analysis.checks import check_conversation, conversation_flags, has_consecutive_same_role
from backend.core.analysis.columns import HAS_PROMPT
from backend.core.conversation import Conversation, Message, SourceFormat
from backend.core.ingest import iter_records, sniff_file
from tests.conftest import SHARED_DATA


def reference(conv: Conversation) -> tuple[set[str], int, int]:
    roles = [m.role for m in conv.messages]
    return (set(check_conversation(conv, roles, set())),
            conversation_flags(conv, roles, False) & ~HAS_PROMPT,
            sum(len(m.content) for m in conv.messages))


def batched(convs: list[Conversation]) -> list[tuple[set[str], int, int]]:
    found = check_batch(convs)
    return [({code for code, mask in found.codes.items() if mask[i]}, found.flags[i], found.chars[i])
            for i in range(len(convs))]


def real_conversations(path: Path) -> list[Conversation]:
    return [r.conversation for r in iter_records(path, sniff_file(path)) if r.conversation is not None]


@pytest.mark.parametrize("path", sorted(p for p in SHARED_DATA.glob("*.json*") if p.name != "messy_llamafactory_"
                                        "alpaca_data_en_52k_git_lfs_pointer.json"), ids=lambda p: p.name[:40])
def test_batch_checks_equal_the_reference_on_every_real_dataset(path: Path) -> None:
    convs = real_conversations(path)
    assert convs
    assert batched(convs) == [reference(c) for c in convs]


ROLES = st.sampled_from(["system", "user", "assistant", "tool", "bot", "robot", ""])
MESSAGES = st.builds(
    Message,
    role=ROLES,
    content=st.sampled_from(["", "  ", "ok", "a longer reply here", '{"a": 1}', "[1]"]),
    tool_calls=st.sampled_from([None, ({"id": "c1", "type": "function", "function": {"name": "f"}},)]),
    tool_call_id=st.sampled_from([None, "c1"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(MESSAGES, max_size=7), min_size=1, max_size=12), st.booleans())
def test_batch_checks_equal_the_reference_on_generated_conversations(batch: list[list[Message]], tools: bool) -> None:
    convs = [Conversation(0, None, SourceFormat.OPENAI, tuple(ms), tools="[]" if tools else None,
                          extra_keys=("x",) if len(ms) % 2 else ()) for ms in batch]
    assert batched(convs) == [reference(c) for c in convs]
    assert has_consecutive_same_role(["bot", "robot"]) is False  # two unknown roles are two roles


@pytest.mark.parametrize("name", ["openai_cookbook_toy_chat_fine_tuning.jsonl",
                                  "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"])
def test_the_cookbook_verdict_from_counts_equals_validating_the_record(name: str) -> None:
    from backend.core.analysis import openai_format
    from backend.core.analysis.measure import iter_canonical_texts, measure_example
    from backend.core.conversation import message_to_json
    from backend.core.tokens import get_counter

    path = SHARED_DATA / name
    records = [r for r in iter_records(path, sniff_file(path)) if r.conversation is not None]
    convs = [r.conversation for r in records if r.conversation is not None]
    found = check_batch(convs)
    counter = get_counter("cl100k_base")
    for i, (record, conv) in enumerate(zip(records, convs, strict=True)):
        dicts = [message_to_json(m) for m in conv.messages]
        texts = list(dict.fromkeys([*iter_canonical_texts(conv, dicts),
                                    *openai_format.iter_cookbook_texts(record.raw)]))
        counts = dict(zip(texts, counter.count_batch(texts), strict=True))
        measured = measure_example(conv, dicts, counts, 4096)
        fast = openai_format.verdict_of_counts(len(dicts), found.unknown_roles[i], found.empty_contents[i],
                                               found.role_counts[i], measured.total, measured.assistant_content)
        slow = openai_format.validate_record(record.raw, counts)
        def fields(v: openai_format.CookbookRecord) -> tuple[object, ...]:
            return sorted(v.errors), v.num_messages, v.total_tokens, v.assistant_tokens, v.has_system, v.has_user

        assert fields(fast) == fields(slow)
