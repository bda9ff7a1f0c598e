"""run_hub_push: a dataset version to a Hub dataset repo, in leak-free splits, with its card, in one commit.

Everything is prepared locally first (splits, Parquet files, the card); then the repo is created if it
does not exist and ONE commit carries every file, so a push that fails halfway leaves no partial commit
(uploaded LFS blobs that no commit references are invisible). A repo this push created is deleted again
when its commit fails. An existing repo's old data files are replaced in that same commit.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from backend.core.analysis.store import count_examples
from backend.core.errors import ConflictError, InvalidInputError
from backend.core.export import iter_store
from backend.core.related import find_related
from backend.core.split import SPLIT_NAMES, assign_splits, example_label, shares_from_percentages
from backend.services.hub.card import render_card
from backend.services.hub.client import check_repo_id, hub_errors, open_api, repo_page
from backend.services.hub.parquet import SplitFiles, to_row
from backend.services.hub.payloads import PushPayload, PushRequest, require_token, validate
from backend.services.tasks.context import TaskContext
from backend.settings import Settings

STEPS = 4


@dataclass(frozen=True)
class RepoState:
    sha: str
    private: bool
    files: list[str]


def run_hub_push(ctx: TaskContext, payload: dict[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    """Task body. Payload: PushPayload; secret `hf_token`. Result: see push_store."""
    request = validate(PushPayload, payload)
    store = store_path(ctx, request.store)  # a payload without its store is refused before the token is read
    settings = settings or Settings()
    token = require_token(ctx, "push a dataset to the Hub")
    return push_store(ctx, request, store, token=token, endpoint=settings.hf_endpoint)


def push_store(ctx: TaskContext, request: PushRequest, store_dir: Path, *, token: str,
               endpoint: str) -> dict[str, Any]:
    """Push the analysed examples in `store_dir`; returns repo, url, commit, splits (name -> rows) and more."""
    if not isinstance(request.split, str):
        shares_from_percentages(request.split)  # a wrong split is refused before anything reaches the Hub
    api = open_api(endpoint, token)
    repo_id = check_repo_id(request.repo)
    with hub_errors(repo_id, token_given=True, action="push to"):
        repo_id = full_repo_id(api, repo_id)
        existing = repo_state(api, repo_id)
    if existing is not None and not existing.private and request.private:
        raise ConflictError(
            f"{repo_id} already exists on the Hub and is public, but this push asked for a private dataset; "
            "nothing was pushed. Make the repo private on the Hub first, or push with private=false.",
            code="hub_repo_is_public", repo=repo_id)
    ctx.status("Splitting: duplicates and examples sharing a prompt stay in one split")
    ctx.progress(0, STEPS)
    names = split_names(store_dir, request)
    ctx.checkpoint()
    ctx.status("Writing Parquet files and the dataset card")
    ctx.progress(1, STEPS)
    local = ctx.work_dir / "push"
    splits = write_splits(store_dir, names, local)
    note = split_note(request)
    card = render_card(request.card, repo_id, splits, license=request.license, task_category=request.task_category,
                       split_note=note)
    operations: list[CommitOperationAdd | CommitOperationDelete] = [
        CommitOperationAdd(f"data/{split_file(split)}", str(local / "data" / split_file(split))) for split in splits]
    operations.append(CommitOperationAdd("README.md", card.encode()))
    new_paths = {op.path_in_repo for op in operations}
    stale = [p for p in (existing.files if existing else []) if p.startswith("data/") and p not in new_paths]
    operations += [CommitOperationDelete(path) for path in stale]
    ctx.checkpoint()
    ctx.status(f"Uploading to {repo_id} (one commit)")
    ctx.progress(2, STEPS)
    message = request.commit_message or f"Push {sum(splits.values()):,} examples ({describe(splits)}) with SLMGen"
    with hub_errors(repo_id, token_given=True, action="push to"):
        created = existing is None and create_repo(api, repo_id, private=request.private)
        try:
            commit = api.create_commit(repo_id, operations, commit_message=message, repo_type="dataset",
                                       parent_commit=existing.sha if existing else None)
        except BaseException:
            if created:
                _delete_quietly(api, repo_id)
            raise
    ctx.progress(STEPS, STEPS)
    result = {"repo_id": repo_id, "url": repo_page(endpoint, repo_id), "commit": commit.oid,
              "commit_url": commit.commit_url, "created": created,
              "private": request.private if created else bool(existing and existing.private),
              "splits": splits, "split_rule": note, "replaced_files": stale}
    ctx.artifact("hub_repo", {"repo_id": repo_id, "commit": commit.oid, "url": result["url"]})
    ctx.metrics({"rows_pushed": sum(splits.values())})
    return result


def store_path(ctx: TaskContext, relative: str) -> Path:
    """The payload's analysis store on this machine (reading a missing one is `store_not_found`)."""
    try:
        return ctx.path(relative)
    except ValueError:
        raise InvalidInputError("The dataset's store must be a path inside the storage.", code="invalid_payload",
                                field="store") from None


