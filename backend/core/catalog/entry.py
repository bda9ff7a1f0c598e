"""One model of the catalogue: the facts the recommender ranks on and the notebook is built from."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Loader = Literal["FastLanguageModel", "FastModel"]

# Every fact a recommendation or a notebook relies on; each must cite a source in `ModelEntry.sources`.
SOURCED_FACTS: tuple[str, ...] = (
    "hf_id",
    "params_b",
    "context_length",
    "license",
    "commercial_use",
    "gated",
    "loader",
    "chat_template",
    "instruction_marker",
    "response_marker",
    "supports_system_role",
    "strict_alternation",
    "supports_tool_calls",
    "languages",
    "lora_target_modules",
    "tokenizer",
    "defaults",
    "vram_gb_qlora_train",
    "vram_gb_inference_16bit",
)

ALL_LANGUAGES = "*"  # in `languages`: the model card claims broad multilingual coverage (100+ languages)


class TrainingDefaults(BaseModel):
    """Starting LoRA/QLoRA hyperparameters for this model (the notebook's defaults)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lora_rank: int = Field(ge=1, le=256)
    lora_alpha: int = Field(ge=1, le=512)
    learning_rate: float = Field(gt=0, le=1e-2)
    num_epochs: float = Field(gt=0, le=20)
    batch_size: int = Field(ge=1, le=64)
    grad_accum: int = Field(ge=1, le=64)
    max_seq_length: int = Field(ge=128, le=131072)


class ModelEntry(BaseModel):
    """A catalogue entry. Field names are the interface the notebook generator and the API read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")  # short slug, e.g. "qwen2.5-1.5b-instruct"
    name: str
    family: str
    size_label: str  # as the model is marketed ("1.5B", "135M"): the API's `size`
    hf_id: str = Field(pattern=r"^[\w.\-]+/[\w.\-]+$")
    unsloth_id: str | None = Field(default=None, pattern=r"^unsloth/[\w.\-]+$")
    loader: Loader
    params_b: float = Field(gt=0, le=100)
    context_length: int = Field(ge=512)
    license: (
        str  # SPDX id where one exists, else the licence's short name ("llama3.2", "gemma", "qwen-research")
    )
    commercial_use: bool
    license_note: str | None = None  # conditions a person should read before shipping
    gated: bool  # the official Hub repo asks users to accept terms before download
    chat_template: str  # Unsloth get_chat_template key (or, with own_template, the format's name)
    own_template: bool = False  # keep the tokenizer's own chat template: Unsloth has no key for this format
    instruction_marker: str  # exact text opening a user turn (train_on_responses_only instruction_part)
    response_marker: str  # exact text opening an assistant turn (train_on_responses_only response_part)
    supports_system_role: bool  # a native system turn; False: the prompt is merged into the first user turn
    strict_alternation: bool  # the template raises unless turns alternate user/assistant
    supports_tool_calls: bool
    languages: tuple[str, ...]
    lora_target_modules: tuple[str, ...] = Field(min_length=1)
    tokenizer: str  # a name the tokens module knows, or a Hub repo id
    tokenizer_exact: bool  # whether counting with `tokenizer` gives this model's own token counts
    defaults: TrainingDefaults
    vram_gb_qlora_train: float = Field(gt=0)
    vram_gb_inference_16bit: float = Field(gt=0)
    sources: dict[str, str]
    notes: tuple[str, ...] = ()
    verified_on: str = Field(pattern=r"^\d{4}-\d{2}(-\d{2})?$")

    @model_validator(mode="after")
    def _check_consistency(self) -> ModelEntry:
        if self.defaults.max_seq_length > self.context_length:
            raise ValueError(
                f"defaults.max_seq_length {self.defaults.max_seq_length} exceeds the context length "
                f"{self.context_length}"
            )
        needed = list(SOURCED_FACTS) + (["unsloth_id"] if self.unsloth_id else [])
        missing = [fact for fact in needed if not self.sources.get(fact, "").startswith("https://")]
        if missing:
            raise ValueError(f"facts without an https source: {', '.join(missing)}")
        return self

    @property
    def card_url(self) -> str:
        return f"https://huggingface.co/{self.hf_id}"

    @property
    def load_id(self) -> str:
        """The repo the notebook loads: Unsloth's copy where one exists (ungated mirrors, fixed templates)."""
        return self.unsloth_id or self.hf_id

    def supports_language(self, code: str) -> bool:
        return ALL_LANGUAGES in self.languages or code.lower() in self.languages
