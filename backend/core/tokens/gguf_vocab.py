"""Rebuild a Hugging Face tokenizer from the vocabulary stored in a GGUF file's metadata.

A GGUF file (llama.cpp's model format) starts with key/value metadata; for BPE models it holds
the token strings (`tokenizer.ggml.tokens`), their types (`tokenizer.ggml.token_type`, 3 =
control/special) and the merges (`tokenizer.ggml.merges`), written verbatim from the model's
tokenizer.json by llama.cpp's converter. Reading only the metadata (a few MB at the front of the
file) is enough: the tensors after it are never touched.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from tokenizers import Tokenizer, decoders, models, pre_tokenizers

from backend.core.errors import InvalidInputError

_SCALARS: dict[int, str] = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING = 8
_ARRAY = 9
_CONTROL_TOKEN = 3
_VOCAB_KEYS = ("model", "pre", "tokens", "token_type", "merges")

# llama.cpp's pre-tokenizer names for GPT-2-style byte-level BPE, mapped to the Hugging Face
# pre-tokenizer they stand for. "smollm": digits one by one, then the GPT-2 split.
_BYTE_LEVEL_PRE_TOKENIZERS = {"smollm": True, "gpt-2": False}


def read_gguf_metadata(path: Path, wanted: frozenset[str] | None = None) -> dict[str, Any]:
    """The metadata of a GGUF file (only the `wanted` keys when given; others are skipped)."""
    with path.open("rb") as stream:
        if stream.read(4) != b"GGUF":
            raise InvalidInputError(f"{path.name} is not a GGUF file.", code="not_gguf")
        version, _tensor_count, kv_count = struct.unpack("<IQQ", stream.read(20))
        if version < 2:
            raise InvalidInputError(f"{path.name} uses GGUF version {version}; 2 or later is needed.")
        metadata: dict[str, Any] = {}
        for _ in range(kv_count):
            key = _read_string(stream)
            value_type = _unpack(stream, "<I")
            value = _read_value(stream, value_type, keep=wanted is None or key in wanted)
            if wanted is None or key in wanted:
                metadata[key] = value
        return metadata


@dataclass(frozen=True)
class GgufVocab:
    model: str | None  # "gpt2" for byte-level BPE
    pre: str | None  # llama.cpp's pre-tokenizer name, e.g. "smollm"
    tokens: list[str]
    token_types: list[int]
    merges: list[str]


def read_gguf_vocab(path: Path) -> GgufVocab:
    """The tokenizer part of a GGUF file's metadata."""
    meta = read_gguf_metadata(path, frozenset({f"tokenizer.ggml.{key}" for key in _VOCAB_KEYS}))
    tokens: list[str] = meta.get("tokenizer.ggml.tokens") or []
    return GgufVocab(
        model=meta.get("tokenizer.ggml.model"),
        pre=meta.get("tokenizer.ggml.pre"),
        tokens=tokens,
        token_types=meta.get("tokenizer.ggml.token_type") or [1] * len(tokens),
        merges=meta.get("tokenizer.ggml.merges") or [],
    )


def tokenizer_from_gguf(vocab: GgufVocab, name: str = "GGUF file") -> Tokenizer:
    """A `tokenizers.Tokenizer` equal to the one the GGUF model was converted from.

    The pre-tokenizer follows llama.cpp's reading of `tokenizer.ggml.pre` (for "smollm": digits
    one by one, then the GPT-2 split), which matches the original tokenizer.json; transformers'
    generic GGUF loader ignores it and splits some whitespace-before-digit runs differently.
    """
    if vocab.model != "gpt2" or vocab.pre not in _BYTE_LEVEL_PRE_TOKENIZERS:
        raise InvalidInputError(
            f"{name} holds a '{vocab.model}'/'{vocab.pre}' tokenizer; only byte-level BPE "
            f"({', '.join(sorted(_BYTE_LEVEL_PRE_TOKENIZERS))}) can be rebuilt from GGUF metadata.",
            code="unsupported_gguf_tokenizer",
        )
    merges = [(left, right) for left, _, right in (pair.partition(" ") for pair in vocab.merges)]
    bpe = models.BPE(vocab={token: i for i, token in enumerate(vocab.tokens)}, merges=merges)
    tokenizer = Tokenizer(bpe)
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if _BYTE_LEVEL_PRE_TOKENIZERS[vocab.pre]:
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), byte_level]
        )
    else:
        tokenizer.pre_tokenizer = byte_level
    tokenizer.decoder = decoders.ByteLevel()
    special = [vocab.tokens[i] for i, kind in enumerate(vocab.token_types) if kind == _CONTROL_TOKEN]
    tokenizer.add_special_tokens(special)
    return tokenizer


def _unpack(stream: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = stream.read(size)
    if len(data) != size:
        raise InvalidInputError("The GGUF file ends in the middle of its metadata.", code="truncated_gguf")
    return struct.unpack(fmt, data)[0]


def _read_string(stream: BinaryIO) -> str:
    length = _unpack(stream, "<Q")
    return stream.read(length).decode("utf-8", errors="replace")


def _read_value(stream: BinaryIO, value_type: int, *, keep: bool) -> Any:
    if value_type in _SCALARS:
        return _unpack(stream, _SCALARS[value_type])
    if value_type == _STRING:
        return _read_string(stream)
    if value_type == _ARRAY:
        item_type = _unpack(stream, "<I")
        count = _unpack(stream, "<Q")
        if item_type in _SCALARS and not keep:  # skip a fixed-size array without decoding it
            stream.seek(count * struct.calcsize(_SCALARS[item_type]), 1)
            return None
        return [_read_value(stream, item_type, keep=keep) for _ in range(count)]
    raise InvalidInputError(f"Unknown GGUF metadata type {value_type}.", code="unsupported_gguf")
