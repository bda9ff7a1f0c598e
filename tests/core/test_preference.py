"""Preference data (DPO pairs, KTO labels) is recognised, reported as such, stored for a preference
trainer, and never planned as SFT.

Before: LLaMA-Factory's conversations + chosen + rejected was read as plain ShareGPT chat (prompt
only, its answers dropped as "extra keys"), the KTO file was chat with 150 bad answers to learn,
and LLaMA-Factory's v1 chosen_messages/rejected_messages was "format unknown".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from backend.core.analysis import AnalysisOptions, analyze_file, iter_canonical
from backend.core.analysis.preference import check_sft_data, check_sft_examples
from backend.core.conversation import SourceFormat
from backend.core.errors import InvalidInputError
from backend.core.ingest import detect_format, to_conversation
from tests.conftest import shared_file

KTO = "llamafactory_kto_en_demo.json"
V1 = "llamafactory_v1_dpo_demo.jsonl"
SYSTEM = {"role": "system", "content": "Be brief."}
USER = {"role": "user", "content": "Name a primary colour."}
GOOD = {"role": "assistant", "content": "Red."}
BAD = {"role": "assistant", "content": "Purple, obviously."}

LAYOUTS: list[tuple[dict[str, Any], SourceFormat, dict[str, Any]]] = [
    (  # LLaMA-Factory's ShareGPT preference layout (its dpo_en_demo.json)
        {"conversations": [{"from": "human", "value": USER["content"]}],
         "chosen": {"from": "gpt", "value": GOOD["content"]}, "rejected": {"from": "gpt", "value": BAD["content"]}},
        SourceFormat.SHAREGPT_PREFERENCE,
        {"messages": [USER], "chosen": [GOOD], "rejected": [BAD]},
    ),
    (  # TRL, explicit prompt
        {"prompt": [SYSTEM, USER], "chosen": [GOOD], "rejected": [BAD]},
        SourceFormat.PREFERENCE,
        {"messages": [SYSTEM, USER], "chosen": [GOOD], "rejected": [BAD]},
    ),
    (  # TRL, implicit prompt: two whole conversations sharing it
        {"chosen": [SYSTEM, USER, GOOD], "rejected": [SYSTEM, USER, BAD]},
        SourceFormat.PREFERENCE,
        {"messages": [SYSTEM, USER], "chosen": [GOOD], "rejected": [BAD]},
    ),
    (  # TRL unpaired
        {"prompt": USER["content"], "completion": BAD["content"], "label": False},
        SourceFormat.TRL_UNPAIRED,
        {"messages": [USER], "completion": [BAD], "label": False},
    ),
    (  # LLaMA-Factory KTO
        {"messages": [USER, GOOD], "label": True},
        SourceFormat.KTO,
        {"messages": [USER], "completion": [GOOD], "label": True},
    ),
    (  # LLaMA-Factory v1, typed content
        {"chosen_messages": [{"role": "user", "content": [{"type": "text", "value": USER["content"]}]},
                             {"role": "assistant", "content": [{"type": "text", "value": GOOD["content"]}]}],
         "rejected_messages": [{"role": "user", "content": [{"type": "text", "value": USER["content"]}]},
                               {"role": "assistant", "content": [{"type": "text", "value": BAD["content"]}]}]},
        SourceFormat.LLAMAFACTORY_V1,
        {"messages": [USER], "chosen": [GOOD], "rejected": [BAD]},
    ),
]


@pytest.mark.parametrize(("raw", "layout", "stored"), LAYOUTS)
def test_each_preference_layout_becomes_the_canonical_preference_example(
    raw: dict[str, Any], layout: SourceFormat, stored: dict[str, Any]
) -> None:
    assert detect_format(raw) is layout
    conversation, issues = to_conversation(raw, index=0, line=1)
    assert conversation is not None and conversation.preference is not None
    assert [i.code for i in issues] == []
    assert conversation.to_json() == stored
    # what the per-example checks read: the prompt followed by the preferred answer
    answer = stored.get("chosen", stored.get("completion"))
    assert [m.content for m in conversation.messages] == [m["content"] for m in stored["messages"] + answer]


def test_the_kto_file_is_labelled_preference_data(tmp_path: Path) -> None:
    report = analyze_file(shared_file(KTO), AnalysisOptions(), tmp_path)
    assert report.file.format == "kto_messages_label" and report.total_examples == 300
    assert report.preference is not None
    assert report.preference.model_dump(exclude={"representation"}) == {
        "kind": "unpaired", "examples": 300, "source_format": "kto_messages_label",
        "labels": {"true": 150, "false": 150},
    }
    issue = report.issue("preference_data")
    assert issue is not None and issue.count == 300 and "KTO" in issue.advice
    stored = list(iter_canonical(tmp_path))
    assert [s["label"] for s in stored].count(False) == 150
    raw = orjson.loads(shared_file(KTO).read_bytes())
    assert all(s["messages"] + s["completion"] == [{"role": m["role"], "content": m["content"]} for m in r["messages"]]
               for s, r in zip(stored, raw, strict=True))
    assert all(s["messages"][-1]["role"] == "user" and s["completion"][0]["role"] == "assistant" for s in stored)


def test_the_v1_file_is_ten_pairs_that_share_their_prompt(tmp_path: Path) -> None:
    report = analyze_file(shared_file(V1), AnalysisOptions(), tmp_path)
    assert report.file.format == "llamafactory_v1" and report.records_unusable == 0
    assert report.preference is not None
    assert (report.preference.kind, report.preference.examples, report.preference.labels) == ("paired", 10, None)
    lines = [json.loads(line) for line in shared_file(V1).read_text(encoding="utf-8").splitlines()]
    for stored, raw in zip(iter_canonical(tmp_path), lines, strict=True):
        assert [m["role"] for m in stored["messages"]] == ["system", "user"]
        assert stored["chosen"][0]["content"] == raw["chosen_messages"][-1]["content"][0]["value"]
        assert stored["rejected"][0]["content"] == raw["rejected_messages"][-1]["content"][0]["value"]
        # loss_weight 0 on the prompt turns, 1 on the answers: kept as the canonical weight
        assert [m["weight"] for m in stored["messages"]] == [0, 0] and stored["chosen"][0]["weight"] == 1


def test_a_sharegpt_preference_file_keeps_its_rejected_answers(tmp_path: Path) -> None:
    path = tmp_path / "dpo.json"
    path.write_text(json.dumps([LAYOUTS[0][0]] * 3), encoding="utf-8")
    report = analyze_file(path, AnalysisOptions(), tmp_path / "store")
    assert report.preference is not None and report.preference.source_format == "sharegpt_chosen_rejected"
    assert report.issue("extra_keys") is None  # chosen and rejected belong to the format
    assert report.issue("missing_assistant") is None  # the chosen answer is the example's reply
    assert [s["rejected"] for s in iter_canonical(tmp_path / "store")] == [[BAD]] * 3


def test_chat_data_has_no_preference_section(tmp_path: Path) -> None:
    report = analyze_file(shared_file("openai_cookbook_toy_chat_fine_tuning.jsonl"), AnalysisOptions(), tmp_path)
    assert report.preference is None and report.issue("preference_data") is None
    check_sft_data(report.preference)
    assert len(list(check_sft_examples(iter_canonical(tmp_path)))) == 5


@pytest.mark.parametrize("name", [KTO, V1])
def test_sft_planning_refuses_preference_data_and_says_what_to_do(tmp_path: Path, name: str) -> None:
    report = analyze_file(shared_file(name), AnalysisOptions(), tmp_path)
    with pytest.raises(InvalidInputError) as refused:
        check_sft_data(report.preference)
    assert refused.value.code == "preference_data"
    assert ("KTO" if name == KTO else "DPO") in refused.value.detail
    with pytest.raises(InvalidInputError, match="preference data"):
        list(check_sft_examples(iter_canonical(tmp_path)))
