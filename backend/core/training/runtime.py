"""SLMGen's training runtime: the code that turns canonical examples into trained LoRA adapters.

The product's own trainer imports this module, and the notebook carries its source, byte for byte, as
its helper cell: the two cannot drift apart. It therefore imports only the standard library at the top
(torch, transformers, peft, trl and unsloth are imported inside the functions that need them) and
nothing of the product.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import math
import queue
import random
import shutil
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

Messages = list[dict[str, str]]
IGNORE_INDEX = -100  # the label transformers leaves out of the loss
FUSED_MODULES = {"q_proj": "qkv_proj", "k_proj": "qkv_proj", "v_proj": "qkv_proj",
                 "gate_proj": "gate_up_proj", "up_proj": "gate_up_proj"}  # Phi-3 style layers


# --- packages and hardware -------------------------------------------------------------------------------------
def has_nvidia_gpu(force_cpu: bool = False) -> bool:
    if force_cpu or shutil.which("nvidia-smi") is None:
        return False
    return subprocess.run(["nvidia-smi"], capture_output=True).returncode == 0


def missing_packages(packages: Mapping[str, str]) -> list[str]:
    """`name==version` for every pinned package that is absent or at another version."""
    missing = []
    for name, version in packages.items():
        try:
            installed: str | None = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            missing.append(f"{name}=={version}")
    return missing


# --- canonical examples -> messages a chat template renders ------------------------------------------------------
def render_tool_calls(message: Mapping[str, Any]) -> str:
    """The message's text with its tool calls written after it as `<tool_call>` JSON."""
    calls = [call.get("function", call) for call in message.get("tool_calls") or []]
    parts = [message.get("content") or ""] + [
        "<tool_call>" + json.dumps(call, ensure_ascii=False) + "</tool_call>" for call in calls
    ]
    return "\n".join(part for part in parts if part)


def to_chat_messages(example: Mapping[str, Any], counts: Counter[str], *, supports_system_role: bool,
                     strict_alternation: bool, turns: Sequence[Mapping[str, Any]] | None = None
                     ) -> tuple[Messages, list[bool]]:
    """Canonical turns -> (messages the template accepts, whether each assistant turn is trained).

    Tools become text, system prompts are merged into the first user turn when the template has no system
    role, and same-role turns are merged when it needs alternation. An assistant turn with `weight: 0` is
    rendered (it is context) but not trained; a merged turn is trained only if all its parts are.
    """
    rows: list[tuple[str, str, bool]] = []
    for message in example["messages"] if turns is None else turns:
        role, content = message["role"], render_tool_calls(message)
        if role == "tool":
            role, content = "user", "<tool_response>" + content + "</tool_response>"
        rows.append((role, content, message.get("weight") != 0))
    if example.get("tools"):
        tools_text = "You can call these tools:\n" + str(example["tools"])
        if rows and rows[0][0] == "system":
            rows[0] = ("system", rows[0][1] + "\n\n" + tools_text, True)
        else:
            rows.insert(0, ("system", tools_text, True))
    if not supports_system_role:
        system = "\n\n".join(text for role, text, _ in rows if role == "system")
        rows = [row for row in rows if row[0] != "system"]
        if system:
            counts["system merged into first user turn"] += 1
            first_user = next((i for i, row in enumerate(rows) if row[0] == "user"), None)
            if first_user is None:
                rows.insert(0, ("user", system, True))
            else:
                rows[first_user] = ("user", system + "\n\n" + rows[first_user][1], True)
    if strict_alternation:
        merged: list[tuple[str, str, bool]] = []
        for row in rows:
            if merged and merged[-1][0] == row[0]:
                counts["same-role turns merged"] += 1
                merged[-1] = (row[0], merged[-1][1] + "\n\n" + row[1], merged[-1][2] and row[2])
            else:
                merged.append(row)
        start = 1 if merged and merged[0][0] == "system" else 0
        while len(merged) > start and merged[start][0] == "assistant":
            counts["leading assistant turns dropped"] += 1
            del merged[start]
        rows = merged
    while rows and rows[-1][0] != "assistant":
        counts["trailing non-assistant turns dropped"] += 1
        rows.pop()
    trained = [flag for role, _, flag in rows if role == "assistant"]
    if rows and not any(trained):
        counts["examples whose replies all have weight 0"] += 1
    return [{"role": role, "content": text} for role, text, _ in rows], trained


