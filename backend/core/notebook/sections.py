"""Template variables for the notebook's cells, each already written as a literal or escaped text.

The README in templates/notebooks lists which template reads which of these.
"""

from __future__ import annotations

from typing import Any

from backend.core.notebook.literal import (
    MdText,
    PyLiteral,
    md_code,
    md_text,
    py_literal,
    py_long_string,
    py_name,
)
from backend.core.notebook.model import LOADERS
from backend.core.notebook.plan import NotebookPlan
from backend.core.notebook.versions import CPU_PACKAGES, GPU_PACKAGES


def code_context(plan: NotebookPlan) -> dict[str, Any]:
    model, config, source = plan.model, plan.config, plan.source
    embedded = plan.embedded
    variables: dict[str, PyLiteral] = {
        "model_name": py_literal(model.load_name),
        "fallback_model_name": py_literal(model.hf_id),
        "loader": py_name(model.loader, LOADERS),
        "loader_name": py_literal(py_name(model.loader, LOADERS).text),
        "objective": py_literal(plan.stats.objective),
        "chat_template": py_literal(None if model.own_template else model.chat_template),
        "instruction_part": py_literal(model.instruction_marker),
        "response_part": py_literal(model.response_marker),
        "supports_system_role": py_literal(model.supports_system_role),
        "strict_alternation": py_literal(model.strict_alternation),
        "target_modules": py_literal(model.lora_target_modules),
        "max_seq_length": py_literal(config.max_seq_length),
        "lora_rank": py_literal(config.lora_rank),
        "lora_alpha": py_literal(config.lora_alpha),
        "lora_dropout": py_literal(config.lora_dropout),
        "learning_rate": py_literal(config.learning_rate),
        "num_epochs": py_literal(config.num_epochs),
        "max_steps": py_literal(config.max_steps),
        "batch_size": py_literal(config.batch_size),
        "grad_accum": py_literal(config.grad_accum),
        "warmup_steps": py_literal(config.warmup_steps),
        "eval_share": py_literal(config.eval_share),
        "seed": py_literal(config.seed),
        "dataset_url": py_literal(source.location if source.kind == "url" else None),
        "hub_dataset": py_literal(source.location if source.kind == "hub" else None),
        "hub_split": py_literal(source.split),
        "gpu_packages": py_literal(GPU_PACKAGES),
        "cpu_packages": py_literal(CPU_PACKAGES),
        "num_examples": py_literal(plan.stats.num_examples),
        "sha256": py_literal(embedded.sha256 if embedded else None),
        "payload": py_long_string(embedded.base64_gzip) if embedded else py_literal(None),
        "eval_positions": py_literal(
            list(plan.stats.eval_positions) if embedded and plan.stats.eval_positions is not None else None),
    }
    return {**variables, "embedded": embedded is not None}


# The analysis counts content with one tokenizer and without the model's chat template, so the notebook's summary
# states a fit only as "about", with this margin: the template's own tokens (role markers, BOS, Llama's date
# header) stay under TEMPLATE_TOKENS per example for the catalogue's templates, and another model's tokenizer
# counted 0.88-1.40x cl100k_base's tokens per example on the shared English chat datasets (up to 2.9x on digit-
# and code-heavy tool calls). Only the notebook, tokenizing with the model's own tokenizer and template, is exact.
TEMPLATE_TOKENS = 64
OTHER_TOKENIZER_FACTOR = 1.4


