"""The pure part of generation: lenient parsing, quality gates, quotas, chunking, cost, payloads, rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.core.errors import InvalidInputError
from backend.core.generation.chunking import chunk_by_tokens
from backend.core.generation.cost import Price, estimate_cost
from backend.core.generation.gates import DropReason, GateKeeper
from backend.core.generation.modes import ExamplesMode, InputsMode
from backend.core.generation.parse import parse_items
from backend.core.generation.payloads import ExamplesRequest, InputsRequest, ViewRequest, parse_request
from backend.core.generation.presets import PRESETS, ExplorationMode
from backend.core.generation.quotas import LabelQuotas
from backend.core.generation.rows import RowWriter, chat_record, data_line, previous_rows_file, read_rows
from backend.core.generation.view import ClassificationMode, labels_from_items
from backend.core.ingest import iter_records, sniff_file
from backend.core.tokens import get_counter
from tests.conftest import shared_file


@pytest.mark.parametrize(
    ("text", "lines", "items", "method"),
    [
        ('["a", "b"]', False, ["a", "b"], "json"),
        ('Sure! Here they are:\n```json\n[{"input": "a"}, {"input": "b"}]\n```\nEnjoy.', False,
         [{"input": "a"}, {"input": "b"}], "json"),
        ('[{"input": "a"}, {"input": "b"},]', False, [{"input": "a"}, {"input": "b"}], "json_repaired"),
        ("[\u201ca\u201d, \u201cb\u201d]", False, ["a", "b"], "json"),
        ('{"inputs": ["x", "y"]}', False, ["x", "y"], "json"),
        # cut off by the token limit: the complete objects are kept, the broken last one is not
        ('[{"text": "one", "label": "a"}, {"text": "two", "label": "b"}, {"text": "thr', False,
         [{"text": "one", "label": "a"}, {"text": "two", "label": "b"}], "json_fragments"),
        ('{"text": "one"}\n{"text": "two"}\n', False, [{"text": "one"}, {"text": "two"}], "json_fragments"),
        ('["first", "second", "thi', True, ["first", "second"], "json_fragments"),
        ("1. first question\n2) second question\n- third one", True,
         ["first question", "second question", "third one"], "lines"),
        ("1. first question\n2. second question", False, [], "none"),
        ("I cannot help with that.\nReally.", True, [], "none"),
    ],
)
def test_parse_items_is_lenient_but_never_invents(text: str, lines: bool, items: list[object], method: str) -> None:
    parsed = parse_items(text, allow_lines=lines)
    assert (parsed.items, parsed.method) == (items, method)


def test_gates_drop_duplicates_near_duplicates_copies_and_negatives() -> None:
    seeds = ["How do I reset my password on the mobile app when I no longer have my old phone"]
    gates = GateKeeper(min_chars=5, max_chars=200, seeds=seeds,
                       dataset_texts=["Where can I download last month's invoice as a PDF file please"],
                       negative_texts=["Tell me a joke about cats and dogs and their owners at the park"])
    assert gates.check_new("how do I reset my PASSWORD on the mobile app  when I no longer have my old phone") \
        == DropReason.EXACT_DUPLICATE
    assert gates.check_new("Where can I download last month's invoice as a PDF file please?") \
        == DropReason.NEAR_DUPLICATE
    assert gates.check_new("tell me a joke about cats and dogs and their owners at the park") \
        == DropReason.MATCHES_INVALID_EXAMPLE
    # a seed with a long clause added: not a near-duplicate overall, but it copies the seed
    copied = seeds[0] + " and also my email address changed last year after I moved to another country"
    assert gates.check_new(copied) == DropReason.COPIES_SEED
    novel = "Can I change the delivery address of an order that has already shipped"
    assert gates.check_new(novel) is None
    assert gates.check_new(novel + "?") == DropReason.NEAR_DUPLICATE  # repeats a row generated before
    assert gates.duplicate_of == {"seed": 1, "dataset": 1, "generated": 1}
    assert gates.check_fields(["ok text", "   "]) == DropReason.EMPTY_FIELD
    assert gates.check_fields(["abc"]) == DropReason.TOO_SHORT
    assert gates.check_fields(["x" * 201]) == DropReason.TOO_LONG


def test_label_quotas_are_balanced_and_account_for_requests_in_flight() -> None:
    quotas = LabelQuotas(["pos", "neg", "neutral"], 10)
    assert quotas.quota == {"pos": 4, "neg": 3, "neutral": 3}
    first = quotas.next_label()
    quotas.request(first, 4)
    second = quotas.next_label()
    assert (first, second) == ("pos", "neg")  # the batch in flight for "pos" moves the next one on
    for _ in range(4):
        assert quotas.accept("pos")
    assert not quotas.accept("pos")


def test_classification_mode_maps_labels_and_drops_unknown_ones() -> None:
    request = parse_request(ViewRequest, {"prompt": "sentiment", "num_samples": 4, "task": "text_classification",
                                          "labels": ["Positive", {"label": "Negative", "description": "unhappy"}]})
    mode = ClassificationMode(request, request.label_names() or [])
    batch = mode.next_request(0)
    assert batch.meta["label"] == "Positive" and "- Negative: unhappy" in batch.messages[1]["content"]
    kept = mode.candidate({"text": "great", "label": "negative"}, batch)
    assert not isinstance(kept, DropReason) and kept.row == {"text": "great", "label": "Negative"}
    assert mode.candidate({"text": "meh", "label": "mixed"}, batch) == DropReason.UNKNOWN_LABEL
    unlabelled = mode.candidate("plain string", batch)
    assert not isinstance(unlabelled, DropReason) and unlabelled.label == "Positive"
    with pytest.raises(InvalidInputError) as err:
        labels_from_items(["spam", "spam"], 2)
    assert err.value.code == "labels_not_proposed"


def test_examples_mode_accepts_only_alternating_chats_with_the_asked_turns() -> None:
    mode = ExamplesMode(parse_request(ExamplesRequest, {"task_description": "tutor", "num_examples": 2,
                                                        "system_prompt": "Be kind."}))
    batch = mode.next_request(0)
    good = mode.candidate({"input": "2+2?", "output": "4"}, batch)
    assert not isinstance(good, DropReason)
    assert good.row["messages"][0] == {"role": "system", "content": "Be kind."}
    assert mode.candidate({"messages": [{"role": "assistant", "content": "hi"}]}, batch) == DropReason.MALFORMED_ITEM
    two_turns = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}] * 2
    assert mode.candidate({"messages": two_turns}, batch) == DropReason.MALFORMED_ITEM


def test_presets_change_sampling_and_prompt() -> None:
    request = {"application_description": "stories", "num_inputs_to_generate": 5, "seeds": ["a fox"]}
    prompts = {}
    for mode in ExplorationMode:
        batch = InputsMode(parse_request(InputsRequest, {**request, "exploration_mode": mode.value})).next_request(0)
        assert batch.sampling.temperature == PRESETS[mode].sampling.temperature
        assert PRESETS[mode].instruction in batch.messages[1]["content"]
        prompts[mode] = batch.messages[1]["content"]
    assert len(set(prompts.values())) == 4
    temperatures = [PRESETS[m].sampling.temperature for m in ExplorationMode]
    assert temperatures == sorted(temperatures)


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"application_description": "x", "num_inputs_to_generate": 5, "seeds": ["a"], "batch_size": 11},
         "batch_size"),
        ({"application_description": "x", "num_inputs_to_generate": 5, "seeds": ["  "]}, "every seed is empty"),
        ({"application_description": "x", "num_inputs_to_generate": 5, "seeds": ["a"], "num_shots": 11},
         "num_shots"),
        ({"application_description": "x", "num_inputs_to_generate": 5, "seeds": ["a"], "exploration_mode": "WILD"},
         "exploration_mode"),
        ({"application_description": "x", "num_inputs_to_generate": 5, "seeds": ["a"], "api_key": "sk-1"},
         "X-OpenAI-Key"),
        ({"application_description": "x", "num_inputs_to_generate": 5, "seeds": ["a"],
          "base_url": "http://169.254.169.254/"}, "server-configured provider"),
    ],
)
def test_bad_requests_name_the_field(payload: dict[str, object], fragment: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        parse_request(InputsRequest, payload)
    assert err.value.code == "invalid_generation_request"
    assert fragment in err.value.detail
    assert "sk-1" not in err.value.detail


def test_chunks_are_exact_spans_under_the_limit() -> None:
    content = shared_file("llamafactory_wiki_demo.txt").read_text()[:40_000]
    counter = get_counter("cl100k_base")
    chunks = chunk_by_tokens(content, counter, 200)
    assert len(chunks) > 10
    assert all(c.tokens == counter.count(c.text) <= 200 for c in chunks)
    assert all(content[c.start:c.end] == c.text for c in chunks)
    assert [c.number for c in chunks] == list(range(len(chunks)))
    # nothing but whitespace between chunks is left out
    assert all(not content[a.end:b.start].strip() for a, b in zip(chunks, chunks[1:], strict=False))
    long_word = chunk_by_tokens("x" * 5000, counter, 50)
    assert all(c.tokens <= 50 for c in long_word) and "".join(c.text for c in long_word) == "x" * 5000


def test_cost_estimate_counts_batches_tokens_and_price() -> None:
    estimate = estimate_cost(rows=50, batch_size=5, prompt_tokens_per_batch=300, completion_tokens_per_row=40,
                             price=Price(0.15, 0.60), tokenizer="o200k_base")
    assert estimate.batches == 14  # 50 rows / (5 per batch x 0.75 kept)
    assert (estimate.prompt_tokens, estimate.completion_tokens) == (4200, 2800)
    assert estimate.cost_usd == pytest.approx((4200 * 0.15 + 2800 * 0.60) / 1e6)
    assert estimate_cost(rows=5, batch_size=5, prompt_tokens_per_batch=1, completion_tokens_per_row=1, price=None,
                         tokenizer="cl100k_base").cost_usd is None


def test_rows_file_is_readable_while_written_and_becomes_an_ingestible_dataset(tmp_path: Path) -> None:
    writer = RowWriter(tmp_path / "1" / "rows.jsonl")
    writer.write_batch([{"text": "good film", "label": "pos", "provenance": {"batch": 0}},
                        {"text": "bad film", "label": "neg", "provenance": {"batch": 0}}])
    with (tmp_path / "1" / "rows.jsonl").open("ab") as f:
        f.write(b'{"n": 2, "text": "half wri')  # a writer stopped mid-line
    rows = read_rows(tmp_path / "1" / "rows.jsonl")
    assert [r["n"] for r in rows] == [0, 1]
    writer.close()
    assert data_line(rows[0], "classification") == '{"text":"good film","label":"pos"}'
    assert data_line({"input": "two\nlines"}, "inputs") == "two lines"
    (tmp_path / "2").mkdir()
    assert previous_rows_file(tmp_path / "2") == tmp_path / "1" / "rows.jsonl"
    assert previous_rows_file(tmp_path / "1") is None
    # each mode's record goes through the product's own ingest as a usable example
    samples = {"classification": {"text": "t", "label": "l"}, "seq2seq": {"input": "i", "output": "o"},
               "questions": {"question": "q", "answer": "a"}, "inputs": {"input": "i"},
               "examples": {"messages": [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}]}}
    dataset = tmp_path / "dataset.jsonl"
    dataset.write_text("".join(json.dumps(chat_record(row, mode)) + "\n" for mode, row in samples.items()))
    records = list(iter_records(dataset, sniff_file(dataset)))
    assert [r.issues for r in records] == [()] * 5
    conversations = [r.conversation for r in records if r.conversation is not None]
    assert len(conversations) == 5
    assert [m.role for m in conversations[0].messages] == ["user", "assistant"]
    assert conversations[3].format.value == "text"
