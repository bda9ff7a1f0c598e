"""The notebook and the in-app trainer share one runtime: the helper cell is the module's source, byte for byte,
and preference data gets a DPO notebook (never a silent SFT one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from backend.core.catalog import load_catalog
from backend.core.conversation import DatasetProfile
from backend.core.errors import InvalidInputError
from backend.core.notebook import TrainingConfig, notebook_bytes, plan_notebook, render_notebook
from backend.core.training import runtime
from tests.conftest import shared_file
from tests.notebook.canonical import read_canonical
from tests.notebook.cells import call_name, calls, code_cells
from tests.training.conftest import llamafactory_v1_pairs

RUNTIME_SOURCE = Path(runtime.__file__).read_text(encoding="utf-8")


def render(model_id: str, examples: list[dict[str, Any]], profile: DatasetProfile | None = None) -> Any:
    plan = plan_notebook(load_catalog().get(model_id), examples, profile, TrainingConfig())
    return nbformat.reads(notebook_bytes(render_notebook(plan)).decode("utf-8"), as_version=4)


def helper_cells(nb: Any) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code" and "slmgen-runtime" in c.metadata.get("tags", [])]


@pytest.mark.parametrize("fixture", ["openai_cookbook_toy_chat_fine_tuning.jsonl", "dpo"])
def test_the_helper_cell_is_the_runtime_module_byte_for_byte(fixture: str) -> None:
    examples = (
        llamafactory_v1_pairs(shared_file("llamafactory_v1_dpo_demo.jsonl"))
        if fixture == "dpo"
        else read_canonical(shared_file(fixture))
    )
    nb = render("qwen2.5-0.5b-instruct", examples)  # written to .ipynb bytes and read back, as a user gets it
    assert helper_cells(nb) == [RUNTIME_SOURCE]
    others = "\n".join(source for source in code_cells(nb) if source != RUNTIME_SOURCE)
    for definition in (
        "def to_chat_messages",
        "def response_labels",
        "def tokenize_chat",
        "def check_labels",
        "def missing_packages",
        "def render_tool_calls",
    ):
        assert definition not in others, f"{definition} belongs to the runtime module, not a template"


def test_preference_pairs_get_a_dpo_notebook() -> None:
    pairs = llamafactory_v1_pairs(shared_file("llamafactory_v1_dpo_demo.jsonl"))
    chat = read_canonical(shared_file("openai_cookbook_toy_chat_fine_tuning.jsonl"))
    nb = render("smollm2-135m-instruct", [*pairs, *chat])
    assert nb.metadata["slmgen"]["objective"] == "dpo" and nb.metadata["slmgen"]["examples"] == 10
    called = {call_name(call) for call in calls(nb) if call_name(call)}
    assert "build_dpo_trainer" in called and "build_sft_trainer" not in called
    glue = "\n".join(s for s in code_cells(nb) if s != RUNTIME_SOURCE)
    assert "build_dpo_trainer(" in glue and "build_sft_trainer(" not in glue and "tokenize_chat(" not in glue
    title = nb.cells[0].source
    assert "preference pairs" in title and "DPO" in title
    assert "**5** examples were left out" in title and "not a chosen/rejected pair" in title


def test_unpaired_preference_data_gets_no_sft_notebook() -> None:
    kto = json.loads(shared_file("llamafactory_kto_en_demo.json").read_text(encoding="utf-8"))
    unpaired = [{"messages": r["messages"][:-1], "completion": r["messages"][-1:], "label": r["label"]} for r in kto]
    with pytest.raises(InvalidInputError, match="unpaired preference answer") as caught:
        plan_notebook(load_catalog().get("qwen3-0.6b"), unpaired, None, TrainingConfig())
    assert caught.value.code == "no_trainable_examples"


def profile(tokenizer: str, exact: bool, max_tokens: int) -> DatasetProfile:
    return DatasetProfile(
        num_examples=5,
        total_tokens=max_tokens * 3,
        p95_tokens=max_tokens,
        max_tokens=max_tokens,
        mean_assistant_tokens=10.0,
        system_prompt_share=0.0,
        multi_turn_share=0.0,
        non_alternating_share=0.0,
        tool_call_share=0.0,
        json_output_share=0.0,
        tokenizer=tokenizer,
        tokens_exact=exact,
    )


def test_the_fit_is_stated_as_about_with_its_margin_never_as_certain() -> None:
    chat = read_canonical(shared_file("openai_cookbook_toy_chat_fine_tuning.jsonl"))
    other = render("smollm2-135m-instruct", chat, profile("cl100k_base", True, 1000)).cells[0].source
    assert "about: the longest example has about 1000 tokens counted with cl100k\\_base, not this model" in other
    assert "even at 1464 tokens every example would fit" in other  # 1000 x 1.4 + 64 template tokens <= 2048
    own = render("smollm2-135m-instruct", chat, profile("smollm2", True, 2000)).cells[0].source
    assert "this model's own tokenizer" in own and "up to 2064 with the margin, so the longest may be cut" in own
    assert "every example fits" not in other + own
    split = next(s for s in code_cells(render("smollm2-135m-instruct", chat)) if "_cut = sum(" in s)
    assert "Counted with this model's own tokenizer and chat template" in split  # the notebook's exact count


def test_weight_zero_turns_are_said_to_be_left_untrained() -> None:
    example = {
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "x", "weight": 0},
            {"role": "user", "content": "Again"},
            {"role": "assistant", "content": "y"},
        ]
    }
    title = render("qwen3-0.6b", [example]).cells[0].source
    assert "not trained on" in title and "still trains" not in title