def describe_truncation(plan: NotebookPlan) -> str:
    profile = plan.profile
    if profile is None:
        return ""
    limit = plan.config.max_seq_length
    own = profile.tokens_exact and profile.tokenizer == plan.model.tokenizer and plan.model.tokenizer_exact
    factor = 1.0 if own else OTHER_TOKENIZER_FACTOR
    high = int(profile.max_tokens * factor) + TEMPLATE_TOKENS
    counted = (f"counted with {profile.tokenizer}" + (", this model's own tokenizer," if own else
               ", not this model's own tokenizer,") + " without its chat template")
    exact = "the notebook prints the exact count when it tokenizes with the model's own tokenizer and template"
    if high <= limit:
        return (f"about: the longest example has about {profile.max_tokens} tokens {counted}; even at {high} "
                f"tokens every example would fit; {exact}")
    if profile.max_tokens <= limit:
        return (f"about: the longest example has about {profile.max_tokens} tokens {counted}, up to {high} with "
                f"the margin, so the longest may be cut at {limit}; {exact}")
    if profile.p95_tokens <= limit:
        return f"about: at least 95% of examples fit ({counted}); longer ones are cut at {limit} tokens; {exact}"
    return (
        f"about: over 5% of examples are longer ({counted}) and will be cut at {limit} tokens; "
        f"raise MAX_SEQ_LENGTH if memory allows; {exact}"
    )


def describe_source(plan: NotebookPlan) -> MdText:
    source = plan.source
    if source.kind == "url":
        return MdText(f"read from {md_code(source.location).text} (canonical JSONL).")
    if source.kind == "hub":
        return MdText(
            f"read from the Hugging Face Hub dataset {md_code(source.location).text}, "
            f"split {md_code(source.split).text}."
        )
    size_kb = (plan.embedded.jsonl_bytes if plan.embedded else 0) / 1000
    size = f"{size_kb / 1000:.1f} MB" if size_kb >= 1000 else f"{size_kb:.0f} KB"
    return MdText(
        f"embedded in this notebook ({size} of JSONL, gzip + base64), checked by SHA-256 when decoded."
    )


def markdown_context(plan: NotebookPlan) -> dict[str, Any]:
    model, config, stats, profile = plan.model, plan.config, plan.stats, plan.profile
    roles = ", ".join(f"{role} {count}" for role, count in sorted(stats.roles.items()))
    return {
        "model_name": md_text(model.name),
        "dataset_name": md_text(plan.dataset_name),
        "num_examples": stats.num_examples,
        "num_messages": stats.num_messages,
        "total_tokens": profile.total_tokens if profile else 0,
        "p95_tokens": profile.p95_tokens if profile else 0,
        "max_tokens": profile.max_tokens if profile else 0,
        "roles": md_text(roles),
        "skipped_count": stats.skipped_count,
        "skipped": [md_text(f"#{index} ({reason})") for index, reason in stats.skipped],
        "skipped_more": stats.skipped_count - len(stats.skipped),
        "system_examples": stats.system_examples,
        "tool_examples": stats.tool_examples,
        "zero_weight_messages": stats.zero_weight_messages,
        "dpo": stats.objective == "dpo",
        "params_b": md_text(f"{model.params_b:g}"),
        "context_length": model.context_length,
        "license": md_text(model.license),
        "gated": model.gated,
        "load_name": md_code(model.load_name),
        "hf_id": md_code(model.hf_id),
        "loader": md_code(model.loader),
        "reasons": [md_text(reason) for reason in plan.reasons],
        "lora_rank": config.lora_rank,
        "lora_alpha": config.lora_alpha,
        "learning_rate": md_text(f"{config.learning_rate:g}"),
        "max_steps_set": config.max_steps > 0,
        "max_steps": config.max_steps,
        "num_epochs": md_text(f"{config.num_epochs:g}"),
        "batch_size": config.batch_size,
        "grad_accum": config.grad_accum,
        "eval_percent": md_text(f"{config.eval_share * 100:g}"),
        "seed": config.seed,
        "max_seq_length": config.max_seq_length,
        "truncation_note": md_text(note) if (note := describe_truncation(plan)) else None,
        "chat_template": md_code(model.chat_template),
        "response_marker": md_code(repr(model.response_marker)),
        "supports_system_role": model.supports_system_role,
        "strict_alternation": model.strict_alternation,
        "data_note": describe_source(plan),
    }
