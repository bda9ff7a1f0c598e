"""`slmgen export` and `slmgen hub push|append|import`: from the axolotl duplicates to a clean Hub dataset and back."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from backend.cli import main
from backend.core.analysis import AnalysisOptions, analyze_file
from tests.conftest import shared_file
from tests.support.hub_standin import HubStandIn

AXOLOTL = "axolotl_pr3685_epoch_sample_1000_messages_dups.jsonl"


def test_export_with_fixes_and_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "clean.sharegpt.jsonl"
    code = main(["export", str(shared_file(AXOLOTL)), "--fix", "drop_exact_duplicates", "--fix",
                 "drop_near_duplicates", "--format", "sharegpt", "-o", str(out), "--workers", "1"])
    assert code == 0
    lines = out.read_bytes().splitlines()
    assert len(lines) == 49 and all("conversations" in orjson.loads(line) for line in lines)
    assert "1,000 -> 60 (940 removed)" in capsys.readouterr().err

    planned = tmp_path / "never.jsonl"
    assert main(["export", str(shared_file(AXOLOTL)), "--fix", "drop_exact_duplicates", "--plan", "-o", str(planned),
                 "--workers", "1"]) == 0
    assert "60 examples after the fixes" in capsys.readouterr().out and not planned.exists()

    refused = tmp_path / "tools.alpaca.jsonl"
    assert main(["export", str(shared_file("llamafactory_glaive_toolcall_en_demo.json")), "--format", "alpaca",
                 "-o", str(refused), "--workers", "1"]) == 1
    assert "300 examples cannot be written as alpaca" in capsys.readouterr().err and not refused.exists()


def test_push_append_and_import_from_the_command_line(tmp_path: Path, hub: HubStandIn,
                                                      read_back: Callable[..., dict[str, Any]],
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    source = str(shared_file(AXOLOTL))
    assert main(["hub", "push", source, "--repo", "clean", "--workers", "1"]) == 1
    assert "HF_TOKEN" in capsys.readouterr().err
    monkeypatch.setenv("HF_TOKEN", "alice-write")

    assert main(["hub", "push", source, "--repo", "clean", "--fix", "drop_exact_duplicates", "--fix",
                 "drop_near_duplicates", "--workers", "1"]) == 0
    captured = capsys.readouterr()
    pushed = json.loads(captured.out)
    assert pushed["repo_id"] == "alice/clean" and sum(pushed["splits"].values()) == 49
    assert "alice-write" not in captured.out + captured.err

    assert main(["hub", "append", source, "--repo", "alice/clean", "--split", "train", "--workers", "1"]) == 0
    appended = json.loads(capsys.readouterr().out)
    assert (appended["added"], appended["left_out_duplicates"]) == (11, 989)  # the near-duplicates were new
    back = read_back("alice/clean")
    assert sum(len(rows) for rows in back["splits"].values()) == 60

    out = tmp_path / "imported.jsonl"
    assert main(["hub", "import", "alice/clean", "--split", "train", "-o", str(out)]) == 0
    imported = json.loads(capsys.readouterr().out)
    report = analyze_file(out, AnalysisOptions(), tmp_path / "store")
    assert report.total_examples == imported["rows"] == len(back["splits"]["train"])
    assert report.duplicates.exact.count == 0
