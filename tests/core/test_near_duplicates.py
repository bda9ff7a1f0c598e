"""Near-duplicate groups as the report and the store list them: true to their threshold, and complete."""

from __future__ import annotations

import json
import random
from pathlib import Path

import orjson

from backend.core.analysis import AnalysisOptions, analyze_file, read_duplicate_groups, read_examples_by_index
from backend.core.analysis.report import NEAR_MEANING
from backend.core.dedup import NEAR_DUP_THRESHOLD, jaccard, shingle_set, stored_text
from tests.conftest import shared_file

FASTCHAT = "fastchat_dummy_conversation_with_system.json"


def true_best_similarities(store: Path, members: list[int]) -> list[float]:
    """Each member's highest Jaccard to another member, recomputed from the stored texts."""
    examples = read_examples_by_index(store, members)
    shingles = [shingle_set(stored_text({"messages": e.messages})) for e in examples]
    return [max(jaccard(a, b) for j, b in enumerate(shingles) if j != i) for i, a in enumerate(shingles)]


def test_every_grouped_record_has_a_group_mate_at_the_stated_threshold(tmp_path: Path) -> None:
    # Before, groups were chained LSH candidates: 81 of the 156 members listed for this file had no
    # group-mate at 0.72 (the lowest best match was 0.44).
    report = analyze_file(shared_file(FASTCHAT), AnalysisOptions(), tmp_path)
    near = report.duplicates.near
    page = read_duplicate_groups(tmp_path, "near", 1, 500)
    assert page.total_groups == near.groups_count > 0 and page.total_pages == 1
    assert page.total_records == sum(g.size for g in page.groups) == near.count + near.groups_count
    for group in page.groups:
        best = true_best_similarities(tmp_path, [m.index for m in group.members])
        assert min(best) >= NEAR_DUP_THRESHOLD
        # the stated figure is verified (a pair that was checked), so at most the members' true best
        assert group.similarity is not None and NEAR_DUP_THRESHOLD <= group.similarity <= min(best) + 1e-4
    assert near.group_similarity == [g.similarity for g in page.groups][: len(near.group_similarity)]
    assert near.meaning == NEAR_MEANING and "true Jaccard" in near.method
    assert near.verified_pairs <= near.candidate_pairs and near.unchecked_pairs == 0


def planted_file(path: Path, rng: random.Random) -> Path:
    """150 Alpaca answers of 60+ words, each with an edited copy (a few words replaced or dropped)
    and an unrelated filler record, shuffled."""
    raw = orjson.loads(shared_file("llamafactory_alpaca_en_demo.json").read_bytes())
    answers = [r["output"] for r in raw if len(r["output"].split()) >= 60][:150]
    vocabulary = sorted({w for a in answers for w in a.split()})
    records: list[dict[str, object]] = []
    for answer in answers:
        copy = answer.split()
        for _ in range(rng.randint(1, max(1, len(copy) // 40))):
            position = rng.randrange(len(copy))
            if rng.random() < 0.5:
                copy[position] = rng.choice(vocabulary)
            else:
                del copy[position]
        for text in (answer, " ".join(copy)):
            records.append({"messages": [{"role": "user", "content": "Tell me about it."},
                                         {"role": "assistant", "content": text}]})
        filler = rng.choice(answers[:5]) + " " + answer[:40]
        records.append({"messages": [{"role": "user", "content": "Unrelated filler."},
                                     {"role": "assistant", "content": filler}]})
    rng.shuffle(records)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_recall_on_planted_near_duplicates_is_at_least_90_percent(tmp_path: Path) -> None:
    rng = random.Random(11)
    path = planted_file(tmp_path / "planted.jsonl", rng)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    texts = [stored_text(r) for r in records]
    shingles = [shingle_set(t) for t in texts]
    by_answer: dict[str, int] = {}
    pairs: list[tuple[int, int]] = []
    for n, r in enumerate(records):  # original answers are the ones asked with "Tell me about it."
        if r["messages"][0]["content"] == "Tell me about it.":
            by_answer.setdefault(r["messages"][1]["content"][:80], n)
    for n, r in enumerate(records):
        if r["messages"][0]["content"] == "Tell me about it.":
            original = by_answer[r["messages"][1]["content"][:80]]
            if original != n and jaccard(shingles[original], shingles[n]) >= 0.8:
                pairs.append((original, n))
    assert len(pairs) >= 80  # planted pairs whose true similarity is 0.8 or more

    analyze_file(path, AnalysisOptions(), tmp_path / "store")
    page = read_duplicate_groups(tmp_path / "store", "near", 1, 500)
    group_of = {m.index: g.group for g in page.groups for m in g.members}
    found = sum(1 for a, b in pairs if a in group_of and group_of.get(a) == group_of.get(b))
    assert found / len(pairs) >= 0.9, f"recall {found}/{len(pairs)}"
    for group in page.groups:  # and nothing below the threshold joins a group
        members = [m.index for m in group.members]
        for member in members:
            assert max(jaccard(shingles[member], shingles[o]) for o in members if o != member) >= NEAR_DUP_THRESHOLD
