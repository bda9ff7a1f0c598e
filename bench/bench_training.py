"""In-app training throughput against a plain TRL script: the product's run must add no overhead.

    python bench/bench_training.py [--dataset FILE] [--rounds 3] [--steps 8]

Both sides train SmolLM2-135M-Instruct (the packaged copy, on CPU) with the same LoRA (rank 16, the seven
projections), the same tokenized rows (the runtime's chat-template tokens with response-only labels), batch 2,
the same number of steps and no evaluation. The in-app side is the whole task body (`run_training` over a
LocalContext: metrics into the context every step, the stop check, progress); the plain side is SFTTrainer with
a bare stopwatch callback. Throughput = non-padding tokens seen / seconds from the start of training to the last
step, measured alike on both sides, in wall and in CPU seconds. Runs alternate, and which side goes first
alternates by round, because the machine is shared.
Goal: in-app / plain >= 0.95.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.core.catalog import load_catalog  # noqa: E402
from backend.core.training import runtime  # noqa: E402
from backend.services import packaged_models  # noqa: E402
from backend.services.tasks.context import LocalContext  # noqa: E402
from backend.services.training import run_training  # noqa: E402

DEFAULT_DATASET = REPO.parent / "shared" / "data" / "llamafactory_pr5606_openai_training_data_blank_lines.jsonl"
MODEL_CACHE = REPO / "tests" / "artifacts" / "smollm2-135m-instruct"
MAX_LENGTH = 256
ENTRY = "smollm2-135m-instruct"


def canonical(path: Path, out: Path) -> Path:
    import json

    from backend.cli.notebook import read_examples

    out.write_text("".join(json.dumps(e) + "\n" for e in read_examples(path)), encoding="utf-8")
    return out


def in_app(dataset: Path, model_dir: Path, steps: int, work: Path) -> tuple[float, float, int]:
    ctx = LocalContext(work)
    run_training(ctx, {
        "dataset": str(dataset), "base_model": str(model_dir), "catalogue_model": ENTRY, "task": "chat_sft",
        "config": {"max_seq_length": MAX_LENGTH, "batch_size": 2, "grad_accum": 1, "lora_rank": 16,
                   "lora_alpha": 16, "warmup_steps": 0},
        "eval_split": 0.0, "seed": 1, "limits": {"max_steps": steps, "compare_prompts": 0},
    })
    last = [point for point in ctx.metrics_history if "loss" in point][-1]
    return float(last["elapsed_seconds"]), float(last["cpu_seconds"]), int(last["tokens_seen"])


def plain_trl(dataset: Path, model_dir: Path, steps: int, work: Path) -> tuple[float, float, int]:
    """What a user's own script would do: transformers + PEFT + TRL, no product code in the loop."""
    import json

    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    entry = load_catalog().get(ENTRY)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=16, lora_dropout=0.0, bias="none",
                                             task_type="CAUSAL_LM", target_modules=list(entry.lora_target_modules)))
    rows = []
    for line in dataset.read_text(encoding="utf-8").splitlines():
        messages, trained = runtime.to_chat_messages(json.loads(line), Counter(), supports_system_role=True,
                                                     strict_alternation=False)
        rows.append(runtime.tokenize_chat(tokenizer, messages, trained, entry.instruction_marker,
                                          entry.response_marker, MAX_LENGTH))
    train = Dataset.from_list([{"input_ids": r["input_ids"], "labels": r["labels"]} for r in rows])

    class Stopwatch(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.start, self.cpu_start = time.monotonic(), time.process_time()

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            if logs and "loss" in logs:
                wall, cpu = time.monotonic() - self.start, time.process_time() - self.cpu_start
                self.last = (wall, cpu, int(state.num_input_tokens_seen))

    watch = Stopwatch()
    args = SFTConfig(output_dir=str(work), max_length=MAX_LENGTH, per_device_train_batch_size=2,
                     gradient_accumulation_steps=1, max_steps=steps, learning_rate=2e-4, warmup_steps=0,
                     lr_scheduler_type="linear", weight_decay=0.01, logging_steps=1, save_strategy="no",
                     report_to="none", use_cpu=True, bf16=False, seed=1, include_num_input_tokens_seen="non_padding")
    SFTTrainer(model=model, processing_class=tokenizer, args=args, train_dataset=train, callbacks=[watch]).train()
    return watch.last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    model_dir = packaged_models.ensure_smollm2(MODEL_CACHE)
    speeds: dict[str, list[float]] = {"plain": [], "in_app": []}  # tokens per wall second
    per_cpu: dict[str, list[float]] = {"plain": [], "in_app": []}  # tokens per CPU second of this process
    with tempfile.TemporaryDirectory() as tmp:
        dataset = canonical(args.dataset, Path(tmp) / "data.jsonl")
        sides = [("plain", plain_trl), ("in_app", in_app)]
        for round_no in range(args.rounds):
            # Each side goes first in every other round: a run in a process that just ran the other is not
            # favoured or penalised (allocator state, threads), and load changes hit both sides alike.
            for side, run in sides if round_no % 2 == 0 else sides[::-1]:
                gc.collect()
                seconds, cpu, tokens = run(dataset, model_dir, args.steps, Path(tmp) / f"{side}-{round_no}")
                speeds[side].append(tokens / seconds)
                per_cpu[side].append(tokens / cpu)
                print(f"round {round_no + 1} {side:>6}: {tokens} tokens in {seconds:.2f} s wall, {cpu:.2f} CPU-s = "
                      f"{tokens / seconds:.1f} tok/s, {tokens / cpu:.1f} tok/CPU-s", flush=True)
    for label, figures in (("tok/s (wall)", speeds), ("tok/CPU-s", per_cpu)):
        plain, app = statistics.median(figures["plain"]), statistics.median(figures["in_app"])
        ratios = [a / p for a, p in zip(figures["in_app"], figures["plain"], strict=True)]
        print(f"{label}: median plain {plain:.1f}, in-app {app:.1f}; ratio of medians {app / plain:.3f}; "
              f"per round {', '.join(f'{r:.3f}' for r in ratios)} (goal >= 0.95)")


if __name__ == "__main__":
    main()