def to_preference_pair(example: Mapping[str, Any], counts: Counter[str], *, supports_system_role: bool,
                       strict_alternation: bool) -> dict[str, Messages] | None:
    """A stored pair {"messages": prompt turns, "chosen": [...], "rejected": [...]} as TRL's conversational
    prompt/chosen/rejected (converted like chat examples), or None when the example is not such a pair."""
    chosen, rejected = example.get("chosen"), example.get("rejected")
    if not isinstance(chosen, list) or not isinstance(rejected, list) or not chosen or not rejected:
        counts["examples without a chosen/rejected pair left out"] += 1
        return None
    options = {"supports_system_role": supports_system_role, "strict_alternation": strict_alternation}
    sides = [to_chat_messages(example, Counter(), turns=[*example["messages"], *side], **options)[0]
             for side in (chosen, rejected)]
    users = [i for i, message in enumerate(sides[0]) if message["role"] == "user"]
    cut = users[-1] + 1 if users else 0
    if not cut or sides[0][:cut] != sides[1][:cut] or len(sides[1]) <= cut or len(sides[0]) <= cut:
        counts["pairs without a shared prompt ending in a user turn left out"] += 1
        return None
    return {"prompt": sides[0][:cut], "chosen": sides[0][cut:], "rejected": sides[1][cut:]}


def split_indices(count: int, eval_share: float, seed: int, max_eval: int) -> tuple[list[int], list[int]]:
    """Train and evaluation positions: a seeded shuffle, at least one held out once there are 4 examples."""
    order = list(range(count))
    random.Random(seed).shuffle(order)
    num_eval = round(count * eval_share) if count >= 4 else 0
    if eval_share > 0 and count >= 4:
        num_eval = max(1, num_eval)
    held_out = sorted(order[:num_eval][:max_eval])
    return sorted(order[num_eval:]), held_out


def split_at_positions(source_positions: Sequence[int], held_out: Iterable[int],
                       max_eval: int) -> tuple[list[int], list[int]]:
    """Train and evaluation rows from a split chosen beforehand by each row's line in the data (the leak-free
    split, where duplicates and shared prompts stay on one side). At most `max_eval` held-out rows evaluate, the
    rest train on nothing; when either side would be empty, every row trains."""
    held = set(held_out)
    eval_rows = [row for row, position in enumerate(source_positions) if position in held]
    train_rows = [row for row, position in enumerate(source_positions) if position not in held]
    if not eval_rows or not train_rows:
        return list(range(len(source_positions))), []
    return train_rows, eval_rows[:max_eval]


# --- tokenizing with response-only labels ------------------------------------------------------------------------
def text_tokenizer(processing_class: Any) -> Any:
    """The text tokenizer inside a processor (Gemma 3 4B loads with one), or the tokenizer itself."""
    inner = getattr(processing_class, "tokenizer", None)
    if inner is None or not callable(getattr(inner, "apply_chat_template", None)):
        return processing_class
    if not getattr(inner, "chat_template", None) and getattr(processing_class, "chat_template", None):
        inner.chat_template = processing_class.chat_template  # a processor may keep the template itself
    return inner


def find_sequence(ids: Sequence[int], pattern: Sequence[int], start: int) -> int:
    width = len(pattern)
    for i in range(start, len(ids) - width + 1):
        if list(ids[i:i + width]) == list(pattern):
            return i
    return -1


