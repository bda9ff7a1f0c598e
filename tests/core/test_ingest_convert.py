"""to_conversation / detect_format on single records: every format and every kind of flaw."""

from __future__ import annotations

from typing import Any

import pytest

from backend.core.conversation import SourceFormat
from backend.core.ingest import IngestOptions, detect_format, to_conversation


def convert(raw: Any, options: IngestOptions | None = None) -> tuple[Any, list[str]]:
    conversation, issues = to_conversation(raw, index=3, line=7, options=options or IngestOptions())
    return conversation, [issue.code for issue in issues]


def turns(conversation: Any) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in conversation.messages]


@pytest.mark.parametrize(
    ("raw", "expected_format", "expected_turns"),
    [
        (
            {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]},
            SourceFormat.OPENAI,
            [("user", "hi"), ("assistant", "yo")],
        ),
        (
            {"conversations": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]},
            SourceFormat.OPENAI,
            [("user", "hi"), ("assistant", "yo")],
        ),
        (
            {
                "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}],
                "system": "Be nice",
            },
            SourceFormat.SHAREGPT,
            [("system", "Be nice"), ("user", "hi"), ("assistant", "yo")],
        ),
        (
            {
                "conversations": [
                    {"from": "user", "value": "a"},
                    {"from": "chatgpt", "value": "b"},
                    {"from": "human", "value": "c"},
                    {"from": "bard", "value": "d"},
                    {"from": "user", "value": "e"},
                    {"from": "bing", "value": "f"},
                ]
            },
            SourceFormat.SHAREGPT,
            [
                ("user", "a"),
                ("assistant", "b"),
                ("user", "c"),
                ("assistant", "d"),
                ("user", "e"),
                ("assistant", "f"),
            ],
        ),
        (
            {"instruction": "Translate", "input": "chat", "output": "cat"},
            SourceFormat.ALPACA,
            [("user", "Translate\n\nchat"), ("assistant", "cat")],
        ),
        (
            {
                "instruction": "Say hi",
                "input": "",
                "output": "hi",
                "system": "S",
                "history": [["q1", "a1"], ["q2", "a2"]],
            },
            SourceFormat.ALPACA,
            [
                ("system", "S"),
                ("user", "q1"),
                ("assistant", "a1"),
                ("user", "q2"),
                ("assistant", "a2"),
                ("user", "Say hi"),
                ("assistant", "hi"),
            ],
        ),
        (
            {"prompt": "2+2?", "completion": "4"},
            SourceFormat.PROMPT_COMPLETION,
            [("user", "2+2?"), ("assistant", "4")],
        ),
        (
            {
                "prompt": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}],
                "completion": [{"role": "assistant", "content": "A"}],
            },
            SourceFormat.PROMPT_COMPLETION,
            [("system", "S"), ("user", "Q"), ("assistant", "A")],
        ),
        ({"text": "Once upon a time"}, SourceFormat.TEXT, [("user", "Once upon a time")]),
        (
            {"prompt": "Q", "chosen": "good", "rejected": "bad"},
            SourceFormat.PREFERENCE,
            [("user", "Q"), ("assistant", "good")],
        ),
        (
            {
                "chosen": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "good"}],
                "rejected": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "bad"}],
            },
            SourceFormat.PREFERENCE,
            [("user", "Q"), ("assistant", "good")],
        ),
    ],
)
def test_each_format_converts_to_canonical_turns(
    raw: dict[str, Any], expected_format: SourceFormat, expected_turns: list[tuple[str, str]]
) -> None:
    assert detect_format(raw) is expected_format
    conversation, codes = convert(raw)
    assert conversation is not None
    assert conversation.format is expected_format
    assert turns(conversation) == expected_turns
    assert (conversation.index, conversation.line) == (3, 7)
    assert codes == []
    # preference data keeps its rejected answer (tests/core/test_preference.py has every layout)
    assert (conversation.preference is not None) == (expected_format is SourceFormat.PREFERENCE)


