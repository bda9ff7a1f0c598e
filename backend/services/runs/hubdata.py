"""A run on a Hub dataset: the split is imported first, inside the run's own task, with the datasets-out import
(backend.services.hub.imports), then turned into the canonical examples the trainers read.

The imported rows become a new dataset version's upload file (DATA_DIR/uploads/<id>/upload.jsonl), so that
when the run finishes the product records that dataset (origin hub_import) and analyses it like an upload:
the model's lineage then names the exact data it was trained on. Rows already in a canonical shape the
trainers know (chat `messages`; the preference contract's paired `messages`/`chosen`/`rejected` and unpaired
`messages`/`completion`/`label`; `text` + `label` for classification) are kept as they are; any other row goes
through the upload's own ingest (ShareGPT, Alpaca, prompt/completion…). A row that cannot be read is counted
with its reason, never dropped silently.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from backend.core.errors import InvalidInputError
from backend.core.ingest import to_conversation
from backend.services import storage
from backend.services.hub.imports import STORED_NAME, import_dataset
from backend.services.hub.payloads import HF_TOKEN_SECRET, ImportPayload
from backend.services.runs.payload import HubDataset
from backend.services.tasks.context import TaskContext
from backend.services.training.data import kind_of
from backend.settings import Settings

KEPT_KINDS = ("paired", "unpaired", "labelled")


def import_for_run(ctx: TaskContext, source: HubDataset, settings: Settings) -> tuple[Path, dict[str, Any]]:
    """(canonical JSONL to train on, what was imported: the import's result and the conversion's counts)."""
    request = ImportPayload(repo=source.repo, config=source.config, split=source.split, revision=source.revision,
                            dataset_id=source.dataset_id)
    upload = storage.upload_path(settings, source.dataset_id, STORED_NAME)
    imported = import_dataset(ctx, request, upload, token=ctx.secret(HF_TOKEN_SECRET), endpoint=settings.hf_endpoint,
                              max_bytes=settings.max_upload_bytes)
    ctx.checkpoint()
    canonical = ctx.work_dir / "data" / "train.jsonl"
    counts = canonical_file(upload, canonical)
    ctx.log(f"Imported {imported['rows']:,} rows of {source.repo}; as training examples: {dict(counts)}")
    if not counts.get("examples"):
        raise InvalidInputError(
            f"None of the {imported['rows']:,} rows of {source.repo} ({source.split}) is a training example "
            f"({', '.join(f'{k}: {v}' for k, v in counts.items()) or 'no rows'}). Give chat messages, "
            "prompt/completion, preference pairs or text with a label.", code="no_trainable_examples")
    return canonical, {**imported, "conversion": dict(counts), "dataset_id": source.dataset_id}


def canonical_file(raw: Path, out: Path) -> Counter[str]:
    """Write the canonical example of every row of a JSONL file to `out`; returns counts by outcome."""
    counts: Counter[str] = Counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    with raw.open("rb") as rows, out.open("wb") as written:
        for index, line in enumerate(rows):
            if not line.strip():
                continue
            example, outcome = canonical_row(orjson.loads(line), index)
            counts[outcome] += 1
            if example is not None:
                written.write(orjson.dumps(example) + b"\n")
                counts["examples"] += 1
    return counts


def canonical_row(row: Any, index: int) -> tuple[dict[str, Any] | None, str]:
    """(the example, how it was read) or (None, why not)."""
    kind = kind_of(row)
    if kind == "labelled" or (kind in KEPT_KINDS and isinstance(row.get("messages"), list)):
        return row, f"{kind} rows"
    conversation, issues = to_conversation(row, index=index, line=index + 1)
    if conversation is None:
        return None, f"rows left out: {issues[0].code}" if issues else "rows left out"
    return conversation.to_json(), "chat rows"
