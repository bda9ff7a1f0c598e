"""`slmgen analyze --max-listed`: as many record numbers per issue and duplicate group as asked, from the
analysis's complete lists (the summary listed 8 and the JSON 20, whatever the file held)."""

from __future__ import annotations

import json
import re

import pytest

from backend.cli import main
from tests.conftest import shared_file

AXOLOTL = "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["analyze", str(shared_file(AXOLOTL)), "--workers", "1", *argv]) == 0
    return capsys.readouterr().out


def test_all_lists_every_record_and_every_group(capsys: pytest.CaptureFixture[str]) -> None:
    out = " ".join(run(capsys, "--max-listed", "all").split())  # the terminal wraps long lines
    extra_keys = out.split("records carry extra top-level keys", 1)[1].split("→", 1)[0]
    assert re.findall(r"#(\d+) \(line (\d+)\)", extra_keys) == [(str(i), str(i + 1)) for i in range(1000)]
    assert len(re.findall(r"exact group \d+ \(", out)) == 60 and "more exact groups" not in out


def test_a_number_limits_the_summary_and_the_json(capsys: pytest.CaptureFixture[str]) -> None:
    out = " ".join(run(capsys, "--max-listed", "2").split())
    assert "1,000 records carry extra top-level keys #0 (line 1), #1 (line 2) … and 998 more" in out
    assert "… and 58 more exact groups" in out
    report = json.loads(run(capsys, "--max-listed", "2", "--json"))["report"]
    assert len(report["duplicates"]["exact"]["groups"]) == 2
    assert all(len(issue["examples"]) <= 2 for issue in report["issues"])


def test_max_listed_must_be_a_number_or_all(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["analyze", str(shared_file(AXOLOTL)), "--max-listed", "some"])
    assert "--max-listed" in capsys.readouterr().err
