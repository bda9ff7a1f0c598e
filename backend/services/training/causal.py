"""Training a causal (decoder-only) model with LoRA: chat SFT, seq2seq as prompt → completion, and DPO.

Every step is the runtime's (backend/core/training/runtime.py), the same code the notebook runs: conversion
to chat messages, response-only labels with per-turn weights, the all-masked check, model loading (Unsloth on
an NVIDIA GPU, transformers elsewhere), LoRA targets, the TRL trainers and the progress callback.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from backend.core.errors import InvalidInputError
from backend.core.training import runtime
from backend.services.training.base import BaseModelSpec, chat_format, loading, setup_checks
from backend.services.training.data import TaskData
from backend.services.training.payload import TrainingPayload
from backend.services.training.session import RunSession, pick_device

MAX_EVAL_EXAMPLES = 200


def train_causal(session: RunSession, request: TrainingPayload, data: TaskData, spec: BaseModelSpec) -> dict[str, Any]:
    ctx, config = session.ctx, session.config
    device, use_unsloth = pick_device()
    ctx.status(f"Loading {spec.describe()['name']} ({'Unsloth' if use_unsloth else 'transformers'} on {device})")
    with loading(spec):
        model, processing = runtime.load_model(
            spec.unsloth_name or spec.name if use_unsloth else spec.name,
            use_unsloth=use_unsloth,
            loader=spec.loader,
            max_seq_length=config.max_seq_length,
            load_in_4bit=use_unsloth,
            token=ctx.secret("hf_token"),
            device=device,
        )
    tokenizer = runtime.text_tokenizer(processing)
    own_template = spec.entry is None or spec.entry.own_template
    key = None if own_template or not use_unsloth or spec.entry is None else spec.entry.chat_template
    with setup_checks():
        tokenizer = runtime.set_chat_template(tokenizer, key)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        form = chat_format(spec, tokenizer)
        runtime.check_markers(tokenizer, form.instruction_part, form.response_part)
        ctx.checkpoint()
        model = runtime.attach_lora(
            model,
            use_unsloth=use_unsloth,
            loader=spec.loader,
            rank=config.lora_rank,
            alpha=config.lora_alpha,
            dropout=config.lora_dropout,
            target_modules=spec.target_modules,
            seed=config.seed,
        )
    options: dict[str, Any] = {
        "supports_system_role": form.supports_system_role,
        "strict_alternation": form.strict_alternation,
    }
    counts: Counter[str] = Counter()
    ctx.status("Tokenizing with the model's chat template")
    if request.task == "dpo":
        converted = [(n, runtime.to_preference_pair(e, counts, **options)) for n, e in enumerate(data.examples)]
        pairs = [pair for _, pair in converted if pair is not None]
        positions = [n for n, pair in converted if pair is not None]
        if not pairs:
            raise InvalidInputError(
                "No preference pair survived conversion to this model's chat format.",
                code="no_trainable_examples",
                conversions=dict(counts),
            )
        items: list[Any] = pairs
        prompts = [(p["prompt"], p["chosen"][-1]["content"]) for p in pairs]
    else:
        rows, prompts, positions = tokenize_all(tokenizer, data, counts, form, config.max_seq_length, request.task,
                                                options)
        with setup_checks():
            trained, total = runtime.check_labels(rows)
        session.data_summary["trained_tokens"], session.data_summary["tokens"] = trained, total
        session.data_summary["examples_cut"] = sum(1 for row in rows if row["cut"])
        items = rows
    session.data_summary["conversions"] = dict(counts)
    train_at, eval_at = session.split(positions, MAX_EVAL_EXAMPLES)
    session.data_summary.update(train_examples=len(train_at), eval_examples=len(eval_at))
    compare = [prompts[i] for i in (eval_at or train_at)[: request.limits.compare_prompts]]

    def answer_all() -> list[str]:
        return [
            runtime.generate_reply(
                model,
                tokenizer,
                prompt,
                max_new_tokens=request.limits.max_new_tokens,
                use_unsloth=use_unsloth,
                loader=spec.loader,
            )
            for prompt, _ in compare
        ]

    ctx.status("Answering held-out prompts before training")
    before = answer_all()
    ctx.checkpoint()
    callback = session.callback()
    common: dict[str, Any] = {
        "output_dir": str(session.checkpoint_dir),
        "max_length": config.max_seq_length,
        "batch_size": config.batch_size,
        "grad_accum": config.grad_accum,
        "num_epochs": config.num_epochs,
        "max_steps": config.max_steps,
        "learning_rate": config.learning_rate,
        "warmup_steps": config.warmup_steps,
        "seed": config.seed,
        "device": device,
        "callbacks": session.callbacks(callback),
    }
    train_items, eval_items = [items[i] for i in train_at], [items[i] for i in eval_at]
    if request.task == "dpo":
        trainer = runtime.build_dpo_trainer(model, tokenizer, train_items, eval_items, **common)
    else:
        trainer = runtime.build_sft_trainer(
            model, tokenizer, train_items, eval_items, use_unsloth=use_unsloth, **common
        )
    ctx.status("Training")
    trainer.train()
    session.finish_if_stopped(callback)
    final_eval = trainer.evaluate() if eval_items else {}
    ctx.status("Answering the same prompts after training")
    after = answer_all()
    ctx.status("Saving the adapter")
    outputs = save_outputs(session, model, tokenizer, merge=request.merge, use_unsloth=use_unsloth)
    samples = [
        {"prompt": prompt, "reference": reference, "before": b, "after": a}
        for (prompt, reference), b, a in zip(compare, before, after, strict=True)
    ]
    return {
        "steps": trainer.state.global_step,
        "final_train_loss": session.last_loss(),
        "final_eval": {k: v for k, v in final_eval.items() if isinstance(v, int | float)},
        "generation": {"samples": samples},
        "outputs": outputs,
        "device": device,
        "path": "unsloth" if use_unsloth else "transformers+peft",
    }


def tokenize_all(
    tokenizer: Any,
    data: TaskData,
    counts: Counter[str],
    form: Any,
    max_length: int,
    task: str,
    options: dict[str, Any],
) -> tuple[list[dict[str, Any]], list[tuple[Any, str]], list[int]]:
    """Token rows with labels, the (prompt, reference) of each and the example it came from; seq2seq trains on the
    final reply only."""
    rows, prompts, positions = [], [], []
    for position, example in enumerate(data.examples):
        messages, trained = runtime.to_chat_messages(example, counts, **options)
        if not trained:
            counts["examples without an assistant reply left out"] += 1
            continue
        if task == "seq2seq":
            trained = [False] * (len(trained) - 1) + [True]
        rows.append(
            runtime.tokenize_chat(tokenizer, messages, trained, form.instruction_part, form.response_part, max_length)
        )
        prompts.append((messages[:-1], messages[-1]["content"]))
        positions.append(position)
    if not rows:
        raise InvalidInputError(
            "No example has an assistant reply once converted to this model's chat format.",
            code="no_trainable_examples",
            conversions=dict(counts),
        )
    return rows, prompts, positions


def save_outputs(session: RunSession, model: Any, tokenizer: Any, *, merge: bool, use_unsloth: bool) -> dict[str, str]:
    adapter = session.work_dir / "adapter"
    model.save_pretrained(adapter)
    tokenizer.save_pretrained(adapter)
    session.ctx.artifact("adapter", {"path": "adapter", "kind": "lora_adapter"})
    outputs = {"adapter": "adapter"}
    if merge:
        session.ctx.status("Merging the adapter into the base model")
        runtime.save_merged(model, tokenizer, str(session.work_dir / "merged"), use_unsloth=use_unsloth)
        session.ctx.artifact("merged", {"path": "merged", "kind": "merged_16bit"})
        outputs["merged"] = "merged"
    return outputs
