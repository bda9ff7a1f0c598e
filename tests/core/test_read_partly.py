"""A read that stops before the end of the file is one file-level issue, never one more record.

Before, each of these files counted the place where reading stopped as an unusable record (so a
file of 3 good records read to a limit of 3 "had 4 records, 1 unusable") and the score barely moved.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from backend.core.analysis import AnalysisOptions, Report, analyze_file, read_issue_records
from backend.core.ingest import IngestOptions

GOOD = {"messages": [{"role": "user", "content": "What is two plus two?"},
                     {"role": "assistant", "content": "Two plus two is four."}]}


def jsonl(records: int) -> bytes:
    return b"".join((json.dumps({**GOOD, "n": n}) + "\n").encode() for n in range(records))


def utf16_with_a_lone_surrogate() -> bytes:
    # past the first block of decoded text (1 MiB), so the records before the bad bytes are read
    text = jsonl(20_000).decode()
    return b"\xff\xfe" + text.encode("utf-16-le") + b"\x00\xd8A\x00" + jsonl(2).decode().encode("utf-16-le")


def damaged_gzip() -> bytes:
    packed = gzip.compress(jsonl(40_000))  # far more than the 1 MiB head the file type is sniffed from
    return packed[: len(packed) * 3 // 4]


CASES = {
    # name: (file bytes, options, the stop's code, records before it)
    "record_limit": (jsonl(5), AnalysisOptions(ingest=IngestOptions(max_records=3)), "too_many_records", 3),
    "undecodable_bytes": (utf16_with_a_lone_surrogate(), AnalysisOptions(), "invalid_encoding", None),
    "damaged_gzip": (damaged_gzip(), AnalysisOptions(), "damaged_file", None),
    "truncated_array": (b"[" + json.dumps(GOOD).encode() + b", " + json.dumps(GOOD).encode()[:25],
                        AnalysisOptions(), "invalid_json", 1),
    "truncated_last_line": (jsonl(2) + json.dumps(GOOD).encode()[:30], AnalysisOptions(), "invalid_json", 2),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_read_that_stops_early_is_reported_as_read_only_partly(tmp_path: Path, case: str) -> None:
    data, options, code, before = CASES[case]
    path = tmp_path / ("upload.gz" if case == "damaged_gzip" else "upload")
    path.write_bytes(data)
    report: Report = analyze_file(path, options, tmp_path / "store")
    stop = report.read_stopped
    assert stop is not None and stop.code == code and stop.message
    assert report.records_total_is_lower_bound
    if before is not None:
        assert report.records_total == before  # the records read, the stop not among them
    else:
        assert 1_000 < report.records_total < 40_000  # what came before the damage, and no more
    assert report.records_total == report.total_examples + report.records_unusable
    assert code not in {u.code for u in report.unusable}
    issue = report.issue("read_partly")
    assert issue is not None and issue.severity == "error" and issue.count == 1
    assert issue.title in report.quality_issues and "lower bound" in issue.advice
    assert [r.index for r in issue.examples] == [stop.index]
    assert {"read_partly": 20}.items() <= {d.code: d.points for d in report.quality.deductions}.items()
    assert not report.format_valid
    page = read_issue_records(tmp_path / "store", "read_partly", 1, 10)
    assert (page.count, [r.index for r in page.records]) == (1, [stop.index])


def test_a_complete_read_says_so(tmp_path: Path) -> None:
    path = tmp_path / "upload.jsonl"
    path.write_bytes(jsonl(5))
    report = analyze_file(path, AnalysisOptions(), tmp_path / "store")
    assert report.read_stopped is None and not report.records_total_is_lower_bound
    assert report.issue("read_partly") is None and report.format_valid


def test_a_missing_comma_in_a_json_array_loses_no_record(tmp_path: Path) -> None:
    # Before, the record after the missing comma was skipped as garbage and two unusable "records"
    # were reported in its place (the defect, and the closing bracket).
    path = tmp_path / "upload.json"
    good = json.dumps(GOOD)
    path.write_text(f"[{good}, {good} {good}, {good}]", encoding="utf-8")
    report = analyze_file(path, AnalysisOptions(), tmp_path / "store")
    assert (report.records_total, report.total_examples, report.records_unusable) == (4, 4, 0)
    issue = report.issue("missing_comma")
    assert issue is not None and [r.index for r in issue.examples] == [2] and issue.severity == "warning"
    assert report.read_stopped is None
