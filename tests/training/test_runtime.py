"""The training runtime's parts, on real tokenizers and real (tiny, config-built) model architectures."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from backend.core.training import runtime
from backend.core.training.runtime import IGNORE_INDEX

RUNTIME = Path(runtime.__file__)
CHATML = ("<|im_start|>user\n", "<|im_start|>assistant\n")


def test_the_module_stands_alone_importing_only_the_standard_library_up_front(tmp_path: Path) -> None:
    tree = ast.parse(RUNTIME.read_text(encoding="utf-8"))
    top_level = {alias.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    top_level |= {node.module.split(".")[0] for node in tree.body if isinstance(node, ast.ImportFrom) and node.module}
    assert top_level <= set(sys.stdlib_module_names) | {"__future__"}
    every = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    assert not any(name.startswith("backend") for name in every)
    # Executed as a notebook cell would be: in a fresh interpreter, outside the project, heavy packages untouched.
    probe = (
        "import sys; exec(open(sys.argv[1]).read()); "
        "print(sorted(m for m in ('torch', 'transformers', 'trl', 'peft', 'datasets') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", probe, str(RUNTIME)], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_weight_zero_replies_are_context_not_trained() -> None:
    example = {
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Bad answer", "weight": 0},
            {"role": "user", "content": "Again"},
            {"role": "assistant", "content": "Good answer", "weight": 1},
        ]
    }
    messages, trained = runtime.to_chat_messages(
        example, Counter(), supports_system_role=True, strict_alternation=False
    )
    assert [m["content"] for m in messages] == ["Hi", "Bad answer", "Again", "Good answer"] and trained == [False, True]
    merged = {
        "messages": [
            {"role": "user", "content": "Q"},
            {"role": "assistant", "content": "a", "weight": 0},
            {"role": "assistant", "content": "b"},
        ]
    }
    _, trained = runtime.to_chat_messages(merged, Counter(), supports_system_role=True, strict_alternation=True)
    assert trained == [False], "a merged turn holding weight-0 text is not trained"


def test_labels_keep_only_the_trained_replies_with_the_models_own_tokenizer(smollm2_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Not this one."},
        {"role": "user", "content": "Again"},
        {"role": "assistant", "content": "This one."},
    ]
    row = runtime.tokenize_chat(tokenizer, messages, [False, True], *CHATML, max_length=512)
    learned = tokenizer.decode([t for t in row["labels"] if t != IGNORE_INDEX])
    assert learned == "This one.<|im_end|>\n"
    everything = runtime.tokenize_chat(tokenizer, messages, [True, True], *CHATML, max_length=512)
    assert tokenizer.decode([t for t in everything["labels"] if t != IGNORE_INDEX]) == (
        "Not this one.<|im_end|>\nThis one.<|im_end|>\n"
    )
    assert row["input_ids"] == everything["input_ids"] and not row["cut"]
    assert tokenizer.decode(row["input_ids"]).count("<|im_start|>") == 5  # the template's default system turn too
    short = runtime.tokenize_chat(tokenizer, messages, [True, True], *CHATML, max_length=16)
    assert short["cut"] and len(short["input_ids"]) == len(short["labels"]) == 16
    assert runtime.check_labels([row]) == (sum(1 for t in row["labels"] if t != IGNORE_INDEX), row["length"])
    wrong = runtime.tokenize_chat(tokenizer, messages, [True, True], "<|user|>", "<|assistant|>", max_length=512)
    with pytest.raises(RuntimeError, match="All labels are -100"):
        runtime.check_labels([wrong])
    with pytest.raises(RuntimeError, match="does not produce the markers"):
        runtime.check_markers(tokenizer, "<|user|>", "<|assistant|>")


def test_preference_pairs_become_trls_conversational_prompt_chosen_rejected() -> None:
    pair = {
        "messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"}],
        "chosen": [{"role": "assistant", "content": "Hello!"}],
        "rejected": [{"role": "assistant", "content": "Go."}],
    }
    converted = runtime.to_preference_pair(pair, Counter(), supports_system_role=False, strict_alternation=True)
    assert converted == {
        "prompt": [{"role": "user", "content": "Be kind.\n\nHi"}],
        "chosen": [{"role": "assistant", "content": "Hello!"}],
        "rejected": [{"role": "assistant", "content": "Go."}],
    }
    counts: Counter[str] = Counter()
    assert (
        runtime.to_preference_pair(
            {"messages": pair["messages"]}, counts, supports_system_role=True, strict_alternation=False
        )
        is None
    )
    assert counts == Counter({"examples without a chosen/rejected pair left out": 1})


def test_the_split_is_seeded_and_holds_out_at_least_one() -> None:
    train, held = runtime.split_indices(10, 0.2, 7, 200)
    assert (train, held) == runtime.split_indices(10, 0.2, 7, 200) and len(held) == 2
    assert sorted(train + held) == list(range(10))
    assert len(runtime.split_indices(5, 0.01, 1, 200)[1]) == 1 and runtime.split_indices(3, 0.5, 1, 200)[1] == []


def tiny(config_class: Any, **sizes: Any) -> Any:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_config(config_class(**sizes))


LLAMA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
SIZES = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "vocab_size": 300,
}


def test_phi3_fused_layers_get_lora_on_every_projection_not_two() -> None:
    from peft import PeftModel
    from transformers import LlamaConfig, Phi3Config

    phi = tiny(Phi3Config, **SIZES, pad_token_id=0)
    assert runtime.resolve_target_modules(phi, LLAMA_TARGETS) == ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"]
    adapted = runtime.attach_lora(
        phi,
        use_unsloth=False,
        loader="FastLanguageModel",
        rank=4,
        alpha=4,
        dropout=0.0,
        target_modules=LLAMA_TARGETS,
        seed=1,
    )
    assert isinstance(adapted, PeftModel)
    wrapped = {name.rsplit(".", 1)[-1] for name, module in adapted.named_modules() if hasattr(module, "lora_A")}
    assert wrapped == {"qkv_proj", "o_proj", "gate_up_proj", "down_proj"}
    llama = tiny(LlamaConfig, **SIZES)
    assert runtime.resolve_target_modules(llama, LLAMA_TARGETS) == list(LLAMA_TARGETS)
    with pytest.raises(ValueError, match="no 'c_attn' layers"):
        runtime.resolve_target_modules(llama, ["c_attn"])


def test_gemma3_4b_loads_multimodal_and_lora_stays_in_its_language_model(smollm2_dir: Path) -> None:
    from transformers import AutoTokenizer, Gemma3Config, Gemma3Processor
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    from transformers.models.gemma3.image_processing_pil_gemma3 import Gemma3ImageProcessorPil

    # google/gemma-3-4b-it is model_type "gemma3": AutoModelForCausalLM builds the image-text model for it.
    assert MODEL_FOR_CAUSAL_LM_MAPPING_NAMES["gemma3"] == "Gemma3ForConditionalGeneration"
    text = {**SIZES, "head_dim": 16}
    vision = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "image_size": 28,
        "patch_size": 14,
    }
    model = tiny(Gemma3Config, text_config=text, vision_config=vision, mm_tokens_per_image=4)
    adapted = runtime.attach_lora(
        model, use_unsloth=False, loader="FastModel", rank=4, alpha=4, dropout=0.0, target_modules=LLAMA_TARGETS, seed=1
    )
    wrapped = [name for name, module in adapted.named_modules() if hasattr(module, "lora_A")]
    assert wrapped and all(".language_model." in name for name in wrapped)
    assert len(wrapped) == 7, "all seven projections of the one text layer"
    # On a GPU, Unsloth's FastModel returns a processor for it: the runtime works through its text tokenizer.
    extra = {"boi_token": "<start_of_image>", "image_token": "<image_soft_token>", "eoi_token": "<end_of_image>"}
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir, extra_special_tokens=extra)
    processor = Gemma3Processor(
        image_processor=Gemma3ImageProcessorPil(), tokenizer=tokenizer, chat_template=tokenizer.chat_template
    )
    inner = runtime.text_tokenizer(processor)
    assert inner is tokenizer and runtime.text_tokenizer(tokenizer) is tokenizer
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    assert runtime.tokenize_chat(inner, messages, [True], *CHATML, 64) == runtime.tokenize_chat(
        tokenizer, messages, [True], *CHATML, 64
    )


class Receiver(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, Any]]] = []
    stop_from_step: int | None = None  # from this step on, the answer asks the run to stop (as the product's does)

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((self.headers["Authorization"], body))
        ok = self.headers["Authorization"] == "Bearer run-token"
        if ok and self.stop_from_step is not None:
            answer = json.dumps({"stop": body.get("step", 0) >= self.stop_from_step}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            return
        self.send_response(204 if ok else 403)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Any:
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.received = []
    Receiver.stop_from_step = None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/runs/r1/progress"
    server.shutdown()


def test_report_back_posts_each_record_with_the_bearer_token(receiver: str) -> None:
    report = runtime.ReportBack(receiver, "run-token")
    report({"step": 1, "loss": 2.5, "learning_rate": 0.0002})
    report({"step": 2, "loss": 2.1, "learning_rate": 0.0001})
    report.flush()
    assert Receiver.received == [
        ("Bearer run-token", {"step": 1, "loss": 2.5, "learning_rate": 0.0002}),
        ("Bearer run-token", {"step": 2, "loss": 2.1, "learning_rate": 0.0001}),
    ]
    assert report.failure == ""


def test_a_stop_answered_by_the_server_is_seen_by_the_run(receiver: str) -> None:
    Receiver.stop_from_step = 2
    report = runtime.ReportBack(receiver, "run-token")
    report({"step": 1, "loss": 2.5})
    report.flush()
    assert not report.stop_asked()
    report({"step": 2, "loss": 2.1})
    report.flush()
    assert report.stop_asked()


def test_report_back_failures_are_printed_once_and_never_raise(
    receiver: str, capsys: pytest.CaptureFixture[str]
) -> None:
    refused = runtime.ReportBack(receiver, "wrong-token")
    for step in range(3):
        refused({"step": step})
    refused.flush()
    assert len(Receiver.received) == 3 and "403" in refused.failure
    unreachable = runtime.ReportBack("http://127.0.0.1:9/nothing", "t", timeout=1)
    unreachable({"step": 1})
    unreachable({"step": 2})
    unreachable.flush()
    printed = capsys.readouterr().out
    assert printed.count("Reporting progress to") == 2 and "training goes on" in printed