def response_labels(ids: Sequence[int], instruction_ids: Sequence[int], response_ids: Sequence[int],
                    trained: Sequence[bool]) -> list[int]:
    """Labels that keep the k-th assistant reply (after the k-th response marker, up to the next instruction
    marker) when trained[k] is true, and -100 everywhere else. What Unsloth's train_on_responses_only does,
    plus the per-turn weights."""
    labels = [IGNORE_INDEX] * len(ids)
    position, turn = find_sequence(ids, response_ids, 0), 0
    while position != -1:
        begin = position + len(response_ids)
        end = find_sequence(ids, instruction_ids, begin)
        end = len(ids) if end == -1 else end
        if turn >= len(trained) or trained[turn]:
            labels[begin:end] = ids[begin:end]
        turn += 1
        position = find_sequence(ids, response_ids, end)
    return labels


def render_chat(tokenizer: Any, messages: Messages, *, generation_prompt: bool = False) -> str:
    return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt))


def tokenize_chat(tokenizer: Any, messages: Messages, trained: Sequence[bool], instruction_part: str,
                  response_part: str, max_length: int) -> dict[str, Any]:
    """input_ids and labels of one conversation, cut at max_length (the text carries its own BOS)."""
    ids = list(tokenizer(render_chat(tokenizer, messages), add_special_tokens=False)["input_ids"])
    marker_ids = [tokenizer(part, add_special_tokens=False)["input_ids"] for part in (instruction_part, response_part)]
    labels = response_labels(ids, marker_ids[0], marker_ids[1], trained)
    return {"input_ids": ids[:max_length], "labels": labels[:max_length], "length": len(ids),
            "cut": len(ids) > max_length}


def check_labels(rows: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
    """(trained tokens, all tokens); raises when nothing would be learned: the markers never matched."""
    trained = sum(sum(1 for label in row["labels"] if label != IGNORE_INDEX) for row in rows)
    total = sum(len(row["labels"]) for row in rows)
    if trained == 0:
        raise RuntimeError(
            "All labels are -100: the response marker was not found in the tokenized examples (or every reply "
            "has weight 0), so training would learn nothing. Check INSTRUCTION_PART and RESPONSE_PART against "
            "a rendered chat."
        )
    return trained, total


def set_chat_template(tokenizer: Any, chat_template: str | None) -> Any:
    """Unsloth's template for this key, or (None) the tokenizer's own, which must exist."""
    if chat_template:
        from unsloth.chat_templates import get_chat_template
        return get_chat_template(tokenizer, chat_template=chat_template)
    if not getattr(tokenizer, "chat_template", None):
        raise RuntimeError(f"{getattr(tokenizer, 'name_or_path', 'This model')} ships no chat template; use an "
                           "instruct model.")
    return tokenizer


def check_markers(tokenizer: Any, instruction_part: str, response_part: str) -> str:
    probe = render_chat(tokenizer, [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}])
    if response_part not in probe or instruction_part not in probe:
        raise RuntimeError(
            "The chat template does not produce the markers response-only training looks for "
            f"(instruction {instruction_part!r}, response {response_part!r}). A rendered chat looks like "
            f"this: {probe!r}. Fix the two parameters to match."
        )
    return probe


# --- model and LoRA --------------------------------------------------------------------------------------------------
def load_model(name: str, *, use_unsloth: bool, loader: str, max_seq_length: int, load_in_4bit: bool,
               token: str | None, device: str) -> tuple[Any, Any]:
    """(model, tokenizer): Unsloth on an NVIDIA GPU (4-bit), transformers elsewhere."""
    if use_unsloth:
        if loader == "FastModel":
            from unsloth import FastModel
            model, tokenizer = FastModel.from_pretrained(model_name=name, max_seq_length=max_seq_length, dtype=None,
                                                         load_in_4bit=load_in_4bit, token=token)
        else:
            from unsloth import FastLanguageModel
            model, tokenizer = FastLanguageModel.from_pretrained(model_name=name, max_seq_length=max_seq_length,
                                                                 dtype=None, load_in_4bit=load_in_4bit, token=token)
        return model, tokenizer
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(name, token=token)
    dtype = torch.float16 if device == "cuda" else torch.float32
    loaded: Any = AutoModelForCausalLM.from_pretrained(name, dtype=dtype, token=token)
    return loaded.to(device), tokenizer


