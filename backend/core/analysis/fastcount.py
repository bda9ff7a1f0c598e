"""Exact token counts for many texts at once, by caching the counts of words rather than texts.

Why this is exact: tiktoken's cl100k_base and o200k_base split text into pieces with a regex
before BPE, and no piece ever spans "X " where X is a printable ASCII character (0x21-0x7E):
letter, digit and punctuation pieces stop at whitespace, whitespace pieces contain nothing
else, and the patterns have no look-behind. So a text cut just before every such space falls
into segments that encode independently, and its count is the sum of its segments' counts.
Words repeat (Zipf), so almost every segment's count is already known: it is looked up with
numpy, and only unseen segments reach the tokenizer.

How a segment is looked up, without ever taking one segment for another:
- a segment of at most 7 bytes (most words) is its own key: its bytes and its length packed
  into 64 bits, so equal keys are equal segments;
- a longer one is keyed by a 56-bit hash of its 8-byte words, and every use of that key is checked
  byte for byte (8 bytes per numpy step) against the segment it stands for, both within a
  batch and against the cache, which keeps those segments' bytes. A pair that collides (a
  Thue-Morse string and its complement collided in the polynomial hash modulo 2^64 this cache
  used before) is simply counted by the tokenizer, as an unseen segment would be.

Why it exists: one tokenizer call per message costs most of the analysis's time budget. On
the benchmark's chat text this is several times faster than one call per text. The guard is
the tokenizer's own pattern string: any other tokenizer goes through TokenCounter.count_batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from backend.core.tokens import TokenCounter

# The pre-tokenizer patterns for which the reasoning above was checked.
_SAFE_PATTERNS = frozenset(
    {
        r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"
        r"|\s++$|\s*[\r\n]|\s+(?!\S)|\s",
        r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"
        r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
        r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"
        r"(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
        r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    }
)
_MAX_CACHE = 3_000_000  # segment counts kept per process; emptied when full
_MAX_ARENA_BYTES = 64 << 20  # bytes of long cached segments kept for the checks; emptied when full
SHORT_BYTES = 7  # segments up to this long are their own key
_LONG_TAG = np.uint64(0xFF << 56)  # top byte of a long segment's key (short keys carry their length, 1-7)
_LOW_56 = np.uint64((1 << 56) - 1)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_BYTE_MASKS = np.array([(1 << (8 * n)) - 1 for n in range(8)] + [(1 << 64) - 1], dtype=np.uint64)
_GROUP_CHARS = 2_000_000  # texts hashed per numpy pass (bounds the arrays to ~16 MB each)
_LONG_TEXT_CHARS = 1_000_000  # longer texts go straight to the tokenizer

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


class SegmentCounter:
    """Counts like `counter`, exactly, for the tiktoken encodings whose pattern allows segmenting."""

    def __init__(self, counter: TokenCounter, encode: Callable[[str], list[int]]) -> None:
        self.counter = counter
        self._encode = encode
        self._clear()

    def _clear(self) -> None:
        self._keys = np.zeros(0, dtype=np.uint64)  # sorted segment keys
        self._counts = np.zeros(0, dtype=np.int64)
        self._offsets = np.zeros(0, dtype=np.int64)  # where a long segment's bytes start in the arena
        self._arena = np.zeros(8, dtype=np.uint8)  # bytes of the long cached segments, 8 spare at the end
        self._arena_size = 0

    def count_batch(self, texts: Sequence[str]) -> list[int]:
        counts: list[int] = [0] * len(texts)
        group: list[int] = []
        group_bytes = 0
        for position, text in enumerate(texts):
            size = len(text)  # characters: a lower bound on bytes, enough to size the groups
            if size > _LONG_TEXT_CHARS:
                counts[position] = len(self._encode(text))  # rare; would need huge hash arrays
                continue
            group.append(position)
            group_bytes += size
            if group_bytes >= _GROUP_CHARS:
                self._count_group(texts, group, counts)
                group, group_bytes = [], 0
        if group:
            self._count_group(texts, group, counts)
        return counts

    def _count_group(self, texts: Sequence[str], group: list[int], counts: list[int]) -> None:
        encoded = [texts[p].encode("utf-8", "surrogatepass") for p in group]
        lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
        nonempty = lengths > 0
        if not nonempty.any():
            return
        raw = b"".join(encoded)
        data = np.frombuffer(raw, dtype=np.uint8)
        words = _word_view(raw + bytes(8))  # 8 bytes from every offset, little-endian
        text_starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        is_start = np.zeros(data.size, dtype=bool)
        is_start[1:] = (data[1:] == 0x20) & (data[:-1] >= 0x21) & (data[:-1] <= 0x7E)
        is_start[text_starts[nonempty]] = True
        seg_starts = np.flatnonzero(is_start)
        seg_ends = np.append(seg_starts[1:], data.size)
        seg_lengths = (seg_ends - seg_starts).astype(np.int64)
        keys = self._segment_keys(words, seg_starts, seg_lengths)
        unique, first, inverse = _distinct(keys)
        # A long segment shares its key with the group's first segment of that key: check the bytes.
        representative = first[inverse]
        check = np.flatnonzero((seg_lengths > SHORT_BYTES) & (representative != np.arange(keys.size)))
        same = _same_bytes(words, seg_starts[check], words, seg_starts[representative[check]], seg_lengths[check])
        same &= seg_lengths[check] == seg_lengths[representative[check]]
        unique_counts = self._lookup(unique, raw, words, seg_starts[first], seg_lengths[first])
        seg_counts = unique_counts[inverse]
        for position in check[~same].tolist():  # collisions: counted on their own, never cached
            start, end = int(seg_starts[position]), int(seg_ends[position])
            seg_counts[position] = len(self._encode(raw[start:end].decode("utf-8", "surrogatepass")))
        first_segment = np.searchsorted(seg_starts, text_starts[nonempty])
        sums = np.add.reduceat(seg_counts, first_segment).tolist()
        for position, total in zip(np.asarray(group)[nonempty].tolist(), sums, strict=True):
            counts[position] = total

    def _segment_keys(self, words: U64, starts: npt.NDArray[np.intp], lengths: I64) -> U64:
        """Short segments: bytes and length packed. Long ones: a 56-bit hash of their 8-byte words.

        The long hash is the sum of each word mixed with its position, mixed again with the length:
        one pass over the long segments' words, none over single bytes. It need not resist crafted
        collisions: every long key is checked byte for byte before its count is trusted.
        """
        keys = np.empty(starts.size, dtype=np.uint64)
        short = lengths <= SHORT_BYTES
        keys[short] = (words[starts[short]] & _BYTE_MASKS[lengths[short]]) | (
            lengths[short].astype(np.uint64) << np.uint64(56))
        long = np.flatnonzero(~short)
        if long.size:
            per_segment = (lengths[long] + 7) // 8
            segment = np.repeat(np.arange(long.size), per_segment)
            first_word = np.concatenate(([0], np.cumsum(per_segment)[:-1]))
            k = np.arange(segment.size) - first_word[segment]
            word = words[starts[long][segment] + 8 * k] & _BYTE_MASKS[np.minimum(lengths[long][segment] - 8 * k, 8)]
            mixed = _mix64(word ^ (k.astype(np.uint64) * _MIX_1))
            h = np.add.reduceat(mixed, first_word) if mixed.size else mixed
            h = _mix64(h ^ (lengths[long].astype(np.uint64) * _MIX_2))
            keys[long] = (h & _LOW_56) | _LONG_TAG
        return keys

    def _lookup(self, unique: U64, raw: bytes, words: U64, starts: npt.NDArray[np.intp], lengths: I64) -> I64:
        """Counts for sorted unique segment keys; unseen segments are encoded and remembered.

        A long segment found in the cache counts only when its bytes equal the cached segment's;
        otherwise (a hash collision) it is encoded and not remembered.
        """
        positions = np.searchsorted(self._keys, unique)
        known = positions < self._keys.size
        known[known] = self._keys[positions[known]] == unique[known]
        long_known = np.flatnonzero(known & (lengths > SHORT_BYTES))
        if long_known.size:
            cached_at = self._offsets[positions[long_known]]
            arena_words = _word_view(self._arena)
            equal = _same_bytes(words, starts[long_known], arena_words, cached_at, lengths[long_known])
            known[long_known[~equal]] = False
            collided = long_known[~equal]
        else:
            collided = long_known
        counts = np.zeros(unique.size, dtype=np.int64)
        counts[known] = self._counts[positions[known]]
        missing = np.flatnonzero(~known)
        if missing.size:
            texts = [
                raw[s : s + n].decode("utf-8", "surrogatepass")
                for s, n in zip(starts[missing].tolist(), lengths[missing].tolist(), strict=True)
            ]
            new_counts = np.fromiter((len(self._encode(t)) for t in texts), dtype=np.int64, count=len(texts))
            counts[missing] = new_counts
            fresh = np.setdiff1d(missing, collided, assume_unique=True)
            self._remember(unique[fresh], counts[fresh], raw, starts[fresh], lengths[fresh])
        return counts

    def _remember(self, keys: U64, counts: I64, raw: bytes, starts: npt.NDArray[np.intp], lengths: I64) -> None:
        long = lengths > SHORT_BYTES
        new_bytes = int(lengths[long].sum())
        if self._keys.size + keys.size > _MAX_CACHE or self._arena_size + new_bytes > _MAX_ARENA_BYTES:
            self._clear()  # start again, empty: the segments that repeat come back at once
            if keys.size > _MAX_CACHE or new_bytes > _MAX_ARENA_BYTES:
                return
        offsets = np.full(keys.size, -1, dtype=np.int64)
        if new_bytes:
            long_starts, long_lengths = starts[long], lengths[long]
            offsets[long] = self._arena_size + np.concatenate(([0], np.cumsum(long_lengths)[:-1]))
            pieces = b"".join(raw[s : s + n] for s, n in zip(long_starts.tolist(), long_lengths.tolist(), strict=True))
            self._append_arena(np.frombuffer(pieces, dtype=np.uint8))
        merged_keys = np.concatenate([self._keys, keys])
        order = np.argsort(merged_keys, kind="stable")
        self._keys = merged_keys[order]
        self._counts = np.concatenate([self._counts, counts])[order]
        self._offsets = np.concatenate([self._offsets, offsets])[order]

    def _append_arena(self, piece: npt.NDArray[np.uint8]) -> None:
        needed = self._arena_size + piece.size + 8
        if needed > self._arena.size:
            grown = np.zeros(max(needed, 2 * self._arena.size), dtype=np.uint8)
            grown[: self._arena_size] = self._arena[: self._arena_size]
            self._arena = grown
        self._arena[self._arena_size : self._arena_size + piece.size] = piece
        self._arena_size += piece.size


def _distinct(keys: U64) -> tuple[U64, npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """np.unique(keys, return_index=True, return_inverse=True), except that the index is of any one
    occurrence rather than the first: that frees the sort to be numpy's fast unstable one (4x)."""
    order = np.argsort(keys)
    ordered = keys[order]
    new_run = np.empty(keys.size, dtype=bool)
    new_run[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new_run[1:])
    inverse = np.empty(keys.size, dtype=np.intp)
    inverse[order] = np.cumsum(new_run) - 1
    return ordered[new_run], order[new_run], inverse


