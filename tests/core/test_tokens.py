"""Token counting on the real reference datasets, offline."""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import tiktoken.load
from tokenizers import Tokenizer

from backend.core.errors import InvalidInputError
from backend.core.tokens import (
    ESTIMATE_FACTORS,
    available_tokenizers,
    count_openai_chat_tokens,
    get_counter,
)
from backend.core.tokens.gguf_vocab import read_gguf_vocab, tokenizer_from_gguf
from backend.core.tokens.hf_bridge import PROBE_TEXTS, bridge_gguf_vocab, bridge_tokenizer_json, unreachable_tokens
from backend.core.tokens.openai_encodings import (
    OPENAI_ENCODINGS,
    cache_file_name,
    packaged_rank_file,
    seed_tiktoken_cache,
)
from backend.core.tokens.registry import PACKAGED_TOKENIZERS, _packaged_path
from tests.conftest import SHARED_DATA, shared_file

NAMED = ["cl100k_base", "o200k_base", "qwen3", "llama-3.2", "smollm2"]
# The Makefile installs every packaged tokenizer: none of these tests has a reason to skip in CI.
pytestmark = pytest.mark.required


def read_records(name: str) -> list[dict[str, Any]]:
    path = shared_file(name)
    if path.suffix == ".jsonl":
        return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    records: list[dict[str, Any]] = orjson.loads(path.read_bytes())
    return records


def contents(name: str) -> list[str]:
    return [m["content"] for record in read_records(name) for m in record["messages"]]


def all_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from all_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from all_strings(item)


def reference_files() -> list[Path]:
    """The well-formed reference datasets (the messy_* ones are not plain UTF-8 JSON)."""
    return [p for p in sorted(SHARED_DATA.glob("*.json*")) if not p.name.startswith("messy_")]


def is_packaged(name: str) -> bool:
    return importlib.util.find_spec(PACKAGED_TOKENIZERS[name].module) is not None


def need_packaged(name: str) -> None:
    """Skip without the package; every test here is `required`, so under CI that skip fails the run."""
    if not is_packaged(name):
        pytest.skip(f"{PACKAGED_TOKENIZERS[name].package} is not installed")


def test_cookbook_formula_reproduces_the_cookbook_output() -> None:
    counter = get_counter("cl100k_base")
    examples = read_records("openai_cookbook_toy_chat_fine_tuning.jsonl")
    totals = [count_openai_chat_tokens(example["messages"], counter) for example in examples]
    assistant = [
        sum(counter.count(m["content"]) for m in example["messages"] if m["role"] == "assistant")
        for example in examples
    ]
    assert totals == [45, 111, 26, 28, 8032]
    assert (min(assistant), max(assistant)) == (4, 8000)


def test_cookbook_formula_counts_a_name_and_its_extra_token() -> None:
    counter = get_counter("cl100k_base")
    plain = count_openai_chat_tokens([{"role": "user", "content": "Hi"}], counter)
    named = count_openai_chat_tokens([{"role": "user", "content": "Hi", "name": "bob"}], counter)
    assert named - plain == counter.count("bob") + 1


@pytest.mark.parametrize(
    ("dataset", "total", "smallest", "largest"),
    [
        ("openai_cookbook_toy_chat_fine_tuning.jsonl", 8_151, 15, 8_017),
        ("llamafactory_pr5606_openai_training_data_blank_lines.jsonl", 873, 74, 102),
        ("axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl", 244_207, 166, 331),
    ],
)
def test_cl100k_content_tokens_match_the_independent_figures(
    dataset: str, total: int, smallest: int, largest: int
) -> None:
    counter = get_counter("cl100k_base")
    per_example = [
        sum(counter.count_batch([m["content"] for m in r["messages"]])) for r in read_records(dataset)
    ]
    assert (sum(per_example), min(per_example), max(per_example)) == (total, smallest, largest)


