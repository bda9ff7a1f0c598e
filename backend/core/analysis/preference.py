"""Preference data must never turn into a supervised fine-tune by accident.

An SFT notebook made from DPO pairs would learn from the chosen answers alone (or, read as
plain chat, from prompts with no answer at all), and one made from KTO-style labelled answers
would learn the answers labelled *bad* as readily as the good ones. So whoever is about to plan
SFT on a dataset asks here first: with the report (`check_sft_data`) when the dataset was
analysed, or on the canonical examples themselves (`check_sft_examples`) when it was not.

How a preference example is stored: see backend.core.conversation (and report.PREFERENCE_REPRESENTATION).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from backend.core.analysis.report import PreferenceSection
from backend.core.errors import InvalidInputError

PREFERENCE_KEYS = ("chosen", "rejected", "label")


def check_sft_data(preference: PreferenceSection | None) -> None:
    """Raise when the analysed dataset is preference data (report.preference is set)."""
    if preference is None:
        return
    labels = preference.labels or {}
    good, bad = labels.get("true", 0), labels.get("false", 0)
    what = (
        f"{preference.examples:,} chosen/rejected pairs"
        if preference.kind == "paired"
        else f"{preference.examples:,} labelled answers ({good:,} good, {bad:,} bad)"
    )
    raise InvalidInputError(
        f"This dataset is preference data ({what}, {preference.source_format} layout), not chat data for "
        "supervised fine-tuning: an SFT notebook would "
        + ("learn from the chosen answers only and ignore every rejected one. "
           if preference.kind == "paired" else "learn the answers labelled bad as well as the good ones. ")
        + "Train it with a preference method instead ("
        + ("DPO" if preference.kind == "paired" else "KTO")
        + "), or, to fine-tune on the good answers only, keep those as plain chat records "
        '({"messages": [...]}) and upload that file.',
        code="preference_data",
        preference_kind=preference.kind,
        source_format=preference.source_format,
    )


def check_sft_examples(examples: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The canonical examples, unchanged, raising at the first one that is preference data."""
    for example in examples:
        if any(key in example for key in PREFERENCE_KEYS):
            kind = "paired" if "chosen" in example else "unpaired"
            raise InvalidInputError(
                "This dataset is preference data ("
                + ("chosen/rejected pairs" if kind == "paired" else "answers labelled good or bad")
                + "), not chat data for supervised fine-tuning. Train it with "
                + ("DPO" if kind == "paired" else "KTO")
                + " instead, or keep the good answers as plain chat records and use that file.",
                code="preference_data",
                preference_kind=kind,
            )
        yield example
