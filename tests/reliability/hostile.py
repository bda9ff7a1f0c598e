"""Hostile inputs shared by the ingest and the upload tests: hypothesis strategies and crafted files.

Everything here builds bytes a person's tool might really have written (or a broken download, or an
attacker): random bytes, deep JSON, garbage lines, NUL bytes, legacy and wide encodings with and without
a BOM, gzip of garbage, truncated gzip, ragged CSV.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from hypothesis import strategies as st

# A valid OpenAI-format record: the "good" lines hostile files are built around.
GOOD_RECORD: dict[str, Any] = {"messages": [
    {"role": "system", "content": "You answer briefly."},
    {"role": "user", "content": "Où est la gare ? 東京駅はどこですか"},
    {"role": "assistant", "content": "Tout droit, puis à gauche."},
]}
GOOD_LINE = json.dumps(GOOD_RECORD, ensure_ascii=False)

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be",
             "latin-1", "cp1252", "shift_jis", "euc-jp", "gb18030", "koi8-r")


def deep_json(depth: int, opener: str = "[", closer: str = "]") -> bytes:
    """A JSON value nested `depth` levels deep, e.g. [[[...]]] — crafted, not built recursively."""
    return (opener * depth + closer * depth).encode()


def deep_object_line(depth: int) -> bytes:
    return ('{"a":' * depth + "1" + "}" * depth).encode()


def encode_lossy(text: str, encoding: str) -> bytes:
    """`text` in `encoding`, characters it cannot hold replaced (as an editor saving in it would)."""
    return text.encode(encoding, errors="replace")


# --- hypothesis strategies -------------------------------------------------------------------------------

# Integers of any size: JSON has no 64-bit limit, and the JSON array and JSON Lines readers must agree.
json_scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                | st.text(max_size=40))


def json_values(max_leaves: int = 30) -> st.SearchStrategy[Any]:
    """Arbitrary JSON values; the recursion lets hypothesis nest them up to ~50 levels deep."""
    return st.recursive(
        json_scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
            st.sampled_from(["messages", "role", "content", "conversations", "from", "value", "instruction",
                             "output", "prompt", "completion", "text", "tools", "x"]) | st.text(max_size=8),
            inner, max_size=4),
        max_leaves=max_leaves,
    )


@st.composite
def nested_json(draw: st.DrawFn) -> Any:
    """A JSON value wrapped in up to 50 levels of lists and objects."""
    value = draw(json_values(10))
    for wrap_in_list in draw(st.lists(st.booleans(), max_size=50)):
        value = [value] if wrap_in_list else {"messages": value}
    return value


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@st.composite
def jsonl_with_garbage(draw: st.DrawFn) -> bytes:
    """JSON Lines where good records, arbitrary JSON values and raw garbage lines are interleaved."""
    lines = draw(st.lists(st.one_of(
        st.just(GOOD_LINE.encode()),
        json_values().map(lambda v: dumps(v).encode()),
        st.binary(max_size=60).filter(lambda b: b"\n" not in b),
        st.text(max_size=60).map(lambda t: t.replace("\n", " ").encode("utf-8", "surrogatepass")),
        st.just(GOOD_LINE.encode()[:25]),  # a record cut in the middle
    ), min_size=1, max_size=25))
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    return newline.join(lines) + draw(st.sampled_from([b"", newline]))


@st.composite
def encoded_dataset(draw: st.DrawFn) -> bytes:
    """A small valid-ish JSONL or JSON-array dataset saved in a random encoding, with or without a BOM."""
    records = draw(st.lists(st.one_of(st.just(GOOD_RECORD), json_values(8)), min_size=1, max_size=6))
    as_array = draw(st.booleans())
    text = dumps(records) if as_array else "\n".join(dumps(r) for r in records) + "\n"
    data = encode_lossy(text, draw(st.sampled_from(ENCODINGS)))
    if draw(st.booleans()) and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        data = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00"])) + data
    return data


@st.composite
def with_nul_bytes(draw: st.DrawFn) -> bytes:
    """A good JSONL file with NUL bytes put somewhere (inside a string, between lines, at the end)."""
    data = bytearray(((GOOD_LINE + "\n") * draw(st.integers(1, 5))).encode())
    for _ in range(draw(st.integers(1, 4))):
        data.insert(draw(st.integers(0, len(data))), 0)
    return bytes(data)


@st.composite
def gzip_variants(draw: st.DrawFn) -> bytes:
    """gzip of garbage, of a good file cut short, or of a good file with flipped bytes."""
    kind = draw(st.sampled_from(["garbage", "truncated", "corrupted"]))
    if kind == "garbage":
        return gzip.compress(draw(st.binary(min_size=1, max_size=2000)))
    packed = gzip.compress(((GOOD_LINE + "\n") * draw(st.integers(1, 200))).encode())
    if kind == "truncated":
        return packed[:draw(st.integers(2, max(2, len(packed) - 1)))]
    corrupt = bytearray(packed)
    at = draw(st.integers(10, len(corrupt) - 1))
    corrupt[at] ^= draw(st.integers(1, 255))
    return bytes(corrupt)


@st.composite
def ragged_csv(draw: st.DrawFn) -> bytes:
    """CSV or TSV with a header and rows of the wrong width, stray quotes and empty cells."""
    sep = draw(st.sampled_from([",", "\t", ";"]))
    header = draw(st.sampled_from([["prompt", "completion"], ["instruction", "input", "output"],
                                   ["question", "answer"], ["messages"]]))
    cell = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00\n\r"),
                   max_size=20) | st.sampled_from(['"', '"unterminated', '""', "a,b", "x\ty"])
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=len(header) + 2), max_size=15))
    lines = [sep.join(header)] + [sep.join(row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def hostile_files() -> st.SearchStrategy[bytes]:
    """Any of the kinds above, and plain random bytes, and JSON values (nested) as whole files."""
    return st.one_of(
        st.binary(max_size=3000),
        nested_json().map(lambda v: dumps(v).encode()),
        jsonl_with_garbage(),
        encoded_dataset(),
        with_nul_bytes(),
        gzip_variants(),
        ragged_csv(),
    )


# --- crafted files, each named for its test id ---------------------------------------------------------

def crafted_files() -> dict[str, bytes]:
    good = (GOOD_LINE + "\n").encode()
    return {
        "empty_array": b"[]",
        "deep_array_100k": deep_json(100_000),
        "deep_object_100k_in_jsonl": deep_object_line(100_000) + b"\n" + good * 3,
        "deep_array_lines": (deep_json(100_000) + b"\n") * 2,
        "deep_messages_5k": b'{"messages":' + deep_json(5000) + b"}\n" + good,
        "nul_only": b"\x00" * 100,
        "escaped_nul_in_content": good.replace(b"gare", b"ga\\u0000re"),
        "lone_surrogate_escape": good.replace(b"gare", b"\\ud800"),
        "huge_integer": b'{"messages": [], "n": ' + b"9" * 10_000 + b"}\n" + good,
        "huge_integer_content_in_array": b'[{"messages": [{"role": "user", "content": 99999999999999999999}, '
                                         b'{"role": "assistant", "content": "x"}]}]',
        "truncated_array": b"[" + good.rstrip() * 1 + b"," + good[:30],
        "utf32_bom": encode_lossy(good.decode() * 3, "utf-32"),
        "utf16_odd_length": b"\xff\xfe" + encode_lossy(good.decode(), "utf-16-le")[:-1],
        "bom_only": b"\xef\xbb\xbf",
        "cr_only_newlines": good.rstrip() + b"\r" + good.rstrip() + b"\r",
        "zip_container": b"PK\x03\x04" + b"\x00" * 200,
        "html_page": b"<!doctype html><html><body>Not Found</body></html>",
        "git_lfs_pointer": (b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64
                            + b"\nsize 1\n"),
        "parquet_magic_garbage": b"PAR1" + bytes(range(200)) + b"PAR1",
        "gzip_header_only": b"\x1f\x8b",
        "gzip_of_gzip_garbage": gzip.compress(gzip.compress(b"\x00\xff" * 100)),
    }
