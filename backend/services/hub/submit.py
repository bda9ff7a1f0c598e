"""Starting Hub work from the API: a push, an append or an import becomes a task (queue "hub") at once.

What can be refused without the Hub is refused here, before anything is queued: a malformed repo id or split,
a dataset that is not analysed yet, a push or append without a token (401 `hub_token_missing`). The token (the
request's X-HuggingFace-Key, else the signed-in user's saved one) travels only as the task's encrypted secret.
A push's card is written from the dataset's report and its lineage (`origin_of`).
"""

from __future__ import annotations

from typing import Any

from backend.auth import User
from backend.core.analysis import Report
from backend.core.errors import InvalidInputError, UnauthorizedError
from backend.core.split import shares_from_percentages
from backend.db import repository as repo
from backend.db.models import Dataset, Task
from backend.services.datasets import finished_report, get_dataset_for, store_dir
from backend.services.hub.client import TOKEN_HINT, check_repo_id
from backend.services.hub.facts import Origin, card_facts
from backend.services.hub.payloads import HF_TOKEN_SECRET, AppendPayload, ImportPayload, PushPayload, SplitName
from backend.services.hub.tokens import resolve_hub_token
from backend.services.state import AppState
from backend.services.tasks import engine
from backend.services.versions import new_version_id

ORIGIN_KINDS = {"upload": "upload", "generation": "generated", "fix": "fix", "hub_import": "hub_import"}


async def start_push(state: AppState, session_id: str, user: User | None, client: str, header_token: str | None,
                     *, repo: str, split: list[int] | SplitName, private: bool, seed: int = 42,
                     stratify: bool = False, license: str = "unknown",
                     task_category: str = "text-generation") -> Task:
    check_repo_id(repo)
    if not isinstance(split, str):
        shares_from_percentages(split)
    dataset, report = await _analysed(state, session_id, user)
    token = await _write_token(state, user, header_token, "push a dataset to the Hub")
    payload = push_payload(dataset, report, await _parent(state, dataset), store=_store(state, dataset), repo=repo,
                           split=split, private=private, seed=seed, stratify=stratify, license=license,
                           task_category=task_category)
    return await engine.submit(state, "hub_push", user, client, payload, secrets={HF_TOKEN_SECRET: token},
                               dataset_id=dataset.id, status="Queued for the Hub: push")


async def start_append(state: AppState, session_id: str, user: User | None, client: str, header_token: str | None,
                       *, repo: str, split: SplitName) -> Task:
    check_repo_id(repo)
    dataset, _ = await _analysed(state, session_id, user)
    token = await _write_token(state, user, header_token, "add rows to a Hub dataset")
    payload = append_payload(dataset, store=_store(state, dataset), repo=repo, split=split)
    return await engine.submit(state, "hub_append", user, client, payload, secrets={HF_TOKEN_SECRET: token},
                               dataset_id=dataset.id, status="Queued for the Hub: append")


async def start_import(state: AppState, user: User | None, client: str, header_token: str | None, *, repo: str,
                       config: str | None, split: str, revision: str | None) -> Task:
    """Queue the import of one split as a new dataset; the task's id is the new dataset's session id."""
    repo_id = check_repo_id(repo)
    if "/" not in repo_id:
        raise InvalidInputError(f"Name the Hub dataset with its owner: owner/{repo_id}.", field="repo")
    state.upload_limiter.hit(client)  # an import is an upload from the Hub: the same limits
    token = await resolve_hub_token(state, user, header_token)  # optional: public datasets need none
    new_id = new_version_id()
    payload = ImportPayload(repo=repo_id, config=config or None, split=split or "train", revision=revision or None,
                            dataset_id=new_id)
    task = await engine.admit(state, "hub_import", user, client, payload.model_dump(mode="json"),
                              secrets={HF_TOKEN_SECRET: token} if token else None, task_id=new_id,
                              status=f"Queued: importing {repo_id} from the Hub")
    await engine.hand_over(state, task)
    return task


