"""Exact, prompt-level and near-duplicate detection, split for map/reduce across processes.

In each worker, per record:   conversation_fingerprint, prompt_fingerprint, and
                              minhash_band_keys([conversation_text(c) for c in chunk])
In the parent, over all:      group_exact_duplicates, group_prompt_duplicates,
                              verified_near_groups(keys, shingles_of, exclude=duplicate_records(exact_groups))

What is compared: see exact.py (canonical conversation), text.py (the near-duplicate text) and
minhash.py (shingles). NEAR_DUP_THRESHOLD is the Jaccard threshold of the default banding.
"""

from backend.core.dedup.exact import (
    conversation_fingerprint,
    duplicate_records,
    group_exact_duplicates,
    group_prompt_duplicates,
    prompt_fingerprint,
)
from backend.core.dedup.minhash import MINHASH_TEXT_RULE, minhash_band_keys, shingle_set
from backend.core.dedup.near import (
    DEFAULT_BANDS,
    DEFAULT_NGRAM,
    DEFAULT_ROWS,
    NEAR_DUP_THRESHOLD,
    NearGroups,
    candidate_probability,
    group_near_duplicates,
    jaccard,
    lsh_threshold,
    shingle_hashes,
    verified_near_groups,
)
from backend.core.dedup.text import NEAR_DUP_TEXT_RULE, conversation_text, stored_text

__all__ = [
    "DEFAULT_BANDS",
    "DEFAULT_NGRAM",
    "DEFAULT_ROWS",
    "MINHASH_TEXT_RULE",
    "NEAR_DUP_TEXT_RULE",
    "NEAR_DUP_THRESHOLD",
    "NearGroups",
    "candidate_probability",
    "conversation_fingerprint",
    "conversation_text",
    "duplicate_records",
    "group_exact_duplicates",
    "group_near_duplicates",
    "group_prompt_duplicates",
    "jaccard",
    "lsh_threshold",
    "minhash_band_keys",
    "prompt_fingerprint",
    "shingle_hashes",
    "shingle_set",
    "stored_text",
    "verified_near_groups",
]
