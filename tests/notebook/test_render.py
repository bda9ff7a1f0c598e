"""The rendered notebook: valid nbformat and Python, current TRL API, Colab rules, every fixture family."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import nbformat
import pytest

from backend.core.catalog import load_catalog
from backend.core.notebook import (
    DataSource,
    TrainingConfig,
    notebook_bytes,
    plan_notebook,
    render_notebook,
    with_parameters,
)
from tests.conftest import shared_file
from tests.notebook.canonical import read_canonical
from tests.notebook.cells import (
    call_name,
    calls,
    cell_with,
    code_cells,
    keywords,
    parse_cells,
    run_definitions,
)

FIXTURES = {
    "openai": "openai_cookbook_toy_chat_fine_tuning.jsonl",
    "openai_blank_lines": "llamafactory_pr5606_openai_training_data_blank_lines.jsonl",
    "sharegpt_system": "fastchat_dummy_conversation_with_system.json",
    "sharegpt_tools": "llamafactory_glaive_toolcall_en_demo.json",
    "alpaca": "llamafactory_alpaca_en_demo.json",
}


def examples_of(family: str) -> list[dict[str, Any]]:
    return read_canonical(shared_file(FIXTURES[family]))


def render_for(model_id: str, examples: list[dict[str, Any]], **plan_options: Any) -> nbformat.NotebookNode:
    entry = load_catalog().get(model_id)
    config = plan_options.pop("config", TrainingConfig())
    return render_notebook(plan_notebook(entry, examples, None, config, **plan_options))


@pytest.mark.parametrize("family", sorted(FIXTURES))
def test_each_fixture_family_gives_a_valid_notebook_that_round_trips(family: str) -> None:
    examples = examples_of(family)
    nb = render_for("qwen2.5-0.5b-instruct", examples, dataset_name=FIXTURES[family])
    raw = notebook_bytes(nb)
    reread = nbformat.reads(raw.decode("utf-8"), as_version=4)
    nbformat.validate(reread)
    parse_cells(reread)  # every code cell is valid Python once its cell magic is set aside
    namespace: dict[str, Any] = {}
    exec(cell_with(reread, "DATASET_PAYLOAD ="), namespace)  # noqa: S102  # the data cell alone
    assert namespace["load_embedded_examples"]() == examples
    assert namespace["DATASET_EXAMPLES"] == len(examples)


def test_notebook_asks_colab_for_a_t4_and_tags_the_parameters_cell() -> None:
    nb = render_for("smollm2-135m-instruct", examples_of("openai"))
    assert nb.metadata["accelerator"] == "GPU"
    assert nb.metadata["colab"]["gpuType"] == "T4"
    tagged = [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1 and "LORA_RANK = 16" in tagged[0].source
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# Fine-tune SmolLM2 135M")


def test_every_cell_magic_is_on_its_cell_first_line() -> None:
    nb = render_for("llama-3.2-1b-instruct", examples_of("alpaca"))
    install = cell_with(nb, "GPU_PACKAGES =")
    assert install.splitlines()[0] == "%%capture install_log"
    for source in code_cells(nb):
        for number, line in enumerate(source.splitlines()):
            if line.lstrip().startswith("%%"):
                assert number == 0, f"cell magic on line {number + 1}: {line!r}"


def test_trainer_uses_the_current_trl_api_and_never_forces_bf16() -> None:
    nb = render_for("gemma-3-1b-it", examples_of("openai"))
    by_name = {call_name(call): call for call in calls(nb)}
    trainer_kwargs = keywords(by_name["SFTTrainer"])
    config_kwargs = keywords(by_name["SFTConfig"])
    assert "processing_class" in trainer_kwargs and "tokenizer" not in trainer_kwargs
    assert "max_length" in config_kwargs and "max_seq_length" not in config_kwargs
    assert not {"evaluation_strategy", "no_cuda", "warmup_ratio"} & config_kwargs
    bf16 = next(kw for kw in by_name["SFTConfig"].keywords if kw.arg == "bf16")
    assert not isinstance(bf16.value, ast_constant_type()), "bf16 must depend on the GPU, never be a constant"
    assert "FastModel.from_pretrained" in by_name  # Gemma 3 loads with FastModel


def ast_constant_type() -> type:
    import ast

    return ast.Constant


def test_parameters_come_from_the_catalogue_and_the_request() -> None:
    config = TrainingConfig(lora_rank=32, learning_rate=1e-4, num_epochs=1, max_steps=60, seed=7)
    nb = render_for("phi-4-mini-instruct", examples_of("openai"), config=config)
    source = cell_with(nb, "LORA_RANK =")
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # noqa: S102  # the parameters cell is plain assignments
    entry = load_catalog().get("phi-4-mini-instruct")
    assert namespace["LORA_RANK"] == 32 and namespace["LORA_ALPHA"] == entry.defaults.lora_alpha
    assert namespace["LEARNING_RATE"] == 1e-4 and namespace["MAX_STEPS"] == 60 and namespace["SEED"] == 7
    assert namespace["MODEL_NAME"] == entry.unsloth_id and namespace["FALLBACK_MODEL_NAME"] == entry.hf_id
    assert namespace["RESPONSE_PART"] == entry.response_marker
    assert namespace["LORA_TARGET_MODULES"] == list(entry.lora_target_modules)
    assert (
        namespace["SAVE_LORA"] is True
        and namespace["SAVE_GGUF"] is False
        and namespace["PUSH_TO_HUB"] is False
    )


HOSTILE = [
    "triple \"\"\" quotes and ''' too, a backslash \\ and \\n",
    "{{ config.__class__ }} {% for x in y %}{% endfor %} {#",
    "</script><script>alert(1)</script> <img src=x onerror=alert(1)>",
    "NUL here:\x00 and a unicode line separator\u2028done",
    "%%capture\n%%bash\nrm -rf /\n!pip install evil",
    "\"]}\n'''\n\"\"\"\nimport os; os.system('echo pwned')\n#",
]


def test_hostile_content_neither_breaks_nor_injects_into_the_notebook() -> None:
    examples = [
        {
            "messages": [
                {"role": "system", "content": text},
                {"role": "user", "content": text},
                {"role": "assistant", "content": text},
            ]
        }
        for text in HOSTILE
    ]
    nb = render_for("qwen2.5-0.5b-instruct", examples, dataset_name=HOSTILE[2] + HOSTILE[1])
    raw = notebook_bytes(nb).decode("utf-8")
    reread = nbformat.reads(raw, as_version=4)
    nbformat.validate(reread)
    trees = parse_cells(reread)
    namespace: dict[str, Any] = {}
    exec(cell_with(reread, "DATASET_PAYLOAD ="), namespace)  # noqa: S102
    assert namespace["load_embedded_examples"]() == examples  # the data comes back byte for byte
    for text in ("pwned", "alert(1)", "rm -rf", "config.__class__"):
        assert text not in "".join(code_cells(reread)), f"{text!r} leaked into code"
    assert not any(
        isinstance(node, __import__("ast").Call) and getattr(node.func, "attr", "") == "system"
        for tree in trees
        for node in __import__("ast").walk(tree)
    )
    title = reread.cells[0].source
    assert "<script>" not in title and "<img" not in title
    assert not re.search(r"(?<!\\)[{}]", title), "braces in markdown are escaped"
    assert "&lt;/script&gt;" in title


def test_a_template_without_system_role_gets_the_system_prompt_in_the_first_user_turn() -> None:
    nb = render_for("gemma-2-2b-it", examples_of("openai"))
    assert "no system role" in nb.cells[0].source
    prepare = cell_with(nb, "def to_chat_messages")
    namespace = run_definitions(
        prepare, {"SUPPORTS_SYSTEM_ROLE": False, "STRICT_ALTERNATION": True, "json": json}
    )
    counts: Counter[str] = Counter()
    example = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "assistant", "content": "Hello there."},
            {"role": "user", "content": "Hi"},
            {"role": "user", "content": "Are you there?"},
            {"role": "assistant", "content": "Yes."},
            {"role": "user", "content": "Thanks"},
        ]
    }
    messages, trained = namespace["to_chat_messages"](
        example, counts, supports_system_role=False, strict_alternation=True
    )
    assert trained == [True]
    assert messages == [
        {"role": "user", "content": "Be brief.\n\nHi\n\nAre you there?"},
        {"role": "assistant", "content": "Yes."},
    ]
    assert counts == Counter(
        {
            "system merged into first user turn": 1,
            "same-role turns merged": 1,
            "leading assistant turns dropped": 1,
            "trailing non-assistant turns dropped": 1,
        }
    )


def test_tool_calls_and_results_become_text_every_template_renders() -> None:
    examples = examples_of("sharegpt_tools")
    with_tools = next(
        e for e in examples if e.get("tools") and any(m["role"] == "tool" for m in e["messages"])
    )
    nb = render_for("qwen2.5-1.5b-instruct", [with_tools])
    assert "examples involve tools" in nb.cells[0].source
    namespace = run_definitions(
        cell_with(nb, "def to_chat_messages"),
        {"SUPPORTS_SYSTEM_ROLE": True, "STRICT_ALTERNATION": False, "json": json},
    )
    messages, _ = namespace["to_chat_messages"](
        with_tools, Counter(), supports_system_role=True, strict_alternation=False
    )
    assert messages[0]["role"] == "system" and "You can call these tools" in messages[0]["content"]
    assert {m["role"] for m in messages} <= {"system", "user", "assistant"}
    assert any("<tool_call>" in m["content"] for m in messages if m["role"] == "assistant")
    assert any(m["content"].startswith("<tool_response>") for m in messages if m["role"] == "user")


def test_a_url_or_hub_source_embeds_nothing() -> None:
    examples = examples_of("alpaca")
    url_nb = render_for(
        "qwen3-0.6b", examples, data_source=DataSource("url", "https://example.org/d.jsonl.gz")
    )
    hub_nb = render_for("qwen3-0.6b", examples, data_source=DataSource("hub", "someone/alpaca-demo", "train"))
    embedded = len(notebook_bytes(render_for("qwen3-0.6b", examples)))
    for nb in (url_nb, hub_nb):
        assert "DATASET_PAYLOAD = None" in cell_with(nb, "DATASET_PAYLOAD =")
        assert len(notebook_bytes(nb)) < embedded / 3
    assert "DATASET_URL = 'https://example.org/d.jsonl.gz'" in cell_with(url_nb, "LORA_RANK =")
    assert "HUB_DATASET = 'someone/alpaca-demo'" in cell_with(hub_nb, "LORA_RANK =")


def test_with_parameters_injects_an_override_cell_after_the_parameters_cell() -> None:
    nb = render_for("smollm2-135m-instruct", examples_of("openai"))
    run = with_parameters(nb, MAX_STEPS=3, FALLBACK_MODEL_NAME="/models/x'y")
    index = next(i for i, c in enumerate(run.cells) if "parameters" in c.metadata.get("tags", []))
    injected = run.cells[index + 1]
    assert injected.metadata["tags"] == ["injected-parameters"]
    namespace: dict[str, Any] = {}
    exec(injected.source, namespace)  # noqa: S102
    assert namespace["MAX_STEPS"] == 3 and namespace["FALLBACK_MODEL_NAME"] == "/models/x'y"
    assert len(run.cells) == len(nb.cells) + 1


def test_rendering_is_deterministic() -> None:
    examples = examples_of("sharegpt_system")
    assert notebook_bytes(render_for("qwen3-1.7b", examples)) == notebook_bytes(
        render_for("qwen3-1.7b", examples)
    )


def test_embedded_notebook_is_smaller_than_its_dataset() -> None:
    path = shared_file("axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl")
    nb = render_for("llama-3.2-3b-instruct", read_canonical(path))
    ratio = len(notebook_bytes(nb)) / path.stat().st_size
    assert ratio <= 0.4, f"notebook is {ratio:.2f}x the dataset"
    summary = json.dumps(nb.metadata["slmgen"])
    assert '"examples": 1000' in summary
