"""Settings, from the environment and `.env` (every variable is listed in .env.example)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The local development secret: good for `slmgen token` on one machine, refused in production.
DEV_JWT_SECRET = "slmgen-local-development-secret-not-for-production-use"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    database_url: str | None = None  # default: a SQLite file under data_dir

    supabase_url: str = "http://127.0.0.1:54321"
    supabase_jwt_secret: str = DEV_JWT_SECRET
    supabase_anon_key: str | None = None
    jwks_cache_seconds: int = 600

    public_base_url: str = "http://127.0.0.1:8000"
    cors_origins: list[str] = Field(default_factory=list)

    max_upload_bytes: int = 2 * 1024**3
    anonymous_ttl_hours: float = 24.0
    download_link_ttl_hours: float = 24.0 * 7
    cleanup_interval_seconds: float = 600.0
    analysis_workers: int = 2
    max_concurrent_analyses: int = 4
    max_queued_analyses: int = 100
    max_analyses_per_client: int = 3
    max_line_bytes: int = 64 * 1024 * 1024
    max_records: int = 5_000_000
    max_decompressed_bytes: int = 4 * 1024**3
    max_decompression_ratio: int = 100
    upload_rate_per_minute: int = 30
    generate_rate_per_minute: int = 30
    default_max_seq_length: int = 2048
    default_tokenizer: str = "cl100k_base"

    github_token: str | None = None  # enables "Open in Colab" through a secret gist
    github_api_url: str = "https://api.github.com"  # GitHub Enterprise, or a local stand-in in tests

    # Encrypts secrets at rest (provider keys, Hub tokens): a Fernet key shared by servers and workers.
    # Empty: generated once into DATA_DIR/secret.key.
    secret_key: SecretStr | None = None

    # trust: whether a worker may download the tokenizer of a Hugging Face repo id a client names. Off on a
    # server: a repo id is then counted with its tokenizer from the local Hugging Face cache (exact) or
    # estimated (labelled), and nothing is fetched on a client's say-so. The CLI allows it on your machine.
    allow_tokenizer_download: bool = False

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'slmgen.db').resolve()}"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def notebooks_dir(self) -> Path:
        return self.data_dir / "notebooks"

    def check_production_safety(self) -> None:
        """Refuse to serve real users with the published development secret."""
        if self.environment == "production" and self.supabase_jwt_secret == DEV_JWT_SECRET:
            raise RuntimeError(
                "SUPABASE_JWT_SECRET is the development default; set your project's JWT secret "
                "(Supabase dashboard → Project Settings → API) before running with ENVIRONMENT=production."
            )
