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
        cache = self._cache
        counts: list[int] = [0] * len(texts)
        missing: dict[str, list[int]] = {}  # each distinct unseen text -> its positions
        for position, text in enumerate(texts):
            known = cache.get(text)
            if known is not None:
                counts[position] = known
            else:
                missing.setdefault(text, []).append(position)
        if not missing:
            return counts
        unseen = list(missing)
        for text, count in zip(unseen, self._count_texts(unseen), strict=True):
            for position in missing[text]:
                counts[position] = count
            self._remember(text, count)
        return counts

    def with_info(self, info: TokenizerInfo) -> TokenCounter:
        """The same tokenizer under another name, e.g. a repo id that uses it."""
        return TokenCounter(info, self._count_texts)

    def _remember(self, text: str, count: int) -> None:
        if len(text) > _CACHE_MAX_TEXT_CHARS:
            return
        if len(self._cache) >= _CACHE_MAX_ENTRIES or self._cached_chars >= _CACHE_MAX_CHARS:
            self._cache.clear()
            self._cached_chars = 0
        self._cache[text] = count
        self._cached_chars += len(text)

    def __repr__(self) -> str:
        return f"TokenCounter({self.info.name!r}, counted_with={self.info.counted_with!r})"


def scaled(count_texts: CountTexts, factor: float) -> CountTexts:
    """A counting function that multiplies another's counts by `factor` (rounded up), for estimates."""
    if factor == 1.0:
        return count_texts

    def count_scaled(texts: Sequence[str]) -> list[int]:
        return [math.ceil(n * factor) for n in count_texts(texts)]

    return count_scaled
