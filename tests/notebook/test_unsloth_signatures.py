"""The notebook's calls into Unsloth match Unsloth's real public signatures, read from its wheel with `ast`.

Unsloth cannot be imported without an NVIDIA GPU and its full install is 6.4 GB, so the test reads
the source of the exact wheels the notebook pins (unsloth and unsloth_zoo), which the test install
step downloads with `pip download --no-deps` into .venv/unsloth-src (or $SLMGEN_UNSLOTH_SRC).
"""

from __future__ import annotations

import ast
import os
import zipfile
from functools import cache
from pathlib import Path

import pytest

from backend.core.catalog import load_catalog
from backend.core.notebook import TrainingConfig, plan_notebook, render_notebook
from backend.core.notebook.versions import UNSLOTH_VERSION
from tests.conftest import REPO_ROOT
from tests.notebook.cells import call_name, calls, keywords

SOURCE_DIR = Path(os.environ.get("SLMGEN_UNSLOTH_SRC", REPO_ROOT / ".venv" / "unsloth-src"))

# Notebook call → where Unsloth defines it: (wheel, module path, class or None, function).
# FastLanguageModel.get_peft_model is functools.wraps(FastLlamaModel.get_peft_model) and FastModel's
# delegates to FastBaseModel's; the model's save/push methods are bound in save.py (checked below).
# Response-only labels are the runtime's own (they honour per-turn weights, which Unsloth's
# train_on_responses_only cannot), so the notebook no longer calls that function.
DEFINITIONS: dict[str, tuple[str, str, str | None, str]] = {
    "FastLanguageModel.from_pretrained": (
        "unsloth",
        "unsloth/models/loader.py",
        "FastLanguageModel",
        "from_pretrained",
    ),
    "FastModel.from_pretrained": ("unsloth", "unsloth/models/loader.py", "FastModel", "from_pretrained"),
    "FastLanguageModel.get_peft_model": (
        "unsloth",
        "unsloth/models/llama.py",
        "FastLlamaModel",
        "get_peft_model",
    ),
    "FastModel.get_peft_model": ("unsloth", "unsloth/models/vision.py", "FastBaseModel", "get_peft_model"),
    "FastLanguageModel.for_inference": (
        "unsloth",
        "unsloth/models/loader.py",
        "FastLanguageModel",
        "for_inference",
    ),
    "FastModel.for_inference": ("unsloth", "unsloth/models/loader.py", "FastModel", "for_inference"),
    "FastLanguageModel.for_training": (
        "unsloth",
        "unsloth/models/loader.py",
        "FastLanguageModel",
        "for_training",
    ),
    "FastModel.for_training": ("unsloth", "unsloth/models/loader.py", "FastModel", "for_training"),
    "get_chat_template": ("unsloth", "unsloth/chat_templates.py", None, "get_chat_template"),
    "model.save_pretrained_merged": (
        "unsloth",
        "unsloth/save.py",
        None,
        "unsloth_generic_save_pretrained_merged",
    ),
    "model.save_pretrained_gguf": ("unsloth", "unsloth/save.py", None, "unsloth_save_pretrained_gguf"),
    "model.push_to_hub_merged": ("unsloth", "unsloth/save.py", None, "unsloth_generic_push_to_hub_merged"),
    "model.push_to_hub_gguf": ("unsloth", "unsloth/save.py", None, "unsloth_push_to_hub_gguf"),
}
BOUND_METHODS = {  # model.<attribute> = _bind_saving_method(<function>, ...) in unsloth/save.py
    "save_pretrained_merged": "unsloth_generic_save_pretrained_merged",
    "save_pretrained_gguf": "unsloth_save_pretrained_gguf",
    "push_to_hub_merged": "unsloth_generic_push_to_hub_merged",
    "push_to_hub_gguf": "unsloth_push_to_hub_gguf",
}


@cache
def read_source(wheel: str, member: str) -> str:
    path = SOURCE_DIR / f"{wheel}-{UNSLOTH_VERSION}-py3-none-any.whl"
    if not path.exists():
        pytest.fail(
            f"{path.name} is missing from {SOURCE_DIR}: the test install step downloads it with "
            f"`pip download --no-deps unsloth=={UNSLOTH_VERSION} unsloth_zoo=={UNSLOTH_VERSION} "
            f"-d {SOURCE_DIR}`"
        )
    with zipfile.ZipFile(path) as archive:
        return archive.read(member).decode("utf-8")


def find_function(wheel: str, member: str, class_name: str | None, name: str) -> ast.FunctionDef:
    tree = ast.parse(read_source(wheel, member))
    scope: list[ast.stmt] = tree.body
    if class_name is not None:
        classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name]
        assert classes, f"class {class_name} not found in {member}"
        scope = classes[0].body
    found = [n for n in scope if isinstance(n, ast.FunctionDef) and n.name == name]
    assert found, f"{name} not found in {member}"
    return found[-1]  # a later definition wins, as at import time


def named_parameters(function: ast.FunctionDef) -> list[str]:
    args = function.args
    return [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]


def notebook_calls() -> list[ast.Call]:
    catalog = load_catalog()
    examples = [{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}]
    found: list[ast.Call] = []
    for model_id in ("qwen2.5-0.5b-instruct", "gemma-3-1b-it"):  # one per loader
        entry = catalog.get(model_id)
        found += calls(render_notebook(plan_notebook(entry, examples, None, TrainingConfig())))
    return found


def test_notebook_calls_every_unsloth_function_we_check() -> None:
    called = {call_name(call) for call in notebook_calls()}
    assert set(DEFINITIONS) <= called, f"not called: {set(DEFINITIONS) - called}"


def test_every_keyword_the_notebook_passes_is_a_named_parameter_of_unsloths_function() -> None:
    checked = 0
    for call in notebook_calls():
        name = call_name(call)
        if name not in DEFINITIONS:
            continue
        function = find_function(*DEFINITIONS[name])
        params = named_parameters(function)
        # A keyword swallowed by **kwargs is not an accepted argument: it must be named.
        unknown = keywords(call) - set(params)
        assert not unknown, f"{name} has no parameter(s) {sorted(unknown)}; it takes {params}"
        positional_slots = len(params) - (1 if params and params[0] == "self" else 0)
        assert len(call.args) <= positional_slots, f"{name} gets {len(call.args)} positional arguments"
        checked += 1
    assert checked >= len(DEFINITIONS)


def test_the_mapping_from_calls_to_definitions_is_what_unsloth_does() -> None:
    loader = read_source("unsloth", "unsloth/models/loader.py")
    assert "@functools.wraps(FastLlamaModel.get_peft_model)" in loader
    assert "return FastBaseModel.get_peft_model(model, *args, **kwargs)" in loader
    save = read_source("unsloth", "unsloth/save.py")
    for attribute, function in BOUND_METHODS.items():
        assert f"model.{attribute} = _bind_saving_method(\n                {function}," in save or (
            f"model.{attribute} = _bind_saving_method(\n            {function}," in save
        ), f"save.py no longer binds model.{attribute} to {function}"
    # Unsloth's SFT preparation keeps a tokenized dataset with a "labels" column as it is (the runtime's rows).
    zoo = read_source("unsloth_zoo", "unsloth_zoo/dataset_utils.py")
    assert 'if "labels" in column_names:' in zoo and "do_tokenize = False" in zoo
