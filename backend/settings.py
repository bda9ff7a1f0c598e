"""Settings, from the environment and `.env` (every variable is listed in .env.example)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Literal

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

    # --- the task engine (see .env.example) ---
    task_queue_url: str | None = None  # None: the database when it is PostgreSQL, else DATA_DIR/queue.db
    embedded_workers: bool = True  # `slmgen serve` starts `slmgen worker` beside itself
    worker_kinds: list[str] | None = None  # kinds a worker takes by default; None: every kind
    generation_workers: int = 2
    hub_workers: int = 1
    training_workers: int = 1
    task_lease_seconds: float = 15.0
    task_poll_seconds: float = 0.05
    task_cancel_grace_seconds: float = 2.0
    max_tasks_per_client: int = 5
    max_queued_tasks: int = 200
    max_event_streams_per_client: int = 4
    task_plugins: list[str] = Field(default_factory=list)  # modules that register more task kinds

    # Encrypts secrets at rest (provider keys, Hub tokens): a Fernet key shared by servers and workers.
    # Empty: generated once into DATA_DIR/secret.key.
    secret_key: SecretStr | None = None

    # --- datasets out (Hub push, append, import) ---
    # The Hugging Face Hub to talk to (the same variable huggingface_hub itself reads).
    hf_endpoint: str = "https://huggingface.co"

    # --- generation (synthetic data): LLM providers, OpenAI wire protocol (backend/services/generation) ---
    # The default provider: any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp, `transformers serve`).
    llm_base_url: str = "https://api.openai.com/v1"
    llm_model: str = "gpt-4o-mini"
    # Server-side key, sent only to providers at api.openai.com (a request may bring its own: X-OpenAI-Key).
    openai_api_key: SecretStr | None = None
    llm_prompt_price_per_1m: float | None = 0.15  # USD per million prompt tokens of the default provider
    llm_completion_price_per_1m: float | None = 0.60
    # More named providers, a JSON list: [{"name", "base_url", "model", "label"?, "prompt_price_per_1m"?,
    # "completion_price_per_1m"?, "api_key"?, "max_concurrency"?}]. When set, they replace the default one.
    llm_providers: list[dict[str, Any]] = Field(default_factory=list)
    llm_local_enabled: bool = True  # the embedded SmolLM2-135M provider "local" (a tiny model for trying the flow)
    llm_timeout_seconds: float = 60.0  # per request attempt
    llm_max_retries: int = 3  # the SDK's retries of 408/409/429/5xx and timeouts, with backoff

    # trust: whether a worker may download the tokenizer of a Hugging Face repo id a client names. Off on a
    # server: a repo id is then counted with its tokenizer from the local Hugging Face cache (exact) or
    # estimated (labelled), and nothing is fetched on a client's say-so. The CLI allows it on your machine.
    allow_tokenizer_download: bool = False
    # --- training in the product (issue 13): runs on the task engine, the model registry, Colab report-back ---
    # CPU threads a training run uses (0: torch's own choice, every core). On a machine that also serves the
    # web app and analyses, fewer threads than cores avoid the threads spinning against each other.
    training_cpu_threads: int = Field(0, ge=0, le=256)
    # Models with more parameters than this (billions) train on the "gpu" queue; smaller ones train on CPU.
    training_cpu_max_params_b: float = Field(0.5, gt=0)
    # A running training run saves a checkpoint this often (seconds of training), so a lost worker keeps it.
    training_checkpoint_seconds: float = Field(600.0, gt=0)
    # A Colab run that has not reported for this long is ended (its notebook stopped or its session ended).
    colab_report_silence_minutes: float = Field(60.0, gt=0)

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'slmgen.db').resolve()}"

    @property
    def resolved_queue_url(self) -> str:
        """Where the queue lives: TASK_QUEUE_URL, else the PostgreSQL database, else a SQLite file in DATA_DIR."""
        if self.task_queue_url:
            return self.task_queue_url
        if self.resolved_database_url.startswith("postgresql"):
            return self.resolved_database_url
        return f"sqlite:///{(self.data_dir / 'queue.db').resolve()}"

    def workers_for(self, queue: str) -> int:
        """Worker processes a `slmgen worker` runs for one queue."""
        counts = {"analysis": self.analysis_workers, "generation": self.generation_workers,
                  "hub": self.hub_workers, "training": self.training_workers}
        return max(1, counts.get(queue, 1))

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
