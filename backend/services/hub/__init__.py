"""The Hugging Face Hub: push a dataset version (leak-free splits, Parquet, a card), append, import.

Task bodies (run by the task engine; the Hub token is the task secret `hf_token`):

    run_hub_push(ctx, payload)    PushPayload   -> {repo_id, url, commit, splits, ...}
    run_hub_append(ctx, payload)  AppendPayload -> {repo_id, split, added, left_out_duplicates, splits, commit}
    run_hub_import(ctx, payload)  ImportPayload -> {repo_id, revision, rows, stored_name, ...}

Every Hub failure becomes a CoreError (client.py); tokens are never logged or stored in plain text
(tokens.py keeps a user's saved token encrypted).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backend.services.hub.append import append_store, run_hub_append
    from backend.services.hub.facts import CardFacts, Origin, card_facts
    from backend.services.hub.imports import import_dataset, run_hub_import
    from backend.services.hub.payloads import HF_TOKEN_SECRET, AppendPayload, ImportPayload, PushPayload
    from backend.services.hub.push import push_store, run_hub_push

# Imported on first use: the bodies need `datasets` and `pyarrow`, which the server (that only routes and
# queues) should not load at startup.
_HOME = {
    "append_store": "append", "run_hub_append": "append", "CardFacts": "facts", "Origin": "facts",
    "card_facts": "facts", "import_dataset": "imports", "run_hub_import": "imports", "HF_TOKEN_SECRET": "payloads",
    "AppendPayload": "payloads", "ImportPayload": "payloads", "PushPayload": "payloads", "push_store": "push",
    "run_hub_push": "push",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)


__all__ = [
    "HF_TOKEN_SECRET",
    "AppendPayload",
    "CardFacts",
    "ImportPayload",
    "Origin",
    "PushPayload",
    "append_store",
    "card_facts",
    "import_dataset",
    "push_store",
    "run_hub_append",
    "run_hub_import",
    "run_hub_push",
]
