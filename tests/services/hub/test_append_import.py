"""Append to an existing Hub dataset (counts stay right) and import one back (it analyses to the same counts)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.core.analysis import AnalysisOptions, analyze_file
from backend.core.dedup import conversation_fingerprint
from backend.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
)
from backend.core.export import iter_store
from backend.core.related import example_conversation
from backend.services.hub import (
    AppendPayload,
    ImportPayload,
    PushPayload,
    append_store,
    card_facts,
    import_dataset,
    push_store,
)
from backend.services.tasks.context import LocalContext
from tests.conftest import shared_file
from tests.core.analysed import analyse
from tests.support.hub_standin import HubStandIn

ALPACA = "llamafactory_alpaca_en_demo.json"
ReadBack = Callable[..., dict[str, Any]]


def alpaca_part(tmp_path: Path, name: str, start: int, stop: int) -> Path:
    records = orjson.loads(shared_file(ALPACA).read_bytes())[start:stop]
    path = tmp_path / name
    path.write_bytes(orjson.dumps(records))
    return path


# append_store is given its store apart: the payload's dataset id and store are what the task body would resolve.
APPENDED = {"dataset_id": "unused-here", "store": "passed-apart"}


def fingerprints(store: Path) -> list[int]:
    return [conversation_fingerprint(example_conversation(e)) for _, e in iter_store(store)]


def push(ctx: LocalContext, hub: HubStandIn, store_report: tuple[Path, Any], repo: str,
         **fields: Any) -> dict[str, Any]:
    store, report = store_report
    request = PushPayload(dataset_id="unused-here", store=str(store), repo=repo, card=card_facts(report), **fields)
    return push_store(ctx, request, store, token="alice-write", endpoint=hub.url)


def test_append_drops_what_the_repo_has_and_keeps_counts_right(tmp_path: Path, hub: HubStandIn, ctx: LocalContext,
                                                               read_back: ReadBack) -> None:
    first = analyse(tmp_path, alpaca_part(tmp_path, "first.json", 0, 600))
    pushed = push(ctx, hub, first, "alice/alpaca")
    more_store, _ = analyse(tmp_path, alpaca_part(tmp_path, "more.json", 400, 999))  # 200 records overlap
    repo_rows = set(fingerprints(first[0]))
    expected_new: list[int] = []
    for fp in fingerprints(more_store):
        if fp not in repo_rows and fp not in expected_new:
            expected_new.append(fp)
    assert 350 < len(expected_new) < 399  # the overlap, and alpaca's own repeats, are not added again

    result = append_store(ctx, AppendPayload(**APPENDED, repo="alice/alpaca", split="train",
                                             note="more instructions"),
                          more_store, token="alice-write", endpoint=hub.url)
    assert result["added"] == len(expected_new)
    assert result["left_out_duplicates"] == 599 - len(expected_new)
    expected_counts = dict(pushed["splits"])
    expected_counts["train"] += len(expected_new)
    assert result["splits"] == expected_counts

    back = read_back("alice/alpaca")  # load_dataset checks every split's size against the card's dataset_info
    assert {name: len(rows) for name, rows in back["splits"].items()} == expected_counts
    assert [s["num_examples"] for s in back["card"]["dataset_info"]["splits"]] == list(expected_counts.values())
    assert f"{len(expected_new):,} examples added to train" in back["text"]
    assert f"| train | {expected_counts['train']:,} |" in back["text"]

    again = append_store(ctx, AppendPayload(**APPENDED, repo="alice/alpaca", split="train"),
                         more_store, token="alice-write", endpoint=hub.url)
    assert (again["added"], again["commit"]) == (0, None)  # all there already: no commit at all
    assert len(hub.repo("alice/alpaca").commits) == 3


def test_append_refuses_a_repo_that_changed_meanwhile_or_holds_other_data(tmp_path: Path, hub: HubStandIn,
                                                                          ctx: LocalContext) -> None:
    small = analyse(tmp_path, "llamafactory_pr5606_openai_training_data_blank_lines.jsonl")
    push(ctx, hub, small, "alice/raced", split="train")
    other = analyse(tmp_path, "openai_cookbook_toy_chat_fine_tuning.jsonl")
    hub.fail_next("commit", 412, "A commit has happened since. Please refresh and try again.")
    with pytest.raises(ConflictError) as raced:
        append_store(ctx, AppendPayload(**APPENDED, repo="alice/raced"), other[0], token="alice-write",
                     endpoint=hub.url)
    assert raced.value.code == "hub_repo_changed"

    table = pa.table({"text": ["good", "bad"], "label": [1, 0]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    hub.add_repo("alice/labels", private=True, files={"data/train-00000-of-00001.parquet": buffer.getvalue()})
    with pytest.raises(ConflictError) as not_chat:
        append_store(ctx, AppendPayload(**APPENDED, repo="alice/labels"), other[0], token="alice-write",
                     endpoint=hub.url)
    assert not_chat.value.code == "hub_repo_not_appendable"


def test_append_to_a_repo_without_a_card_lists_its_files(tmp_path: Path, hub: HubStandIn, ctx: LocalContext,
                                                         read_back: ReadBack) -> None:
    """A repo someone else made (Parquet in its root, no card): the new file is added to the split's list."""
    table = pa.table({"messages": [[{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]
                                   for i in range(6)]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    hub.add_repo("alice/plain", private=True, files={"train.parquet": buffer.getvalue()})
    small_store, _ = analyse(tmp_path, "llamafactory_pr5606_openai_training_data_blank_lines.jsonl")
    result = append_store(ctx, AppendPayload(**APPENDED, repo="alice/plain"), small_store,
                          token="alice-write", endpoint=hub.url)
    assert result["splits"] == {"train": 16}
    back = read_back("alice/plain")
    assert len(back["splits"]["train"]) == 16
    assert set(back["splits"]["train"][0]) == {"messages"}  # written in the repo's own columns


def test_import_of_a_pushed_repo_analyses_back_to_the_same_counts(tmp_path: Path, hub: HubStandIn,
                                                                   ctx: LocalContext) -> None:
    analysed = analyse(tmp_path, "llamafactory_glaive_toolcall_en_demo.json")
    pushed = push(ctx, hub, analysed, "alice/tools", split=[80, 20])
    out = tmp_path / "imported" / "upload.jsonl"
    result = import_dataset(ctx, ImportPayload(repo="alice/tools", split="validation", dataset_id="x" * 10), out,
                            token="alice-write", endpoint=hub.url, max_bytes=10**9)
    assert result["rows"] == pushed["splits"]["validation"]
    assert result["revision"] == pushed["commit"] and result["private"]
    report = analyze_file(out, AnalysisOptions(), tmp_path / "imported-store")
    assert (report.total_examples, report.records_unusable) == (pushed["splits"]["validation"], 0)
    assert report.file.format == "openai_messages"
    assert set(fingerprints(tmp_path / "imported-store")) <= set(fingerprints(analysed[0]))
    assert report.tool_call_share == 1.0  # tools and tool calls survived the trip


def test_import_of_third_party_data_is_analysed_as_its_own_format(tmp_path: Path, hub: HubStandIn,
                                                                   ctx: LocalContext) -> None:
    hub.add_repo("someone/alpaca-demo", files={"data/train.json": shared_file(ALPACA).read_bytes()})
    out = tmp_path / "upload.jsonl"
    result = import_dataset(ctx, ImportPayload(repo="someone/alpaca-demo", dataset_id="x" * 10), out, token=None,
                            endpoint=hub.url, max_bytes=10**9)
    assert result["rows"] == 999 and not result["private"]
    report = analyze_file(out, AnalysisOptions(), tmp_path / "store")
    assert (report.total_examples, report.file.format) == (999, "alpaca")
    assert report.duplicates.exact.count == 14  # as the file itself has (shared/data/README.md)


def test_import_errors(tmp_path: Path, hub: HubStandIn, ctx: LocalContext) -> None:
    hub.add_repo("alice/secret", private=True, files={"data/train.json": b'[{"text": "x"}]'})
    hub.add_repo("alice/open", files={"data/train.json": shared_file(ALPACA).read_bytes()})
    out = tmp_path / "upload.jsonl"

    def run(repo: str, token: str | None, max_bytes: int = 10**9, **fields: Any) -> None:
        import_dataset(ctx, ImportPayload(repo=repo, dataset_id="x" * 10, **fields), out, token=token,
                       endpoint=hub.url, max_bytes=max_bytes)

    with pytest.raises(UnauthorizedError) as private:
        run("alice/secret", None)
    assert private.value.code == "hub_token_required" and "private" in private.value.detail
    with pytest.raises(NotFoundError) as unknown:
        run("alice/no-such-dataset", "bob-write")
    assert unknown.value.code == "hub_repo_not_found"
    with pytest.raises(NotFoundError) as revision:
        run("alice/open", None, revision="0123456789abcdef0123456789abcdef01234567")
    assert revision.value.code == "hub_revision_not_found"
    with pytest.raises(InvalidInputError) as split:
        run("alice/open", None, split="test")
    assert split.value.code == "hub_dataset_unreadable" and "train" in split.value.detail
    with pytest.raises(PayloadTooLargeError):
        run("alice/open", None, max_bytes=100_000)  # the repo's files are larger than the limit
    assert not out.exists()  # nothing half-written is left as an upload