def full_repo_id(api: HfApi, repo_id: str) -> str:
    if "/" in repo_id:
        return repo_id
    return f"{api.whoami()['name']}/{repo_id}"


def repo_state(api: HfApi, repo_id: str) -> RepoState | None:
    try:
        info = api.dataset_info(repo_id)
    except RepositoryNotFoundError as exc:
        if exc.response is not None and exc.response.status_code == 404:  # with a token: it does not exist
            return None
        raise
    return RepoState(sha=info.sha or "", private=bool(info.private), files=[s.rfilename for s in info.siblings or []])


def create_repo(api: HfApi, repo_id: str, *, private: bool) -> bool:
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private)
    except HfHubHTTPError as exc:
        if exc.response is not None and exc.response.status_code == 409:
            raise ConflictError(
                f"The name {repo_id} is taken on the Hub by a repository that is not a dataset (a model or a "
                "Space); nothing was pushed. Choose another name.", code="hub_repo_other_type", repo=repo_id) from exc
        raise
    return True


def _delete_quietly(api: HfApi, repo_id: str) -> None:
    # Best effort: the commit's own error is the one to report.
    with contextlib.suppress(Exception):
        api.delete_repo(repo_id, repo_type="dataset", missing_ok=True)


def split_names(store_dir: Path, request: PushRequest) -> list[str]:
    """The split of every stored example: leak-free percentages, or the one split named."""
    if isinstance(request.split, str):
        return [request.split] * count_examples(store_dir)
    shares = shares_from_percentages(request.split)
    related = find_related(store_dir)
    if related.size == 0:
        raise InvalidInputError("This dataset has no usable examples to push.", code="nothing_to_push")
    labels = [example_label(example) for _, example in iter_store(store_dir)] if request.stratify else None
    return assign_splits(related.components(), shares, seed=request.seed, labels=labels)


def split_file(split: str) -> str:
    return f"{split}-00000-of-00001.parquet"


def write_splits(store_dir: Path, names: list[str], directory: Path) -> dict[str, int]:
    files = SplitFiles(directory)
    try:
        for (_, example), split in zip(iter_store(store_dir), names, strict=True):
            files.add(split, f"data/{split_file(split)}", to_row(example))
    finally:
        counts = files.close()
    if not counts:
        raise InvalidInputError("This dataset has no usable examples to push.", code="nothing_to_push")
    return {name: counts[name] for name in SPLIT_NAMES if name in counts}


def describe(splits: dict[str, int]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in splits.items())


def split_note(request: PushRequest) -> str:
    if isinstance(request.split, str):
        return f"Every example is in the `{request.split}` split."
    percentages = "/".join(str(p) for p in request.split)
    stratified = ", stratified by label (the last assistant reply)" if request.stratify else ""
    return (f"Split {percentages} (train/validation/test), seed {request.seed}{stratified}. The splits are "
            "leak-free: exact duplicates, near-duplicates and examples sharing a prompt are always in the same "
            "split, so evaluation never sees a copy of a training example.")
