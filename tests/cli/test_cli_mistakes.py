"""A person's mistake on the command line is a one-line error and a non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.cli import main
from tests.conftest import shared_file

TOY = "openai_cookbook_toy_chat_fine_tuning.jsonl"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["notebook", "{missing}", "--model", "smollm2-135m-instruct", "-o", "{out}"], "is not a file"),
        (["analyze", "{toy}", "--max-seq-length", "0"], "max_seq_length"),
        (["analyze", "{toy}", "--workers", "0"], "--workers"),
        (["recommend", "{toy}", "--task", "qa", "--deploy", "cloud", "--workers", "0"], "--workers"),
    ],
)
def test_a_mistake_is_an_error_message_not_a_traceback(
        argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    names = {"missing": str(tmp_path / "missing.jsonl"), "out": str(tmp_path / "out.ipynb"),
             "toy": str(shared_file(TOY))}
    try:
        code = main([part.format(**names) for part in argv])
    except SystemExit as exit_:  # argparse refuses a bad value itself
        code = int(exit_.code or 0)
    assert code != 0
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_a_notebook_for_preference_data_is_refused_with_what_to_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Before, the KTO file became an SFT notebook that trained on its 150 answers labelled bad too.
    out = tmp_path / "out.ipynb"
    code = main(["notebook", str(shared_file("llamafactory_kto_en_demo.json")), "--model", "smollm2-135m-instruct",
                 "-o", str(out)])
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert "preference data" in err and "KTO" in err and "Traceback" not in err
