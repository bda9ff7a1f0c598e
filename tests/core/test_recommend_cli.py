"""`slmgen models` and `slmgen recommend` in their readable form, and their errors."""

from __future__ import annotations

import pytest

from backend.cli import main as slmgen
from backend.core.catalog import load_catalog
from tests.conftest import shared_file


def test_models_prints_every_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert slmgen(["models"]) == 0
    out = capsys.readouterr().out
    for entry in load_catalog():
        assert entry.model_id in out
    assert "qwen-research" in out and "verified 2026-11" in out


def test_recommend_prints_the_ranking_with_reasons_and_why_not(capsys: pytest.CaptureFixture[str]) -> None:
    path = shared_file("llamafactory_glaive_toolcall_en_demo.json")
    code = slmgen(
        [
            "recommend",
            str(path),
            "--task",
            "tool_calling",
            "--deploy",
            "mobile",
            "--commercial-only",
            "--workers",
            "1",
        ]
    )
    assert code == 0
    out = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    assert "tool_calling on mobile" in out
    assert "1. Qwen2.5 1.5B Instruct" in out
    assert "+ Its chat template renders tool calls and results (100% of your examples use tools)." in out
    assert "Excluded (" in out and "qwen2.5-3b-instruct: Not for commercial use" in out
    assert "equal scores go to the smaller model" in out


def test_recommend_on_something_that_is_not_a_dataset_says_what_it_is(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = shared_file("messy_llamafactory_alpaca_data_en_52k_git_lfs_pointer.json")
    assert slmgen(["recommend", str(path), "--task", "qa", "--deploy", "cloud", "--workers", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "LFS" in err


def test_recommend_on_a_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert slmgen(["recommend", "no-such-file.jsonl", "--task", "qa", "--deploy", "cloud"]) == 2
    assert "no-such-file.jsonl is not a file" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "value"), [("--task", "chatting"), ("--deploy", "phone")])
def test_unknown_task_or_target_lists_the_choices(
    capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    argv = ["recommend", "x.jsonl", "--task", "qa", "--deploy", "cloud"]
    argv[argv.index(flag) + 1] = value
    with pytest.raises(SystemExit) as info:
        slmgen(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"invalid choice: '{value}'" in err and ("tool_calling" in err or "browser" in err)