def reference_count(name: str, text: str) -> int:
    """The token count of `text` by the tokenizer's own library, without our counter in between."""
    if name in OPENAI_ENCODINGS:
        return len(tiktoken.get_encoding(name).encode_ordinary(text))
    reference = hugging_face_reference(name)
    reference.encode_special_tokens = True
    return len(reference.encode(text, add_special_tokens=False).ids)


@pytest.mark.parametrize("name", NAMED)
def test_count_batch_counts_each_text_alone_in_order(name: str) -> None:
    counter = get_counter(name, allow_download=False)
    # "Hel" + "lo" is one token joined and two apart: a counter that joined the batch's texts (or
    # mixed up their order) gives other numbers than the tokenizer's own count of each text alone.
    texts = ["Hel", "lo", "Hello", "", "12345 café 東京", "lo", "Hel"]
    batch = counter.count_batch(texts)
    assert batch == [reference_count(name, text) for text in texts]
    assert batch[0] + batch[1] > reference_count(name, "Hello")
    assert batch[3] == 0


@pytest.mark.parametrize("name", NAMED)
def test_special_token_strings_in_text_count_as_plain_text(name: str) -> None:
    counter = get_counter(name, allow_download=False)
    for special in ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|endofprompt|>"]:
        assert counter.count(f"say {special} now") > counter.count("say  now") + 1


def test_tiktoken_counts_equal_tiktoken_directly() -> None:
    texts = contents("axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl")[:300]
    for name in ("cl100k_base", "o200k_base"):
        encoding = tiktoken.get_encoding(name)
        assert get_counter(name).count_batch(texts) == [len(encoding.encode_ordinary(t)) for t in texts]


@pytest.mark.parametrize("name", ["qwen3", "llama-3.2", "smollm2"])
def test_packaged_tokenizers_are_exact(name: str) -> None:
    need_packaged(name)
    counter = get_counter(name, allow_download=False)
    assert counter.info.exact and counter.info.note is None
    assert PACKAGED_TOKENIZERS[name].package in counter.info.counted_with
    assert name in {info.name for info in available_tokenizers()}


