"""The analysis Report: one frozen, JSON-serialisable value that says everything found in a dataset.

Record numbers everywhere are the canonical ones of backend.core.conversation: `index` is the
0-based position among the file's records (usable or not), `line` the 1-based line where the
record starts (None for JSON arrays). Lists of record numbers are capped (AnalysisOptions.
max_examples_listed); the counts next to them never are, and the complete lists are kept in the
analysis store beside the examples (see lists.py) for paging.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.core.conversation import DatasetProfile

SCHEMA_VERSION = 2

# How "tokens per example" is counted for the main figures, stated in every report.
COUNTING_METHOD = (
    "Per example: for every message, 3 tokens of overhead + the tokens of every value it carries: its "
    "role, its content, its name (+1 when a name is present), its tool_call_id, its tool calls (as "
    "compact JSON text) and its weight (as text: '1'); then +3 for the example and the tokens of its "
    "tool schema (`tools`, as text) when it has one. This is the OpenAI cookbook formula (one "
    "implementation, backend.core.tokens.chat), so OpenAI-format files give the cookbook's own figures. "
    "Assistant (trained) tokens are the tokens of the contents and tool calls of assistant messages "
    "whose weight is not 0, without overhead. Per-role figures (tokens_by_role) count each message's "
    "content and tool calls under its role: the tool calls an assistant emits are assistant tokens, "
    "tool results are tool tokens. For preference data the example is the prompt and the preferred "
    "answer (the chosen one, or the labelled completion); rejected answers are not in these figures."
)
NEAR_MEANING = (
    "Every record listed in a near-duplicate group has at least one group-mate whose true Jaccard "
    "similarity to it (over the shingles of the hashed text) is at or above the threshold: LSH "
    "candidates are each checked before they join a group. A group's `similarity` is the lowest such "
    "figure over its members. `count` is the records that are not the first of their group."
)
# How a preference example is stored in the analysis store (and fed to a trainer), one JSON object a line.
PREFERENCE_REPRESENTATION = (
    'paired: {"messages": [prompt turns], "chosen": [answer messages], "rejected": [answer messages]}; '
    'unpaired: {"messages": [prompt turns], "completion": [answer messages], "label": true|false}. '
    "The prompt turns end with a user turn; these map one-to-one onto TRL's conversational "
    "prompt/chosen/rejected and prompt/completion/label columns."
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RecordRef(_Frozen):
    index: int
    line: int | None = None


class HistogramBin(_Frozen):
    lo: float
    hi: float
    count: int


class Distribution(_Frozen):
    count: int = 0
    min: float = 0
    max: float = 0
    mean: float = 0
    median: float = 0
    p5: float = 0
    p95: float = 0
    histogram: list[HistogramBin] = Field(default_factory=list)


class FileSection(_Frozen):
    container: str
    compression: str | None = None
    encoding: str
    encoding_note: str | None = None
    size_bytes: int
    list_key: str | None = None
    format: str  # the most common record format ("mixed" is reported as an issue, not here)
    formats: dict[str, int]  # usable records per detected format


class TokenizerSection(_Frozen):
    name: str
    counted_with: str
    exact: bool
    note: str | None = None
    counting_method: str = COUNTING_METHOD


class Distributions(_Frozen):
    tokens_per_example: Distribution
    assistant_tokens_per_example: Distribution
    messages_per_example: Distribution


class Issue(_Frozen):
    code: str
    severity: Literal["error", "warning", "info"]
    title: str
    detail: str
    advice: str
    count: int
    examples: list[RecordRef] = Field(default_factory=list)


class UnusableRecord(_Frozen):
    index: int
    line: int | None
    code: str
    message: str


class OpenAIFigures(_Frozen):
    """The OpenAI cookbook's validation and token figures, over the raw OpenAI-format records only."""

    applies_to: int  # records in OpenAI `messages` format (the others are not validated here)
    note: str
    tokenizer: str  # the analysis's tokenizer; the cookbook's own figures are for cl100k_base
    format_errors: dict[str, int]  # the cookbook's seven categories, zeros included
    error_examples: dict[str, list[RecordRef]]
    records_with_errors: int
    missing_system: int
    missing_user: int
    messages_per_example: Distribution
    total_tokens_per_example: Distribution
    assistant_tokens_per_example: Distribution
    over_4096: int
    over_16385: int
    over_65536: int
    messages_under_conversations: int = 0  # records whose messages are under "conversations" (rename it)


class Truncation(_Frozen):
    max_seq_length: int
    examples_over: int
    tokens_cut: int  # sum over examples of (tokens - max_seq_length)
    assistant_tokens_cut: int
    examples_losing_all_assistant_tokens: int
    examples: list[RecordRef] = Field(default_factory=list)
    losing_all_examples: list[RecordRef] = Field(default_factory=list)


class DuplicateGroups(_Frozen):
    count: int  # records that repeat an earlier one of their group (the first occurrence not counted)
    groups_count: int
    examples: list[RecordRef] = Field(default_factory=list)  # the later copies
    groups: list[list[RecordRef]] = Field(default_factory=list)


