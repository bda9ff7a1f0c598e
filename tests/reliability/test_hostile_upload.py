"""Hostile uploads through the real app: POST /upload, then GET /analyze until the analysis ends.

For every input: no response is a 5xx; the upload is a 200 or a 4xx in the one error shape; the finished
analysis is a 200 whose report accounts for every record, or a 4xx saying what is wrong; no response shows a
stack trace, a server path or the JWT secret. Odd file names are only ever displayed: what is stored on disk
is named by the server.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from backend.settings import Settings
from tests.api.conftest import wait_for_analysis
from tests.reliability import hostile
from tests.reliability.conftest import (
    assert_error_body,
    assert_nothing_internal,
    assert_report_consistent,
)

T = TypeVar("T")
BOUNDARY = "reliability-boundary-7f3a"


def multipart_parts(parts: list[tuple[bytes, bytes | None, bytes]]) -> bytes:
    """A multipart body built by hand, so file names go out byte for byte (NUL, slashes, 300 characters)."""
    out = b""
    for field, filename, data in parts:
        disposition = b'form-data; name="' + field + b'"'
        if filename is not None:
            disposition += b'; filename="' + filename + b'"'
        out += (b"--" + BOUNDARY.encode() + b"\r\nContent-Disposition: " + disposition
                + b"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + b"\r\n")
    return out + b"--" + BOUNDARY.encode() + b"--\r\n"


def multipart_body(data: bytes, filename: bytes | None, field: bytes = b"file") -> bytes:
    return multipart_parts([(field, filename, data)])


async def post_upload(client: httpx.AsyncClient, body: bytes,
                      content_type: str = f"multipart/form-data; boundary={BOUNDARY}") -> httpx.Response:
    return await client.post("/upload", content=body, headers={"content-type": content_type})


Answers = tuple[httpx.Response, httpx.Response | None]


async def upload_and_follow(client: httpx.AsyncClient, settings: Settings, data: bytes,
                            filename: bytes | None = b"data.jsonl") -> Answers:
    """Upload `data`, follow its analysis to the end, and check every answer on the way."""
    up = await post_upload(client, multipart_body(data, filename))
    assert_nothing_internal(up, settings)
    if up.status_code != 200:
        assert 400 <= up.status_code < 500, up.text
        assert_error_body(up)
        return up, None
    session_id = up.json()["session_id"]
    final = await wait_for_analysis(client, session_id)
    assert_nothing_internal(final, settings)
    assert final.status_code == 200 or 400 <= final.status_code < 500, (final.status_code, final.text[:500])
    if final.status_code == 200:
        assert_report_consistent(final.json()["report"])
        preview = await client.get(f"/preview/{session_id}", params={"page_size": 100})
        assert preview.status_code == 200, preview.text
        assert preview.json()["total_count"] == final.json()["total_examples"]
        assert_nothing_internal(preview, settings)
    else:
        assert_error_body(final)
    return up, final


def run_on(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on the test's event loop from hypothesis's thread (the app lives on that loop)."""
    return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=300)


async def test_hypothesis_hostile_files_through_upload_and_analysis(client: httpx.AsyncClient,
                                                                     settings: Settings) -> None:
    loop = asyncio.get_running_loop()

    @hypothesis_settings(max_examples=40, deadline=None, database=None,
                         suppress_health_check=[HealthCheck.too_slow])
    @given(hostile.hostile_files())
    def check(data: bytes) -> None:
        run_on(loop, upload_and_follow(client, settings, data))

    await asyncio.to_thread(check)


CRAFTED = hostile.crafted_files()


async def test_crafted_hostile_files_through_upload_and_analysis(client: httpx.AsyncClient,
                                                                  settings: Settings) -> None:
    outcomes: dict[str, int] = {}
    for name, data in CRAFTED.items():
        up, final = await upload_and_follow(client, settings, data, f"{name}.jsonl".encode())
        outcomes[name] = (final or up).status_code
    # Files that are no dataset at all get one clear refusal from the analysis, not an empty report.
    for name in ("nul_only", "zip_container", "html_page", "git_lfs_pointer", "bom_only", "gzip_header_only"):
        assert outcomes[name] == 422, (name, outcomes[name])
    assert outcomes["escaped_nul_in_content"] == 200
    # Deep nesting and over-64-bit numbers are unusable or usable records, never an internal failure.
    for name in ("deep_array_100k", "deep_array_lines", "huge_integer_content_in_array"):
        assert outcomes[name] in (200, 422), (name, outcomes[name])