@pytest.mark.parametrize("name", ["qwen3", "llama-3.2", "smollm2"])
def test_a_missing_tokenizer_package_gives_a_labelled_estimate(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.core.tokens import registry

    monkeypatch.setattr(registry, "_packaged_path", lambda packaged: None)
    counter = registry._build_counter(name, allow_download=False)
    assert not counter.info.exact
    assert counter.info.note and PACKAGED_TOKENIZERS[name].package in counter.info.note
    assert counter.info.counted_with.startswith("estimate")
    assert name not in {info.name for info in registry.available_tokenizers()}


@pytest.mark.parametrize(
    ("name", "total"),
    # Exact counts of the axolotl file's message contents. Qwen3's were checked against
    # transformers' AutoTokenizer on the same tokenizer.json.
    [("qwen3", 253_854), ("llama-3.2", 244_207), ("smollm2", 264_654)],
)
def test_packaged_tokenizer_figures(name: str, total: int) -> None:
    need_packaged(name)
    counter = get_counter(name)
    assert sum(counter.count_batch(contents("axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"))) == total


def test_smollm2_rebuilt_from_gguf_splits_digits_and_round_trips() -> None:
    need_packaged("smollm2")
    path = _packaged_path(PACKAGED_TOKENIZERS["smollm2"])
    assert path is not None
    vocab = read_gguf_vocab(path)
    assert (vocab.model, vocab.pre, len(vocab.tokens)) == ("gpt2", "smollm", 49_152)
    tokenizer = tokenizer_from_gguf(vocab)
    assert tokenizer.encode("In 2024").tokens == ["In", "Ġ", "2", "0", "2", "4"]
    # Whitespace before a digit stays one piece, as in the original tokenizer.json.
    assert tokenizer.encode("world\n\n2").tokens == ["world", "ĊĊ", "2"]
    assert tokenizer.token_to_id("<|im_start|>") == 1
    for text in contents("openai_cookbook_toy_chat_fine_tuning.jsonl"):
        assert tokenizer.decode(tokenizer.encode(text).ids) == text


def hugging_face_reference(name: str) -> Tokenizer:
    path = _packaged_path(PACKAGED_TOKENIZERS[name])
    assert path is not None
    if path.suffix == ".gguf":
        return tokenizer_from_gguf(read_gguf_vocab(path))
    return Tokenizer.from_file(str(path))


@pytest.mark.parametrize("name", ["qwen3", "llama-3.2", "smollm2"])
def test_fast_counts_equal_the_hugging_face_tokenizer_on_every_reference_string(name: str) -> None:
    need_packaged(name)
    texts = sorted({text for path in reference_files() for text in all_strings(read_records(path.name))})
    texts += list(PROBE_TEXTS)
    reference = hugging_face_reference(name)
    reference.encode_special_tokens = True
    expected = [len(e) for e in reference.encode_batch(texts, add_special_tokens=False)]
    assert get_counter(name).count_batch(texts) == expected


def test_packaged_tokenizers_run_on_the_fast_bridge_and_refuse_a_mismatch() -> None:
    for name in ("qwen3", "llama-3.2", "smollm2"):
        need_packaged(name)
    qwen, llama, smollm = (_packaged_path(PACKAGED_TOKENIZERS[n]) for n in ("qwen3", "llama-3.2", "smollm2"))
    assert qwen is not None and llama is not None and smollm is not None
    assert bridge_tokenizer_json(qwen, Tokenizer.from_file(str(qwen))) is not None
    assert bridge_tokenizer_json(llama, Tokenizer.from_file(str(llama))) is not None
    vocab = read_gguf_vocab(smollm)
    assert bridge_gguf_vocab(vocab.tokens, vocab.token_types, tokenizer_from_gguf(vocab)) is not None
    # Probed against another model's tokenizer, the bridge is refused (the caller keeps Hugging Face's).
    assert bridge_tokenizer_json(qwen, Tokenizer.from_file(str(llama))) is None


def test_qwen3_added_tokens_count_whole_even_in_user_text() -> None:
    need_packaged("qwen3")
    counter = get_counter("qwen3")
    # <think> is a non-special added token: Qwen's tokenizer always matches it as one token,
    # while <|im_end|> (special) is counted as the plain text a user typed.
    assert counter.count("a<think>b") == counter.count("a") + 1 + counter.count("b")
    assert counter.count("<|im_end|>") > 1


@pytest.mark.parametrize("family", sorted(ESTIMATE_FACTORS))
def test_estimate_factors_are_the_measured_ratios(family: str) -> None:
    need_packaged(family)
    texts = [text for path in reference_files() for text in all_strings(read_records(path.name))]
    ratio = sum(get_counter(family).count_batch(texts)) / sum(get_counter("cl100k_base").count_batch(texts))
    assert ESTIMATE_FACTORS[family] == pytest.approx(ratio, abs=0.01)


def test_repo_ids_use_a_packaged_tokenizer_or_an_estimate_without_downloading() -> None:
    need_packaged("qwen3")
    assert get_counter("Qwen/Qwen3-0.6B", allow_download=False).info.exact
    estimate = get_counter("someone/unknown-model-7b", allow_download=False)
    assert not estimate.info.exact
    assert estimate.info.note and "downloads are turned off" in estimate.info.note
    assert estimate.count_batch(["Hello world"]) == get_counter("cl100k_base").count_batch(["Hello world"])
    kin = get_counter("Qwen/Qwen2.5-0.5B-Instruct", allow_download=False)
    assert not kin.info.exact
    assert kin.count("Hello world") == get_counter("qwen3").count("Hello world")


def test_hf_hub_offline_turns_downloads_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    counter = get_counter("someone/offline-model-1b")  # downloads allowed, but the env says offline
    assert not counter.info.exact
    assert counter.info.note and "downloads are turned off" in counter.info.note


@pytest.mark.parametrize("name", ["gpt-5", "cl100k", "", "a/b/c", "../etc/passwd"])
def test_unknown_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInputError, match="Unknown tokenizer"):
        get_counter(name)


