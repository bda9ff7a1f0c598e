"""Reading and looking up the catalogue data file."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from pydantic import ValidationError

from backend.core.catalog.entry import ModelEntry
from backend.core.errors import InvalidInputError, NotFoundError

DATA_FILE = "models.json"


class Catalog:
    """The catalogue's entries in file order, looked up by model_id (or by Hub id)."""

    def __init__(self, entries: tuple[ModelEntry, ...], *, verified_on: str, about: str = "") -> None:
        self.entries = entries
        self.verified_on = verified_on
        self.about = about
        self._by_key: dict[str, ModelEntry] = {}
        for entry in entries:
            # A Hub id is what people paste; accept it as well as the slug.
            for key in (entry.model_id, entry.hf_id, entry.unsloth_id):
                if key:
                    self._by_key.setdefault(key.lower(), entry)

    def __iter__(self) -> Iterator[ModelEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, model_id: object) -> bool:
        return isinstance(model_id, str) and model_id.lower() in self._by_key

    def ids(self) -> list[str]:
        return [entry.model_id for entry in self.entries]

    def get(self, model_id: str) -> ModelEntry:
        entry = self._by_key.get(model_id.strip().lower())
        if entry is not None:
            return entry
        close = suggest_ids(model_id.strip().lower(), self.ids())
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise NotFoundError(
            f"No model {model_id!r} in the catalogue.{hint} GET /models (or `slmgen models`) lists the "
            f"{len(self.entries)} known models.",
            code="model_not_found",
            model_id=model_id,
            suggestions=close,
        )


def suggest_ids(query: str, ids: list[str], limit: int = 3) -> list[str]:
    """Ids that start with the query first (a forgotten suffix is the usual slip), then similar spellings."""
    prefixed = [i for i in ids if query and i.startswith(query)]
    similar = difflib.get_close_matches(query, ids, n=limit, cutoff=0.5)
    return list(dict.fromkeys(prefixed + similar))[:limit]


def parse_catalog(data: Mapping[str, Any]) -> Catalog:
    """Validate the catalogue document; a broken entry is named with the field that is wrong."""
    raw_models = data.get("models")
    if not isinstance(raw_models, list) or not raw_models:
        raise InvalidInputError("The model catalogue has no 'models' list.", code="invalid_catalog")
    entries: list[ModelEntry] = []
    seen: set[str] = set()
    for position, raw in enumerate(raw_models):
        label = raw.get("model_id", f"#{position}") if isinstance(raw, dict) else f"#{position}"
        try:
            entry = ModelEntry.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'entry'}: {err['msg']}" for err in exc.errors()
            )
            raise InvalidInputError(
                f"Catalogue entry {label} is invalid: {problems}", code="invalid_catalog", model_id=str(label)
            ) from exc
        if entry.model_id in seen:
            raise InvalidInputError(
                f"Catalogue entry {entry.model_id} appears twice; model ids must be unique.",
                code="invalid_catalog",
            )
        seen.add(entry.model_id)
        entries.append(entry)
    return Catalog(
        tuple(entries), verified_on=str(data.get("verified_on", "")), about=str(data.get("about", ""))
    )


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The packaged catalogue, parsed once per process."""
    text = resources.files("backend.core.catalog").joinpath(DATA_FILE).read_text(encoding="utf-8")
    return parse_catalog(json.loads(text))
