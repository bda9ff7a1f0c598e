"""Training config bounds (the API's 422s name the field), catalogue defaults, and the pinned versions."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from pydantic import ValidationError

from backend.core.catalog import load_catalog
from backend.core.errors import InvalidInputError, PayloadTooLargeError
from backend.core.notebook import DataSource, TrainingConfig, plan_notebook, resolve_config
from backend.core.notebook.versions import CPU_PACKAGES, TORCH_VERSION
from tests.conftest import REPO_ROOT, shared_file
from tests.notebook.canonical import read_canonical


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lora_rank", 0),
        ("lora_rank", 257),
        ("lora_alpha", 513),
        ("learning_rate", 0),
        ("learning_rate", 0.02),
        ("num_epochs", 0),
        ("num_epochs", 21),
        ("max_steps", 0),
        ("max_steps", -2),
        ("max_steps", 100_001),
        ("batch_size", 65),
        ("grad_accum", 0),
        ("max_seq_length", 127),
        ("max_seq_length", 131_073),
        ("eval_share", 0.51),
        ("eval_share", -0.1),
        ("seed", -1),
        ("bogus_field", 1),
    ],
)
def test_out_of_range_values_fail_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        TrainingConfig.model_validate({field: value})
    assert [error["loc"] for error in caught.value.errors()] == [(field,)]


def test_unset_values_come_from_the_catalogue_and_the_context_caps_the_length() -> None:
    entry = load_catalog().get("gemma-2-2b-it")
    resolved = resolve_config(
        TrainingConfig(lora_rank=8, max_seq_length=65536), entry.defaults, context_length=entry.context_length
    )
    assert resolved.lora_rank == 8
    assert resolved.lora_alpha == entry.defaults.lora_alpha
    assert resolved.learning_rate == entry.defaults.learning_rate
    assert resolved.max_seq_length == entry.context_length == 8192
    assert (resolved.max_steps, resolved.eval_share, resolved.seed) == (-1, 0.1, 3407)


def test_too_large_to_embed_says_what_to_do_and_a_url_source_still_works() -> None:
    entry = load_catalog().get("qwen3-0.6b")
    examples = read_canonical(shared_file("llamafactory_alpaca_en_demo.json"))
    with pytest.raises(PayloadTooLargeError) as caught:
        plan_notebook(entry, examples, None, TrainingConfig(), embed_limit_bytes=100_000)
    assert "URL" in caught.value.detail and caught.value.code == "dataset_too_large_to_embed"
    plan = plan_notebook(
        entry, examples, None, TrainingConfig(), DataSource("hub", "me/data"), embed_limit_bytes=1
    )
    assert plan.embedded is None and plan.stats.num_examples == 999


def test_unusable_examples_are_counted_and_listed_not_dropped_silently() -> None:
    entry = load_catalog().get("qwen3-0.6b")
    examples = read_canonical(shared_file("openai_cookbook_toy_chat_fine_tuning.jsonl"))
    broken = [{"messages": [{"role": "user", "content": "no reply"}]}, {"messages": []}]
    plan = plan_notebook(entry, [*examples, *broken], None, TrainingConfig())
    assert plan.stats.num_examples == 5 and plan.stats.skipped_count == 2
    assert plan.stats.skipped == ((5, "it has no assistant reply to learn from"), (6, "it has no messages"))
    with pytest.raises(InvalidInputError, match="No example can be trained on"):
        plan_notebook(entry, broken, None, TrainingConfig())


@pytest.mark.parametrize("source", [("url", "ftp://x/y.jsonl"), ("hub", "not a hub id"), ("url", None)])
def test_bad_data_sources_are_refused(source: tuple[str, str | None]) -> None:
    with pytest.raises(InvalidInputError):
        DataSource(source[0], source[1])  # type: ignore[arg-type]


def test_the_test_extra_pins_the_notebooks_cpu_package_set() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = dict(
        line.split("==", 1) for line in pyproject["project"]["optional-dependencies"]["test"] if "==" in line
    )
    assert pins["torch"] == TORCH_VERSION
    for name, version in CPU_PACKAGES.items():
        assert pins.get(name) == version, f"pyproject's test extra must pin {name}=={version}"