def resolve_target_modules(model: Any, wanted: Sequence[str]) -> list[str] | str:
    """The LoRA targets this model really has: fused layers (Phi-3's qkv_proj, gate_up_proj) stand in for
    the separate ones, and a multimodal model (Gemma 3 4B) is adapted in its language model only."""
    names = [name for name, _ in model.named_modules()]
    present = {name.rsplit(".", 1)[-1] for name in names if name}
    chosen = []
    for module in wanted:
        target = module if module in present else FUSED_MODULES.get(module)
        if target is None or target not in present:
            raise ValueError(f"The model has no {module!r} layers (nor a fused equivalent); it has "
                             f"{sorted(n for n in present if n.endswith('proj'))}. Fix the LoRA target modules.")
        chosen.append(target)
    targets = list(dict.fromkeys(chosen))
    if any(".language_model." in f".{name}." for name in names) and any("vision" in name for name in names):
        return r".*language_model.*\.(" + "|".join(targets) + r")$"
    return targets


def attach_lora(model: Any, *, use_unsloth: bool, loader: str, rank: int, alpha: int, dropout: float,
                target_modules: Sequence[str], seed: int, task_type: str = "CAUSAL_LM") -> Any:
    if use_unsloth:  # Unsloth names Phi-3's and Gemma 3's layers itself
        if loader == "FastModel":
            from unsloth import FastModel
            return FastModel.get_peft_model(model, r=rank, target_modules=list(target_modules), lora_alpha=alpha,
                                            lora_dropout=dropout, bias="none", random_state=seed,
                                            use_gradient_checkpointing="unsloth")
        from unsloth import FastLanguageModel
        return FastLanguageModel.get_peft_model(model, r=rank, target_modules=list(target_modules),
                                                lora_alpha=alpha, lora_dropout=dropout, bias="none",
                                                random_state=seed, use_gradient_checkpointing="unsloth")
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, bias="none", task_type=task_type,
                        target_modules=resolve_target_modules(model, target_modules))
    return get_peft_model(model, config)


# --- progress: metrics per step, stop at the end of a step, report back --------------------------------------------
def make_progress_callback(report: Callable[[dict[str, Any]], None],
                           should_stop: Callable[[], bool] | None = None) -> Any:
    """A TrainerCallback that calls report() with one record per logged step (and per evaluation) and, when
    should_stop() turns true, ends training after the current step with a checkpoint saved."""
    from transformers import TrainerCallback

    class ProgressCallback(TrainerCallback):
        def __init__(self) -> None:
            self.started, self.cpu_started = time.monotonic(), time.process_time()
            self.last: tuple[float, int] = (self.started, 0)
            self.stopped_at: int | None = None

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.started, self.cpu_started = time.monotonic(), time.process_time()
            self.last = (self.started, int(state.num_input_tokens_seen or 0))

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if should_stop is not None and should_stop():
                self.stopped_at = state.global_step
                control.should_training_stop = True
                control.should_save = True

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
                   **kwargs: Any) -> None:
            logs = logs or {}
            if not any(key in logs for key in ("loss", "eval_loss")):
                return
            now, tokens = time.monotonic(), int(state.num_input_tokens_seen or 0)
            elapsed = now - self.started
            seconds, new_tokens = now - self.last[0], tokens - self.last[1]
            speed = new_tokens / seconds if "loss" in logs and seconds > 0 and new_tokens > 0 else None
            self.last = (now, tokens)  # after an evaluation too: its time is not training time
            step, total = state.global_step, state.max_steps
            eta = elapsed / step * (total - step) if step and total else None
            record = {"step": step, "epoch": state.epoch, "loss": logs.get("loss"),
                      "eval_loss": logs.get("eval_loss"), "learning_rate": logs.get("learning_rate"),
                      "tokens_seen": tokens, "tokens_per_second": speed, "elapsed_seconds": round(elapsed, 3),
                      "cpu_seconds": round(time.process_time() - self.cpu_started, 3),
                      "eta_seconds": None if eta is None else round(eta, 1), "max_steps": total}
            report({key: value for key, value in record.items() if value is not None})

    return ProgressCallback()


