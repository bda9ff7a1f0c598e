"""Token counters: one object per tokenizer, counting texts exactly (or, labelled, estimating).

Every count is of one text on its own: many short texts are never joined into one string, since
BPE would merge across the joins. Speed comes from a per-process cache of texts already counted
(system prompts and templated turns repeat across a dataset) and from counting only the texts
not seen before in a batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice

# Bounds on the per-counter cache of text -> count. When either is reached the cache is emptied
# and refilled: cheaper than LRU bookkeeping, and the texts that repeat come back at once.
_CACHE_MAX_ENTRIES = 200_000
_CACHE_MAX_CHARS = 32_000_000
# Texts longer than this are counted but not cached: they rarely repeat and would crowd out others.
_CACHE_MAX_TEXT_CHARS = 20_000

CountTexts = Callable[[Sequence[str]], list[int]]


@dataclass(frozen=True)
class TokenizerInfo:
    name: str  # as requested, e.g. "cl100k_base" or "qwen3"
    counted_with: str  # what actually counts, e.g. "tiktoken cl100k_base"
    exact: bool
    note: str | None = None  # why this is an estimate, when exact is False


class TokenCounter:
    """Counts tokens of texts with one tokenizer; special-token strings count as plain text."""

    def __init__(self, info: TokenizerInfo, count_texts: CountTexts) -> None:
        self.info = info
        self._count_texts = count_texts
        self._cache: dict[str, int] = {}
        self._cached_chars = 0

    def count(self, text: str) -> int:
        return self.count_batch([text])[0]

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        """The token count of each text, in order."""
        # Written as whole-list operations: per-text Python bookkeeping would cost a tenth of
        # the tokenizer's own time.
        known: list[int | None] = list(map(self._cache.get, texts))
        if None not in known:
            return known  # type: ignore[return-value]  # no None left
        unseen = list(dict.fromkeys(t for t, n in zip(texts, known, strict=True) if n is None))
        fresh = dict(zip(unseen, self._count_texts(unseen), strict=True))
        self._remember(fresh)
        return [fresh[t] if n is None else n for t, n in zip(texts, known, strict=True)]

    def with_info(self, info: TokenizerInfo) -> TokenCounter:
        """The same tokenizer under another name, e.g. a repo id that uses it."""
        return TokenCounter(info, self._count_texts)

    def _remember(self, fresh: dict[str, int]) -> None:
        keep = {t: n for t, n in fresh.items() if len(t) <= _CACHE_MAX_TEXT_CHARS}
        if len(keep) > _CACHE_MAX_ENTRIES:
            keep = dict(islice(keep.items(), _CACHE_MAX_ENTRIES))
        chars = sum(map(len, keep))
        if len(self._cache) + len(keep) > _CACHE_MAX_ENTRIES or self._cached_chars + chars > _CACHE_MAX_CHARS:
            self._cache.clear()
            self._cached_chars = 0
        self._cache.update(keep)
        self._cached_chars += chars

    def __repr__(self) -> str:
        return f"TokenCounter({self.info.name!r}, counted_with={self.info.counted_with!r})"


def scaled(count_texts: CountTexts, factor: float) -> CountTexts:
    """A counting function that multiplies another's counts by `factor` (rounded up), for estimates."""
    if factor == 1.0:
        return count_texts

    def count_scaled(texts: Sequence[str]) -> list[int]:
        return [math.ceil(n * factor) for n in count_texts(texts)]

    return count_scaled