class NearDuplicates(DuplicateGroups):
    threshold: float
    method: str
    hashed_text: str
    meaning: str = NEAR_MEANING
    group_similarity: list[float] = Field(default_factory=list)  # per listed group, see NEAR_MEANING
    candidate_pairs: int = 0  # LSH candidate pairs whose true similarity was computed
    verified_pairs: int = 0  # of those, at or above the threshold (the only links that make groups)
    unchecked_pairs: int = 0  # candidates left unchecked (a budget for pathological files; 0 normally)


class Duplicates(_Frozen):
    exact: DuplicateGroups
    near: NearDuplicates
    prompt: DuplicateGroups  # same user turn, different answers


class Languages(_Frozen):
    method: str
    sampled: int  # examples whose language was detected
    counts: dict[str, int]  # ISO 639-1 code (or "und") -> sampled examples
    shares: dict[str, float]


class ReadStopped(_Frozen):
    """Where reading stopped before the end of the file, and why: nothing after it was analysed."""

    index: int  # the record number the next record would have had
    line: int | None
    code: str  # too_many_records, invalid_encoding, damaged_file, invalid_json, trailing_data
    message: str


class PreferenceSection(_Frozen):
    """The examples are preference data: what a DPO / KTO trainer needs to know to take them."""

    kind: Literal["paired", "unpaired"]
    examples: int  # preference examples (the others, if any, are plain chat)
    source_format: str  # e.g. llamafactory_v1, sharegpt_chosen_rejected, kto_messages_label
    labels: dict[str, int] | None = None  # unpaired: {"true": n, "false": m}
    representation: str = PREFERENCE_REPRESENTATION


class Deduction(_Frozen):
    code: str
    points: int
    reason: str


class Quality(_Frozen):
    score: int
    deductions: list[Deduction]


class PreviewDistribution(_Frozen):
    """The figures of the API's GET /preview/{id}/distribution, as the seed names them."""

    roles: dict[str, int]
    avg_message_length: float  # characters per message
    token_distribution: dict[str, int]  # "0-100", "100-500", "500-1000", "1000+"
    has_system_prompts: bool
    multi_turn_percentage: float


class SystemPrompts(_Frozen):
    distinct: int
    examples_with: int
    most_common: list[str] = Field(default_factory=list)  # up to 5, each cut to 200 characters


class Report(_Frozen):
    # the API contract's fields first
    total_examples: int  # usable examples
    total_tokens: int
    avg_tokens_per_example: float
    quality_score: int = Field(ge=0, le=100)
    quality_issues: list[str]
    format_valid: bool  # every record usable and no OpenAI-format error

    schema_version: int = SCHEMA_VERSION
    file: FileSection
    tokenizer: TokenizerSection
    records_total: int
    records_unusable: int
    unusable: list[UnusableRecord]
    # True when reading stopped early (read_stopped says where): records_total is then a lower bound
    records_total_is_lower_bound: bool = False
    read_stopped: ReadStopped | None = None
    distributions: Distributions
    tokens_by_role: dict[str, int]
    roles: dict[str, int]
    system_prompt_share: float
    multi_turn_share: float
    non_alternating_share: float
    tool_call_share: float
    json_output_share: float
    system_prompts: SystemPrompts
    openai: OpenAIFigures
    issues: list[Issue]
    truncation: Truncation
    duplicates: Duplicates
    languages: Languages
    quality: Quality
    preview: PreviewDistribution
    preference: PreferenceSection | None = None  # None for chat data
    # cpu_* are CPU seconds summed over the workers (parse, tokenize, examples, minhash); the others are
    # wall seconds in the calling process (plan, chunks, merge_*, merge, total). For benchmarks.
    timings: dict[str, float]

    def profile(self) -> DatasetProfile:
        """What the recommender and the notebook planner need, from this report."""
        tokens = self.distributions.tokens_per_example
        return DatasetProfile(
            num_examples=self.total_examples,
            total_tokens=self.total_tokens,
            p95_tokens=int(round(tokens.p95)),
            max_tokens=int(tokens.max),
            mean_assistant_tokens=self.distributions.assistant_tokens_per_example.mean,
            system_prompt_share=self.system_prompt_share,
            multi_turn_share=self.multi_turn_share,
            non_alternating_share=self.non_alternating_share,
            tool_call_share=self.tool_call_share,
            json_output_share=self.json_output_share,
            languages=dict(self.languages.shares),
            tokenizer=self.tokenizer.name,
            tokens_exact=self.tokenizer.exact,
        )

    def duplicates_summary(self) -> dict[str, Any]:
        """The seed's GET /preview/{id}/duplicates body: later copies of exact duplicates."""
        exact = self.duplicates.exact
        return {"count": exact.count, "examples": [ref.index for ref in exact.examples]}

    def issue(self, code: str) -> Issue | None:
        return next((i for i in self.issues if i.code == code), None)