class ReportBack:
    """report(record) POSTs each progress record as JSON with the run's bearer token, from a background thread,
    so a slow or absent server never slows training. A failure is printed once and never stops the run.
    The server answers {"stop": true} once someone stopped the run in the product: stop_asked() then turns
    true, and make_progress_callback(report, should_stop=report.stop_asked) ends training after the step."""

    def __init__(self, url: str, token: str, *, timeout: float = 5.0) -> None:
        self.url, self.timeout, self.failure = url, timeout, ""
        self._stop = threading.Event()
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._pending: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=1000)
        threading.Thread(target=self._send_all, daemon=True, name="slmgen-report-back").start()

    def __call__(self, record: dict[str, Any]) -> None:
        with contextlib.suppress(queue.Full):  # the server is far behind: a dropped progress point costs nothing
            self._pending.put_nowait(record)

    def stop_asked(self) -> bool:
        """Whether the server asked this run to stop (read at the end of each step)."""
        return self._stop.is_set()

    def flush(self) -> None:
        """Wait until every queued record was sent (or failed)."""
        self._pending.join()

    def _send_all(self) -> None:
        while True:
            record = self._pending.get()
            body = json.dumps(record).encode("utf-8")
            request = urllib.request.Request(self.url, data=body, headers=self._headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    answer = json.loads(response.read() or b"{}")
                if isinstance(answer, dict) and answer.get("stop") is True:
                    self._stop.set()
            except Exception as error:  # noqa: BLE001 - whatever failed: say it once, keep training
                if not self.failure:
                    self.failure = str(error)
                    print(f"Reporting progress to {self.url} failed ({error}); training goes on without it.")
            finally:
                self._pending.task_done()


# --- trainers --------------------------------------------------------------------------------------------------------
def precision(device: str) -> dict[str, Any]:
    """fp16 on a T4 (no bf16), bf16 where the GPU has it, full precision with use_cpu on a CPU."""
    if device != "cuda":
        return {"fp16": False, "bf16": False, "use_cpu": True}
    import torch

    bf16 = bool(torch.cuda.is_bf16_supported())
    return {"fp16": not bf16, "bf16": bf16, "use_cpu": False}


def build_sft_trainer(model: Any, tokenizer: Any, train_rows: list[dict[str, Any]], eval_rows: list[dict[str, Any]],
                      *, output_dir: str, max_length: int, batch_size: int, grad_accum: int, num_epochs: float,
                      max_steps: int, learning_rate: float, warmup_steps: float, seed: int, device: str,
                      use_unsloth: bool, callbacks: Sequence[Any] = ()) -> Any:
    """TRL's SFTTrainer over already tokenized rows (input_ids + labels), with TRL's current API:
    processing_class (not tokenizer=), max_length (not max_seq_length)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer  # type: ignore[attr-defined]

    def as_dataset(rows: list[dict[str, Any]]) -> Any:
        return Dataset.from_list([{"input_ids": r["input_ids"], "labels": r["labels"]} for r in rows])

    steps_per_epoch = math.ceil(len(train_rows) / (batch_size * grad_accum))
    total_steps = max_steps if max_steps > 0 else max(1, math.ceil(steps_per_epoch * num_epochs))
    flags = precision(device)
    args = SFTConfig(
        output_dir=output_dir, max_length=max_length, packing=False, per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size, gradient_accumulation_steps=grad_accum, num_train_epochs=num_epochs,
        max_steps=max_steps, learning_rate=learning_rate, warmup_steps=warmup_steps, lr_scheduler_type="linear",
        weight_decay=0.01, optim="adamw_8bit" if use_unsloth else "adamw_torch", fp16=flags["fp16"],
        bf16=flags["bf16"], use_cpu=flags["use_cpu"], logging_steps=1, save_strategy="no", report_to="none",
        eval_strategy="steps" if eval_rows else "no", eval_steps=max(1, total_steps // 4), seed=seed,
        include_num_input_tokens_seen="non_padding",
    )
    return SFTTrainer(model=model, processing_class=tokenizer, args=args, train_dataset=as_dataset(train_rows),
                      eval_dataset=as_dataset(eval_rows) if eval_rows else None, callbacks=list(callbacks))


def build_dpo_trainer(model: Any, tokenizer: Any, train_pairs: list[dict[str, Messages]],
                      eval_pairs: list[dict[str, Messages]], *, output_dir: str, max_length: int, batch_size: int,
                      grad_accum: int, num_epochs: float, max_steps: int, learning_rate: float, warmup_steps: float,
                      seed: int, device: str, beta: float = 0.1, callbacks: Sequence[Any] = ()) -> Any:
    """TRL's DPOTrainer on conversational prompt/chosen/rejected pairs. With a LoRA model the reference
    model is the same model with its adapter switched off, so no second copy is loaded."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer  # type: ignore[attr-defined]

    flags = precision(device)
    args = DPOConfig(
        output_dir=output_dir, max_length=max_length, beta=beta, per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=batch_size, gradient_accumulation_steps=grad_accum, num_train_epochs=num_epochs,
        max_steps=max_steps, learning_rate=learning_rate, warmup_steps=warmup_steps, fp16=flags["fp16"],
        bf16=flags["bf16"], use_cpu=flags["use_cpu"], logging_steps=1, save_strategy="no", report_to="none",
        eval_strategy="steps" if eval_pairs else "no", eval_steps=1 if max_steps > 0 else 50, seed=seed,
        include_num_input_tokens_seen="non_padding",
    )
    return DPOTrainer(model=model, processing_class=tokenizer, args=args, train_dataset=Dataset.from_list(train_pairs),
                      eval_dataset=Dataset.from_list(eval_pairs) if eval_pairs else None, callbacks=list(callbacks))


# --- answers and saving ----------------------------------------------------------------------------------------------
def generate_reply(model: Any, tokenizer: Any, messages: Messages, *, max_new_tokens: int,
                   use_unsloth: bool = False, loader: str = "FastLanguageModel") -> str:
    import torch

    if use_unsloth:
        if loader == "FastModel":
            from unsloth import FastModel
            FastModel.for_inference(model)
        else:
            from unsloth import FastLanguageModel
            FastLanguageModel.for_inference(model)
    inputs = tokenizer(render_chat(tokenizer, messages, generation_prompt=True), add_special_tokens=False,
                       return_tensors="pt").to(model.device)
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                pad_token_id=tokenizer.pad_token_id)
    if use_unsloth:
        if loader == "FastModel":
            from unsloth import FastModel
            FastModel.for_training(model)
        else:
            from unsloth import FastLanguageModel
            FastLanguageModel.for_training(model)
    return str(tokenizer.decode(output[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True)).strip()


def save_merged(model: Any, tokenizer: Any, directory: str, *, use_unsloth: bool) -> str:
    """Base model + adapter merged, 16-bit."""
    if use_unsloth:
        model.save_pretrained_merged(directory, tokenizer, save_method="merged_16bit")
        return directory
    import torch

    merged = model.merge_and_unload().to(torch.float16)
    merged.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
