"""The analysis on the real third-party datasets: the figures they must yield (see shared/data/README.md)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from backend.core.analysis import AnalysisOptions, Report, analyze_file, read_examples
from backend.core.errors import NotADatasetError
from backend.core.tokens import count_openai_chat_tokens, get_counter
from tests.conftest import shared_file

TOY = "openai_cookbook_toy_chat_fine_tuning.jsonl"
BLANK_LINES = "llamafactory_pr5606_openai_training_data_blank_lines.jsonl"
JSON_ARRAY = "llamafactory_pr5606_oai_same10_as_json_array.json"
FASTCHAT = "fastchat_dummy_conversation_with_system.json"
ALPACA = "llamafactory_alpaca_en_demo.json"
GLAIVE = "llamafactory_glaive_toolcall_en_demo.json"
AXOLOTL = "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"
UTF16 = "messy_axolotl_pr3685_val_sample10_utf16le_bom.jsonl"
LFS_POINTER = "messy_llamafactory_alpaca_data_en_52k_git_lfs_pointer.json"


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
    """Each real file analysed once for the whole module (stores kept beside, named by file)."""
    base = tmp_path_factory.mktemp("stores")
    out = {}
    for name in (TOY, BLANK_LINES, JSON_ARRAY, FASTCHAT, ALPACA, GLAIVE, AXOLOTL, UTF16):
        out[name] = analyze_file(shared_file(name), AnalysisOptions(), base / name)
        out[name + ":store"] = base / name  # type: ignore[assignment]
    return out


def test_cookbook_toy_file_gives_the_cookbooks_printed_figures(reports: dict[str, Any]) -> None:
    report: Report = reports[TOY]
    oa = report.openai
    assert report.total_examples == 5 and oa.applies_to == 5
    assert oa.format_errors == dict.fromkeys(oa.format_errors, 0) and len(oa.format_errors) == 7
    assert oa.records_with_errors == 0
    assert (oa.missing_system, oa.missing_user) == (1, 1)
    m, t, a = oa.messages_per_example, oa.total_tokens_per_example, oa.assistant_tokens_per_example
    assert (m.min, m.max, m.mean, m.median) == (2, 9, 3.8, 3.0)
    assert (t.min, t.max, t.mean, t.median) == (26, 8032, 1648.4, 45.0)
    assert (a.min, a.max, a.mean, a.median) == (4, 8000, 1610.2, 10.0)
    assert (oa.over_4096, oa.over_16385) == (1, 0)
    # the main figures use the same formula, so they agree, example by example
    stored = read_examples(reports[TOY + ":store"], 0, 10)
    assert [e.token_count for e in stored] == [45, 111, 26, 28, 8032]
    assert report.total_tokens == 45 + 111 + 26 + 28 + 8032
    assert report.distributions.assistant_tokens_per_example.max == 8000
    # README's independent reference: roles and content tokens 8,151
    assert report.roles == {"system": 4, "user": 7, "assistant": 8}
    assert sum(report.tokens_by_role.values()) == 8151
    assert report.tokenizer.name == "cl100k_base" and report.tokenizer.exact is True
    assert "cookbook" in report.tokenizer.counting_method
    # what the toy file does wrong, by record: 2 has no system prompt, 3 starts with the assistant
    assert [r.index for r in report.issue("assistant_first").examples] == [3]  # type: ignore[union-attr]
    assert [r.index for r in report.issue("missing_user").examples] == [3]  # type: ignore[union-attr]
    assert report.truncation.examples_over == 1 and report.truncation.examples[0].index == 4
    # the seed's GET /preview/{id}/distribution figures
    preview = report.preview
    assert preview.roles == {"system": 4, "user": 7, "assistant": 8}
    assert preview.token_distribution == {"0-100": 3, "100-500": 1, "500-1000": 0, "1000+": 1}
    assert preview.has_system_prompts is True
    assert preview.multi_turn_percentage == 20.0 and report.multi_turn_share == 0.2
    assert report.system_prompt_share == 0.8
    lines = shared_file(TOY).read_text(encoding="utf-8").splitlines()
    contents = [m["content"] for line in lines for m in json.loads(line)["messages"]]
    assert preview.avg_message_length == round(sum(map(len, contents)) / len(contents), 1)


def _without_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_lines(v) for k, v in value.items() if k != "line"}
    if isinstance(value, list):
        return [_without_lines(v) for v in value]
    return value


def test_blank_line_jsonl_and_json_array_give_the_same_report(reports: dict[str, Any]) -> None:
    jsonl: Report = reports[BLANK_LINES]
    array: Report = reports[JSON_ARRAY]
    assert jsonl.file.container == "jsonl" and array.file.container == "json_array"
    skip = {"file", "timings"}
    # line numbers exist only for the JSONL file; everything else must match exactly
    assert _without_lines(jsonl.model_dump(exclude=skip)) == _without_lines(array.model_dump(exclude=skip))
    assert jsonl.total_examples == 10
    assert jsonl.roles == {"system": 10, "user": 10, "assistant": 10}
    assert sum(jsonl.tokens_by_role.values()) == 873
    # README: content tokens per example min 74 / max 102 / median 89; each example is system + user +
    # assistant, so ours are those + 3 x (3 + 1 role token) + 3
    tokens = jsonl.distributions.tokens_per_example
    assert (tokens.min, tokens.max, tokens.median) == (74 + 15, 102 + 15, 89 + 15)


def test_fastchat_sharegpt(reports: dict[str, Any]) -> None:
    report: Report = reports[FASTCHAT]
    assert report.total_examples == 500 and report.records_unusable == 0
    assert report.file.format == "sharegpt"
    assert report.roles == {"system": 6, "user": 1000, "assistant": 1000}
    assert report.system_prompts.examples_with == 6
    assert report.issue("system_prompt_in_some").count == 6  # type: ignore[union-attr]
    # README's 19,950 content tokens include the 6 top-level system prompts, as our system messages
    assert sum(report.tokens_by_role.values()) == 19950
    assert report.openai.applies_to == 0  # not OpenAI format: the cookbook figures do not apply


def test_alpaca_duplicates(reports: dict[str, Any]) -> None:
    report: Report = reports[ALPACA]
    assert report.total_examples == 999
    assert report.file.format == "alpaca"
    assert report.duplicates.exact.count == 14
    assert report.duplicates_summary()["count"] == 14
    assert len(report.duplicates_summary()["examples"]) == 14
    # README: 161,701 content tokens = instruction + input + output counted separately. The canonical
    # user turn joins instruction and input with a blank line, so it is counted from the file here.
    records = json.loads(shared_file(ALPACA).read_text(encoding="utf-8"))
    count = get_counter("cl100k_base").count
    assert sum(count(r["instruction"]) + count(r["input"]) + count(r["output"]) for r in records) == 161701
    joined = [f"{r['instruction']}\n\n{r['input']}" if r["input"] else r["instruction"] for r in records]
    assert report.tokens_by_role["user"] == sum(count(text) for text in joined)
    assert report.tokens_by_role["assistant"] == sum(count(r["output"]) for r in records)


def test_glaive_tool_calls(reports: dict[str, Any]) -> None:
    report: Report = reports[GLAIVE]
    assert report.total_examples == 300
    assert report.duplicates.exact.count == 38
    assert report.issue("tool_call_without_result") is None  # every call has its observation
    assert report.tool_call_share > 0.5
    # README: human 746, gpt 746, function_call 211, observation 211; a function_call turn is an
    # assistant message whose call is a tool call (counted as JSON, not content)
    assert report.roles == {"user": 746, "assistant": 746 + 211, "tool": 211}
    # Per source role, independently of the analysis (README: human 21,204, gpt 78,018, function_call
    # 5,650, observation 5,574 content tokens): users and tool results count their contents; the
    # assistant is trained on its replies AND on the calls it emits, which are counted as the calls'
    # JSON text (the canonical {"id", "type", "function": {name, arguments}}), under the assistant.
    # Before, the calls counted under no role at all (assistant 78,018).
    records = json.loads(shared_file(GLAIVE).read_text(encoding="utf-8"))
    count = get_counter("cl100k_base").count
    by_source: dict[str, int] = {}
    for r in records:
        for turn in r["conversations"]:
            by_source[turn["from"]] = by_source.get(turn["from"], 0) + count(turn["value"])
    assert by_source == {"human": 21204, "gpt": 78018, "function_call": 5650, "observation": 5574}
    assert report.tokens_by_role["user"] == by_source["human"]
    assert report.tokens_by_role["tool"] == by_source["observation"]
    stored = read_examples(reports[GLAIVE + ":store"], 0, 300)
    emitted = [json.dumps(m["tool_calls"], separators=(",", ":"), ensure_ascii=False)
               for e in stored for m in e.messages if m.get("tool_calls")]
    assert len(emitted) == 211
    assert report.tokens_by_role["assistant"] == by_source["gpt"] + sum(map(count, emitted))
    assert report.tokens_by_role["assistant"] > by_source["gpt"] + by_source["function_call"]
    assert "tool calls" in report.tokenizer.counting_method


def test_axolotl_duplicate_conversations(reports: dict[str, Any]) -> None:
    report: Report = reports[AXOLOTL]
    assert report.total_examples == 1000
    exact = report.duplicates.exact
    assert (exact.count, exact.groups_count) == (940, 60)
    assert report.issue("extra_keys").count == 1000  # type: ignore[union-attr]
    assert sum(report.tokens_by_role.values()) == 244207
    # every record is system + user + assistant: tokens = content + 3 x (3 + 1 role token) + 3
    tokens = report.distributions.tokens_per_example
    assert (tokens.min, tokens.max, tokens.median) == (166 + 15, 331 + 15, 235 + 15)


def test_utf16_file(reports: dict[str, Any]) -> None:
    report: Report = reports[UTF16]
    assert report.total_examples == 10
    assert report.file.encoding.startswith("utf-16")
    assert report.file.format == "prompt_completion"
    assert sum(report.tokens_by_role.values()) == 1511


def test_git_lfs_pointer_is_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(NotADatasetError) as info:
        analyze_file(shared_file(LFS_POINTER), AnalysisOptions(), tmp_path / "store")
    assert "LFS" in info.value.detail


@pytest.mark.parametrize("name", [TOY, FASTCHAT, ALPACA, GLAIVE, AXOLOTL, UTF16])
def test_report_round_trips_through_json(reports: dict[str, Any], name: str) -> None:
    report: Report = reports[name]
    again = Report.model_validate_json(report.model_dump_json())
    assert again == report
    assert report.records_total == report.total_examples + report.records_unusable
    assert 0 <= report.quality_score <= 100
    assert (
        report.quality_score == 100 - sum(d.points for d in report.quality.deductions)
        or report.quality_score == 0
    )
    profile = report.profile()
    assert profile.num_examples == report.total_examples


@pytest.mark.parametrize("tokenizer", ["o200k_base", "qwen3"])
def test_other_tokenizers_count_with_the_same_formula(tmp_path: Path, tokenizer: str) -> None:
    """o200k_base goes through the segment cache, qwen3 through its tokenizer.json: both exact."""
    report = analyze_file(shared_file(TOY), AnalysisOptions(tokenizer=tokenizer), tmp_path / "store")
    counter = get_counter(tokenizer)
    assert report.tokenizer.name == tokenizer and report.tokenizer.exact is True
    assert report.openai.tokenizer == tokenizer
    lines = shared_file(TOY).read_text(encoding="utf-8").splitlines()
    expected = [count_openai_chat_tokens(json.loads(line)["messages"], counter) for line in lines]
    assert [e.token_count for e in read_examples(tmp_path / "store", 0, 5)] == expected
    assert report.total_tokens == sum(expected)


def test_gzip_jsonl_gives_the_same_report_as_plain(tmp_path: Path, reports: dict[str, Any]) -> None:
    packed = tmp_path / "toy.jsonl.gz"
    packed.write_bytes(gzip.compress(shared_file(TOY).read_bytes()))
    report = analyze_file(packed, AnalysisOptions(), tmp_path / "store")
    assert report.file.compression == "gzip"
    skip = {"file", "timings"}
    assert report.model_dump(exclude=skip) == reports[TOY].model_dump(exclude=skip)


def test_csv_prompt_completion(tmp_path: Path) -> None:
    source = tmp_path / "pairs.csv"
    source.write_text(
        "prompt,completion\n"
        "What is 2+2?,The answer is 4.\n"
        '"Name a colour, please",Blue is a colour.\n'
        "What is 2+2?,The answer is 4.\n",
        encoding="utf-8",
    )
    report = analyze_file(source, AnalysisOptions(), tmp_path / "store")
    assert report.file.container == "csv" and report.file.format == "prompt_completion"
    assert report.total_examples == 3 and report.records_unusable == 0
    assert report.roles == {"user": 3, "assistant": 3}
    assert report.openai.applies_to == 0
    assert [(r.index, r.line) for r in report.duplicates.exact.examples] == [(2, 4)]
    stored = read_examples(tmp_path / "store", 1, 1)[0]
    assert stored.messages[0] == {"role": "user", "content": "Name a colour, please"}
