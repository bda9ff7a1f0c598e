"""A run's files: which outputs it has, and each as a download (folders as a zip streamed while it is written).

    adapter/      LoRA adapter + tokenizer            merged/   base + adapter, 16-bit (when asked)
    model/        the fine-tuned classifier / seq2seq  checkpoint   the newest complete checkpoint folder
    results.json  config, data, metrics history, final figures (classification: report and predictions)

The zip is written in one pass to a stream (no temporary file, no whole file in memory): weights are stored as
they are (they do not compress), text files are deflated.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.core.errors import NotFoundError
from backend.db.models import Task
from backend.services.training.checkpoints import latest_checkpoint
from backend.settings import Settings

OUTPUTS = ("adapter", "merged", "model", "checkpoint", "results")
STORED_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".npy", ".zip", ".gz")
CHUNK = 1 << 20


@dataclass(frozen=True)
class Output:
    name: str
    path: Path
    is_folder: bool
    size: int
    step: int | None = None  # a checkpoint's step


def attempt_dir(settings: Settings, task: Task) -> Path:
    return settings.data_dir / "tasks" / task.id / str(task.attempt)


def outputs_of(settings: Settings, task: Task) -> dict[str, Output]:
    """The outputs a run has on disk now (its artifacts, and the newest complete checkpoint it left)."""
    base = attempt_dir(settings, task)
    found: dict[str, Output] = {}
    for name, value in (task.artifacts or {}).items():
        if name in OUTPUTS and name != "checkpoint" and isinstance(value, dict) and isinstance(value.get("path"), str):
            path = (base / value["path"]).resolve()
            if path.is_relative_to(base.resolve()) and path.exists():
                found[name] = Output(name, path, path.is_dir(), size_of(path))
    checkpoint = latest_checkpoint(base / "checkpoints")
    if checkpoint is not None:
        step, folder = checkpoint
        found["checkpoint"] = Output("checkpoint", folder, True, size_of(folder), step)
    return found


def open_output(settings: Settings, task: Task, name: str) -> Output:
    if name not in OUTPUTS:
        raise NotFoundError(f"A run has no output {name!r}; its outputs are {', '.join(OUTPUTS)}.",
                            code="unknown_output")
    found = outputs_of(settings, task).get(name)
    if found is None:
        raise NotFoundError(missing_sentence(task, name), code="output_not_found", output=name)
    return found


def missing_sentence(task: Task, name: str) -> str:
    if task.state in ("QUEUED", "RUNNING", "CANCELLING"):
        return f"The run has no {name} yet (it is {task.state.lower()}); it appears when the run makes one."
    if name == "checkpoint":
        return "This run left no checkpoint (it ended before saving one, or its model was deleted)."
    if name == "merged":
        return "This run has no merged model: ask for one with merge=true when starting a run."
    return f"This run has no {name} (it ended {task.state}, or its model was deleted with its files)."


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class _Sink:
    """A write-only stream the zip writer fills; each take() hands over what was written since."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def zip_chunks(folder: Path, root: str) -> Iterator[bytes]:
    """The folder as a zip archive (entries under `root/`), produced piece by piece (never an empty piece)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", allowZip64=True) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo.from_file(path, f"{root}/{path.relative_to(folder).as_posix()}")
            info.compress_type = zipfile.ZIP_STORED if path.suffix in STORED_SUFFIXES else zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as entry, path.open("rb") as source:
                while block := source.read(CHUNK):
                    entry.write(block)
                    if piece := sink.take():
                        yield piece
    if piece := sink.take():  # the rest, and the central directory written when the archive closed
        yield piece


def remove_files(settings: Settings, files: dict[str, Any]) -> None:
    """Delete a model's files (paths relative to DATA_DIR); only ever inside DATA_DIR/tasks."""
    root = (settings.data_dir / "tasks").resolve()
    for relative in files.values():
        if not isinstance(relative, str):
            continue
        path = (settings.data_dir / relative).resolve()
        if not path.is_relative_to(root):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