def _word_view(padded: bytes | npt.NDArray[np.uint8]) -> U64:
    """The 8 bytes starting at every offset of `padded` (which ends with 8 spare bytes), as uint64."""
    view: U64 = np.ndarray(shape=(len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    return view


def _same_bytes(
    a_words: U64, a_starts: npt.NDArray[np.intp], b_words: U64, b_starts: npt.NDArray[np.intp], lengths: I64
) -> npt.NDArray[np.bool_]:
    """Whether a[a_start:a_start+n] == b[b_start:b_start+n] for each triple, compared 8 bytes at a time."""
    count = lengths.size
    if count == 0:
        return np.ones(0, dtype=bool)
    per_segment = (lengths + 7) // 8
    segment = np.repeat(np.arange(count), per_segment)
    first_word = np.concatenate(([0], np.cumsum(per_segment)[:-1]))
    offset = 8 * (np.arange(segment.size) - first_word[segment])
    differ = a_words[a_starts[segment] + offset] ^ b_words[b_starts[segment] + offset]
    differ &= _BYTE_MASKS[np.minimum(lengths[segment] - offset, 8)]
    mismatches = np.bincount(segment, weights=differ != 0, minlength=count)
    same: npt.NDArray[np.bool_] = mismatches == 0
    return same


def _mix64(x: U64) -> U64:
    """splitmix64's finaliser (on a fresh array): every input bit reaches every output bit."""
    x = x ^ (x >> np.uint64(31))
    x *= _MIX_1
    x ^= x >> np.uint64(29)
    x *= _MIX_2
    x ^= x >> np.uint64(32)
    return x


def make_fast_counter(counter: TokenCounter) -> SegmentCounter | None:
    """A SegmentCounter when `counter` is an exact tiktoken encoding with a checked pattern, else None."""
    if not counter.info.exact or counter.info.name not in ("cl100k_base", "o200k_base"):
        return None
    from backend.core.tokens.openai_encodings import load_openai_encoding

    encoding = load_openai_encoding(counter.info.name)
    if getattr(encoding, "_pat_str", None) not in _SAFE_PATTERNS:
        return None
    return SegmentCounter(counter, encoding.encode_ordinary)
