"""Seed 000's request shapes, turned into a generation request and, for its Hub variants, a Hub target.

    POST /data        num_samples, repo, split=[80, 10, 10], labels, valid_data, invalid_data   -> push
    PUT  /data        num_samples, repo, split (train | validation | test), labels, ...           -> append
    POST /question    content, index, multiple_chunks, num_samples (+ repo, split: push)
    PUT  /question    the same with repo and one split, bulk_process                              -> append

Seed 000 lists no `prompt` or `task` for `/data`: labels and examples describe the data there, so the task
is text classification unless said otherwise, and the prompt, when none is given, says what the labels and
the valid examples show. `bulk_process` asks for questions over many chunks: the content is always cut into
token chunks and every chunk is used, so it is accepted and changes nothing.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ValidationError

from backend.core.errors import InvalidInputError
from backend.services.generation.hub_task import HubTarget

HUB_FIELDS = ("repo", "split", "private")
IGNORED_FIELDS = ("bulk_process",)


def hub_target(body: dict[str, Any], action: Literal["push", "append"]) -> tuple[dict[str, Any], HubTarget]:
    """(the generation request, the Hub target) of a Hub variant's body."""
    request = {k: v for k, v in body.items() if k not in (*HUB_FIELDS, *IGNORED_FIELDS)}
    hub = {k: body[k] for k in HUB_FIELDS if k in body}
    if "repo" not in hub:
        raise InvalidInputError("repo is required: the Hub dataset (owner/name) the rows go to.",
                                code="invalid_generation_request", field="repo")
    if action == "append" and "split" not in hub:
        raise InvalidInputError("split is required: the split (train, validation or test) the rows are added to.",
                                code="invalid_generation_request", field="split")
    try:
        return request, HubTarget(action=action, **hub)
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc'])) or 'request'}: {e['msg']}"
                    for e in exc.errors(include_url=False, include_input=False)]
        raise InvalidInputError("The Hub fields are not valid: " + "; ".join(problems) + ".",
                                code="invalid_generation_request", problems=problems) from None


def questions_request(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in IGNORED_FIELDS}


def data_request(request: dict[str, Any]) -> dict[str, Any]:
    """A `/data` request as a `/data/view` one: classification by default, a prompt from the labels."""
    out = dict(request)
    out.setdefault("task", "text_classification")
    if not str(out.get("prompt") or "").strip():
        names = [_label_name(label) for label in out.get("labels") or []]
        if names:
            out["prompt"] = f"Short texts, each labelled with one of: {', '.join(n for n in names if n)}."
        elif out.get("valid_data"):
            out["prompt"] = "More examples like the valid examples given, in the same fields and style."
        else:
            raise InvalidInputError("Say what to generate: give a prompt, labels or valid_data.",
                                    code="invalid_generation_request", field="prompt")
    return out


def _label_name(label: Any) -> str:
    if isinstance(label, str):
        return label
    if isinstance(label, dict):
        if "name" in label or "label" in label:
            return str(label.get("name", label.get("label")))
        if len(label) == 1:
            return str(next(iter(label)))
    return ""