@pytest.mark.parametrize(
    ("raw", "code", "message_part"),
    [
        ([1, 2], "not_an_object", "a list, not a JSON object"),
        ("hello", "not_an_object", "a string"),
        (None, "not_an_object", "null"),
        ({"foo": 1, "bar": 2}, "unknown_format", "its keys are: foo, bar"),
        ({"messages": []}, "empty_conversation", "no messages"),
        ({"messages": "hi there"}, "missing_messages", "not a list"),
        ({"messages": None}, "missing_messages", "null"),
        ({"conversations": [3, "x"]}, "message_not_an_object", "turn 0 is a number"),
    ],
)
def test_unusable_records_say_why(raw: Any, code: str, message_part: str) -> None:
    conversation, issues = to_conversation(raw, index=4, line=12)
    assert conversation is None
    assert code in [i.code for i in issues]
    issue = next(i for i in issues if i.code == code)
    assert issue.message.startswith("Line 12: ")
    assert message_part in issue.message
    assert (issue.index, issue.line) == (4, 12)


def test_unknown_role_is_kept_as_written_and_reported() -> None:
    conversation, codes = convert(
        {"messages": [{"role": "narrator", "content": "x"}, {"role": "User", "content": "y"}]}
    )
    assert turns(conversation) == [("narrator", "x"), ("user", "y")]
    assert codes == ["unknown_role"]


def test_sharegpt_unknown_from_is_kept_and_reported() -> None:
    conversation, codes = convert({"conversations": [{"from": "critic", "value": "x"}]})
    assert turns(conversation) == [("critic", "x")]
    assert codes == ["unknown_role"]


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], "a\nb"),
        ([{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "u"}}], "look"),
        (42, "42"),
        (None, ""),
        ({"text": "inner"}, "inner"),
        ({"k": [1, 2]}, '{"k":[1,2]}'),
    ],
)
def test_non_string_content_is_flattened_and_reported(content: Any, text: str) -> None:
    conversation, issues = to_conversation(
        {"messages": [{"role": "user", "content": content}]}, index=0, line=1
    )
    assert conversation is not None
    assert conversation.messages[0].content == text
    assert [i.code for i in issues] == ["non_string_content"]
    if isinstance(content, list) and len(content) == 2 and content[1]["type"] == "image_url":
        assert "image_url" in issues[0].message  # what was left out is named


def test_missing_content_is_empty_text_with_an_issue() -> None:
    conversation, codes = convert({"messages": [{"role": "user"}, {"role": "assistant", "content": "ok"}]})
    assert turns(conversation) == [("user", ""), ("assistant", "ok")]
    assert codes == ["missing_content"]


def test_openai_tool_calls_and_tool_results_are_kept() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}
    conversation, codes = convert(
        {
            "messages": [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": "42"},
                {"role": "assistant", "content": "It is 42.", "weight": 1},
            ],
            "tools": [{"type": "function", "function": {"name": "f"}}],
        }
    )
    assert codes == []
    assistant, tool, final = conversation.messages[1:]
    assert assistant.tool_calls == (call,) and assistant.content == ""
    assert (tool.role, tool.tool_call_id, tool.content) == ("tool", "c1", "42")
    assert final.weight == 1.0
    assert conversation.tools == '[{"type":"function","function":{"name":"f"}}]'


def test_legacy_function_call_and_function_role_become_tool_call_and_tool() -> None:
    conversation, codes = convert(
        {
            "messages": [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": {"x": 1}}},
                {"role": "function", "name": "f", "content": "42"},
            ]
        }
    )
    assert codes == []
    call = conversation.messages[1].tool_calls[0]
    assert call == {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}}
    tool = conversation.messages[2]
    assert (tool.role, tool.name, tool.tool_call_id) == ("tool", "f", "call_1")


