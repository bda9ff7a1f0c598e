"""Hostile files through the core ingest + analysis (inline, no executor): a clear error or an honest report.

The property, for every input: `analyze_file` either raises a CoreError subclass whose detail is a sentence,
or returns a Report in which every record is accounted for (records_total == total_examples +
records_unusable) and every unusable record carries a reason. Any other exception is a bug.
"""

from __future__ import annotations

import json
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.core.analysis import AnalysisOptions, Report, analyze_file
from backend.core.errors import CoreError
from backend.core.ingest import IngestOptions, iter_records, sniff_file
from tests.reliability import hostile

PROPERTY_SETTINGS = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def analyze_bytes(data: bytes, options: AnalysisOptions | None = None) -> Report | CoreError:
    """The outcome of analysing `data` as an uploaded file: the Report, or the CoreError raised."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload"
        path.write_bytes(data)
        try:
            return analyze_file(path, options or AnalysisOptions(), Path(folder) / "store")
        except CoreError as exc:
            return exc


def check_outcome(outcome: Report | CoreError) -> None:
    if isinstance(outcome, CoreError):
        assert outcome.detail.strip(), f"{type(outcome).__name__} without a detail"
        assert outcome.code.strip()
        return
    assert outcome.records_total == outcome.total_examples + outcome.records_unusable
    assert len(outcome.unusable) == min(outcome.records_unusable, AnalysisOptions().max_examples_listed)
    for record in outcome.unusable:
        assert record.code.strip() and record.message.strip(), record
    if outcome.records_unusable:
        issue = outcome.issue("unusable_record")
        assert issue is not None and issue.count == outcome.records_unusable
    # a read that stopped early is said once, at file level, and leaves records_total a lower bound
    assert outcome.records_total_is_lower_bound == (outcome.read_stopped is not None)
    assert (outcome.issue("read_partly") is not None) == outcome.records_total_is_lower_bound
    assert outcome.format_valid == (outcome.records_unusable == 0 and outcome.total_examples > 0
                                    and sum(outcome.openai.format_errors.values()) == 0
                                    and outcome.read_stopped is None)


@PROPERTY_SETTINGS
@given(st.binary(max_size=4000))
def test_random_bytes(data: bytes) -> None:
    check_outcome(analyze_bytes(data))


@PROPERTY_SETTINGS
@given(hostile.nested_json())
def test_arbitrary_json_values_nested_up_to_50_levels(value: object) -> None:
    check_outcome(analyze_bytes(hostile.dumps(value).encode()))


@PROPERTY_SETTINGS
@given(st.lists(hostile.nested_json(), min_size=1, max_size=8), st.booleans())
def test_arbitrary_json_records_as_lines_or_array(records: list[object], as_array: bool) -> None:
    text = hostile.dumps(records) if as_array else "\n".join(hostile.dumps(r) for r in records)
    check_outcome(analyze_bytes(text.encode()))


@PROPERTY_SETTINGS
@given(hostile.jsonl_with_garbage())
def test_jsonl_with_garbage_lines(data: bytes) -> None:
    outcome = analyze_bytes(data)
    check_outcome(outcome)


@PROPERTY_SETTINGS
@given(hostile.with_nul_bytes())
def test_nul_bytes(data: bytes) -> None:
    check_outcome(analyze_bytes(data))


@PROPERTY_SETTINGS
@given(hostile.encoded_dataset())
def test_odd_encodings_with_and_without_bom(data: bytes) -> None:
    check_outcome(analyze_bytes(data))


@PROPERTY_SETTINGS
@given(hostile.gzip_variants())
def test_gzip_of_garbage_truncated_and_corrupted(data: bytes) -> None:
    check_outcome(analyze_bytes(data))


@PROPERTY_SETTINGS
@given(hostile.ragged_csv())
def test_csv_with_ragged_rows(data: bytes) -> None:
    check_outcome(analyze_bytes(data))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "latin-1", "cp1252", "shift_jis",
                                      "utf-8-sig"])
def test_a_good_file_in_a_legacy_or_wide_encoding_is_read_whole(encoding: str) -> None:
    # Not only "no crash": every record of a readable encoding must come out usable.
    record = {"messages": [{"role": "user", "content": "café, naïve — ¿qué?"},
                           {"role": "assistant", "content": "Sí: très bien."}]}
    text = (json.dumps(record, ensure_ascii=False) + "\n") * 4
    outcome = analyze_bytes(hostile.encode_lossy(text, encoding))
    assert isinstance(outcome, Report), outcome
    assert (outcome.records_total, outcome.total_examples, outcome.records_unusable) == (4, 4, 0)


CRAFTED = hostile.crafted_files()


@pytest.mark.parametrize("name", list(CRAFTED))
def test_crafted_hostile_file(name: str) -> None:
    check_outcome(analyze_bytes(CRAFTED[name]))


def test_an_array_nested_100k_deep_is_an_unusable_record_not_a_crash() -> None:
    outcome = analyze_bytes(CRAFTED["deep_array_100k"])
    assert isinstance(outcome, Report), outcome
    assert (outcome.records_total, outcome.total_examples) == (1, 0)
    assert outcome.unusable[0].code == "invalid_json" and "nested too deeply" in outcome.unusable[0].message


def test_an_integer_over_64_bits_in_a_json_array_is_counted_like_any_number() -> None:
    outcome = analyze_bytes(CRAFTED["huge_integer_content_in_array"])
    assert isinstance(outcome, Report), outcome
    assert (outcome.records_total, outcome.total_examples, outcome.records_unusable) == (1, 1, 0)


def test_an_object_nested_100k_deep_in_jsonl_is_one_unusable_line() -> None:
    outcome = analyze_bytes(CRAFTED["deep_object_100k_in_jsonl"])
    assert isinstance(outcome, Report), outcome
    assert (outcome.records_total, outcome.total_examples, outcome.records_unusable) == (4, 3, 1)
    assert (outcome.unusable[0].line, outcome.unusable[0].code) == (1, "invalid_json")


LONG_BYTES = 24_000_000  # far over the limit below, and several times the reader's block size
SMALL_LINES = AnalysisOptions(ingest=IngestOptions(max_line_bytes=100_000))
GOOD = hostile.GOOD_LINE.encode()
LONG = b'{"messages":[{"role":"user","content":"' + b"y" * LONG_BYTES + b'"}]}'
# layout -> (file, (records_total, total_examples), where the long record is)
LONG_RECORD_LAYOUTS: dict[str, tuple[bytes, tuple[int, int], int | None]] = {
    "jsonl_middle_line": (GOOD + b"\n" + LONG + b"\n" + GOOD + b"\n", (3, 2), 2),
    "jsonl_first_line_then_two": (LONG + b"\n" + GOOD + b"\n" + GOOD + b"\n", (3, 2), 1),
    "jsonl_first_line_then_one": (LONG + b"\n" + GOOD + b"\n", (2, 1), 1),
    "json_array_element": (b"[" + GOOD + b"," + LONG + b"," + GOOD + b"]", (3, 2), None),
    "single_json_object": (LONG + b"\n", (1, 0), None),
}
def records_of(data: bytes, options: IngestOptions) -> tuple[list[tuple[int | None, list[str]]], int]:
    """(line, issue codes) of every record ingest reads from `data`, and the peak bytes it allocated."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload"
        path.write_bytes(data)
        tracemalloc.start()
        try:
            info = sniff_file(path, options)
            records = [(r.line, [i.code for i in r.issues]) for r in iter_records(path, info, None, options)]
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return records, peak


