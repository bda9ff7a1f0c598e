"""The dataset card (README.md) a push writes: YAML metadata for the Hub, and a body written for people.

The metadata is built with the libraries' own writers (`DatasetCardData`, and `datasets`'
`MetadataConfigs` / `DatasetInfosDict`, as `push_to_hub` writes them), so `load_dataset(repo)` finds
the splits and their sizes. The body says where the data came from, what the analysis found and what is
known to be wrong with it. The split table sits between markers, so an append can rewrite its counts.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from datasets import Features
from datasets.info import DatasetInfo, DatasetInfosDict
from datasets.splits import SplitDict, SplitInfo
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from backend.services.hub.facts import CardFacts, Origin
from backend.services.hub.parquet import SCHEMA

SPLITS_START = "<!-- slmgen:splits:start -->"
SPLITS_END = "<!-- slmgen:splits:end -->"
UPDATES_HEADING = "## Updates"
LANGUAGE_MIN_SHARE = 0.05
TASK_CATEGORIES = {"classification": "text-classification", "qa": "question-answering",
                   "summarization": "summarization"}  # other tasks: text-generation
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"))


def size_category(rows: int) -> str:
    return next((name for limit, name in SIZE_CATEGORIES if rows < limit), "n>100M")


def languages_of(facts: CardFacts) -> list[str]:
    return sorted(code for code, share in facts.languages.items() if share >= LANGUAGE_MIN_SHARE and code != "und")


def split_paths(split: str) -> str:
    return f"data/{split}-*"


def card_metadata(facts: CardFacts, splits: dict[str, int], *, license: str, task_category: str,
                  pretty_name: str, data_files: dict[str, list[str] | str] | None = None) -> DatasetCardData:
    data = DatasetCardData(
        license=license, language=languages_of(facts) or None, task_categories=[task_category],
        size_categories=[size_category(sum(splits.values()))], pretty_name=pretty_name,
        tags=["slmgen", "chat", "conversational"])
    files = data_files or {split: split_paths(split) for split in splits}
    MetadataConfigs({"default": {"data_files": [{"split": s, "path": p} for s, p in files.items()]}}
                    ).to_dataset_card_data(data)
    set_split_counts(data, splits)
    return data


def set_split_counts(data: DatasetCardData, splits: dict[str, int], features: Features | None = None) -> None:
    """Write `dataset_info` (features, by default this product's, and per-split sizes), as `push_to_hub` does."""
    info = DatasetInfo(features=features or Features.from_arrow_schema(SCHEMA),
                       splits=SplitDict({name: SplitInfo(name=name, num_examples=n) for name, n in splits.items()}))
    data.pop("dataset_info", None)
    DatasetInfosDict({"default": info}).to_dataset_card_data(data)


def render_card(facts: CardFacts, repo_id: str, splits: dict[str, int], *, license: str, task_category: str,
                split_note: str) -> str:
    """The whole README.md for a fresh push."""
    name = repo_id.split("/")[-1]
    metadata = card_metadata(facts, splits, license=license, task_category=task_category, pretty_name=name)
    body = "\n".join([
        f"# {_md(name)}", "",
        f"{facts.examples:,} chat conversations for supervised fine-tuning, one per row in the `messages` column "
        f"(OpenAI-style `role`/`content` turns; `tools` holds a tool schema where there is one). Prepared and "
        f"pushed with SLMGen on {datetime.now(UTC):%Y-%m-%d}.", "",
        "```python", "from datasets import load_dataset", "", f'dataset = load_dataset("{repo_id}")', "```", "",
        "## Splits", "", splits_table(splits), "", split_note, "",
        "## Where the data came from", "", *_origin_lines(facts.origin), "",
        "## What the analysis found", "", *_analysis_lines(facts), "",
        "## Known issues", "", *_issue_lines(facts), "",
        UPDATES_HEADING, "", f"- {datetime.now(UTC):%Y-%m-%d}: first push, {sum(splits.values()):,} examples.", "",
    ])
    return f"---\n{metadata.to_yaml()}\n---\n\n{body}"


def splits_table(splits: dict[str, int]) -> str:
    rows = [f"| {name} | {count:,} |" for name, count in splits.items()]
    return "\n".join([SPLITS_START, "| split | examples |", "|---|---|", *rows, SPLITS_END])


def update_card(text: str, splits: dict[str, int], update_line: str, features: Features,
                data_files: dict[str, list[str] | str] | None = None) -> str:
    """The README with new split counts (metadata and table), optionally new data files, and one more update."""
    card = DatasetCard(text)
    data = card.data
    assert isinstance(data, DatasetCardData)  # a DatasetCard's data always is
    set_split_counts(data, splits, features)
    if data_files is not None:
        MetadataConfigs({"default": {"data_files": [{"split": s, "path": p} for s, p in data_files.items()]}}
                        ).to_dataset_card_data(data)
    data["size_categories"] = [size_category(sum(splits.values()))]
    body = card.text
    table = splits_table(splits)
    pattern = re.compile(re.escape(SPLITS_START) + r".*?" + re.escape(SPLITS_END), re.DOTALL)
    body = pattern.sub(lambda _: table, body) if pattern.search(body) else f"{body.rstrip()}\n\n## Splits\n\n{table}\n"
    line = f"- {datetime.now(UTC):%Y-%m-%d}: {update_line}"
    if UPDATES_HEADING in body:
        head, _, rest = body.partition(UPDATES_HEADING)
        body = f"{head}{UPDATES_HEADING}\n\n{line}\n{rest.lstrip()}"
    else:
        body = f"{body.rstrip()}\n\n{UPDATES_HEADING}\n\n{line}\n"
    return f"---\n{data.to_yaml()}\n---\n\n{body.lstrip()}"


def _md(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>#|])", r"\\\1", text)


def _origin_lines(origin: Origin) -> list[str]:
    lines: list[str] = []
    if origin.kind == "upload":
        lines.append(f"Uploaded to SLMGen as `{_code(origin.filename or 'a file')}` and converted to chat form.")
    elif origin.kind == "generated":
        who = ", ".join(p for p in (origin.provider, origin.model) if p) or "a language model"
        lines.append(f"Generated by {_md(who)} through SLMGen.")
        lines += [f"- {_md(key)}: `{_code(str(value))}`" for key, value in sorted(origin.settings.items())]
    elif origin.kind == "hub_import":
        lines.append(f"Imported from the Hub dataset `{_code(origin.source_repo or '?')}`.")
        lines += [f"- {_md(key)}: `{_code(str(value))}`" for key, value in sorted(origin.settings.items())]
    else:
        made_from = ""
        if origin.source_repo:
            made_from = f", imported from the Hub dataset `{_code(origin.source_repo)}`"
        elif origin.provider or origin.model:
            made_from = f", generated by {_md(', '.join(p for p in (origin.provider, origin.model) if p))}"
        lines.append(f"A cleaned version of `{_code(origin.parent or 'an earlier version')}`{made_from}.")
    if origin.fixes:
        lines += ["", "Fixes applied before pushing:"]
        for fix in origin.fixes:
            counts = ", ".join(f"{fix[k]:,} {k}" for k in ("removed", "changed") if fix.get(k))
            what = _md(str(fix.get("description") or fix.get("action")))
            lines.append(f"- {what}" + (f" ({counts})" if counts else ""))
    return lines


def _analysis_lines(facts: CardFacts) -> list[str]:
    exact = "exact" if facts.tokens_exact else "estimated"
    by_share = sorted(facts.languages.items(), key=lambda kv: -kv[1])
    languages = ", ".join(f"{code} {share:.0%}" for code, share in by_share)
    return [
        "| figure | value |", "|---|---|",
        f"| examples | {facts.examples:,} |",
        f"| tokens ({exact}, `{_code(facts.tokenizer)}`) | {facts.total_tokens:,} |",
        f"| tokens per example: mean / median / p95 / max | {facts.tokens_mean:,.0f} / {facts.tokens_median:,.0f} / "
        f"{facts.tokens_p95:,.0f} / {facts.tokens_max:,.0f} |",
        f"| with a system prompt | {facts.system_prompt_share:.0%} |",
        f"| multi-turn | {facts.multi_turn_share:.0%} |",
        f"| with tool calls | {facts.tool_call_share:.0%} |",
        f"| languages (detected) | {_md(languages) or 'not detected'} |",
        f"| source format | `{_code(facts.source_format)}` |",
        "", f"**Quality score: {facts.quality_score}/100.**" + (" Deductions:" if facts.deductions else ""),
        *[f"- {_md(d)}" for d in facts.deductions],
    ]


def _issue_lines(facts: CardFacts) -> list[str]:
    if not facts.issues:
        return ["None found by the analysis (errors and warnings)."]
    return [f"- **{issue['severity']}**: {_md(issue['title'])}. {_md(issue['advice'])}" for issue in facts.issues]


def _code(text: str) -> str:
    return text.replace("`", "'")
