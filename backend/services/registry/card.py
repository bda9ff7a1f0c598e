"""The model card (README.md) a model push writes: the Hub's metadata through huggingface_hub's own
`ModelCardData` (base_model, library_name, licence, tags, pipeline tag, datasets), then a body for people: what
the model is, what it was trained on, with which settings, what it scored, and how to load it."""

from __future__ import annotations

from typing import Any

from huggingface_hub import ModelCard, ModelCardData
from pydantic import BaseModel, ConfigDict, Field

CONFIG_SHOWN = ("lora_rank", "lora_alpha", "lora_dropout", "learning_rate", "num_epochs", "max_steps", "batch_size",
                "grad_accum", "warmup_steps", "max_seq_length", "eval_share", "seed")


class CardFacts(BaseModel):
    """What the card says, taken from the registry row and its lineage when the push is asked for (JSON-able)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    model_type: str  # generator | classifier
    task: str | None
    files: str  # adapter | merged | model
    base_model: str | None
    license: str | None
    dataset_name: str | None
    dataset_origin: str | None  # upload | generation | fix | hub_import
    hub_dataset: str | None  # the Hub dataset it was imported from
    config: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    num_classes: int | None = None


def metadata(facts: CardFacts) -> ModelCardData:
    is_adapter = facts.files == "adapter"
    tags = ["slmgen", *([facts.task] if facts.task else []), *(["lora", "peft"] if is_adapter else [])]
    return ModelCardData(
        base_model=facts.base_model if facts.base_model and "/" in facts.base_model else None,
        library_name="peft" if is_adapter else "transformers",
        license=facts.license.lower() if facts.license else None,
        tags=tags,
        pipeline_tag="text-classification" if facts.model_type == "classifier" else "text-generation",
        datasets=[facts.hub_dataset] if facts.hub_dataset else None,
    )


def render_model_card(facts: CardFacts, repo_id: str) -> str:
    data = metadata(facts)
    lines = [f"# {facts.name}", "",
             f"A {'LoRA adapter for' if facts.files == 'adapter' else 'fine-tuned'} "
             f"{facts.base_model or 'base model'}, trained with SLMGen for "
             f"{(facts.task or 'chat').replace('_', ' ')}.", ""]
    lines += ["## Training data", "", data_sentence(facts), ""]
    if facts.config:
        lines += ["## Training settings", "", "| setting | value |", "|---|---|"]
        lines += [f"| {key} | {facts.config[key]} |" for key in CONFIG_SHOWN if key in facts.config]
        lines.append("")
    lines += ["## Results", "", *result_lines(facts.metrics), ""]
    lines += ["## How to use it", "", "```python", *usage_lines(facts, repo_id), "```", ""]
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines))
    return str(card)


def data_sentence(facts: CardFacts) -> str:
    if facts.hub_dataset:
        return f"The Hub dataset [{facts.hub_dataset}](https://huggingface.co/datasets/{facts.hub_dataset})."
    if facts.dataset_name:
        how = {"upload": "uploaded", "generation": "generated", "fix": "cleaned", "hub_import": "imported"}
        return f"`{facts.dataset_name}` ({how.get(facts.dataset_origin or '', 'a dataset')} in SLMGen, analysed first)."
    return "Not recorded."


def result_lines(metrics: dict[str, Any]) -> list[str]:
    lines = []
    if "first_loss" in metrics and "final_loss" in metrics:
        lines.append(f"- Training loss: {metrics['first_loss']:.4f} at the first step, {metrics['final_loss']:.4f} at "
                     f"the last ({metrics.get('steps_logged', '?')} steps logged).")
    for key, value in (metrics.get("final_eval") or {}).items():
        if isinstance(value, int | float):
            lines.append(f"- {key}: {value:.4f}")
    if metrics.get("accuracy") is not None:
        lines.append(f"- Held-out accuracy: {metrics['accuracy']:.4f}; macro F1: {metrics.get('macro_f1')}.")
    return lines or ["- No figures were recorded."]


def usage_lines(facts: CardFacts, repo_id: str) -> list[str]:
    if facts.files == "adapter":
        return ["from peft import AutoPeftModelForCausalLM", "from transformers import AutoTokenizer",
                f'model = AutoPeftModelForCausalLM.from_pretrained("{repo_id}")',
                f'tokenizer = AutoTokenizer.from_pretrained("{repo_id}")']
    if facts.model_type == "classifier":
        return ["from transformers import pipeline", f'classify = pipeline("text-classification", model="{repo_id}")']
    return ["from transformers import pipeline", f'generate = pipeline("text-generation", model="{repo_id}")']
