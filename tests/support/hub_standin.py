"""A stand-in for the Hugging Face Hub's HTTP API: a test double the real `huggingface_hub` and `datasets`
clients talk to on 127.0.0.1, since the Hub itself cannot be reached from the test machine.

It serves what those clients call to push and read dataset repos, answering as the Hub does:

    GET  /api/whoami-v2                                     who the token belongs to
    POST /api/repos/create, DELETE /api/repos/delete        repos (409 when the name is taken)
    POST /api/validate-yaml                                 the card's metadata must be a YAML mapping
    GET  /api/{type}s/{ns}/{name}[/revision/{rev}]          repo info (sha, private, siblings, cardData; a model's
                                                            safetensors parameter count)
    GET  /api/{type}s/{ns}/{name}/tree/{rev}[/{path}]       listings (404 + X-Error-Code: EntryNotFound)
    POST /api/{type}s/{ns}/{name}/paths-info/{rev}          entries for the paths asked
    POST /api/{type}s/{ns}/{name}/preupload/{rev}           uploadMode: "lfs" for parquet, "regular" for text
    POST /{datasets/}{ns}/{name}.git/info/lfs/objects/batch LFS basic transfer, then PUT /lfs-upload/{oid}
    POST /api/{type}s/{ns}/{name}/commit/{rev}              NDJSON: header, file, lfsFile, deletedFile/Folder
    GET|HEAD /{datasets/}{ns}/{name}/resolve/{rev}/{path}   file bytes (Range too), ETag, X-Repo-Commit (model repos
                                                            without the prefix, as transformers downloads them)

Access follows the Hub's rules: an anonymous request for a private or missing repo gets 401 with
X-Error-Code RepoNotFound, an authenticated one 404; an unknown token gets 401 "Invalid credentials in
Authorization header"; a read-only token cannot write (403). A commit either lands whole or not at all
(every referenced LFS object must have been uploaded, and `parentCommit` must still be the head).
`fail_next(kind, status, ...)` makes the next calls of one kind fail, to test how clients recover.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
import yaml
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

REPO_NOT_FOUND = "RepoNotFound"
LFS_SUFFIXES = (".parquet", ".safetensors", ".bin", ".pt", ".gguf")  # what the Hub asks to receive the LFS way


@dataclass
class Commit:
    sha: str
    files: dict[str, tuple[bytes, bool]]  # path -> (content, stored as LFS)
    message: str


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    commits: list[Commit] = field(default_factory=list)

    @property
    def head(self) -> Commit:
        return self.commits[-1]


@dataclass
class Failure:
    status: int
    message: str
    times: int
    headers: dict[str, str]


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers or {}


@dataclass
class HubStandIn:
    tokens: dict[str, tuple[str, str]]  # token -> (user name, "read" | "write")
    names_shared_across_types: bool = False  # answer 409 when a model or Space already has the name
    repos: dict[tuple[str, str], Repo] = field(default_factory=dict)
    lfs: dict[str, bytes] = field(default_factory=dict)
    failures: dict[str, Failure] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    url: str = ""

    def fail_next(self, kind: str, status: int, message: str = "Internal Error", *, times: int = 1,
                  headers: dict[str, str] | None = None) -> None:
        """Make the next `times` calls of `kind` (create, commit, lfs_upload, preupload, info) fail."""
        self.failures[kind] = Failure(status, message, times, headers or {})

    def add_repo(self, repo_id: str, repo_type: str = "dataset", *, private: bool = False,
                 files: dict[str, bytes] | None = None) -> Repo:
        repo = Repo(repo_type, repo_id, private)
        repo.commits.append(_commit({path: (data, False) for path, data in (files or {}).items()}, "initial commit"))
        self.repos[(repo_type, repo_id)] = repo
        return repo

    def repo(self, repo_id: str, repo_type: str = "dataset") -> Repo:
        return self.repos[(repo_type, repo_id)]

    # --- rules ---------------------------------------------------------------------------------
    def user_of(self, request: Request) -> tuple[str, str] | None:
        header = request.headers.get("authorization", "")
        if not header:
            return None
        token = header.removeprefix("Bearer ").strip()
        if token not in self.tokens:
            raise HubError(401, "Invalid credentials in Authorization header")
        return self.tokens[token]

    def check_failure(self, kind: str) -> None:
        self.calls.append(kind)
        failure = self.failures.get(kind)
        if failure is not None and failure.times > 0:
            failure.times -= 1
            raise HubError(failure.status, failure.message, headers=failure.headers)

    def readable(self, request: Request, repo_type: str, repo_id: str) -> Repo:
        user = self.user_of(request)
        repo = self.repos.get((repo_type, repo_id))
        if repo is None or (repo.private and (user is None or user[0] != repo_id.split("/")[0])):
            raise HubError(401 if user is None else 404, "Repository not found", REPO_NOT_FOUND)
        return repo

    def writable(self, request: Request, repo_type: str, repo_id: str) -> Repo:
        repo = self.readable(request, repo_type, repo_id)
        self.check_write(request, repo_id.split("/")[0])
        return repo

    def check_write(self, request: Request, namespace: str) -> str:
        user = self.user_of(request)
        if user is None:
            raise HubError(401, "You must be authenticated to write")
        if user[1] != "write" or user[0] != namespace:
            raise HubError(403, f"You don't have the rights to write to {namespace}: use a token with write access")
        return user[0]

    def revision(self, repo: Repo, rev: str) -> Commit:
        if rev in ("main", "refs/heads/main"):
            return repo.head
        for commit in repo.commits:
            if commit.sha == rev:
                return commit
        raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")

    def repo_url(self, repo_type: str, repo_id: str) -> str:
        return f"{self.url}/{'' if repo_type == 'model' else repo_type + 's/'}{repo_id}"

    # --- serving -------------------------------------------------------------------------------
    def start(self) -> HubStandIn:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(build_app(self), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        while not self._server.started:
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def _commit(files: dict[str, tuple[bytes, bool]], message: str, parent: Commit | None = None) -> Commit:
    seed = json.dumps([parent.sha if parent else None, message, sorted(files), time.time_ns()]).encode()
    return Commit(hashlib.sha1(seed).hexdigest(), files, message)


def _entry(path: str, content: bytes, is_lfs: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "file", "path": path, "size": len(content),
                             "oid": hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()}
    if is_lfs:
        entry["lfs"] = {"oid": hashlib.sha256(content).hexdigest(), "size": len(content), "pointerSize": 134}
    return entry


def _folder(path: str) -> dict[str, Any]:
    return {"type": "directory", "path": path, "oid": hashlib.sha1(path.encode()).hexdigest()}


def _sibling(path: str, content: bytes, is_lfs: bool) -> dict[str, Any]:
    entry = _entry(path, content, is_lfs)
    sibling: dict[str, Any] = {"rfilename": path, "size": entry["size"], "blobId": entry["oid"]}
    if is_lfs:  # repo info names the LFS hash `sha256`; tree and paths-info call it `oid`
        sibling["lfs"] = {"sha256": entry["lfs"]["oid"], "size": entry["size"], "pointerSize": 134}
    return sibling


def _listing(commit: Commit, path: str, recursive: bool) -> list[dict[str, Any]]:
    prefix = f"{path.strip('/')}/" if path.strip("/") else ""
    entries: dict[str, dict[str, Any]] = {}
    for file_path, (content, is_lfs) in sorted(commit.files.items()):
        if not file_path.startswith(prefix):
            continue
        rest = file_path[len(prefix):].split("/")
        if len(rest) == 1 or recursive:
            entries[file_path] = _entry(file_path, content, is_lfs)
        for depth in range(1, len(rest) if recursive else min(2, len(rest))):
            folder = prefix + "/".join(rest[:depth])
            entries.setdefault(folder, _folder(folder))
    if prefix and not entries:
        raise HubError(404, f"{path} does not exist", "EntryNotFound")
    return list(entries.values())


def _safetensors_parameters(commit: Commit) -> dict[str, int]:
    """Parameters per dtype in the commit's *.safetensors files, read from their headers as the Hub does."""
    counted: dict[str, int] = {}
    for path, (content, _) in commit.files.items():
        if not path.endswith(".safetensors") or len(content) < 8:
            continue
        size = int.from_bytes(content[:8], "little")
        header = json.loads(content[8 : 8 + size])
        for name, tensor in header.items():
            if name != "__metadata__":
                count = 1
                for dim in tensor["shape"]:
                    count *= dim
                counted[tensor["dtype"]] = counted.get(tensor["dtype"], 0) + count
    return counted