@pytest.mark.parametrize("layout", list(LONG_RECORD_LAYOUTS))
def test_a_multi_megabyte_record_over_max_line_bytes_is_reported_without_being_loaded(layout: str) -> None:
    data, (records_total, usable), line = LONG_RECORD_LAYOUTS[layout]
    records, peak = records_of(data, SMALL_LINES.ingest)
    assert len(records) == records_total
    assert sum(1 for _, codes in records if not codes) == usable
    assert [(at, codes) for at, codes in records if codes] == [(line, ["line_too_long"])]
    # Reading is by blocks of a few MiB: the peak must stay well under the record's own size.
    assert peak < LONG_BYTES // 2, f"peak {peak:,} bytes while skipping a {LONG_BYTES:,}-byte record"


FIVE_MB_LINE = b'{"messages":[{"role":"user","content":"' + b"x" * 5_000_000 + b'"}]}'


@pytest.mark.parametrize("layout", ["middle", "first_then_one"])
def test_a_5_mb_line_over_max_line_bytes_is_in_the_report_and_the_rest_analysed(layout: str) -> None:
    data = (GOOD + b"\n" + FIVE_MB_LINE + b"\n" + GOOD + b"\n" if layout == "middle"
            else FIVE_MB_LINE + b"\n" + GOOD + b"\n")
    outcome = analyze_bytes(data, SMALL_LINES)
    check_outcome(outcome)
    assert isinstance(outcome, Report), outcome
    long_line = 2 if layout == "middle" else 1
    assert [(r.line, r.code) for r in outcome.unusable] == [(long_line, "line_too_long")]
    assert "100,000" in outcome.unusable[0].message
    assert outcome.total_examples == outcome.records_total - 1 >= 1
    assert outcome.issue("unusable_record") is not None and not outcome.format_valid


def test_records_after_megabytes_of_blank_lines_are_read() -> None:
    outcome = analyze_bytes(b"\n" * (2 << 20) + (GOOD + b"\n") * 3)
    assert isinstance(outcome, Report), outcome
    assert outcome.total_examples == 3


TINY_RECORDS = b'{"text": "a"}\n' * 200_000


def test_200k_tiny_records_over_max_records_are_reported_not_dropped() -> None:
    outcome = analyze_bytes(TINY_RECORDS, AnalysisOptions(ingest=IngestOptions(max_records=1000)))
    assert isinstance(outcome, Report), outcome
    assert outcome.total_examples == 1000
    # the limit is no record of the file: a file-level "read only partly", records_total a lower bound
    assert outcome.unusable == [] and outcome.records_total == 1000
    assert outcome.records_total_is_lower_bound
    assert outcome.read_stopped is not None and outcome.read_stopped.code == "too_many_records"
    assert outcome.read_stopped.line == 1001 and "1,000" in outcome.read_stopped.message
    assert outcome.issue("read_partly") is not None
    assert not outcome.format_valid


def test_max_records_holds_for_the_whole_file_when_it_is_read_in_chunks() -> None:
    options = AnalysisOptions(chunk_bytes=256 * 1024, ingest=IngestOptions(max_records=1000))
    data = b"".join((json.dumps({"text": f"record number {n} " * 8}) + "\n").encode() for n in range(20_000))
    outcome = analyze_bytes(data, options)
    assert isinstance(outcome, Report), outcome
    assert outcome.total_examples == 1000
    assert outcome.read_stopped is not None and outcome.read_stopped.code == "too_many_records"
    assert outcome.records_total == 1000 and outcome.records_total_is_lower_bound
