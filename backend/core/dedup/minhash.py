"""MinHash LSH band keys for a batch of texts, computed with numpy (no Python loop per word).

What is hashed: each text lowercased and split on ASCII whitespace into words, with every CJK or
Hangul character a word of its own (those scripts put no spaces between words); the shingles are
the runs of `ngram` consecutive words (a text with fewer words is one shingle of all its words; an
empty text is one fixed shingle). Two texts' signatures agree in a position with probability
equal to the Jaccard similarity of their shingle sets.

How: `rows` rounds of one-permutation hashing (Li, Owen & Zhang 2012), each into `bands` bins,
with rotation densification (Shrivastava & Li 2014). Every shingle is hashed once to 64 bits; per
round, a multiply by that round's odd constant gives a fresh hash whose low half picks the bin
and whose high half is the value; a bin keeps the smallest value, and an empty bin borrows the value
of the next filled bin to its right, tagged with the distance. Band b's key combines bin b of
every round, so the rows of a band come from independent rounds: a band matches with
probability J**rows even for texts with fewer shingles than bands x rows (a single round of
bands x rows bins would borrow most rows of a short text from the same few shingles, and match
far too often). Cost: O(shingles x rows), not O(shingles x bands x rows).
Words are hashed with a polynomial rolling hash over the whole batch's bytes (prefix sums), then
mixed with splitmix64's finaliser; constants come from a fixed splitmix64 stream, so keys are the
same in every process and on every run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt

from backend.core.errors import InvalidInputError

U64 = npt.NDArray[np.uint64]

WORD_SEPARATORS = b" \t\n\v\f\r"  # ASCII whitespace: what bytes.split() splits on
# UTF-8 lead bytes of U+3000-U+DFFF (CJK punctuation, kana, CJK ideographs, Yi, Hangul): scripts
# written without spaces, so each character is a word, and shingles are character 5-grams.
_CJK_LEAD = (0xE3, 0xED)
_WORD = re.compile(rb"[\xe3-\xed][\x80-\xbf]{2}|[^ \t\n\v\f\r\xe3-\xed]+")
MINHASH_TEXT_RULE = (
    "lowercased, split on ASCII whitespace into words (each CJK or Hangul character a word of its own), "
    "shingled into runs of {ngram} consecutive words"
)
# Text per numpy pass: small enough that its working arrays stay in the CPU caches (measured:
# 128-256 KiB blocks run twice as fast as 4 MiB ones).
_BLOCK_BYTES = 1 << 18
_MASK32 = np.uint64(0xFFFFFFFF)
_EMPTY_BIN = np.uint64(1 << 32)  # larger than any 32-bit bin value
_IS_SEPARATOR = np.zeros(256, dtype=bool)
_IS_SEPARATOR[list(WORD_SEPARATORS)] = True
_BASE = 0x100000001B3  # odd, so invertible modulo 2**64
_BASE_INVERSE = pow(_BASE, -1, 1 << 64)


def _splitmix64_stream(seed: int) -> Iterator[int]:
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        yield (z ^ (z >> 31)) | 1  # odd: multiplying by it loses no information


_stream = _splitmix64_stream(0x534C4D47656E)
_SHINGLE_KEYS = np.array([next(_stream) for _ in range(64)], dtype=np.uint64)
_BAND_SEEDS = np.array([next(_stream) for _ in range(1024)], dtype=np.uint64)
_ROW_MULTIPLIERS = np.array([next(_stream) for _ in range(64)], dtype=np.uint64)
_EMPTY_TEXT_SHINGLE = np.uint64(next(_stream))


def minhash_band_keys(texts: Sequence[str], *, bands: int = 14, rows: int = 8, ngram: int = 5) -> U64:
    """One uint64 key per band of each text's MinHash signature: shape (len(texts), bands).

    Texts whose keys agree in at least one band are near-duplicate candidates; for Jaccard
    similarity J that happens with probability 1 - (1 - J**rows)**bands.
    """
    if not (0 < bands <= len(_BAND_SEEDS) and 0 < rows <= 64 and 0 < ngram <= len(_SHINGLE_KEYS)):
        raise InvalidInputError(
            f"MinHash needs 1-{len(_BAND_SEEDS)} bands, 1-64 rows and 1-{len(_SHINGLE_KEYS)}-word "
            f"shingles; got bands={bands}, rows={rows}, ngram={ngram}.",
            code="invalid_minhash_parameters",
        )
    keys = np.empty((len(texts), bands), dtype=np.uint64)
    for start, stop, encoded in _blocks(texts):
        keys[start:stop] = _band_keys(_signatures(encoded, rows, bands, ngram))
    return keys


def shingle_set(text: str, ngram: int = 5) -> set[tuple[bytes, ...]]:
    """The shingles minhash_band_keys hashes for `text`, as a set (for exact Jaccard checks)."""
    words = _WORD.findall(text.lower().encode("utf-8", "surrogatepass"))
    if len(words) < ngram:
        return {tuple(words)}
    return {tuple(words[i : i + ngram]) for i in range(len(words) - ngram + 1)}


def _blocks(texts: Sequence[str]) -> Iterator[tuple[int, int, list[bytes]]]:
    start, size, encoded = 0, 0, []
    for position, text in enumerate(texts):
        data = text.lower().encode("utf-8", "surrogatepass")
        encoded.append(data)
        size += len(data) + 1
        if size >= _BLOCK_BYTES:
            yield start, position + 1, encoded
            start, size, encoded = position + 1, 0, []
    if encoded:
        yield start, len(texts), encoded


def _mix(x: U64) -> U64:
    """splitmix64's finaliser, on a fresh array: spreads every input bit over all 64 output bits."""
    x = x ^ (x >> np.uint64(30))
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _word_bounds(data: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Start and end offsets of the words: runs of non-separator bytes, where each CJK or Hangul
    character (a 3-byte UTF-8 sequence led by 0xE3-0xED) is a word of its own."""
    in_word = ~_IS_SEPARATOR[data]
    lead = (data >= _CJK_LEAD[0]) & (data <= _CJK_LEAD[1])
    cut = lead.copy()  # a cut before every such character and after its 3 bytes
    cut[3:] |= lead[:-3]
    before = np.concatenate(([False], in_word[:-1]))
    after = np.concatenate((in_word[1:], [False]))
    cut_after = np.concatenate((cut[1:], [False]))
    starts = np.flatnonzero(in_word & (~before | cut))
    ends = np.flatnonzero(in_word & (~after | cut_after)) + 1
    return starts, ends


def _word_hashes(
    data: npt.NDArray[np.uint8], starts: npt.NDArray[np.intp], ends: npt.NDArray[np.intp]
) -> U64:
    """Hash of each word data[start:end]: sum of (byte+1) * BASE**offset, mixed. Same bytes, same hash."""
    n = data.size
    powers, inverse_powers = _powers(n)
    prefix = np.zeros(n + 1, dtype=np.uint64)
    np.cumsum((data.astype(np.uint64) + np.uint64(1)) * powers[:n], out=prefix[1:])
    # prefix[end] - prefix[start] weighs the word's bytes by BASE**(start + k); BASE**-start removes start.
    return _mix((prefix[ends] - prefix[starts]) * inverse_powers[starts])


_power_tables: tuple[U64, U64] = (np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64))


def _powers(n: int) -> tuple[U64, U64]:
    """BASE**i and BASE**-i modulo 2**64 for i in 0..n, kept per process for block-sized n.

    A block longer than a few ordinary ones (one huge text) gets tables of its own that are not
    kept, so a single outlier does not pin hundreds of MB for the life of the worker.
    """
    global _power_tables
    if _power_tables[0].size > n:
        return _power_tables
    size = max(n + 1, 2 * _BLOCK_BYTES)
    tables = []
    for base in (_BASE, _BASE_INVERSE):
        table = np.full(size, base, dtype=np.uint64)
        table[0] = 1
        tables.append(np.cumprod(table, out=table))  # unsigned products wrap modulo 2**64
    if size <= 8 * _BLOCK_BYTES:
        _power_tables = (tables[0], tables[1])
    return tables[0], tables[1]


def _shingles(
    words: U64, word_text: npt.NDArray[np.intp], counts: npt.NDArray[np.intp], ngram: int
) -> tuple[U64, npt.NDArray[np.intp]]:
    """Shingle hashes and the text each belongs to."""
    parts: list[U64] = []
    owners: list[npt.NDArray[np.intp]] = []
    if words.size >= ngram:
        m = words.size - ngram + 1
        combined = words[:m] * _SHINGLE_KEYS[0]
        for j in range(1, ngram):
            combined += words[j : j + m] * _SHINGLE_KEYS[j]
        whole = word_text[:m] == word_text[ngram - 1 :]  # the run stays inside one text
        parts.append(combined[whole])
        owners.append(word_text[:m][whole])
    short = np.flatnonzero((counts > 0) & (counts < ngram))
    if short.size:
        first_word = np.concatenate(([0], np.cumsum(counts)[:-1]))
        offset = np.minimum(np.arange(words.size) - first_word[word_text], ngram - 1)
        running = np.zeros(words.size + 1, dtype=np.uint64)
        np.cumsum(words * _SHINGLE_KEYS[offset], out=running[1:])
        parts.append(running[first_word[short] + counts[short]] - running[first_word[short]])
        owners.append(short)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        parts.append(np.full(empty.size, _EMPTY_TEXT_SHINGLE, dtype=np.uint64))
        owners.append(empty)
    return _mix(np.concatenate(parts)), np.concatenate(owners)


def _signatures(encoded: list[bytes], rows: int, bands: int, ngram: int) -> U64:
    """MinHash signatures, shape (rows, len(encoded), bands): per row, one-permutation hashing of
    the shingles into `bands` bins, densified."""
    n_texts = len(encoded)
    data = np.frombuffer(b"\n".join(encoded), dtype=np.uint8)  # "\n" separates: no word spans two texts
    text_starts = np.zeros(n_texts, dtype=np.intp)
    np.cumsum([len(e) + 1 for e in encoded[:-1]], out=text_starts[1:])
    starts, ends = _word_bounds(data)
    words = _word_hashes(data, starts, ends)
    counts = np.diff(np.searchsorted(starts, text_starts), append=starts.size)
    word_text = np.repeat(np.arange(n_texts), counts)
    shingles, owners = _shingles(words, word_text, counts, ngram)

    # A fresh odd multiplier per row makes the rows independent hash functions of the (already
    # mixed) shingle hash: the low half of the product picks the bin, the high half is the value.
    hashed = shingles[None, :] * _ROW_MULTIPLIERS[:rows, None]
    bins = (((hashed & _MASK32) * np.uint64(bands)) >> np.uint64(32)).view(np.intp)  # < 2**63: same bits
    bins += (np.arange(rows, dtype=np.intp)[:, None] * n_texts + owners[None, :]) * bands
    hashed >>= np.uint64(32)
    slots = np.full(rows * n_texts * bands, _EMPTY_BIN, dtype=np.uint64)
    np.minimum.at(slots, bins.ravel(), hashed.ravel())  # intp indices: numpy's fast path
    return _densify(slots.reshape(rows * n_texts, bands)).reshape(rows, n_texts, bands)


def _densify(slots: U64) -> U64:
    """Fill each empty bin from the next filled bin to its right (circularly), tagged with the distance."""
    n_texts, num_bins = slots.shape
    columns = np.arange(num_bins)
    filled_at = np.where(slots != _EMPTY_BIN, columns, 3 * num_bins)
    twice = np.concatenate((filled_at, filled_at + num_bins), axis=1)
    next_filled = np.minimum.accumulate(twice[:, ::-1], axis=1)[:, ::-1][:, :num_bins]
    source = next_filled % num_bins
    distance = (next_filled - columns).astype(np.uint64)
    borrowed: U64 = slots[np.arange(n_texts)[:, None], source]
    return borrowed | (distance << np.uint64(32))


def _band_keys(signature: U64) -> U64:
    """Fold each band's rows into one key; the band's own seed keeps keys of different bands apart."""
    rows, n_texts, bands = signature.shape
    keys = np.broadcast_to(_BAND_SEEDS[:bands], (n_texts, bands)).copy()
    for row in range(rows):
        keys = _mix(keys ^ signature[row])
    return keys
