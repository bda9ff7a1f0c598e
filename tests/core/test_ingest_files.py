"""Containers, compression and encodings, on small files written here; and files that are no dataset."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from backend.core.conversation import SourceFormat
from backend.core.errors import InvalidInputError, NotADatasetError, UnsupportedEncodingError
from backend.core.ingest import IngestOptions, ParsedRecord, iter_records, plan_chunks, sniff_file
from tests.conftest import shared_file

RECORDS: list[dict[str, Any]] = [
    {
        "messages": [
            {"role": "user", "content": "Où est la gare ?"},
            {"role": "assistant", "content": "À gauche."},
        ]
    },
    {
        "messages": [
            {"role": "system", "content": "Be brief"},
            {"role": "user", "content": "2+2"},
            {"role": "assistant", "content": "4"},
        ]
    },
    {
        "messages": [
            {"role": "user", "content": "naïve café"},
            {"role": "assistant", "content": "Très bien – “yes”"},
        ]
    },
]
TURNS = [[(m["role"], m["content"]) for m in r["messages"]] for r in RECORDS]


def turns(records: list[ParsedRecord]) -> list[list[tuple[str, str]]]:
    return [[(m.role, m.content) for m in r.conversation.messages] for r in records if r.conversation]


def read(path: Path, options: IngestOptions | None = None) -> list[ParsedRecord]:
    opts = options or IngestOptions()
    return list(iter_records(path, sniff_file(path, opts), options=opts))


def jsonl_text(records: list[dict[str, Any]] = RECORDS) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def csv_text(delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["question", "answer", "source"])
    writer.writerow(["What is 2+2?", "4", "math"])
    writer.writerow(["Multi\nline?", 'Yes, "quoted"', "faq"])
    return out.getvalue()


def parquet_bytes() -> bytes:
    table = pa.table(
        {
            "messages": [r["messages"] for r in RECORDS],
            "topic": ["travel", "math", "food"],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


CONTAINERS: dict[str, tuple[str, bytes]] = {
    "jsonl": ("jsonl", jsonl_text().encode()),
    "json_array": ("json_array", json.dumps(RECORDS, indent=2, ensure_ascii=False).encode()),
    "json_object": (
        "json_object",
        json.dumps({"version": 2, "tags": ["a"], "data": RECORDS}, indent=1).encode(),
    ),
    "json_object_minified": ("json_object", json.dumps({"data": RECORDS}).encode()),
    "parquet": ("parquet", parquet_bytes()),
}


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("kind", list(CONTAINERS))
def test_every_container_plain_and_gzipped(tmp_path: Path, kind: str, compress: bool) -> None:
    container, data = CONTAINERS[kind]
    path = tmp_path / "upload.bin"  # the name says nothing: detection is by content
    path.write_bytes(gzip.compress(data) if compress else data)
    info = sniff_file(path)
    assert info.container == container
    assert info.compression == ("gzip" if compress else "none")
    assert info.chunkable == (container == "jsonl" and not compress)
    if container == "json_object":
        assert info.list_key == "data"
    records = list(iter_records(path, info))
    assert turns(records) == TURNS
    assert [r.index for r in records] == [0, 1, 2]
    assert [r.issues for r in records] == [(), (), ()]
    if container == "parquet":
        assert records[0].conversation is not None and records[0].conversation.extra_keys == ("topic",)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize(("delimiter", "container"), [(",", "csv"), ("\t", "tsv")])
def test_csv_and_tsv_with_obvious_column_names(
    tmp_path: Path, delimiter: str, container: str, compress: bool
) -> None:
    data = csv_text(delimiter).encode()
    path = tmp_path / "table.txt"
    path.write_bytes(gzip.compress(data) if compress else data)
    info = sniff_file(path)
    assert (info.container, info.compression) == (container, "gzip" if compress else "none")
    records = list(iter_records(path, info))
    assert turns(records) == [
        [("user", "What is 2+2?"), ("assistant", "4")],
        [("user", "Multi\nline?"), ("assistant", 'Yes, "quoted"')],
    ]
    assert [r.line for r in records] == [2, 3]  # the header is line 1; the quoted newline spans lines 3-4
    assert records[0].raw == {"question": "What is 2+2?", "answer": "4", "source": "math"}
    assert records[0].conversation is not None
    assert records[0].conversation.format is SourceFormat.PROMPT_COMPLETION
    assert records[0].conversation.extra_keys == ("source",)


def test_csv_with_a_column_mapping_and_messages_in_a_cell(tmp_path: Path) -> None:
    path = tmp_path / "chats.csv"
    rows = [
        ["id", "conversation_json"],
        *[[str(i), json.dumps(r["messages"])] for i, r in enumerate(RECORDS)],
    ]
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    options = IngestOptions(column_mapping={"messages": "conversation_json"})
    records = read(path, options)
    assert turns(records) == TURNS
    assert {r.conversation.extra_keys for r in records if r.conversation} == {("id",)}


def test_csv_without_mapping_and_unknown_columns_yields_unknown_format_records(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("colour,size\nred,2\nblue,3\n", encoding="utf-8")
    records = read(path)
    assert [r.conversation for r in records] == [None, None]
    assert [[i.code for i in r.issues] for r in records] == [["unknown_format"], ["unknown_format"]]
    assert records[1].issues[0].message.startswith("Line 3: ")


def test_column_mapping_naming_a_missing_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(csv_text(), encoding="utf-8")
    with pytest.raises(
        InvalidInputError, match="'prompt_text'.*its columns are: 'question', 'answer', 'source'"
    ):
        sniff_file(path, IngestOptions(column_mapping={"prompt": "prompt_text"}))
    with pytest.raises(InvalidInputError, match="unknown field"):
        sniff_file(path, IngestOptions(column_mapping={"query": "question"}))


def test_parquet_with_a_column_mapping(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"q": ["a", "b"], "r": ["A", "B"]}), path)
    records = read(path, IngestOptions(column_mapping={"prompt": "q", "completion": "r"}))
    assert turns(records) == [[("user", "a"), ("assistant", "A")], [("user", "b"), ("assistant", "B")]]
    assert {r.line for r in records} == {None}


def test_crlf_trailing_whitespace_and_blank_lines_are_tolerated(tmp_path: Path) -> None:
    lines = [json.dumps(r, ensure_ascii=False) for r in RECORDS]
    path = tmp_path / "d.jsonl"
    path.write_bytes(f"{lines[0]}  \t\r\n\r\n   \r\n{lines[1]}\r\n{lines[2]}   ".encode())
    records = read(path)
    assert turns(records) == TURNS
    assert [r.line for r in records] == [1, 4, 5]
    assert [r.byte_offset for r in records] == [
        0,
        len(lines[0].encode()) + 12,
        path.read_bytes().index(b'{"messages": [{"role": "user", "content": "na'),
    ]


@pytest.mark.parametrize(
    ("encoding", "prefix", "expected", "noted"),
    [
        ("utf-8", b"\xef\xbb\xbf", "utf-8-sig", False),
        ("utf-16-le", b"\xff\xfe", "utf-16-le", False),
        ("utf-16-be", b"\xfe\xff", "utf-16-be", False),
        ("utf-16-be", b"", "utf-16-be", True),
        ("cp1252", b"", "cp1252", True),
    ],
)
def test_encodings_are_detected_and_decoded(
    tmp_path: Path, encoding: str, prefix: bytes, expected: str, noted: bool
) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(prefix + jsonl_text().replace("\n", "\r\n").encode(encoding))
    info = sniff_file(path)
    assert info.encoding == expected
    assert (info.encoding_note is not None) == noted
    if noted:
        assert info.encoding_note is not None and "please save as UTF-8" in info.encoding_note
    assert info.chunkable == (expected == "utf-8-sig")
    records = list(iter_records(path, info))
    assert turns(records) == TURNS  # accents, dashes and curly quotes survive
    assert [r.line for r in records] == [1, 2, 3]


def test_cp1252_note_names_the_detected_encoding(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(jsonl_text().encode("cp1252"))
    assert sniff_file(path).encoding_note == "Decoded as cp1252 (detected); please save as UTF-8."


def test_utf8_with_stray_bytes_is_refused_with_the_offset(tmp_path: Path) -> None:
    good = jsonl_text().encode()
    path = tmp_path / "d.jsonl"
    path.write_bytes(good + b'{"text": "bad \xff\xfe byte"}\n')
    with pytest.raises(UnsupportedEncodingError) as caught:
        sniff_file(path)
    offset = len(good) + len(b'{"text": "bad ')
    assert caught.value.fields["offset"] == offset
    assert f"byte offset {offset}" in caught.value.detail
    assert "0xff" in caught.value.detail


def test_bad_bytes_past_the_head_become_a_line_issue(tmp_path: Path) -> None:
    filler = jsonl_text() * 4000  # > 1 MiB of good UTF-8 before the damage
    path = tmp_path / "d.jsonl"
    path.write_bytes(filler.encode() + b'{"text": "caf\xe9"}\n' + jsonl_text().encode())
    records = read(path)
    assert len(records) == 12000 + 1 + 3
    bad = records[12000]
    assert bad.conversation is None and bad.line == 12001
    assert [i.code for i in bad.issues] == ["invalid_encoding"]
    assert "0xe9" in bad.issues[0].message
    assert turns(records[-3:]) == TURNS


def test_truncated_last_line_is_an_invalid_json_record(tmp_path: Path) -> None:
    text = jsonl_text()
    path = tmp_path / "d.jsonl"
    path.write_text(text + text.splitlines()[0][:25], encoding="utf-8")
    records = read(path)
    assert len(records) == 4
    last = records[3]
    assert (last.conversation, last.line, last.index) == (None, 4, 3)
    assert [i.code for i in last.issues] == ["invalid_json"]
    assert "truncated" in last.issues[0].message


def test_non_object_and_broken_lines_are_reported_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    good = json.dumps(RECORDS[0])
    path.write_text(f'{good}\n[1, 2]\n"text"\n{{"messages": [}}\n{good}\n', encoding="utf-8")
    records = read(path)
    assert [r.line for r in records] == [1, 2, 3, 4, 5]
    assert [[i.code for i in r.issues] for r in records] == [
        [],
        ["not_an_object"],
        ["not_an_object"],
        ["invalid_json"],
        [],
    ]
    assert records[3].issues[0].message.startswith("Line 4: not valid JSON")


def test_json_array_with_a_broken_element_keeps_reading(tmp_path: Path) -> None:
    good = json.dumps(RECORDS[0])
    path = tmp_path / "d.json"
    path.write_text(f'[\n{good},\n{{"messages": [1,, 2]}},\n"x",\n{good}\n]\n', encoding="utf-8")
    records = read(path)
    assert [r.index for r in records] == [0, 1, 2, 3]
    assert [[i.code for i in r.issues] for r in records] == [[], ["invalid_json"], ["not_an_object"], []]
    assert "starting on line 3" in records[1].issues[0].message


def test_truncated_json_array_reports_the_cut_record(tmp_path: Path) -> None:
    text = json.dumps(RECORDS, indent=2, ensure_ascii=False)
    path = tmp_path / "d.json"
    path.write_text(text[: text.index("naïve")], encoding="utf-8")
    records = read(path)
    assert turns(records[:2]) == TURNS[:2]
    assert len(records) == 3
    assert records[2].conversation is None and "truncated" in records[2].issues[0].message


def test_max_records_stops_with_a_clear_issue(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(jsonl_text() * 2, encoding="utf-8")
    records = read(path, IngestOptions(max_records=4))
    assert len(records) == 5
    assert records[4].conversation is None
    assert [i.code for i in records[4].issues] == ["too_many_records"]
    assert "4 records" in records[4].issues[0].message


def test_over_long_line_is_reported_not_loaded(tmp_path: Path) -> None:
    long_record = json.dumps({"text": "x" * 5000})
    path = tmp_path / "d.jsonl"
    path.write_text(f"{json.dumps(RECORDS[0])}\n{long_record}\n{json.dumps(RECORDS[1])}\n", encoding="utf-8")
    records = read(path, IngestOptions(max_line_bytes=1000))
    assert [[i.code for i in r.issues] for r in records] == [[], ["line_too_long"], []]
    assert records[1].line == 2 and records[1].raw is None
    assert f"{len(long_record):,} characters" in records[1].issues[0].message


def test_json_object_that_is_one_record(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(RECORDS[1], indent=2), encoding="utf-8")
    info = sniff_file(path)
    assert (info.container, info.list_key) == ("json_object", None)
    assert turns(list(iter_records(path, info))) == [TURNS[1]]


def test_file_of_unknown_format_records_is_a_dataset_with_issues(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps([{"a": 1}, {"b": 2}]), encoding="utf-8")
    records = read(path)
    assert [[i.code for i in r.issues] for r in records] == [["unknown_format"], ["unknown_format"]]


def zip_bytes() -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w") as archive:
        archive.writestr("train.jsonl", jsonl_text())
    return sink.getvalue()


@pytest.mark.parametrize(
    ("content", "kind", "phrase"),
    [
        (b"", "empty", "empty"),
        (b"  \n\n \r\n", "empty", "only whitespace"),
        (gzip.compress(b""), "empty", "empty once decompressed"),
        (b"\x1f\x8b\x08\x00garbage", "damaged_gzip", "gzip"),
        (
            b"<!DOCTYPE html>\n<html><head><title>data.jsonl at main</title></head><body>...</body></html>",
            "html",
            "'data.jsonl at main'",
        ),
        (b"<html lang='en'><body>Not found</body></html>", "html", "HTML web page"),
        (
            f"{json.dumps(RECORDS[0])}\n<<<<<<< HEAD\n{json.dumps(RECORDS[1])}\n=======\n"
            f"{json.dumps(RECORDS[2])}\n>>>>>>> branch\n".encode(),
            "merge_conflict",
            "line 2",
        ),
        (
            b"It was a dark and stormy night; the rain fell in torrents.\nExcept at occasional intervals.\n",
            "plain_text",
            "plain text",
        ),
        (
            b"Hello, world. This is prose, with commas.\nAnd more, of it, here.\nShort.\n",
            "plain_text",
            "prose",
        ),
        (b"[Verse 1]\nThe rain, it falls on the plain\n[Chorus]\nAnd again\n", "plain_text", "[Verse 1]"),
        (zip_bytes(), "binary", "ZIP archive"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "binary", "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary", "PNG image"),
        (b"BZh91AY&SY", "binary", "bzip2"),
        (b"\x00\x01\x02\x03binary\x00\x00\xff", "binary", "NUL bytes"),
        (b'"just a string"', "json_scalar", "single JSON value"),
    ],
)
def test_files_that_are_not_datasets(tmp_path: Path, content: bytes, kind: str, phrase: str) -> None:
    path = tmp_path / "upload.jsonl"
    path.write_bytes(content)
    with pytest.raises(NotADatasetError) as caught:
        sniff_file(path)
    assert caught.value.fields["kind"] == kind
    assert phrase in caught.value.detail


def test_gzipped_html_page_is_still_recognised(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl.gz"
    path.write_bytes(gzip.compress(b"<!doctype html><html><title>Sign in</title></html>"))
    with pytest.raises(NotADatasetError, match="HTML"):
        sniff_file(path)


def test_truncated_gzip_reports_the_damage_as_a_record(tmp_path: Path) -> None:
    data = gzip.compress((jsonl_text() * 3000).encode())
    path = tmp_path / "d.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    records = read(path)
    assert records[-1].conversation is None
    assert [i.code for i in records[-1].issues] == ["damaged_file"]
    assert "ends before" in records[-1].issues[0].message
    assert all(r.conversation is not None for r in records[:-2])  # the last read line may be cut short


def test_gzip_reads_all_decompressed_content_in_one_chunk(tmp_path: Path) -> None:
    """The chunk of a compressed file spans its compressed size; reading must not stop there."""
    data = jsonl_text() * 2000
    path = tmp_path / "d.gz"
    path.write_bytes(gzip.compress(data.encode()))
    info = sniff_file(path)
    (chunk,) = plan_chunks(path, info)
    records = list(iter_records(path, info, chunk))
    assert len(records) == 6000
    assert records[-1].line == 6000 and records[-1].conversation is not None


def test_jsonl_whose_first_line_is_longer_than_the_sniffed_head(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"text": "w " * 700_000}) + "\n" + jsonl_text(), encoding="utf-8")
    info = sniff_file(path)
    assert info.container == "jsonl"
    records = list(iter_records(path, info))
    assert [r.conversation.format for r in records if r.conversation] == [SourceFormat.TEXT] + [
        SourceFormat.OPENAI
    ] * 3


def test_minified_json_object_longer_than_the_sniffed_head(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"meta": {"note": "n" * 1_500_000}, "train": RECORDS * 5}), encoding="utf-8")
    info = sniff_file(path)
    assert (info.container, info.list_key) == ("json_object", "train")
    assert turns(list(iter_records(path, info))) == TURNS * 5


@pytest.mark.parametrize(
    ("encoding", "container"), [("cp1252", "csv"), ("utf-16", "tsv"), ("utf-16", "json_array")]
)
def test_legacy_and_utf16_encodings_in_other_containers(
    tmp_path: Path, encoding: str, container: str
) -> None:
    path = tmp_path / "d"
    text = {
        "csv": csv_text(","),
        "tsv": csv_text("\t"),
        "json_array": json.dumps(RECORDS, ensure_ascii=False),
    }
    path.write_bytes(text[container].replace("4", "4 €").encode(encoding))
    info = sniff_file(path)
    assert info.container == container
    records = list(iter_records(path, info))
    # every record of the file, none lost: the CSV/TSV text holds 2 rows, the JSON array 3 records
    assert all(r.conversation is not None for r in records) and len(records) == (3 if container == "json_array" else 2)
    assert any("€" in m.content for r in records if r.conversation for m in r.conversation.messages)


@pytest.mark.parametrize("content", ["[]", " [ ]\n", "{}"])
def test_empty_json_container_is_not_a_dataset(tmp_path: Path, content: str) -> None:
    path = tmp_path / "d.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(NotADatasetError, match="empty JSON"):
        sniff_file(path)


def test_jsonl_of_arrays_reports_each_line_as_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('["What is 2+2?", "4"]\n["Capital of France?", "Paris"]\n', encoding="utf-8")
    info = sniff_file(path)
    assert info.container == "jsonl"
    records = list(iter_records(path, info))
    assert [(r.line, [i.code for i in r.issues]) for r in records] == [
        (1, ["not_an_object"]),
        (2, ["not_an_object"]),
    ]


def test_message_with_keys_outside_the_chat_format_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"messages": [{"role": "user", "text": "hi"}]}\n', encoding="utf-8")
    (record,) = read(path)
    assert [(i.code, i.severity) for i in record.issues] == [
        ("missing_content", "error"),
        ("unrecognized_message_key", "warning"),
    ]
    assert "text" in record.issues[1].message


def test_damaged_parquet_row_group_reports_each_of_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"text": [f"row {i}" for i in range(3000)]}), path, row_group_size=1000)
    page_offset = pq.ParquetFile(path).metadata.row_group(1).column(0).data_page_offset
    data = bytearray(path.read_bytes())
    data[page_offset : page_offset + 64] = bytes(b ^ 0x5A for b in data[page_offset : page_offset + 64])
    path.write_bytes(bytes(data))
    records = read(path)
    assert [r.index for r in records] == list(range(3000))  # every row accounted for
    assert [r.conversation is not None for r in records] == [True] * 1000 + [False] * 1000 + [True] * 1000
    assert {i.code for r in records[1000:2000] for i in r.issues} == {"damaged_file"}
    assert records[1500].issues[0].message.startswith("Record 1500: row group 1 of the Parquet file cannot")
    assert records[2999].raw == {"text": "row 2999"}


def test_parquet_with_a_cut_off_footer_is_not_a_dataset(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"text": ["a", "b"]}), path)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(NotADatasetError, match="starts like a Parquet file"):
        sniff_file(path)


def test_gzipped_jsonl_whose_first_line_is_longer_than_the_sniffed_head(tmp_path: Path) -> None:
    path = tmp_path / "d.gz"
    text = json.dumps({"text": "w " * 700_000}) + "\n" + jsonl_text()
    path.write_bytes(gzip.compress(text.encode()))
    info = sniff_file(path)
    assert (info.container, info.compression) == ("jsonl", "gzip")
    assert len([r for r in iter_records(path, info) if r.conversation is not None]) == 4


def test_jsonl_whose_first_line_is_prose_is_read_as_jsonl_with_one_bad_line(tmp_path: Path) -> None:
    # Before, the whole file was refused as "plain text (prose)".
    path = tmp_path / "d.jsonl"
    path.write_text("Exported from our labelling tool on 3 March.\n" + jsonl_text(), encoding="utf-8")
    info = sniff_file(path)
    assert info.container == "jsonl"
    records = list(iter_records(path, info))
    assert [(r.line, [i.code for i in r.issues]) for r in records] == [
        (1, ["invalid_json"]), (2, []), (3, []), (4, [])
    ]
    assert turns(records) == TURNS


def test_a_plain_text_corpus_is_still_plain_text() -> None:
    with pytest.raises(NotADatasetError) as refused:
        sniff_file(shared_file("llamafactory_wiki_demo.txt"))
    assert refused.value.fields["kind"] == "plain_text"


def test_gbk_encoded_chinese_is_detected_and_read(tmp_path: Path) -> None:
    # Before: "not valid UTF-8 and no other text encoding explains it", though it decodes as GBK
    # (GBK pairs form valid UTF-8 sequences now and then, which passed for UTF-8 damage).
    chinese = [{"messages": [{"role": "user", "content": "今天北京的天气怎么样？"},
                             {"role": "assistant", "content": "北京今天晴，气温二十五度，适合散步。"}]}] * 10
    path = tmp_path / "d.jsonl"
    path.write_bytes(jsonl_text(chinese).encode("gbk"))
    info = sniff_file(path)
    assert info.encoding in ("gbk", "gb18030") and info.encoding_note and "please save as UTF-8" in info.encoding_note
    records = list(iter_records(path, info))
    assert len(records) == 10 and records[0].conversation is not None
    assert records[0].conversation.messages[1].content == "北京今天晴，气温二十五度，适合散步。"


def test_text_no_encoding_fits_is_refused_with_the_likely_encoding_and_how_to_convert(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from backend.core.ingest import encoding as encoding_module

    chinese = [{"messages": [{"role": "user", "content": "今天北京的天气怎么样？"},
                             {"role": "assistant", "content": "北京今天晴。"}]}] * 10
    head = jsonl_text(chinese).encode("gbk") + b'{"text": "\xff\xff"}\n'  # 0xff 0xff: not GBK either
    monkeypatch.setattr(encoding_module, "choose_legacy_encoding", lambda data: "gb18030")
    with pytest.raises(UnsupportedEncodingError) as refused:
        encoding_module.detect_encoding(head, is_complete=True)
    assert "looks like gb18030" in refused.value.detail and "iconv -f gb18030 -t UTF-8" in refused.value.detail
