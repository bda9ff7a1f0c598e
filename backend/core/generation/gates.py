"""Quality gates every generated row passes before it is written, and the reasons rows are dropped.

In order (backend/services/generation/loop.py): the mode's structure check (the shape asked for, labels
from the allowed set), no empty field, length bounds, then (once the target is reached) beyond_target,
duplicates against the seeds, the user's dataset, the negative examples and every row accepted so far,
novelty against the seeds, the mode's own check (label quota; grounding for questions), then the optional
judge. A dropped row is counted under exactly one reason.

What is compared (GENERATION_DEDUP_RULE): the prompt side of a row (the input, the text to classify,
the question, or the user turns of a chat), because two rows asking the same thing are redundant for
training whatever they answer. Exact duplicates use the project's prompt fingerprint
(backend.core.dedup) of the text casefolded with its whitespace collapsed; near-duplicates use the
project's MinHash band keys (14 bands x 8 rows over word 5-grams), each candidate verified by its true
Jaccard similarity against NEAR_DUP_THRESHOLD (about 0.72). Novelty: a row copies a seed when 80% of
its word 3-grams come from that one seed, or 80% of the seed's come into it (a seed with a clause
added), even when the two are not similar enough overall to be near-duplicates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from enum import StrEnum

from backend.core.conversation import Conversation, Message, SourceFormat
from backend.core.dedup import NEAR_DUP_THRESHOLD, minhash_band_keys, prompt_fingerprint, shingle_set

GENERATION_DEDUP_RULE = (
    "the prompt side of each row (input, text, question, or the user turns of a chat), casefolded with "
    "whitespace collapsed for exact duplicates; MinHash over word 5-grams, verified by Jaccard >= "
    f"{NEAR_DUP_THRESHOLD:.2f}, for near-duplicates"
)
NOVELTY_NGRAM = 3
NOVELTY_CONTAINMENT = 0.8


class DropReason(StrEnum):
    MALFORMED_ITEM = "malformed_item"  # not the shape asked for (no text where one was due, wrong roles…)
    EMPTY_FIELD = "empty_field"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    UNKNOWN_LABEL = "unknown_label"
    LABEL_QUOTA_FULL = "label_quota_full"
    COPIES_SEED = "copies_seed"
    EXACT_DUPLICATE = "exact_duplicate"
    NEAR_DUPLICATE = "near_duplicate"
    MATCHES_INVALID_EXAMPLE = "matches_invalid_example"
    NOT_GROUNDED = "not_grounded"
    JUDGE_BELOW_THRESHOLD = "judge_below_threshold"
    JUDGE_UNPARSED = "judge_unparsed"
    BEYOND_TARGET = "beyond_target"  # a batch gave more good rows than were still needed


def normalise(text: str) -> str:
    return " ".join(text.casefold().split())


def _fingerprint(text: str) -> int:
    conv = Conversation(index=0, line=None, format=SourceFormat.OPENAI, messages=(Message("user", normalise(text)),))
    fingerprint = prompt_fingerprint(conv)
    assert fingerprint is not None  # a user message is always there
    return fingerprint


class DuplicateIndex:
    """Exact fingerprints and LSH buckets of every text added so far, each with where it came from."""

    def __init__(self) -> None:
        self._exact: dict[int, str] = {}
        self._buckets: list[dict[int, list[int]]] = []
        self._texts: list[str] = []
        self._origins: list[str] = []

    def __len__(self) -> int:
        return len(self._texts)

    @staticmethod
    def band_keys(texts: Sequence[str]) -> list[list[int]]:
        """MinHash band keys of many texts in one pass (one numpy call per batch, not per row)."""
        if not texts:
            return []
        keys: list[list[int]] = minhash_band_keys([normalise(t) for t in texts]).tolist()
        return keys

    def add_many(self, texts: Sequence[str], origin: str) -> None:
        texts = [t for t in texts if t.strip()]
        for text, keys in zip(texts, self.band_keys(texts), strict=True):
            self.add(text, keys, origin)

    def add(self, text: str, keys: list[int], origin: str) -> None:
        if not self._buckets:
            self._buckets = [{} for _ in keys]
        self._exact.setdefault(_fingerprint(text), origin)
        entry = len(self._texts)
        self._texts.append(text)
        self._origins.append(origin)
        for band, key in enumerate(keys):
            self._buckets[band].setdefault(key, []).append(entry)

    def find(self, text: str, keys: list[int] | None = None) -> tuple[DropReason, str] | None:
        """(EXACT_DUPLICATE or NEAR_DUPLICATE, the origin of the text it repeats), or None."""
        origin = self._exact.get(_fingerprint(text))
        if origin is not None:
            return DropReason.EXACT_DUPLICATE, origin
        if not self._buckets:
            return None
        row = keys if keys is not None else self.band_keys([text])[0]
        candidates = {entry for band, key in enumerate(row) for entry in self._buckets[band].get(key, ())}
        if not candidates:
            return None
        mine = shingle_set(normalise(text))
        for entry in sorted(candidates):
            theirs = shingle_set(normalise(self._texts[entry]))
            if len(mine & theirs) >= NEAR_DUP_THRESHOLD * len(mine | theirs):
                return DropReason.NEAR_DUPLICATE, self._origins[entry]
        return None


class NoveltyCheck:
    """Does a text copy one seed (by word 3-gram containment, either way)? An inverted index of seeds."""

    def __init__(self, seeds: Iterable[str]) -> None:
        self._seed_sizes: list[int] = []
        self._postings: dict[tuple[bytes, ...], list[int]] = {}
        for seed in seeds:
            shingles = shingle_set(normalise(seed), NOVELTY_NGRAM)
            number = len(self._seed_sizes)
            self._seed_sizes.append(len(shingles))
            for shingle in shingles:
                self._postings.setdefault(shingle, []).append(number)

    def copies_seed(self, text: str) -> bool:
        mine = shingle_set(normalise(text), NOVELTY_NGRAM)
        shared: Counter[int] = Counter(seed for s in mine for seed in self._postings.get(s, ()))
        return any(
            count >= NOVELTY_CONTAINMENT * len(mine) or count >= NOVELTY_CONTAINMENT * self._seed_sizes[seed]
            for seed, count in shared.items()
        )


class GateKeeper:
    """Length bounds, novelty and duplicates for the rows of one task, with counts of every drop."""

    def __init__(self, *, min_chars: int, max_chars: int, seeds: Sequence[str] = (),
                 dataset_texts: Sequence[str] = (), negative_texts: Sequence[str] = ()) -> None:
        self.min_chars = min_chars
        self.max_chars = max_chars
        self.dropped: Counter[str] = Counter()
        self.duplicate_of: Counter[str] = Counter()
        self._novelty = NoveltyCheck(seeds)
        self._index = DuplicateIndex()
        self._index.add_many(list(seeds), "seed")
        self._index.add_many(list(dataset_texts), "dataset")
        self._index.add_many(list(negative_texts), "invalid_example")

    def check_fields(self, texts: Iterable[str]) -> DropReason | None:
        for text in texts:
            stripped = text.strip()
            if not stripped:
                return DropReason.EMPTY_FIELD
            if len(stripped) < self.min_chars:
                return DropReason.TOO_SHORT
            if len(stripped) > self.max_chars:
                return DropReason.TOO_LONG
        return None

    def band_keys(self, prompt_texts: Sequence[str]) -> list[list[int]]:
        """Precompute check_new's MinHash keys for a whole batch at once."""
        return self._index.band_keys(prompt_texts)

    def check_new(self, prompt_text: str, keys: list[int] | None = None) -> DropReason | None:
        """Duplicates and novelty; a text that passes is remembered, so its own repeats are caught."""
        keys = keys if keys is not None else self._index.band_keys([prompt_text])[0]
        found = self._index.find(prompt_text, keys)
        if found is not None:
            reason, origin = found
            if origin == "invalid_example":
                return DropReason.MATCHES_INVALID_EXAMPLE
            self.duplicate_of[origin] += 1
            return reason
        if self._novelty.copies_seed(prompt_text):
            return DropReason.COPIES_SEED
        self._index.add(prompt_text, keys, "generated")
        return None

    def remember(self, prompt_texts: Sequence[str]) -> None:
        """Rows accepted earlier (a resumed task): later rows must not repeat them."""
        self._index.add_many(prompt_texts, "generated")

    def drop(self, reason: DropReason, count: int = 1) -> None:
        self.dropped[reason.value] += count
