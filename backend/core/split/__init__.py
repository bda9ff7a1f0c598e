"""Leak-free splits: related examples (one exact or near-duplicate group, one shared prompt) stay together.

    shares = shares_from_percentages([80, 10, 10])      # {"train": 0.8, "validation": 0.1, "test": 0.1}
    names = assign_splits(related.components(), shares, seed=42, labels=None)
    names[p]                                              # "train" | "validation" | "test" for position p

Whole related sets are dealt out, largest first (in a seeded random order among equals), each to the
split furthest below its target size; so sizes come close to the shares while no set straddles two
splits. With `labels` (classification), each label's sets are dealt separately, so every split gets
each label in proportion. The same input and seed give the same splits on every machine.
"""

from backend.core.split.assign import (
    SPLIT_NAMES,
    assign_splits,
    eval_positions,
    example_label,
    shares_from_percentages,
)

__all__ = ["SPLIT_NAMES", "assign_splits", "eval_positions", "example_label", "shares_from_percentages"]