def _card_data(commit: Commit) -> dict[str, Any] | None:
    readme = commit.files.get("README.md")
    if readme is None:
        return None
    text = readme[0].decode()
    if not text.startswith("---"):
        return None
    data = yaml.safe_load(text.split("---", 2)[1])
    return data if isinstance(data, dict) else None


def build_app(hub: HubStandIn) -> FastAPI:  # noqa: C901 - one route per Hub endpoint, kept together
    app = FastAPI()

    @app.exception_handler(HubError)
    async def _hub_error(_: Request, exc: HubError) -> JSONResponse:
        headers = dict(exc.headers)
        if exc.code:
            headers["X-Error-Code"] = exc.code
        headers["X-Error-Message"] = exc.message
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=headers)

    @app.get("/api/whoami-v2")
    async def whoami(request: Request) -> dict[str, Any]:
        user = hub.user_of(request)
        if user is None:
            raise HubError(401, "Invalid user token")
        return {"type": "user", "name": user[0], "auth": {"type": "access_token", "accessToken": {"role": user[1]}}}

    @app.post("/api/repos/create")
    async def create(request: Request) -> dict[str, Any]:
        body = await request.json()
        repo_type = body.get("type") or "model"
        namespace = body.get("organization") or (hub.user_of(request) or ("", ""))[0]
        hub.check_write(request, namespace)
        hub.check_failure("create")
        repo_id = f"{namespace}/{body['name']}"
        taken = [t for t, r in hub.repos if r == repo_id and (t == repo_type or hub.names_shared_across_types)]
        if taken:
            raise HubError(409, f"You already created this {taken[0]} repo: {repo_id}")
        repo = Repo(repo_type, repo_id, body.get("visibility") == "private" or bool(body.get("private")))
        repo.commits.append(_commit({".gitattributes": (b"*.parquet filter=lfs diff=lfs merge=lfs -text\n", False)},
                                    "initial commit"))
        hub.repos[(repo_type, repo_id)] = repo
        return {"url": hub.repo_url(repo_type, repo_id), "name": repo_id}

    @app.delete("/api/repos/delete")
    async def delete(request: Request) -> Response:
        body = await request.json()
        repo_type = body.get("type") or "model"
        namespace = body.get("organization") or (hub.user_of(request) or ("", ""))[0]
        hub.writable(request, repo_type, f"{namespace}/{body['name']}")
        del hub.repos[(repo_type, f"{namespace}/{body['name']}")]
        return Response(status_code=200)

    @app.post("/api/validate-yaml")
    async def validate_yaml(request: Request) -> JSONResponse:
        content = (await request.json()).get("content", "")
        if content.startswith("---"):
            try:
                data = yaml.safe_load(content.split("---", 2)[1])
            except yaml.YAMLError as exc:
                return JSONResponse({"errors": [{"message": f"YAML: {exc}"}]}, status_code=400)
            if data is not None and not isinstance(data, dict):
                return JSONResponse({"errors": [{"message": "metadata must be a mapping"}]}, status_code=400)
        return JSONResponse({"errors": [], "warnings": []})

    @app.get("/api/{type_s}/{ns}/{name}")
    @app.get("/api/{type_s}/{ns}/{name}/revision/{rev:path}")
    async def info(type_s: str, ns: str, name: str, request: Request, rev: str = "main") -> dict[str, Any]:
        repo = hub.readable(request, type_s.rstrip("s"), f"{ns}/{name}")
        hub.check_failure("info")
        commit = hub.revision(repo, rev)
        answer = {"id": repo.repo_id, "author": ns, "sha": commit.sha, "private": repo.private, "gated": False,
                  "disabled": False, "lastModified": "2026-12-01T00:00:00.000Z", "tags": [],
                  "siblings": [_sibling(p, *commit.files[p]) for p in sorted(commit.files)],
                  "cardData": _card_data(commit)}
        counted = _safetensors_parameters(commit)
        if repo.repo_type == "model" and counted:  # the Hub counts a model's parameters from its safetensors
            answer["safetensors"] = {"parameters": counted, "total": sum(counted.values())}
        return answer

    @app.get("/api/{type_s}/{ns}/{name}/tree/{rev}")
    @app.get("/api/{type_s}/{ns}/{name}/tree/{rev}/{path:path}")
    async def tree(type_s: str, ns: str, name: str, rev: str, request: Request, path: str = "",
                   recursive: bool = False) -> list[dict[str, Any]]:
        repo = hub.readable(request, type_s.rstrip("s"), f"{ns}/{name}")
        return _listing(hub.revision(repo, rev), path, recursive)

    @app.post("/api/{type_s}/{ns}/{name}/paths-info/{rev}")
    async def paths_info(type_s: str, ns: str, name: str, rev: str, request: Request) -> list[dict[str, Any]]:
        repo = hub.readable(request, type_s.rstrip("s"), f"{ns}/{name}")
        commit = hub.revision(repo, rev)
        form = await request.form()
        paths = form.getlist("paths") if form else (await request.json()).get("paths", [])
        found: list[dict[str, Any]] = []
        for path in (str(p).strip("/") for p in paths):
            if path in commit.files:
                found.append(_entry(path, *commit.files[path]))
            elif any(f.startswith(path + "/") for f in commit.files):
                found.append(_folder(path))
        return found

    @app.post("/api/{type_s}/{ns}/{name}/preupload/{rev}")
    async def preupload(type_s: str, ns: str, name: str, rev: str, request: Request) -> dict[str, Any]:
        hub.writable(request, type_s.rstrip("s"), f"{ns}/{name}")
        hub.check_failure("preupload")
        files = (await request.json())["files"]
        return {"files": [{"path": f["path"], "uploadMode": "lfs" if f["path"].endswith(LFS_SUFFIXES) else "regular",
                           "shouldIgnore": False, "oid": None} for f in files]}

    @app.post("/{ns}/{name}.git/info/lfs/objects/batch")
    @app.post("/{type_s}/{ns}/{name}.git/info/lfs/objects/batch")
    async def lfs_batch(ns: str, name: str, request: Request, type_s: str = "models") -> dict[str, Any]:
        hub.writable(request, type_s.rstrip("s"), f"{ns}/{name}")
        objects = []
        for obj in (await request.json())["objects"]:
            entry: dict[str, Any] = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if obj["oid"] not in hub.lfs:
                entry["actions"] = {"upload": {"href": f"{hub.url}/lfs-upload/{obj['oid']}"}}
            objects.append(entry)
        return {"transfer": "basic", "objects": objects}

    @app.put("/lfs-upload/{oid}")
    async def lfs_upload(oid: str, request: Request) -> Response:
        hub.check_failure("lfs_upload")
        data = await request.body()
        if hashlib.sha256(data).hexdigest() != oid:
            raise HubError(400, "The uploaded bytes do not match their oid")
        hub.lfs[oid] = data
        return Response(status_code=200)

    @app.post("/api/{type_s}/{ns}/{name}/commit/{rev}")
    async def commit(type_s: str, ns: str, name: str, rev: str, request: Request) -> dict[str, Any]:
        repo = hub.writable(request, type_s.rstrip("s"), f"{ns}/{name}")
        hub.check_failure("commit")
        lines = [json.loads(line) for line in (await request.body()).splitlines() if line.strip()]
        header = next(item["value"] for item in lines if item["key"] == "header")
        parent = hub.revision(repo, rev)
        if header.get("parentCommit") and header["parentCommit"] != repo.head.sha:
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        files = dict(parent.files)
        for item in lines:
            value = item["value"]
            if item["key"] == "file":
                files[value["path"]] = (base64.b64decode(value["content"]), False)
            elif item["key"] == "lfsFile":
                if value["oid"] not in hub.lfs:
                    raise HubError(422, f"LFS object {value['oid']} was never uploaded")
                files[value["path"]] = (hub.lfs[value["oid"]], True)
            elif item["key"] == "deletedFile":
                if files.pop(value["path"], None) is None:
                    raise HubError(404, "A file with this name doesn't exist", "EntryNotFound")
            elif item["key"] == "deletedFolder":
                files = {p: f for p, f in files.items() if not p.startswith(value["path"].rstrip("/") + "/")}
        new = _commit(files, header.get("summary", ""), repo.head)
        repo.commits.append(new)
        return {"commitUrl": f"{hub.repo_url(repo.repo_type, repo.repo_id)}/commit/{new.sha}",
                "commitOid": new.sha, "success": True}

    @app.api_route("/{ns}/{name}/resolve/{rev}/{path:path}", methods=["GET", "HEAD"])
    async def resolve_model(ns: str, name: str, rev: str, path: str, request: Request) -> Response:
        return await resolve("models", ns, name, rev, path, request)  # model repos have no type prefix

    @app.api_route("/{type_s}/{ns}/{name}/resolve/{rev}/{path:path}", methods=["GET", "HEAD"])
    async def resolve(type_s: str, ns: str, name: str, rev: str, path: str, request: Request) -> Response:
        repo = hub.readable(request, type_s.rstrip("s"), f"{ns}/{name}")
        commit = hub.revision(repo, rev)
        if path not in commit.files:
            raise HubError(404, "Entry not found", "EntryNotFound")
        content, is_lfs = commit.files[path]
        etag = hashlib.sha256(content).hexdigest() if is_lfs else _entry(path, content, False)["oid"]
        headers = {"ETag": f'"{etag}"', "X-Repo-Commit": commit.sha, "Accept-Ranges": "bytes"}
        if is_lfs:
            headers |= {"X-Linked-Etag": f'"{etag}"', "X-Linked-Size": str(len(content))}
        status, body = 200, content
        ranged = request.headers.get("range", "")
        if ranged.startswith("bytes="):
            start_text, _, end_text = ranged[6:].partition("-")
            start = int(start_text or 0)
            end = min(int(end_text) if end_text else len(content) - 1, len(content) - 1)
            status, body = 206, content[start : end + 1]
            headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return Response(status_code=status, headers=headers)
        return Response(body, status_code=status, headers=headers, media_type="application/octet-stream")

    return app


def iter_files(repo: Repo) -> Iterator[tuple[str, bytes]]:
    for path, (content, _) in sorted(repo.head.files.items()):
        yield path, content
