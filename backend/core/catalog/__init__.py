"""The model catalogue: facts about small models, each with its source, kept in `models.json`.

>>> catalog = load_catalog()
>>> catalog.get("qwen2.5-3b-instruct").commercial_use
False
"""

from __future__ import annotations

from backend.core.catalog.entry import ALL_LANGUAGES, SOURCED_FACTS, Loader, ModelEntry, TrainingDefaults
from backend.core.catalog.loader import Catalog, load_catalog, parse_catalog

__all__ = [
    "ALL_LANGUAGES",
    "SOURCED_FACTS",
    "Catalog",
    "Loader",
    "ModelEntry",
    "TrainingDefaults",
    "load_catalog",
    "parse_catalog",
]
