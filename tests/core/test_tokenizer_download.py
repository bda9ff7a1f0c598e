"""Tokenizer downloads: off unless allowed, and a downloaded tokenizer is called exact only after a real check.

A local stand-in of the Hugging Face Hub's file API (HEAD/GET /{repo}/resolve/{rev}/{file}, with the
ETag and X-Repo-Commit headers the real client needs) serves the files; the real huggingface_hub client
downloads them.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from backend.core.analysis import AnalysisOptions, analyze_file
from backend.core.tokens import get_counter
from backend.core.tokens.registry import PACKAGED_TOKENIZERS, _packaged_path
from tests.conftest import shared_file

pytestmark = pytest.mark.required


def tiny_tokenizer_json() -> bytes:
    tiny = Tokenizer(models.WordLevel({"hello": 0, "world": 1, "[UNK]": 2}, unk_token="[UNK]"))
    tiny.pre_tokenizer = pre_tokenizers.Whitespace()
    return tiny.to_str().encode()


class StandInHub:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files  # "owner/name" -> tokenizer.json bytes
        self.requests: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, body: bool) -> None:
                hub.requests.append(self.path)
                repo, _, rest = self.path.lstrip("/").partition("/resolve/")
                data = hub.files.get(repo) if rest.endswith("/tokenizer.json") else None
                if data is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
                self.send_header("X-Repo-Commit", "1" * 40)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def do_HEAD(self) -> None:  # noqa: N802 - http.server's names
                self._answer(body=False)

            def do_GET(self) -> None:  # noqa: N802
                self._answer(body=True)

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInHub]:
    hub_constants = pytest.importorskip("huggingface_hub.constants")
    qwen = _packaged_path(PACKAGED_TOKENIZERS["qwen3"])
    assert qwen is not None
    server = StandInHub({
        "Qwen/Qwen3-0.6B-StandIn": qwen.read_bytes(),       # the same tokenizer as the packaged one
        "unsloth/Qwen3-Altered-StandIn": tiny_tokenizer_json(),  # a family name, another tokenizer
        "someone/tiny-StandIn": tiny_tokenizer_json(),
    })
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    yield server
    server.server.shutdown()


def test_without_permission_nothing_is_downloaded(hub: StandInHub, tmp_path: Path) -> None:
    counter = get_counter("someone/tiny-StandIn", allow_download=False)
    assert not counter.info.exact and "downloads are turned off" in (counter.info.note or "")
    report = analyze_file(shared_file("openai_cookbook_toy_chat_fine_tuning.jsonl"),
                          AnalysisOptions(tokenizer="someone/tiny-StandIn"), tmp_path / "store")
    assert report.tokenizer.exact is False and AnalysisOptions().allow_tokenizer_download is False
    assert hub.requests == []  # the default (a server's) never reaches the network


def test_a_downloaded_tokenizer_counts_exactly(hub: StandInHub) -> None:
    counter = get_counter("someone/tiny-StandIn", allow_download=True)
    assert counter.info.exact and counter.info.counted_with == "someone/tiny-StandIn tokenizer.json"
    assert counter.count_batch(["hello world", "hello there world"]) == [2, 3]
    assert any(r.startswith("/someone/tiny-StandIn/resolve/") for r in hub.requests)


def test_a_family_repo_borrows_the_packaged_tokenizer_only_when_its_own_is_equal(hub: StandInHub) -> None:
    same = get_counter("Qwen/Qwen3-0.6B-StandIn", allow_download=True)
    assert same.info.exact and "checked equal to the repo's tokenizer.json" in same.info.counted_with
    assert same.count("Hello world") == get_counter("qwen3").count("Hello world")
    # named like the family, but its tokenizer is another: its own file counts, not the packaged one
    altered = get_counter("unsloth/Qwen3-Altered-StandIn", allow_download=True)
    assert altered.info.exact and altered.info.counted_with == "unsloth/Qwen3-Altered-StandIn tokenizer.json"
    assert altered.count("supercalifragilistic") == 1 < get_counter("qwen3").count("supercalifragilistic")
