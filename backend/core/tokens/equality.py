"""Whether two Hugging Face tokenizers count alike: the check before a downloaded one borrows the name
"exact" from a packaged one (or a packaged one speaks for a repo whose tokenizer was downloaded).

Equal means: the same model (type, vocabulary and merges), the same normaliser and pre-tokenizer,
the same added tokens (content and whether each is special), and the same counts on the bridge's
probe strings. Anything else, however close, is "different", and the repo's own file counts.
"""

from __future__ import annotations

import json
from typing import Any

from tokenizers import Tokenizer

from backend.core.tokens.hf_bridge import PROBE_TEXTS


def tokenizers_equal(a: Tokenizer, b: Tokenizer) -> bool:
    if _counting_parts(a) != _counting_parts(b):
        return False
    a.encode_special_tokens = b.encode_special_tokens = True
    return all(
        len(a.encode(text, add_special_tokens=False).ids) == len(b.encode(text, add_special_tokens=False).ids)
        for text in PROBE_TEXTS
    )


def _counting_parts(tokenizer: Tokenizer) -> tuple[Any, ...]:
    spec = json.loads(tokenizer.to_str())
    model = spec.get("model") or {}
    merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model.get("merges") or []]
    added = sorted((t.get("content"), bool(t.get("special"))) for t in spec.get("added_tokens") or [])
    return (
        model.get("type"),
        model.get("vocab"),
        merges,
        json.dumps(spec.get("normalizer"), sort_keys=True),
        json.dumps(spec.get("pre_tokenizer"), sort_keys=True),
        added,
    )
