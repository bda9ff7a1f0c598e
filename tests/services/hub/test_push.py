"""Pushing through the real huggingface_hub client to the stand-in Hub, read back with datasets.load_dataset."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from backend.core.analysis import AnalysisOptions, analyze_file
from backend.core.dedup import conversation_fingerprint
from backend.core.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    UnauthorizedError,
    UnavailableError,
)
from backend.core.export import iter_store
from backend.core.related import example_conversation, find_related
from backend.services.hub import Origin, PushPayload, card_facts, push_store, run_hub_push
from backend.services.hub.parquet import canonical_example
from backend.services.tasks.context import LocalContext
from backend.settings import Settings
from tests.conftest import shared_file
from tests.core.analysed import analyse
from tests.support.hub_standin import HubStandIn

AXOLOTL = "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"
SMALL = "llamafactory_pr5606_openai_training_data_blank_lines.jsonl"
ReadBack = Callable[..., dict[str, Any]]


def payload(store_report: tuple[Path, Any], repo: str, **fields: Any) -> PushPayload:
    store, report = store_report
    origin = Origin(kind="upload", filename="epoch_sample.jsonl")
    return PushPayload(dataset_id="unused-here", store=str(store), repo=repo, card=card_facts(report, origin),
                       **fields)


def fingerprint(row: dict[str, Any]) -> int:
    example = canonical_example(row)
    assert example is not None
    return conversation_fingerprint(example_conversation(example))


def test_push_axolotl_in_leak_free_splits_with_a_card(tmp_path: Path, hub: HubStandIn, ctx: LocalContext,
                                                      read_back: ReadBack) -> None:
    analysed = analyse(tmp_path, AXOLOTL)
    store, report = analysed
    result = push_store(ctx, payload(analysed, "alice/bethpage"), store, token="alice-write", endpoint=hub.url)
    assert result["repo_id"] == "alice/bethpage" and result["created"] and result["private"]
    assert sum(result["splits"].values()) == 1000 and list(result["splits"]) == ["train", "validation", "test"]
    assert len(hub.repo("alice/bethpage").commits) == 2  # the repo's creation, then one commit with everything

    back = read_back("alice/bethpage")
    assert "splits" in back, back
    assert {name: len(rows) for name, rows in back["splits"].items()} == result["splits"]
    card = back["card"]
    assert card["license"] == "unknown" and card["language"] == ["en"]
    assert card["task_categories"] == ["text-generation"] and card["size_categories"] == ["1K<n<10K"]
    assert [s["num_examples"] for s in card["dataset_info"]["splits"]] == list(result["splits"].values())
    assert {f["split"] for f in card["configs"][0]["data_files"]} == {"train", "validation", "test"}
    text = back["text"]
    assert "Uploaded to SLMGen as `epoch_sample.jsonl`" in text
    assert f"Quality score: {report.quality_score}/100" in text
    assert "940 examples repeat an earlier conversation exactly" in text  # a known issue, told to people

    split_of: dict[int, set[str]] = {}
    for name, rows in back["splits"].items():
        for row in rows:
            split_of.setdefault(fingerprint(row), set()).add(name)
    assert all(len(names) == 1 for names in split_of.values())  # no conversation in two splits
    related = find_related(store)
    stored = [conversation_fingerprint(example_conversation(e)) for _, e in iter_store(store)]
    for group in related.near:
        assert len(set().union(*(split_of[stored[p]] for p in group))) == 1  # near-duplicates together too


def test_a_private_repo_is_not_readable_without_its_token(tmp_path: Path, hub: HubStandIn, ctx: LocalContext,
                                                          read_back: ReadBack) -> None:
    analysed = analyse(tmp_path, SMALL)
    push_store(ctx, payload(analysed, "alice/small", split="train"), analysed[0], token="alice-write",
               endpoint=hub.url)
    assert read_back("alice/small", token=None)["error"] == "DatasetNotFoundError"
    back = read_back("alice/small")
    assert list(back["splits"]) == ["train"] and len(back["splits"]["train"]) == 10


def test_pushing_again_replaces_the_data_in_one_commit(tmp_path: Path, hub: HubStandIn, ctx: LocalContext,
                                                       read_back: ReadBack) -> None:
    analysed = analyse(tmp_path, SMALL)
    push_store(ctx, payload(analysed, "alice/again", split=[50, 50]), analysed[0], token="alice-write",
               endpoint=hub.url)
    second = push_store(ctx, payload(analysed, "alice/again", split="test"), analysed[0], token="alice-write",
                        endpoint=hub.url)
    assert not second["created"]
    assert sorted(second["replaced_files"]) == ["data/train-00000-of-00001.parquet",
                                                "data/validation-00000-of-00001.parquet"]
    back = read_back("alice/again")
    assert {name: len(rows) for name, rows in back["splits"].items()} == {"test": 10}


def test_the_body_reads_its_dataset_and_token_from_the_task(tmp_path: Path, hub: HubStandIn) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", hf_endpoint=hub.url)  # type: ignore[call-arg]
    dataset_id = "dataset-0123456789"
    _, report = analyse(tmp_path, SMALL)
    store = "tasks/analysis-task/1"  # the dataset's current analysis store, relative to DATA_DIR
    analyze_file(shared_file(SMALL), AnalysisOptions(), settings.data_dir / store)
    body = {"dataset_id": dataset_id, "store": store, "repo": "from-task", "split": [80, 20],
            "card": card_facts(report).model_dump(mode="json")}

    def task(name: str, token: str | None = None) -> LocalContext:
        return LocalContext(tmp_path / name, secrets={"hf_token": token} if token else None,
                            base_dir=settings.data_dir)

    with pytest.raises(InvalidInputError) as invalid:
        run_hub_push(task("t0"), {**body, "dataset_id": "../../etc", "split": [120]}, settings)
    assert invalid.value.code == "invalid_payload"
    assert {f["field"] for f in invalid.value.fields["fields"]} == {"dataset_id"}
    without_store = {k: v for k, v in body.items() if k != "store"}
    with pytest.raises(InvalidInputError) as no_store:
        run_hub_push(task("t0"), without_store, settings)
    assert {f["field"] for f in no_store.value.fields["fields"]} == {"store"}
    with pytest.raises(UnauthorizedError) as missing:
        run_hub_push(task("t1"), body, settings)
    assert missing.value.code == "hub_token_missing"
    with pytest.raises(NotFoundError) as stale:  # the legacy per-dataset store is not what it reads
        run_hub_push(task("t1", "alice-write"), {**body, "store": f"uploads/{dataset_id}/store"}, settings)
    assert stale.value.code == "store_not_found" and not hub.repos
    ctx = task("t2", "alice-write")
    result = run_hub_push(ctx, body, settings)
    assert result["repo_id"] == "alice/from-task"  # a bare name goes to the token's namespace
    assert result["splits"] == {"train": 8, "validation": 2}
    assert ctx.artifacts["hub_repo"]["commit"] == result["commit"]
    assert ctx.detailed_status[0].startswith("Splitting")


def test_a_commit_that_fails_leaves_nothing_behind(tmp_path: Path, hub: HubStandIn, ctx: LocalContext) -> None:
    analysed = analyse(tmp_path, SMALL)
    hub.fail_next("commit", 500)
    with pytest.raises(UnavailableError) as failed:
        push_store(ctx, payload(analysed, "alice/halfway"), analysed[0], token="alice-write", endpoint=hub.url)
    assert failed.value.code == "hub_unavailable"
    assert ("dataset", "alice/halfway") not in hub.repos  # the repo it had just created is gone again

    existing = hub.add_repo("alice/kept", private=True, files={"README.md": b"# kept\n"})
    hub.fail_next("lfs_upload", 403, "Request has expired")  # (5xx would be retried by the client, with backoff)
    with pytest.raises(ForbiddenError):  # (another split than above: files the Hub has not seen yet)
        push_store(ctx, payload(analysed, "alice/kept", split="train"), analysed[0], token="alice-write",
                   endpoint=hub.url)
    assert len(existing.commits) == 1 and ("dataset", "alice/kept") in hub.repos  # untouched, not deleted


@pytest.mark.parametrize(("token", "error", "code"), [
    ("alice-read", ForbiddenError, "hub_forbidden"),
    ("not-a-token", UnauthorizedError, "hub_token_invalid"),
])
def test_token_problems_are_clear(tmp_path: Path, hub: HubStandIn, ctx: LocalContext, token: str,
                                  error: type[Exception], code: str, caplog: pytest.LogCaptureFixture) -> None:
    analysed = analyse(tmp_path, SMALL)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(error) as refused:
        push_store(ctx, payload(analysed, "alice/denied"), analysed[0], token=token, endpoint=hub.url)
    assert refused.value.code == code  # type: ignore[attr-defined]
    assert token not in str(refused.value.to_dict())  # type: ignore[attr-defined]
    assert token not in caplog.text
    assert ("dataset", "alice/denied") not in hub.repos


@pytest.mark.parametrize(("kind", "status", "message", "error", "code"), [
    ("commit", 429, "Too many requests", RateLimitedError, "hub_rate_limited"),  # (the client retries 429s
    # of other calls itself, waiting as told: a commit it does not retry)
    ("preupload", 403, "You have exceeded your storage quota", PayloadTooLargeError, "hub_quota_exceeded"),
    ("create", 500, "Internal Error", UnavailableError, "hub_unavailable"),
])
def test_hub_failures_become_task_errors(tmp_path: Path, hub: HubStandIn, ctx: LocalContext, kind: str, status: int,
                                         message: str, error: type[Exception], code: str) -> None:
    analysed = analyse(tmp_path, SMALL)
    hub.fail_next(kind, status, message, times=10, headers={"Retry-After": "7"})
    with pytest.raises(error) as failed:
        push_store(ctx, payload(analysed, "alice/failing"), analysed[0], token="alice-write", endpoint=hub.url)
    assert failed.value.code == code  # type: ignore[attr-defined]
    if status == 429:
        assert failed.value.fields["retry_after"] == 7  # type: ignore[attr-defined]
    assert ("dataset", "alice/failing") not in hub.repos


def test_unreachable_hub(tmp_path: Path, ctx: LocalContext) -> None:
    analysed = analyse(tmp_path, SMALL)
    with pytest.raises(UnavailableError) as failed:
        push_store(ctx, payload(analysed, "alice/x"), analysed[0], token="alice-write", endpoint="http://127.0.0.1:9")
    assert failed.value.code == "hub_unreachable"


def test_name_taken_by_another_type_and_public_repo_conflicts(tmp_path: Path, hub: HubStandIn,
                                                               ctx: LocalContext) -> None:
    analysed = analyse(tmp_path, SMALL)
    hub.names_shared_across_types = True
    hub.add_repo("alice/model-name", repo_type="model")
    with pytest.raises(ConflictError) as taken:
        push_store(ctx, payload(analysed, "alice/model-name"), analysed[0], token="alice-write", endpoint=hub.url)
    assert taken.value.code == "hub_repo_other_type"
    public = hub.add_repo("alice/public", private=False, files={"README.md": b"# public\n"})
    with pytest.raises(ConflictError) as is_public:
        push_store(ctx, payload(analysed, "alice/public"), analysed[0], token="alice-write", endpoint=hub.url)
    assert is_public.value.code == "hub_repo_is_public"
    assert len(public.commits) == 1
