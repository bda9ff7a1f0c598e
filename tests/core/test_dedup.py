"""Duplicate detection on the real reference datasets, plus the LSH maths checked empirically."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import orjson
import pytest

from backend.core.conversation import Conversation, Message, SourceFormat
from backend.core.dedup import (
    NEAR_DUP_THRESHOLD,
    candidate_probability,
    conversation_fingerprint,
    conversation_text,
    duplicate_records,
    group_exact_duplicates,
    group_near_duplicates,
    group_prompt_duplicates,
    lsh_threshold,
    minhash_band_keys,
    prompt_fingerprint,
    shingle_set,
)
from backend.core.dedup import minhash as minhash_module
from backend.core.errors import InvalidInputError
from backend.core.ingest import iter_records, sniff_file
from tests.conftest import shared_file


def read_conversations(name: str) -> list[Conversation]:
    path = shared_file(name)
    conversations = [record.conversation for record in iter_records(path, sniff_file(path))]
    assert all(c is not None for c in conversations)
    return [c for c in conversations if c is not None]


def chat(*turns: tuple[str, str], index: int = 0, **fields: object) -> Conversation:
    messages = tuple(Message(role, content) for role, content in turns)
    return Conversation(index=index, line=index + 1, format=SourceFormat.OPENAI, messages=messages, **fields)  # type: ignore[arg-type]


def jaccard(a: str, b: str) -> float:
    sa, sb = shingle_set(a), shingle_set(b)
    return len(sa & sb) / len(sa | sb)


# --- exact duplicates on real files -------------------------------------------------------------


def test_axolotl_file_has_940_repeats_of_60_conversations_despite_different_extra_keys() -> None:
    conversations = read_conversations("axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl")
    groups = group_exact_duplicates([conversation_fingerprint(c) for c in conversations])
    assert len(groups) == 60
    assert len(duplicate_records(groups)) == 940
    assert sum(len(g) for g in groups) == 1000  # every record belongs to one of the 60
    lines = shared_file("axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl").read_bytes().splitlines()
    first = groups[0]
    assert len({lines[i] for i in first}) == len(first)  # no two lines of a group are byte-identical
    assert all(conversations[i].messages == conversations[first[0]].messages for i in first)


def test_alpaca_demo_has_14_duplicate_records() -> None:
    conversations = read_conversations("llamafactory_alpaca_en_demo.json")
    groups = group_exact_duplicates([conversation_fingerprint(c) for c in conversations])
    assert len(duplicate_records(groups)) == 14
    raw = orjson.loads(shared_file("llamafactory_alpaca_en_demo.json").read_bytes())
    for group in groups:
        assert len({orjson.dumps(raw[i], option=orjson.OPT_SORT_KEYS) for i in group}) == 1


def test_glaive_toolcall_has_38_duplicate_conversations_and_35_with_their_tool_lists() -> None:
    conversations = read_conversations("llamafactory_glaive_toolcall_en_demo.json")
    assert any(m.tool_calls for c in conversations for m in c.messages)
    plain = group_exact_duplicates([conversation_fingerprint(c) for c in conversations])
    with_tools = group_exact_duplicates(
        [conversation_fingerprint(c, include_tools=True) for c in conversations]
    )
    assert len(duplicate_records(plain)) == 38
    assert len(duplicate_records(with_tools)) == 35


@pytest.mark.parametrize(
    "name",
    [
        "openai_cookbook_toy_chat_fine_tuning.jsonl",
        "llamafactory_pr5606_oai_same10_as_json_array.json",
        "fastchat_dummy_conversation_with_system.json",
    ],
)
def test_files_without_duplicates_have_no_groups(name: str) -> None:
    conversations = read_conversations(name)
    assert group_exact_duplicates([conversation_fingerprint(c) for c in conversations]) == []


# --- what the fingerprint sees --------------------------------------------------------------------

BASE = chat(("system", "Be brief."), ("user", "What is 2+2?"), ("assistant", "4"))
CALL = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 2}'}}


@pytest.mark.parametrize(
    ("variant", "same"),
    [
        (replace(BASE, index=7, line=99, extra_keys=("source", "score")), True),
        (replace(BASE, format=SourceFormat.SHAREGPT), True),
        (replace(BASE, tools='[{"name": "add"}]'), True),
        (replace(BASE, messages=(*BASE.messages[:2], replace(BASE.messages[2], weight=0.0))), True),
        (replace(BASE, messages=(*BASE.messages[:2], Message("assistant", "four"))), False),
        (replace(BASE, messages=(*BASE.messages[:2], Message("user", "4"))), False),
        (replace(BASE, messages=BASE.messages[1:]), False),
        (replace(BASE, messages=(BASE.messages[1], BASE.messages[0], BASE.messages[2])), False),
        (replace(BASE, messages=(*BASE.messages[:2], Message("assistant", "4", name="bot"))), False),
        (replace(BASE, messages=(*BASE.messages, Message("assistant", "", tool_calls=(CALL,)))), False),
    ],
)
def test_fingerprint_sees_messages_and_nothing_else(variant: Conversation, same: bool) -> None:
    assert (conversation_fingerprint(variant) == conversation_fingerprint(BASE)) is same


def test_tool_calls_compare_by_name_and_parsed_arguments_not_by_id() -> None:
    def with_call(call: dict[str, object]) -> Conversation:
        return replace(BASE, messages=(*BASE.messages, Message("assistant", "", tool_calls=(call,))))

    respaced = {
        "id": "call_zz",
        "type": "function",
        "function": {"name": "add", "arguments": '{"b":2,"a":2}'},
    }
    other = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'}}
    assert conversation_fingerprint(with_call(respaced)) == conversation_fingerprint(with_call(CALL))
    assert conversation_fingerprint(with_call(other)) != conversation_fingerprint(with_call(CALL))


def test_fingerprints_are_unsigned_64_bit_and_stable() -> None:
    value = conversation_fingerprint(BASE)
    assert 0 <= value < 2**64
    assert value == conversation_fingerprint(
        chat(("system", "Be brief."), ("user", "What is 2+2?"), ("assistant", "4"))
    )


def test_group_exact_duplicates_orders_groups_and_members() -> None:
    fingerprints = np.array([5, 9, 5, 7, 9, 5, 2**64 - 1, 2**64 - 1], dtype=np.uint64)
    assert group_exact_duplicates(fingerprints) == [[0, 2, 5], [1, 4], [6, 7]]
    assert group_exact_duplicates([1, 2, 3]) == []
    assert group_exact_duplicates([]) == []


# --- prompt-level duplicates ----------------------------------------------------------------------


def test_same_user_turn_with_different_answers_is_a_prompt_duplicate() -> None:
    conversations = [
        chat(("user", "Capital of France?"), ("assistant", "Paris.")),
        chat(("user", "Capital of France?"), ("assistant", "It is Lyon.")),  # conflicting answer
        chat(("user", "Capital of France?"), ("assistant", "Paris.")),  # exact copy of the first
        chat(("system", "Answer in French."), ("user", "Capital of France?"), ("assistant", "Paris.")),
        chat(("assistant", "Hello, how can I help?")),  # no user turn: no prompt
    ]
    prompts = [prompt_fingerprint(c) for c in conversations]
    assert prompts[0] == prompts[1] == prompts[2] != prompts[3]
    assert prompts[4] is None
    groups = group_prompt_duplicates(prompts, [conversation_fingerprint(c) for c in conversations])
    assert groups == [[0, 1]]  # the exact copy (2) is not listed again; another system prompt (3) is apart


def test_prompt_duplicates_in_fastchat_match_an_independent_count() -> None:
    conversations = read_conversations("fastchat_dummy_conversation_with_system.json")
    groups = group_prompt_duplicates(
        [prompt_fingerprint(c) for c in conversations], [conversation_fingerprint(c) for c in conversations]
    )
    # The same grouping done on the raw ShareGPT records with plain Python.
    raw = orjson.loads(shared_file("fastchat_dummy_conversation_with_system.json").read_bytes())
    answers: dict[str, set[str]] = {}
    for record in raw:
        prompt = [record.get("system", "")] + [
            t["value"] for t in record["conversations"] if t["from"] == "human"
        ]
        answers.setdefault(orjson.dumps(prompt).decode(), set()).add(
            orjson.dumps(record["conversations"]).decode()
        )
    expected = sum(1 for variants in answers.values() if len(variants) >= 2)
    assert expected > 0
    assert len(groups) == expected
    for group in groups:
        assert len({conversations[i].messages for i in group}) == len(group)


# --- near duplicates ------------------------------------------------------------------------------


def long_alpaca_answers(count: int) -> list[str]:
    raw = orjson.loads(shared_file("llamafactory_alpaca_en_demo.json").read_bytes())
    return [r["output"] for r in raw if len(r["output"].split()) >= 100][:count]


def test_a_lightly_edited_copy_is_grouped_and_unrelated_texts_are_not() -> None:
    originals = long_alpaca_answers(20)
    assert len(originals) == 20
    edited = []
    for text in originals:
        words = text.split()
        words[len(words) // 2] = "zyzzyva"  # one word changed in 100 or more
        edited.append(" ".join(words))
    texts = originals + edited
    assert all(jaccard(a, b) >= 0.9 for a, b in zip(originals, edited, strict=True))
    groups = group_near_duplicates(minhash_band_keys(texts))
    assert sorted(groups) == [[i, i + 20] for i in range(20)]


def test_short_texts_still_get_signatures() -> None:
    keys = minhash_band_keys(["short text", "Short   TEXT", "short texts", "", "", "one"])
    assert keys.shape == (6, 14) and keys.dtype == np.uint64
    assert group_near_duplicates(keys) == [[0, 1], [3, 4]]


def test_band_keys_do_not_depend_on_the_batch_or_its_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [conversation_text(c) for c in read_conversations("llamafactory_glaive_toolcall_en_demo.json")]
    together = minhash_band_keys(texts)
    alone = np.vstack([minhash_band_keys([t]) for t in texts[:40]])
    reversed_batch = minhash_band_keys(texts[::-1])[::-1]
    monkeypatch.setattr(minhash_module, "_BLOCK_BYTES", 4096)  # ~130 blocks instead of 2
    small_blocks = minhash_band_keys(texts)
    assert np.array_equal(together[:40], alone)
    assert np.array_equal(together, reversed_batch)
    assert np.array_equal(together, small_blocks)


def test_unusual_text_is_hashed_not_refused() -> None:
    texts = [
        "東京の天気 は 晴れ です ね 今日 も",
        "lone surrogate \ud800 here and there again",
        "nul\x00byte" * 3,
    ]
    assert minhash_band_keys(texts).shape == (3, 14)


@pytest.mark.parametrize("options", [{"bands": 0}, {"rows": 0}, {"ngram": 0}, {"bands": 5000}])
def test_minhash_parameters_are_checked(options: dict[str, int]) -> None:
    with pytest.raises(InvalidInputError, match="MinHash needs"):
        minhash_band_keys(["a b c"], **options)


def test_exact_copies_are_not_reported_again_as_near_duplicates() -> None:
    conversations = read_conversations("axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl")
    exact = group_exact_duplicates([conversation_fingerprint(c) for c in conversations])
    keys = minhash_band_keys([conversation_text(c) for c in conversations])
    later_copies = duplicate_records(exact)
    near = group_near_duplicates(keys, exclude=later_copies)
    assert not any(set(g) & later_copies for g in near)
    first_records = {g[0] for g in exact}
    assert all(set(g) <= first_records for g in near)
    # Without the exclusion every exact group would come back as (part of) a near group.
    unfiltered = group_near_duplicates(keys)
    assert all(any(set(g) <= set(n) for n in unfiltered) for g in exact)


def test_verification_keeps_only_pairs_above_the_threshold() -> None:
    texts = [conversation_text(c) for c in read_conversations("fastchat_dummy_conversation_with_system.json")]
    keys = minhash_band_keys(texts)
    unverified = group_near_duplicates(keys)
    verified = group_near_duplicates(keys, texts_for_verify=texts.__getitem__)
    assert verified and unverified
    assert sum(map(len, verified)) <= sum(map(len, unverified))
    for group in verified:
        for member in group:
            assert (
                max(jaccard(texts[member], texts[other]) for other in group if other != member)
                >= NEAR_DUP_THRESHOLD
            )


# --- the LSH maths --------------------------------------------------------------------------------


def test_threshold_and_collision_probabilities_follow_the_formula() -> None:
    assert NEAR_DUP_THRESHOLD == pytest.approx((1 / 14) ** (1 / 8)) == pytest.approx(0.7190, abs=1e-4)
    assert lsh_threshold(20, 5) == pytest.approx(0.5493, abs=1e-4)
    assert (
        candidate_probability(0.5) == pytest.approx(1 - (1 - 0.5**8) ** 14) == pytest.approx(0.0533, abs=1e-4)
    )
    assert (
        candidate_probability(0.9)
        == pytest.approx(1 - (1 - 0.9**8) ** 14)
        == pytest.approx(0.99962, abs=1e-5)
    )


def pairs_with_jaccard(count: int, size: int, similarity: float) -> tuple[list[str], list[str], float]:
    """Texts of `size` distinct words whose word sets have the given Jaccard similarity."""
    shared = round(2 * size * similarity / (1 + similarity))
    left, right = [], []
    for pair in range(count):
        common = [f"c{pair}x{i}" for i in range(shared)]
        left.append(" ".join(common + [f"l{pair}x{i}" for i in range(size - shared)]))
        right.append(" ".join(common + [f"r{pair}x{i}" for i in range(size - shared)]))
    return left, right, shared / (2 * size - shared)


@pytest.mark.parametrize("size", [30, 300])  # fewer and more words than the 112 signature slots
@pytest.mark.parametrize("similarity", [0.5, 0.8, 0.9])
def test_measured_candidate_rate_matches_the_formula(size: int, similarity: float) -> None:
    left, right, exact_similarity = pairs_with_jaccard(2000, size, similarity)
    left_keys = minhash_band_keys(left, ngram=1)
    right_keys = minhash_band_keys(right, ngram=1)
    rows_agree = (left_keys == right_keys).mean()
    candidates = (left_keys == right_keys).any(axis=1).mean()
    assert rows_agree == pytest.approx(exact_similarity**8, abs=0.02)
    assert candidates == pytest.approx(candidate_probability(exact_similarity), abs=0.03)


def test_word_shingles_are_what_is_compared() -> None:
    a = "the cat sat on the mat today"
    assert shingle_set(a) == {
        (b"the", b"cat", b"sat", b"on", b"the"),
        (b"cat", b"sat", b"on", b"the", b"mat"),
        (b"sat", b"on", b"the", b"mat", b"today"),
    }
    assert shingle_set("Two words") == {(b"two", b"words")}
    same_words = minhash_band_keys([a, a.upper().replace(" ", "\n\t ")])
    assert np.array_equal(same_words[0], same_words[1])
    assert not np.array_equal(*minhash_band_keys([a, "the cat sat on the mat yesterday"]))


def test_conversation_text_is_role_tagged_and_can_leave_out_system() -> None:
    call = {"type": "function", "function": {"name": "add", "arguments": {"a": 1}}}
    conv = chat(("system", "Be brief."), ("user", "Add 1."), index=0)
    conv = replace(conv, messages=(*conv.messages, Message("assistant", "", tool_calls=(call,))))
    assert (
        conversation_text(conv)
        == 'system: Be brief.\nuser: Add 1.\nassistant: \nassistant: tool_call add {"a":1}'
    )
    assert conversation_text(conv, include_system=False).startswith("user: Add 1.")


def test_union_of_chained_candidates_forms_one_group() -> None:
    base = long_alpaca_answers(1)[0].split()
    chain = [" ".join(base[:i] + ["edit"] + base[i + 1 :]) for i in (10, 11, 12)]
    keys = minhash_band_keys([*chain, "completely different words " * 10])
    assert group_near_duplicates(keys) == [[0, 1, 2]]
    assert all(jaccard(a, b) > 0.8 for a, b in itertools.combinations(chain, 2))


def test_shared_path_helper_points_at_real_files() -> None:
    assert isinstance(shared_file("llamafactory_alpaca_en_demo.json"), Path)


def test_one_huge_text_is_hashed_like_any_other(monkeypatch: pytest.MonkeyPatch) -> None:
    words = long_alpaca_answers(1)[0].split()
    huge = " ".join(words * 400)  # ~630 KB, far beyond a 4 KB block
    reference = minhash_band_keys([huge])[0]
    monkeypatch.setattr(minhash_module, "_BLOCK_BYTES", 4096)
    monkeypatch.setattr(minhash_module, "_power_tables", (np.ones(1, dtype=np.uint64),) * 2)
    keys = minhash_band_keys(["tiny text", huge, huge.upper(), "another tiny text"])
    assert np.array_equal(keys[1], reference) and np.array_equal(keys[2], reference)
    # The huge blocks' power tables were used once and dropped; the block-sized ones are kept.
    assert minhash_module._power_tables[0].size == 2 * 4096


def test_numpy_word_splitting_equals_the_python_shingler_on_real_text() -> None:
    texts = [conversation_text(c) for c in read_conversations("llamafactory_glaive_toolcall_en_demo.json")]
    texts += ["東京の天気は晴れです。", "a東京abc  x\tñ", "한국어 텍스트입니다", "\ud800 lone", "", "   "]
    for text in texts:
        data = text.lower().encode("utf-8", "surrogatepass")
        starts, ends = minhash_module._word_bounds(np.frombuffer(data, dtype=np.uint8))
        assert [data[a:b] for a, b in zip(starts, ends, strict=True)] == minhash_module._WORD.findall(data)


def test_cjk_characters_are_words_so_a_one_character_edit_is_a_near_duplicate() -> None:
    ideographs = [chr(0x4E00 + (i * 7919) % 20000) for i in range(400)]
    original = "".join(ideographs[:200]) + "。"
    edited = original[:100] + "改" + original[101:]
    unrelated = "".join(ideographs[200:]) + "。"
    assert len(shingle_set(original)) == 197  # character 5-grams, not one 200-character "word"
    assert jaccard(original, edited) > 0.9
    assert group_near_duplicates(minhash_band_keys([original, edited, unrelated])) == [[0, 1]]
