"""Fix-it actions on real datasets: the plan's counts, the file applied, and the new version analysed again."""

from __future__ import annotations

import doctest
import hashlib
from pathlib import Path

import orjson
import pytest

from backend.core.analysis import pii
from backend.core.analysis.pii import find_pii, mask_pii
from backend.core.dedup import conversation_fingerprint
from backend.core.errors import InvalidInputError
from backend.core.fix import FixAction, apply_fixes, plan_fixes
from backend.core.related import example_conversation, find_related
from tests.core.analysed import analyse, chat, write_jsonl

AXOLOTL = "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"
GLAIVE = "llamafactory_glaive_toolcall_en_demo.json"
A = FixAction


def read_lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def outcome(plan: object, action: FixAction) -> object:
    return next(o for o in plan.outcomes if o.action is action)  # type: ignore[attr-defined]


def test_axolotl_exact_then_near_duplicates(tmp_path: Path) -> None:
    store, report = analyse(tmp_path, AXOLOTL)
    out = tmp_path / "fixed.jsonl"
    plan = plan_fixes(store, report, {A.DROP_NEAR_DUPLICATES, A.DROP_EXACT_DUPLICATES})
    assert not out.exists()  # planning writes nothing
    assert [o.action for o in plan.outcomes] == [A.DROP_EXACT_DUPLICATES, A.DROP_NEAR_DUPLICATES]
    exact, near = plan.outcomes
    assert (exact.before, exact.removed, exact.after) == (1000, 940, 60)
    # every verified near-duplicate group of the report is a pair: one record of each goes
    assert report.duplicates.near.count == report.duplicates.near.groups_count == 11
    assert (near.before, near.removed, near.after) == (60, 11, 49)
    assert plan.examples_after == 49

    result = apply_fixes(store, report, plan.actions, out)
    assert result.plan == plan
    lines = read_lines(out)
    assert len(lines) == result.examples_written == 49
    assert result.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    related = find_related(store)
    firsts = {int(related.record_numbers[g[0]]) for g in related.exact}
    assert set(result.removed_records["drop_exact_duplicates"]) == set(range(1000)) - firsts  # the first kept
    assert len(result.removed_records["drop_near_duplicates"]) == 11
    fingerprints = [conversation_fingerprint(example_conversation(line)) for line in lines]
    assert len(set(fingerprints)) == 49

    again_store, again = analyse(tmp_path, out)
    assert again.total_examples == 49
    assert (again.duplicates.exact.count, again.duplicates.near.count) == (0, 0)


def test_near_duplicates_alone_also_remove_exact_repeats(tmp_path: Path) -> None:
    store, report = analyse(tmp_path, AXOLOTL)
    plan = plan_fixes(store, report, {A.DROP_NEAR_DUPLICATES})
    assert plan.examples_after == 49


def test_mask_pii_removes_what_the_analysis_found(tmp_path: Path) -> None:
    store, report = analyse(tmp_path, GLAIVE)
    flagged = report.issue("pii_email")
    assert flagged is not None
    result = apply_fixes(store, report, [A.MASK_PII], tmp_path / "masked.jsonl")
    masking = outcome(result.plan, A.MASK_PII)
    assert masking.changed == flagged.count == len(result.changed_records["mask_pii"])  # type: ignore[attr-defined]
    assert masking.removed == 0 and result.examples_written == 300  # type: ignore[attr-defined]
    assert masking.replacements["email"] >= flagged.count  # type: ignore[attr-defined]
    text = (tmp_path / "masked.jsonl").read_text()
    assert "[EMAIL]" in text
    _, again = analyse(tmp_path, tmp_path / "masked.jsonl")
    assert again.issue("pii_email") is None
    assert again.total_examples == 300


def test_over_length_dropped_or_flagged(tmp_path: Path) -> None:
    store, report = analyse(tmp_path, "openai_cookbook_toy_chat_fine_tuning.jsonl")
    dropped = apply_fixes(store, report, [A.DROP_OVER_LENGTH], tmp_path / "dropped.jsonl")
    assert dropped.removed_records == {"drop_over_length": [4]}  # the 8,032-token example
    assert dropped.examples_written == 4
    flagged = apply_fixes(store, report, [A.FLAG_OVER_LENGTH], tmp_path / "flagged.jsonl", max_seq_length=40)
    assert flagged.changed_records == {"flag_over_length": [0, 1, 4]}  # 45, 111 and 8,032 tokens
    assert flagged.examples_written == 5
    with pytest.raises(InvalidInputError):
        plan_fixes(store, report, {A.DROP_OVER_LENGTH, A.FLAG_OVER_LENGTH})
    with pytest.raises(InvalidInputError):
        plan_fixes(store, report, set())


def test_missing_replies_and_unusable_records(tmp_path: Path) -> None:
    source = tmp_path / "mixed.jsonl"
    write_jsonl(source, [chat("hi", "hello"), chat("no reply here", None), chat("blank reply", "   ")])
    source.write_bytes(source.read_bytes() + b'{"messages": [oops\n' + orjson.dumps(chat("last", "fine")) + b"\n")
    store, report = analyse(tmp_path, source)
    assert (report.records_total, report.records_unusable) == (5, 1)
    with pytest.raises(InvalidInputError) as refused:
        plan_fixes(store, report, {A.DROP_MISSING_ASSISTANT})
    assert refused.value.code == "unusable_records_need_dropping"
    result = apply_fixes(store, report, {A.DROP_MISSING_ASSISTANT, A.DROP_UNUSABLE}, tmp_path / "out.jsonl")
    assert result.removed_records == {"drop_unusable": [3], "drop_missing_assistant": [1, 2]}
    unusable = outcome(result.plan, A.DROP_UNUSABLE)
    assert (unusable.before, unusable.removed) == (5, 1)  # type: ignore[attr-defined]
    assert [line["messages"][0]["content"] for line in read_lines(tmp_path / "out.jsonl")] == ["hi", "last"]
    assert result.source_records == [0, 4]  # the new file's lines, traced to the original's records


def test_a_duplicate_group_keeps_its_first_surviving_member(tmp_path: Path) -> None:
    """The first copy is too long and dropped for that: the group's next copy is kept, not lost too."""
    long_one = chat("tell me a story " * 200, "ok")
    short = chat("tell me a story", "once upon a time")
    source = write_jsonl(tmp_path / "order.jsonl", [long_one, short, long_one, short, chat("other", "thing")])
    store, report = analyse(tmp_path, source, max_seq_length=100)
    result = apply_fixes(store, report, {A.DROP_EXACT_DUPLICATES, A.DROP_OVER_LENGTH}, tmp_path / "out.jsonl")
    assert result.removed_records == {"drop_over_length": [0, 2], "drop_exact_duplicates": [3]}
    assert result.examples_written == 2


def test_mask_pii_placeholders() -> None:
    assert doctest.testmod(pii).failed == 0
    text = ("write to a.b@example.com, key AKIAIOSFODNN7EXAMPLE, "
            "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----")
    masked, counts = mask_pii(text)
    assert counts == {"email": 1, "aws_access_key": 1, "private_key": 1}
    assert "abc" not in masked and find_pii(masked) == set()
