"""Chunk planning over JSON Lines, and reading chunk by chunk versus in one pass."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.core.errors import CoreError, InvalidInputError
from backend.core.ingest import Chunk, iter_records, plan_chunks, sniff_file
from tests.conftest import shared_file


def write_mixed_jsonl(path: Path, count: int, seed: int) -> list[int]:
    """Records with blank lines, CRLF, bad lines and non-ASCII between them; returns each record's line."""
    rng = random.Random(seed)
    lines: list[str] = []
    record_lines: list[int] = []
    for number in range(count):
        for _ in range(rng.choice([0, 0, 0, 1, 2])):
            lines.append(rng.choice(["", "   ", "\r"]))
        record_lines.append(len(lines) + 1)
        if number % 17 == 5:
            lines.append('{"messages": [')  # broken record
        else:
            words = " ".join(
                rng.choice(["tea", "café", "東京", "data", "x" * rng.randint(1, 400)]) for _ in range(8)
            )
            record = {
                "messages": [
                    {"role": "user", "content": f"#{number} {words}"},
                    {"role": "assistant", "content": words[::-1]},
                ]
            }
            lines.append(json.dumps(record, ensure_ascii=rng.random() < 0.5) + rng.choice(["", "\r", "  "]))
    path.write_text("\n".join(lines) + rng.choice(["", "\n"]), encoding="utf-8")
    return record_lines


@pytest.mark.parametrize("target", [1, 700, 4096, 50_000, 10**9])
def test_chunks_cover_the_file_at_line_starts_and_read_like_one_pass(tmp_path: Path, target: int) -> None:
    path = tmp_path / "d.jsonl"
    record_lines = write_mixed_jsonl(path, 300, seed=target)
    data = path.read_bytes()
    info = sniff_file(path)
    assert info.chunkable
    chunks = plan_chunks(path, info, target_bytes=target)
    assert chunks[0].start == 0 and chunks[-1].end == len(data)
    assert all(a.end == b.start for a, b in zip(chunks, chunks[1:], strict=False))
    assert all(c.start < c.end for c in chunks)
    for chunk in chunks:
        assert chunk.start == 0 or data[chunk.start - 1 : chunk.start] == b"\n"
        assert chunk.first_line == data.count(b"\n", 0, chunk.start) + 1
    if target < len(data):
        assert len(chunks) > 1

    one_pass = list(iter_records(path, info))
    chunked = [r for chunk in chunks for r in iter_records(path, info, chunk)]
    assert len(one_pass) == 300
    assert [r.line for r in one_pass] == record_lines
    assert [(r.line, r.byte_offset, r.raw, r.conversation and r.conversation.messages) for r in chunked] == [
        (r.line, r.byte_offset, r.raw, r.conversation and r.conversation.messages) for r in one_pass
    ]
    assert sum(1 for r in one_pass if r.conversation is None) == len(range(5, 300, 17))
    for record in one_pass:  # a byte offset points at the record's own line
        assert record.byte_offset is not None
        assert data[record.byte_offset :].startswith(b'{"messages"')


def test_a_small_first_chunk_comes_first_and_the_rest_keep_their_size(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    write_mixed_jsonl(path, 2000, seed=7)
    data = path.read_bytes()
    info = sniff_file(path)
    chunks = plan_chunks(path, info, target_bytes=60_000, first_bytes=5_000)
    first, *rest = [c.end - c.start for c in chunks]
    assert 5_000 <= first < 5_000 + 2_000  # ends at the first line end after 5,000 bytes
    assert len(rest) >= 2 and all(size >= 60_000 for size in rest[:-1])
    assert chunks[0].start == 0 and chunks[-1].end == len(data)
    assert all(a.end == b.start for a, b in zip(chunks, chunks[1:], strict=False))
    one_pass = list(iter_records(path, info))
    chunked = [r for chunk in chunks for r in iter_records(path, info, chunk)]
    assert [(r.line, r.raw) for r in chunked] == [(r.line, r.raw) for r in one_pass]


def test_indexes_are_local_to_each_chunk(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    write_mixed_jsonl(path, 100, seed=3)
    info = sniff_file(path)
    chunks = plan_chunks(path, info, target_bytes=2000)
    for chunk in chunks:
        records = list(iter_records(path, info, chunk))
        assert [r.index for r in records] == list(range(len(records)))


def test_real_jsonl_in_chunks_matches_one_pass() -> None:
    path = shared_file("axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl")
    info = sniff_file(path)
    chunks = plan_chunks(path, info, target_bytes=256 * 1024)
    assert len(chunks) == 10
    chunked = [(r.line, r.conversation) for chunk in chunks for r in iter_records(path, info, chunk)]
    assert [line for line, _ in chunked] == list(range(1, 1001))
    assert [c.messages for _, c in chunked if c] == [
        r.conversation.messages for r in iter_records(path, info) if r.conversation
    ]


def test_utf8_bom_file_is_chunkable_and_the_bom_is_not_content(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"text": "a"}\n' * 50)
    info = sniff_file(path)
    chunks = plan_chunks(path, info, target_bytes=100)
    records = [r for chunk in chunks for r in iter_records(path, info, chunk)]
    assert len(chunks) > 1 and len(records) == 50
    assert records[0].conversation is not None and records[0].conversation.messages[0].content == "a"
    assert records[1].byte_offset == 3 + 14


def test_non_chunkable_files_are_one_chunk_and_refuse_partial_ranges(tmp_path: Path) -> None:
    path = shared_file("llamafactory_alpaca_en_demo.json")
    info = sniff_file(path)
    assert plan_chunks(path, info, target_bytes=1000) == [Chunk(0, path.stat().st_size, 1)]
    with pytest.raises(InvalidInputError, match="cannot be read in byte ranges"):
        list(iter_records(path, info, Chunk(100, 200, 5)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.binary(max_size=400),
        st.lists(
            st.sampled_from(
                [
                    '{"messages": [',
                    "]}",
                    '{"role": "user", "content": "hi"}',
                    "\n",
                    "\r\n",
                    "[",
                    ",",
                    '"text"',
                    "{",
                    "}",
                    "\xe9",
                    "\x00",
                    '{"prompt": 1, "completion": null}',
                    "<<<<<<< a",
                    '"conversations"',
                    ":",
                    "\ufeff",
                ]
            ),
            max_size=30,
        ).map(lambda parts: "".join(parts).encode("utf-8", "surrogatepass")),
    )
)
def test_no_input_crashes(tmp_path: Path, data: bytes) -> None:
    """Whatever the bytes, ingest either refuses the file with a CoreError or yields records."""
    path = tmp_path / "fuzz.bin"
    path.write_bytes(data)
    try:
        info = sniff_file(path)
    except CoreError:
        return
    for chunk in plan_chunks(path, info, target_bytes=64):
        for record in iter_records(path, info, chunk):
            assert record.conversation is not None or record.issues
