"""The training task body: `run_training(ctx, payload) -> result`, run by the engine in a worker process of its
own (one process per run) and by `slmgen train` in the calling process.

It keeps no state beyond the call: everything a run makes goes under `ctx.work_dir` and is recorded with
`ctx.artifact`:
    adapter/        the LoRA adapter and tokenizer (causal tasks)      artifact "adapter"
    merged/         base + adapter, 16-bit (when merge is asked)       artifact "merged"
    model/          the fine-tuned classifier or seq2seq model         artifact "model"
    checkpoints/    the checkpoint a stop saved                        artifact "checkpoint"
    results.json    config, data, metrics history, final figures       artifact "results"
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.core.notebook import resolve_config
from backend.services.tasks.context import TaskContext
from backend.services.training.base import resolve_base_model
from backend.services.training.data import prepare_task_data, read_dataset
from backend.services.training.payload import parse_payload
from backend.services.training.session import RunSession


def run_training(ctx: TaskContext, payload: dict[str, Any]) -> dict[str, Any]:
    request = parse_payload(payload)
    ctx.status(f"Reading the dataset for {request.task}")
    examples = read_dataset(Path(request.dataset), request.limits.max_examples)
    held_out = read_dataset(Path(request.eval_dataset)) if request.eval_dataset else None
    data = prepare_task_data(request.task, examples, request.num_labels, held_out)
    ctx.checkpoint()
    spec = resolve_base_model(request, request.cache_dir(ctx.work_dir))
    config = resolve_config(request.effective_config(), spec.defaults, context_length=spec.context_length)
    session = RunSession(ctx=ctx, task=request.task, config=config, base_model=spec.describe(),
                         checkpoint_steps=request.limits.checkpoint_steps,
                         checkpoint_seconds=request.limits.checkpoint_seconds, held_out=data.held_out)
    session.data_summary = {
        "examples_read": len(examples),
        "eval_examples_read": len(held_out) if held_out is not None else None,
        "kinds": data.kinds,
        "examples": len(data.examples),
        "left_out": dict(data.left_out),
    }
    ctx.log(f"{len(data.examples)} examples for {request.task}; left out: {dict(data.left_out) or 'none'}")
    if request.task == "text_classification":
        from backend.services.training.classify import train_classifier

        outcome = train_classifier(session, data, spec)
    elif request.task == "seq2seq" and is_encoder_decoder_model(spec, ctx):
        from backend.services.training.seq2seq import train_encoder_decoder

        outcome = train_encoder_decoder(session, request, data, spec)
    else:
        from backend.services.training.causal import train_causal

        outcome = train_causal(session, request, data, spec)
    results_file = session.write_results(outcome)
    ctx.status("Done")
    return {
        "task": request.task,
        "base_model": spec.describe(),
        "steps": outcome["steps"],
        "final_train_loss": outcome["final_train_loss"],
        "final_eval": outcome["final_eval"],
        "outputs": outcome["outputs"],
        "results": results_file,
        "device": outcome["device"],
    }


def is_encoder_decoder_model(spec: Any, ctx: TaskContext) -> bool:
    from backend.services.training.seq2seq import is_encoder_decoder

    return is_encoder_decoder(spec, ctx.secret("hf_token"))
