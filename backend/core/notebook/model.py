"""What the notebook needs to know about the chosen model, read from a catalogue entry.

The catalogue (backend.core.catalog) owns the facts; this module only reads the attributes it
needs and checks the ones that end up as code in the notebook (the loader class name) against a
closed set, so a catalogue typo cannot become an injected identifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from backend.core.errors import InvalidInputError

Loader = Literal["FastLanguageModel", "FastModel"]
LOADERS: tuple[str, ...] = ("FastLanguageModel", "FastModel")


class ModelEntryLike(Protocol):
    """The catalogue entry's fields the notebook reads (see backend.core.catalog.ModelEntry)."""

    # Read-only properties, so a pydantic model with narrower (Literal) field types still matches.

    @property
    def model_id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def hf_id(self) -> str: ...

    @property
    def unsloth_id(self) -> str | None: ...

    @property
    def loader(self) -> str: ...

    @property
    def chat_template(self) -> str: ...

    @property
    def own_template(self) -> bool: ...

    @property
    def instruction_marker(self) -> str: ...

    @property
    def response_marker(self) -> str: ...

    @property
    def supports_system_role(self) -> bool: ...

    @property
    def strict_alternation(self) -> bool: ...

    @property
    def lora_target_modules(self) -> Any: ...

    @property
    def tokenizer(self) -> str: ...

    @property
    def tokenizer_exact(self) -> bool: ...

    @property
    def defaults(self) -> Any: ...

    @property
    def context_length(self) -> int: ...

    @property
    def params_b(self) -> float: ...

    @property
    def license(self) -> str: ...

    @property
    def gated(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ModelChoice:
    model_id: str
    name: str
    load_name: str  # what Unsloth loads on a GPU: the Unsloth mirror when there is one
    hf_id: str  # what transformers loads in the fallback path
    loader: Loader
    chat_template: str  # Unsloth get_chat_template key (with own_template: only the format's name)
    own_template: bool  # keep the tokenizer's own chat template (Unsloth has no key for this format)
    instruction_marker: str
    response_marker: str
    supports_system_role: bool
    strict_alternation: bool
    lora_target_modules: tuple[str, ...]
    tokenizer: str  # what the analysis counts this model's tokens with
    tokenizer_exact: bool  # whether that tokenizer is the model's own
    context_length: int
    params_b: float
    license: str
    gated: bool


def choose_model(entry: ModelEntryLike) -> ModelChoice:
    loader = str(entry.loader)
    if loader not in LOADERS:
        raise InvalidInputError(
            f"Model {entry.model_id} names the loader {loader!r}; the notebook knows only "
            f"{', '.join(LOADERS)}. Fix the catalogue entry.",
            code="invalid_model_entry",
            field="loader",
        )
    if not entry.instruction_marker or not entry.response_marker:
        raise InvalidInputError(
            f"Model {entry.model_id} has no instruction/response markers, so response-only training "
            "cannot find the assistant's turns. Fix the catalogue entry.",
            code="invalid_model_entry",
            field="response_marker",
        )
    modules = tuple(str(m) for m in (entry.lora_target_modules or ()))
    return ModelChoice(
        model_id=entry.model_id,
        name=entry.name,
        load_name=entry.unsloth_id or entry.hf_id,
        hf_id=entry.hf_id,
        loader=loader,  # type: ignore[arg-type]  # checked against LOADERS above
        chat_template=entry.chat_template,
        own_template=bool(getattr(entry, "own_template", False)),
        instruction_marker=entry.instruction_marker,
        response_marker=entry.response_marker,
        supports_system_role=bool(entry.supports_system_role),
        strict_alternation=bool(entry.strict_alternation),
        lora_target_modules=modules,
        tokenizer=str(entry.tokenizer),
        tokenizer_exact=bool(entry.tokenizer_exact),
        context_length=int(entry.context_length),
        params_b=float(entry.params_b),
        license=str(entry.license),
        gated=bool(entry.gated),
    )
