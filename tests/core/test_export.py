"""Exports: every format read back by the product's own ingest gives the same conversations, or a clear refusal."""

from __future__ import annotations

import doctest
import gzip
from pathlib import Path

import orjson
import pytest

from backend.core.analysis import Report
from backend.core.analysis.store import iter_canonical
from backend.core.dedup import conversation_fingerprint
from backend.core.errors import InvalidInputError
from backend.core.export import (
    ExportFormat,
    check_export,
    export_lines,
    export_store,
    iter_store,
    parse_format,
)
from backend.core.export import stream as stream_module
from backend.core.export.formats import to_alpaca
from backend.core.ingest import detect_format
from backend.core.related import example_conversation
from tests.core.analysed import analyse

FILES = [
    "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl",
    "llamafactory_glaive_toolcall_en_demo.json",
    "llamafactory_alpaca_en_demo.json",
    "fastchat_dummy_conversation_with_system.json",
    "openai_cookbook_toy_chat_fine_tuning.jsonl",
]
REFUSED = {  # (file, format) -> examples the format cannot carry
    ("llamafactory_glaive_toolcall_en_demo.json", ExportFormat.ALPACA): 300,  # every record has a tool schema
    ("openai_cookbook_toy_chat_fine_tuning.jsonl", ExportFormat.ALPACA): 1,  # an example starting with the assistant
}


@pytest.fixture(scope="module")
def analysed_once(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Report]]:
    """Each source analysed once for all formats."""
    base = tmp_path_factory.mktemp("sources")
    return {name: analyse(base, name) for name in FILES}


def fingerprints(store: Path) -> list[int]:
    return [conversation_fingerprint(example_conversation(example)) for _, example in iter_store(store)]


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("fmt", list(ExportFormat))
def test_export_reads_back_as_the_same_conversations(
    tmp_path: Path, analysed_once: dict[str, tuple[Path, Report]], name: str, fmt: ExportFormat
) -> None:
    store, report = analysed_once[name]
    refused = REFUSED.get((name, fmt))
    if refused is not None:
        with pytest.raises(InvalidInputError) as error:
            check_export(iter_store(store), fmt)
        assert error.value.code == "format_cannot_carry"
        assert error.value.fields["count"] == refused
        with pytest.raises(InvalidInputError):  # the stream itself refuses too: nothing is dropped silently
            b"".join(export_store(store, fmt))
        return
    check_export(iter_store(store), fmt)
    out = tmp_path / f"export.{fmt.value}.jsonl.gz"
    out.write_bytes(b"".join(export_store(store, fmt, gzip=True)))
    lines = gzip.decompress(out.read_bytes()).splitlines()
    assert len(lines) == report.total_examples
    expected_format = {"canonical": "openai_messages", "openai": "openai_messages"}.get(fmt.value, fmt.value)
    assert {detect_format(orjson.loads(line)).value for line in lines} == {expected_format}
    again_store, again = analyse(tmp_path, out)
    assert (again.total_examples, again.records_unusable) == (report.total_examples, 0)
    assert fingerprints(again_store) == fingerprints(store)
    if fmt is ExportFormat.CANONICAL:
        assert list(iter_canonical(again_store)) == list(iter_canonical(store))


def test_openai_export_writes_tools_as_a_list(tmp_path: Path) -> None:
    store, _ = analyse(tmp_path, "llamafactory_glaive_toolcall_en_demo.json")
    first = orjson.loads(next(export_lines(iter_store(store), ExportFormat.OPENAI)).split(b"\n")[0])
    assert isinstance(first["tools"], list) and first["tools"][0]["type"] == "function"
    calls = [m for m in first["messages"] if m.get("tool_calls")]
    assert calls and all(m["content"] is None for m in calls)


def test_export_streams_in_blocks(tmp_path: Path) -> None:
    store, _ = analyse(tmp_path, FILES[0])
    blocks = list(export_store(store, ExportFormat.CANONICAL))
    assert len(blocks) > 5
    assert max(len(b) for b in blocks) < stream_module.BLOCK_BYTES + 4096
    plain = b"".join(blocks)
    assert gzip.decompress(b"".join(export_store(store, ExportFormat.CANONICAL, gzip=True))) == plain


def test_alpaca_carries_history_and_system() -> None:
    example = {"messages": [
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"},
        {"role": "assistant", "content": "d"}]}
    assert to_alpaca(example) == {"instruction": "c", "input": "", "output": "d", "system": "be brief",
                                  "history": [["a", "b"]]}


def test_unknown_format_is_refused() -> None:
    with pytest.raises(InvalidInputError) as error:
        parse_format("csv")
    assert error.value.fields["choices"] == ["canonical", "openai", "sharegpt", "alpaca"]
    assert doctest.testmod(stream_module).failed == 0