def push_payload(dataset: Dataset, report: Report, parent: Dataset | None, *, store: str, repo: str,
                 split: list[int] | SplitName, private: bool = True, seed: int = 42, stratify: bool = False,
                 license: str = "unknown", task_category: str = "text-generation") -> dict[str, Any]:
    """The hub_push payload for an analysed dataset (no I/O: usable in a hook's transaction too). `store` is its
    current analysis store relative to DATA_DIR (`dataset.store_name` once its analysis has finished)."""
    return PushPayload(dataset_id=dataset.id, store=store, repo=repo.strip(), split=split, private=private,
                       seed=seed, stratify=stratify, license=license, task_category=task_category,
                       card=card_facts(report, origin_of(dataset, parent))).model_dump(mode="json")


def append_payload(dataset: Dataset, *, store: str, repo: str, split: SplitName) -> dict[str, Any]:
    """The hub_append payload (no I/O), `store` as for push_payload."""
    return AppendPayload(dataset_id=dataset.id, store=store, repo=repo.strip(), split=split,
                         note=f"from {dataset.filename}").model_dump(mode="json")


def origin_of(dataset: Dataset, parent: Dataset | None) -> Origin:
    """The lineage a card tells: where this version came from, and for a fixed one what it was made from."""
    detail: dict[str, Any] = dataset.origin_detail or {}
    kind = ORIGIN_KINDS.get(dataset.origin, "upload")
    if kind == "fix":
        above = origin_of(parent, None) if parent is not None else Origin()
        return Origin(kind="fix", filename=dataset.filename, fixes=list(detail.get("fixes") or []),
                      parent=(parent.filename if parent else detail.get("parent_filename")),
                      provider=above.provider, model=above.model, source_repo=above.source_repo)
    if kind == "hub_import":
        told = {k: detail[k] for k in ("revision", "config", "split") if detail.get(k)}
        return Origin(kind="hub_import", filename=dataset.filename, source_repo=detail.get("repo"), settings=told)
    if kind == "generated":
        return _generated(dataset.filename, detail)
    return Origin(kind="upload", filename=dataset.filename)


def _generated(filename: str, detail: dict[str, Any]) -> Origin:
    """A generated dataset's provider, model and settings, as the generation recorded them (read defensively:
    `provider` may be a name or {name, model}; only plain settings values are told)."""
    provider = detail.get("provider")
    name = provider.get("name") if isinstance(provider, dict) else provider
    model = detail.get("model") or (provider.get("model") if isinstance(provider, dict) else None)
    given = detail.get("settings")
    settings = {str(k): v for k, v in given.items() if isinstance(v, str | int | float | bool)} \
        if isinstance(given, dict) else {}
    return Origin(kind="generated", filename=filename, provider=_text(name), model=_text(model), settings=settings)


def _text(value: Any) -> str | None:
    return str(value) if value else None


async def _analysed(state: AppState, session_id: str, user: User | None) -> tuple[Dataset, Report]:
    dataset = await get_dataset_for(state, session_id, user)
    return dataset, await finished_report(state, dataset)


async def _write_token(state: AppState, user: User | None, header_token: str | None, action: str) -> str:
    token = await resolve_hub_token(state, user, header_token)
    if not token:
        raise UnauthorizedError(f"A Hugging Face token with write access is needed to {action}. {TOKEN_HINT}.",
                                code="hub_token_missing")
    return token


async def _parent(state: AppState, dataset: Dataset) -> Dataset | None:
    if dataset.parent_id is None:
        return None
    async with state.session() as session:
        return await repo.get_dataset(session, dataset.parent_id)


def _store(state: AppState, dataset: Dataset) -> str:
    """The dataset's CURRENT analysis store, relative to DATA_DIR (workers resolve it on their own mount)."""
    return store_dir(state, dataset).relative_to(state.settings.data_dir).as_posix()
