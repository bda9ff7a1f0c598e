"""Seq2seq with an encoder-decoder model (T5, BART…), when the user names one: `AutoModelForSeq2SeqLM`, prompt
as the encoder's input, completion as the labels, every weight trained. A decoder-only model takes the task
through train_causal instead (prompt → completion SFT, the loss on the completion only).
"""

from __future__ import annotations

from typing import Any

from backend.services.training.base import BaseModelSpec, loading
from backend.services.training.data import TaskData
from backend.services.training.payload import TrainingPayload
from backend.services.training.session import RunSession, pick_device


def is_encoder_decoder(spec: BaseModelSpec, token: str | None) -> bool:
    from transformers import AutoConfig

    with loading(spec):
        config = AutoConfig.from_pretrained(spec.name, token=token)
    return bool(getattr(config, "is_encoder_decoder", False))


def prompt_text(messages: list[dict[str, Any]]) -> str:
    """The turns before the final reply, as the encoder reads them (a single user turn is just its text)."""
    before = messages[:-1]
    if len(before) == 1 and before[0]["role"] == "user":
        return str(before[0]["content"])
    return "\n".join(f"{m['role']}: {m['content']}" for m in before)


def train_encoder_decoder(
    session: RunSession, request: TrainingPayload, data: TaskData, spec: BaseModelSpec
) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from transformers import (
        AutoModelForSeq2SeqLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        Seq2SeqTrainer,
        Seq2SeqTrainingArguments,
    )

    ctx, config = session.ctx, session.config
    device, _ = pick_device()
    token = ctx.secret("hf_token")
    ctx.status(f"Loading {spec.describe()['name']} (encoder-decoder) on {device}")
    with loading(spec):
        tokenizer = AutoTokenizer.from_pretrained(spec.name, token=token)
        model = AutoModelForSeq2SeqLM.from_pretrained(spec.name, token=token).to(device)
    kept = [(n, e) for n, e in enumerate(data.examples) if e["messages"][-1]["role"] == "assistant"]
    pairs = [(prompt_text(e["messages"]), e["messages"][-1]["content"]) for _, e in kept]
    rows = []
    for prompt, completion in pairs:
        encoded = tokenizer(prompt, truncation=True, max_length=config.max_seq_length)
        encoded["labels"] = tokenizer(text_target=completion, truncation=True, max_length=config.max_seq_length)[
            "input_ids"
        ]
        rows.append(dict(encoded))
    train_at, eval_at = session.split([n for n, _ in kept], 200)
    session.data_summary.update(train_examples=len(train_at), eval_examples=len(eval_at))
    compare = [pairs[i] for i in (eval_at or train_at)[: request.limits.compare_prompts]]

    def answer_all() -> list[str]:
        answers = []
        for prompt, _ in compare:
            inputs = tokenizer(prompt, return_tensors="pt", truncation=True, max_length=config.max_seq_length)
            with torch.no_grad():
                output = model.generate(
                    **inputs.to(model.device), max_new_tokens=request.limits.max_new_tokens, do_sample=False
                )
            answers.append(str(tokenizer.decode(output[0], skip_special_tokens=True)).strip())
        return answers

    before = answer_all()
    callback = session.callback()
    args = Seq2SeqTrainingArguments(**session.trainer_arguments(device), eval_strategy="no")
    trainer = Seq2SeqTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list([rows[i] for i in train_at]),
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
        processing_class=tokenizer,
        callbacks=session.callbacks(callback),
    )
    ctx.status("Training")
    trainer.train()
    session.finish_if_stopped(callback)
    final_eval = trainer.evaluate(Dataset.from_list([rows[i] for i in eval_at])) if eval_at else {}
    after = answer_all()
    model_dir = session.work_dir / "model"
    trainer.save_model(str(model_dir))
    tokenizer.save_pretrained(model_dir)
    ctx.artifact("model", {"path": "model", "kind": "seq2seq"})
    samples = [
        {"prompt": prompt, "reference": reference, "before": b, "after": a}
        for (prompt, reference), b, a in zip(compare, before, after, strict=True)
    ]
    return {
        "steps": trainer.state.global_step,
        "final_train_loss": session.last_loss(),
        "final_eval": {k: v for k, v in final_eval.items() if isinstance(v, int | float)},
        "generation": {"samples": samples},
        "outputs": {"model": "model"},
        "device": device,
        "path": "transformers-seq2seq",
    }
