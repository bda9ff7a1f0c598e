"""Reading a Hub dataset repo: its info at one commit, and a snapshot of its files that `datasets` can load.

Each read downloads into the task's own directory (never a cache shared between users or tokens), at the
commit the info named, so what is checked is what is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import HfApi

from backend.core.errors import PayloadTooLargeError


@dataclass(frozen=True)
class Snapshot:
    path: Path
    sha: str
    private: bool
    readme: str  # README.md as text ("" when the repo has none)
    size_bytes: int  # all files, as the Hub reports them


def load_snapshot(api: HfApi, repo_id: str, revision: str | None, work: Path, *,
                  max_bytes: int | None = None) -> Snapshot:
    """Download the repo at `revision` (default: main) into work/snapshot. Raises the client's errors."""
    info = api.dataset_info(repo_id, revision=revision, files_metadata=True)
    sha = info.sha or revision or "main"
    size = sum(s.size or 0 for s in info.siblings or [])
    if max_bytes is not None and size > max_bytes:
        raise PayloadTooLargeError(
            f"{repo_id} holds {size / 1e6:,.1f} MB of files, over this server's limit of {max_bytes / 1e6:,.0f} MB "
            "for a dataset. Import one split or config of it, or a smaller dataset.",
            code="hub_dataset_too_large", limit_bytes=max_bytes, size_bytes=size)
    path = Path(api.snapshot_download(repo_id, repo_type="dataset", revision=sha, local_dir=work / "snapshot"))
    readme_path = path / "README.md"
    readme = readme_path.read_text(encoding="utf-8") if readme_path.exists() else ""
    return Snapshot(path=path, sha=sha, private=bool(info.private), readme=readme, size_bytes=size)