def test_sharegpt_function_call_and_observation_turns() -> None:
    conversation, codes = convert(
        {
            "conversations": [
                {"from": "human", "value": "weather?"},
                {"from": "function_call", "value": '{"name": "get_weather", "arguments": {"city": "Oslo"}}'},
                {"from": "observation", "value": '{"temp": 3}'},
                {"from": "gpt", "value": "3 degrees"},
            ],
            "tools": '[{"name": "get_weather"}]',
        }
    )
    assert codes == []
    assert [m.role for m in conversation.messages] == ["user", "assistant", "tool", "assistant"]
    call = conversation.messages[1].tool_calls[0]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city":"Oslo"}'}
    assert conversation.messages[2].tool_call_id == call["id"]
    assert conversation.tools == '[{"name": "get_weather"}]'


def test_sharegpt_function_call_that_is_not_json_is_kept_as_text() -> None:
    conversation, codes = convert(
        {"conversations": [{"from": "function_call", "value": "get_weather(Oslo)"}]}
    )
    assert turns(conversation) == [("assistant", "get_weather(Oslo)")]
    assert codes == ["invalid_tool_call"]


def test_extra_keys_are_recorded_without_an_issue() -> None:
    conversation, codes = convert({"messages": [{"role": "user", "content": "q"}], "task": "x", "score": 2})
    assert conversation.extra_keys == ("task", "score")
    assert codes == []


def test_weight_outside_zero_and_one_is_a_warning() -> None:
    conversation, issues = to_conversation(
        {"messages": [{"role": "assistant", "content": "a", "weight": 3}]}, index=0, line=None
    )
    assert conversation.messages[0].weight == 3.0
    assert [(i.code, i.severity) for i in issues] == [("invalid_weight", "warning")]
    assert issues[0].message.startswith("Record 0: ")


def test_messages_given_as_json_text_are_parsed() -> None:
    conversation, codes = convert({"messages": '[{"role": "user", "content": "q"}]'})
    assert turns(conversation) == [("user", "q")]
    assert codes == []


def test_column_mapping_renames_fields_and_keeps_the_rest_as_extra_keys() -> None:
    options = IngestOptions(column_mapping={"prompt": "question", "completion": "answer"})
    conversation, codes = convert({"question": "Q", "answer": "A", "source": "faq"}, options)
    assert conversation.format is SourceFormat.PROMPT_COMPLETION
    assert turns(conversation) == [("user", "Q"), ("assistant", "A")]
    assert conversation.extra_keys == ("source",)
    assert codes == []


def test_alpaca_without_output_reports_missing_content() -> None:
    conversation, codes = convert({"instruction": "Do it", "input": ""})
    assert turns(conversation) == [("user", "Do it"), ("assistant", "")]
    assert codes == ["missing_content"]


def test_alpaca_bad_history_entry_is_reported_and_left_out() -> None:
    conversation, codes = convert({"instruction": "i", "output": "o", "history": [["q", "a"], ["only one"]]})
    assert turns(conversation) == [("user", "q"), ("assistant", "a"), ("user", "i"), ("assistant", "o")]
    assert codes == ["invalid_history"]


@pytest.mark.parametrize(
    ("prompt", "completion"),
    [('{"name": "Ada"}', "[1, 2, 3]"), ("[citation needed] is a tag", '["a", "b"]'), ("[]", "[{}]")],
)
def test_prompt_and_completion_that_look_like_json_stay_text(prompt: str, completion: str) -> None:
    conversation, codes = convert({"prompt": prompt, "completion": completion})
    assert turns(conversation) == [("user", prompt), ("assistant", completion)]
    assert codes == []


def test_prompt_holding_chat_messages_as_json_text_is_parsed() -> None:
    conversation, codes = convert(
        {
            "prompt": '[{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}]',
            "completion": "A",
        }
    )
    assert turns(conversation) == [("system", "S"), ("user", "Q"), ("assistant", "A")]
    assert codes == []


def test_messages_text_that_is_not_json_is_reported() -> None:
    conversation, issues = to_conversation({"messages": "[{'role': 'user'}]"}, index=0, line=2)
    assert conversation is None
    assert [i.code for i in issues] == ["invalid_json", "missing_messages"]