@pytest.mark.parametrize("encoding", sorted(OPENAI_ENCODINGS))
def test_seeded_cache_satisfies_tiktoken_hash_check(
    encoding: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert packaged_rank_file(encoding) is not None
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert seed_tiktoken_cache(encoding) == tmp_path
    url, expected = OPENAI_ENCODINGS[encoding]
    assert cache_file_name(encoding) == hashlib.sha1(url.encode()).hexdigest()
    seeded = tmp_path / cache_file_name(encoding)
    assert hashlib.sha256(seeded.read_bytes()).hexdigest() == expected
    # tiktoken's own loader reads the cache, verifies the hash and never reaches the network.
    ranks = tiktoken.load.load_tiktoken_bpe(url, expected_hash=expected)
    assert len(ranks) > 100_000


def test_seeding_keeps_a_users_valid_cache_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    seed_tiktoken_cache("cl100k_base")
    seeded = tmp_path / cache_file_name("cl100k_base")
    before = seeded.stat().st_ino, seeded.stat().st_mtime_ns
    seed_tiktoken_cache("cl100k_base")
    assert (seeded.stat().st_ino, seeded.stat().st_mtime_ns) == before


def test_seeding_replaces_a_corrupt_cache_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    corrupt = tmp_path / cache_file_name("o200k_base")
    corrupt.write_bytes(b"not an encoding")
    seed_tiktoken_cache("o200k_base")
    assert hashlib.sha256(corrupt.read_bytes()).hexdigest() == OPENAI_ENCODINGS["o200k_base"][1]


def test_seeding_defaults_to_a_per_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    monkeypatch.delenv("SLMGEN_TIKTOKEN_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    expected = tmp_path / ".cache" / "slmgen" / "tiktoken"
    assert seed_tiktoken_cache("cl100k_base") == expected
    assert (expected / cache_file_name("cl100k_base")).is_file()
    import os

    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(expected)


def test_a_repo_tokenizer_already_in_the_hugging_face_cache_is_used_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub_constants = pytest.importorskip("huggingface_hub.constants")
    from tokenizers import models, pre_tokenizers

    tiny = Tokenizer(models.WordLevel({"hello": 0, "world": 1, "[UNK]": 2}, unk_token="[UNK]"))
    tiny.pre_tokenizer = pre_tokenizers.Whitespace()
    repo = tmp_path / "models--someone--cached-model"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    tiny.save(str(snapshot / "tokenizer.json"))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path))

    counter = get_counter("someone/cached-model", allow_download=False)
    assert counter.info.exact
    assert counter.info.counted_with == "someone/cached-model tokenizer.json"
    assert counter.count_batch(["hello world", "hello there world"]) == [2, 3]


def test_the_cache_stays_bounded_and_counts_stay_right(monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.core.tokens import counter as counter_module

    monkeypatch.setattr(counter_module, "_CACHE_MAX_ENTRIES", 20)
    encoding = tiktoken.get_encoding("cl100k_base")
    counter = counter_module.TokenCounter(
        get_counter("cl100k_base").info, lambda texts: [len(encoding.encode_ordinary(t)) for t in texts]
    )
    texts = contents("llamafactory_pr5606_openai_training_data_blank_lines.jsonl")  # 30 texts
    for _ in range(3):
        assert counter.count_batch(texts + texts[:7]) == [
            len(encoding.encode_ordinary(t)) for t in texts + texts[:7]
        ]
        assert len(counter._cache) <= 20


def test_tokens_the_merges_never_build_are_never_counted() -> None:
    # Llama 3.2's vocabulary holds " Arthropoda", but its merges stop at " Ar" + "throp" + "oda":
    # tiktoken's whole-piece shortcut would count 1 token where the model's tokenizer counts 3.
    need_packaged("llama-3.2")
    reference = hugging_face_reference("llama-3.2")
    unreachable = unreachable_tokens(reference, reference.get_vocab(with_added_tokens=False))
    assert "ĠArthropoda" in unreachable and "Ġthe" not in unreachable
    assert get_counter("llama-3.2").count(" Arthropoda") == reference_count("llama-3.2", " Arthropoda") == 3
