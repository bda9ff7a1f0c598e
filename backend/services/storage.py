"""Where files live under DATA_DIR. Every stored name is chosen here, never by a client.

    DATA_DIR/uploads/<dataset id>/upload<ext>     the uploaded bytes, as received
    DATA_DIR/uploads/<dataset id>/store/          the analysis store of datasets analysed before the task engine
    DATA_DIR/tasks/<task id>/<attempt>/           a task attempt's files (an analysis attempt's store)
    DATA_DIR/notebooks/<notebook id>.ipynb        generated notebooks
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Protocol

from backend.settings import Settings

# Extensions kept on the stored name as a hint for people browsing DATA_DIR; the ingest sniffs content anyway.
KNOWN_EXTENSIONS = (".jsonl.gz", ".json.gz", ".csv.gz", ".tsv.gz", ".jsonl", ".json", ".ndjson", ".csv",
                    ".tsv", ".parquet", ".gz", ".txt")
_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class HasNotebookFile(Protocol):
    @property
    def stored_name(self) -> str: ...


def stored_upload_name(client_filename: str) -> str:
    lower = client_filename.lower()
    ext = next((e for e in KNOWN_EXTENSIONS if lower.endswith(e)), "")
    return f"upload{ext}"


def display_filename(client_filename: str | None) -> str:
    """The client's name, for display only: last path segment, printable, at most 255 characters."""
    name = (client_filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if not name.strip("."):  # "", ".", ".." say nothing about the file and read like paths
        return "dataset"
    return name[:255]


def _checked_id(identifier: str) -> str:
    # Ids come from our own generator, but a path is built from them: refuse anything that could escape.
    if not _ID_PATTERN.fullmatch(identifier):
        raise ValueError(f"not a storage id: {identifier!r}")
    return identifier


def dataset_dir(settings: Settings, dataset_id: str) -> Path:
    return settings.uploads_dir / _checked_id(dataset_id)


def upload_path(settings: Settings, dataset_id: str, stored_name: str) -> Path:
    return dataset_dir(settings, dataset_id) / stored_name


def store_dir(settings: Settings, dataset_id: str) -> Path:
    return dataset_dir(settings, dataset_id) / "store"


def notebook_path(settings: Settings, stored_name: str) -> Path:
    if "/" in stored_name or "\\" in stored_name or stored_name.startswith("."):
        raise ValueError(f"not a stored notebook name: {stored_name!r}")
    return settings.notebooks_dir / stored_name


def delete_dataset_files(settings: Settings, dataset_id: str) -> None:
    """The upload, its analysis store and anything half-received: the dataset's whole folder."""
    shutil.rmtree(dataset_dir(settings, dataset_id), ignore_errors=True)


def delete_notebook_file(settings: Settings, notebook: HasNotebookFile) -> None:
    notebook_path(settings, notebook.stored_name).unlink(missing_ok=True)
