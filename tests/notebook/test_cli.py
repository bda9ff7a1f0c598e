"""`slmgen notebook FILE --model MODEL_ID -o OUT.ipynb` on real fixture files."""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
import pytest

from backend.cli import notebook
from tests.conftest import shared_file


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    notebook.register(parser.add_subparsers())
    args = parser.parse_args(["notebook", *argv])
    return int(args.handler(args))


def test_writes_a_valid_notebook_with_the_options_given(tmp_path: Path) -> None:
    out = tmp_path / "out.ipynb"
    fixture = shared_file("llamafactory_glaive_toolcall_en_demo.json")
    assert (
        run(
            [
                str(fixture),
                "--model",
                "gemma-3-1b-it",
                "--epochs",
                "1",
                "--task",
                "tool_calling",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    nb = nbformat.read(out, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["slmgen"] == {
        "model_id": "gemma-3-1b-it", "examples": 300, "data_source": "embedded", "objective": "sft"
    }
    params = next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert "NUM_EPOCHS = 1.0" in params and "Task: tool\\_calling" in nb.cells[0].source


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--lora-rank", "999"], "--lora-rank"), (["--model", "no-such-model"], "No model 'no-such-model'")],
)
def test_bad_options_exit_2_with_a_sentence(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = shared_file("openai_cookbook_toy_chat_fine_tuning.jsonl")
    model = [] if "--model" in argv else ["--model", "qwen3-0.6b"]
    assert run([str(fixture), *model, *argv, "-o", str(tmp_path / "x.ipynb")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.ipynb").exists()
