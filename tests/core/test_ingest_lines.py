"""Line splitting and JSON element streaming across arbitrary block boundaries."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.core.ingest.jsonstream import TextBuffer, find_list_key, iter_elements
from backend.core.ingest.lines import split_lines


def cut(data: str, cuts: list[int]) -> list[str]:
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True) if b > a]


@given(
    st.text(alphabet="ab\n\r é", max_size=200),
    st.lists(st.integers(min_value=0, max_value=200), max_size=12),
    st.integers(min_value=0, max_value=12),
)
def test_split_lines_matches_a_plain_split_whatever_the_blocks(
    text: str, cuts: list[int], limit: int
) -> None:
    lines = list(split_lines(cut(text, cuts), "\n", limit))
    pieces = text.split("\n")
    if pieces[-1] == "":
        pieces.pop()  # a final newline ends the last line; it does not start an empty one
    assert [entry.length for entry in lines] == [len(p) for p in pieces]
    assert [entry.text for entry in lines] == [p if len(p) <= limit else None for p in pieces]
    offsets = [0]
    for piece in pieces[:-1]:
        offsets.append(offsets[-1] + len(piece) + 1)
    assert [entry.offset for entry in lines] == offsets[: len(pieces)]
    assert [entry.terminated for entry in lines] == [True] * (len(pieces) - 1) + [text.endswith("\n")] * bool(
        pieces
    )


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet='ab"\\\n{}[],: é\u2028', max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=12,
)


@given(
    st.lists(JSON_VALUES, max_size=6),
    st.lists(st.integers(min_value=0, max_value=400), max_size=10),
    st.booleans(),
)
def test_array_elements_survive_any_block_boundaries(
    values: list[object], cuts: list[int], pretty: bool
) -> None:
    if pretty:
        text = json.dumps(values, indent=2, ensure_ascii=False)
    else:  # one element per line, so each element's first line is known: element k is on line k + 2
        text = "[\n" + ",\n".join(json.dumps(v, ensure_ascii=False) for v in values) + "\n]\n"
    elements = list(iter_elements(TextBuffer(iter(cut(text, cuts)))))
    assert [e.error for e in elements] == [None] * len(values)
    assert [e.value for e in elements] == values
    if not pretty:
        assert [e.first_line for e in elements] == [k + 2 for k in range(len(values))]


@given(st.lists(st.integers(min_value=0, max_value=300), max_size=10))
def test_list_key_is_found_after_other_keys(cuts: list[int]) -> None:
    text = json.dumps(
        {"meta": {"a": [1, {"b": "]"}]}, "tags": ["x", "y"], "rows": [{"text": "t"}, {"text": "u"}]}
    )
    buffer = TextBuffer(iter(cut(text, cuts)))
    assert find_list_key(buffer) == ("rows", True)
    assert [e.value for e in iter_elements(buffer)] == [{"text": "t"}, {"text": "u"}]


def test_array_numbers_parse_as_json_lines_would() -> None:
    """Array elements go through the stdlib decoder; values must equal orjson's for the same text."""
    text = '[{"n": 99999999999999999999, "m": -9223372036854775809, "k": 18446744073709551615, "f": 1.5}]'
    (element,) = iter_elements(TextBuffer(iter([text])))
    assert element.value == orjson.loads(text)[0]
    assert isinstance(element.value["n"], float) and element.value["k"] == 2**64 - 1


@pytest.mark.parametrize("text", ["[1e400]", "[NaN]", "[-Infinity]"])
def test_array_numbers_orjson_refuses_are_invalid_json(text: str) -> None:
    (element,) = iter_elements(TextBuffer(iter([text])))
    assert element.value is None and element.error is not None and element.error.startswith("not valid JSON")


def test_deeply_nested_element_is_invalid_json_not_a_crash() -> None:
    text = "[" + "[" * 100_000 + "]" * 100_000 + ', {"text": "after"}]'
    first, second = iter_elements(TextBuffer(iter([text])))
    assert first.error == "not valid JSON: the record is nested too deeply to read"
    assert second.value == {"text": "after"}


@pytest.mark.parametrize("block", [5, 4096])
def test_element_over_the_size_limit_is_skipped_block_by_block(block: int) -> None:
    big = json.dumps({"text": 'a \\ "quoted" ] } [ { , ' * 2000})
    text = f'[{{"text": "one"}}, {big}, {{"text": "two"}}]'
    elements = list(iter_elements(TextBuffer(iter(cut(text, list(range(block, len(text), block))))), 1000))
    assert [e.value for e in elements] == [{"text": "one"}, None, {"text": "two"}]
    assert (elements[1].error, elements[1].size) == (None, len(big))