GOOD_FILE = (hostile.GOOD_LINE + "\n").encode() * 3
ODD_NAMES: dict[str, bytes] = {
    "parent_segments": b"../../etc/passwd",
    "absolute_path": b"/etc/cron.d/evil.jsonl",
    "windows_segments": b"..\\..\\Windows\\win.ini",
    "300_characters": b"a" * 296 + b".jsonl",
    "nul_byte": b"data\x00.jsonl",
    "control_characters": b"line\x01one\x1b[31mred.jsonl",
    "unicode": "données_東京_🙂.jsonl".encode(),
    "right_to_left_override": "evil\u202egnp.jsonl".encode(),
    "empty": b"",
    "only_dots": b"..",
    "percent_encoded": b"%2e%2e%2fescape.jsonl",
    "not_utf8": b"\xff\xfe\xfdname.jsonl",
}


def data_dir_files(settings: Settings) -> list[Path]:
    return sorted(p.relative_to(settings.data_dir) for p in settings.data_dir.rglob("*") if p.is_file())


def is_server_chosen(path: Path) -> bool:
    """The only files an upload may leave: uploads/<id>/upload<ext>, its analysis task's store
    (tasks/<task id>/<attempt>/...), the database and queue files, and the server's secret key."""
    parts = path.parts
    if parts[0] == "tasks":
        return len(parts) == 4 and len(parts[1]) == 32 and parts[2].isdigit()
    if parts[0] != "uploads" or len(parts) < 3:
        return (parts[0].startswith(("slmgen.db", "queue.db")) or parts[0] == "secret.key") and len(parts) == 1
    return len(parts) == 3 and parts[2].startswith("upload")



@pytest.mark.parametrize("case", [
    case for case in ODD_NAMES
])
async def test_odd_file_names_are_displayed_safely_and_never_used_on_disk(
        client: httpx.AsyncClient, settings: Settings, case: str) -> None:
    up, final = await upload_and_follow(client, settings, GOOD_FILE, ODD_NAMES[case])
    assert up.status_code == 200, up.text
    assert final is not None and final.status_code == 200
    session_id, shown = up.json()["session_id"], up.json()["filename"]
    assert 0 < len(shown) <= 255
    assert "/" not in shown and "\\" not in shown and shown not in (".", "..")
    assert all(ch.isprintable() for ch in shown), repr(shown)
    files = data_dir_files(settings)
    assert files and all(is_server_chosen(p) for p in files), files
    (stored,) = [p for p in files if len(p.parts) == 3]
    assert stored.parts[1] == session_id
    assert stored.name in ("upload", "upload.jsonl"), stored
    assert not (settings.data_dir.parent / "etc").exists()


MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"

@pytest.mark.parametrize("content_type,body,code", [
    pytest.param("application/json", b'{"messages": []}', "not_multipart", id="json_body"),
    pytest.param("multipart/form-data", multipart_body(GOOD_FILE, b"a.jsonl"), "not_multipart",
                 id="no_boundary"),
    pytest.param(MULTIPART, multipart_body(GOOD_FILE, b"a.jsonl")[:-40], "malformed_upload", id="cut_short"),
    pytest.param(MULTIPART, multipart_body(GOOD_FILE, b"a.jsonl", field=b"data"), "missing_file",
                 id="wrong_field"),
    pytest.param(MULTIPART, multipart_body(b"", b"a.jsonl"), "empty_file", id="empty_file"),
    pytest.param(MULTIPART, b"--" + BOUNDARY.encode() + b"\r\nGarbage\x00\r\n\r\n", None,
                 id="garbage_headers"),
    pytest.param(MULTIPART, b"", None, id="empty_body"),
    pytest.param("text/plain", gzip.compress(GOOD_FILE), "not_multipart", id="gzip_as_text"),
])
async def test_wrong_containers_are_clear_4xx_and_leave_nothing(client: httpx.AsyncClient, settings: Settings,
                                                                content_type: str, body: bytes,
                                                                code: str | None) -> None:
    r = await post_upload(client, body, content_type)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    error = assert_error_body(r)
    if code is not None:
        assert error["error"] == code
    assert_nothing_internal(r, settings)
    assert not any(p.parts[0] == "uploads" for p in data_dir_files(settings))


async def test_two_file_parts_store_only_the_first(client: httpx.AsyncClient) -> None:
    second = b'{"messages": [{"role": "user", "content": "second part"}]}\n'
    body = multipart_parts([(b"file", b"first.jsonl", GOOD_FILE), (b"file", b"second.jsonl", second)])
    up = await post_upload(client, body)
    assert up.status_code == 200, up.text
    assert up.json()["filename"] == "first.jsonl" and up.json()["size"] == len(GOOD_FILE)
    final = await wait_for_analysis(client, up.json()["session_id"])
    assert final.json()["total_examples"] == 3
