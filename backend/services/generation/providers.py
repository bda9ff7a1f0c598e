"""Which LLM providers a request may choose from: the server's list, never a URL from the request.

    default   LLM_BASE_URL + LLM_MODEL (+ OPENAI_API_KEY), priced by LLM_*_PRICE_PER_1M
    …         or, when LLM_PROVIDERS is set, its named entries instead
    local     the embedded SmolLM2-135M-Instruct (LLM_LOCAL_ENABLED): a tiny model for trying the flow

Keys, in order: the request's own key (X-OpenAI-Key, reaching the task as ctx.secret("openai_api_key")),
the entry's `api_key`, then OPENAI_API_KEY, which is only ever sent to api.openai.com so that a key meant
for OpenAI never reaches another server. A provider at api.openai.com without any key is refused before
anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from backend.core.errors import InvalidInputError, UnauthorizedError, UnavailableError
from backend.core.generation.cost import Price
from backend.settings import Settings

LOCAL_PROVIDER = "local"
LOCAL_MODEL = "SmolLM2-135M-Instruct"
TINY_MODEL_NOTE = ("SmolLM2-135M runs inside the server: a tiny model for trying the flow offline, not for data "
                   "you will train on. Pick a larger provider for real data.")
KEY_SECRET = "openai_api_key"  # the name under which the engine hands a request's X-OpenAI-Key to the task


class ProviderSetting(BaseModel):
    """One entry of LLM_PROVIDERS."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")
    base_url: str
    model: str = Field(min_length=1)
    label: str | None = None
    prompt_price_per_1m: float | None = Field(None, ge=0)
    completion_price_per_1m: float | None = Field(None, ge=0)
    api_key: SecretStr | None = None
    max_concurrency: int = Field(16, ge=1, le=256)


@dataclass(frozen=True)
class Provider:
    name: str
    kind: str  # "openai_compatible" | "embedded"
    model: str
    label: str
    base_url: str | None  # None for the embedded model; never shown to clients
    price: Price | None
    server_key: SecretStr | None
    requires_key: bool
    max_concurrency: int
    tiny: bool = False

    def public(self) -> dict[str, Any]:
        """What a client may see (the provider list of the page and of GET routes): no URL, no key."""
        return {
            "name": self.name,
            "kind": self.kind,
            "model": self.model,
            "label": self.label,
            "tiny": self.tiny,
            "note": TINY_MODEL_NOTE if self.tiny else None,
            "prompt_price_per_1m": None if self.price is None else self.price.prompt_per_million,
            "completion_price_per_1m": None if self.price is None else self.price.completion_per_million,
            "needs_request_key": self.requires_key and self.server_key is None,
            "max_concurrency": self.max_concurrency,
        }


def is_openai_host(base_url: str) -> bool:
    host = (urlparse(base_url).hostname or "").lower()
    return host == "api.openai.com" or host.endswith(".openai.com")


def _price(prompt: float | None, completion: float | None) -> Price | None:
    if prompt is None or completion is None:
        return None
    return Price(prompt, completion)


def provider_catalog(settings: Settings) -> list[Provider]:
    """The configured providers, first = default. A broken LLM_PROVIDERS is a configuration error."""
    providers: list[Provider] = []
    if settings.llm_providers:
        for position, raw in enumerate(settings.llm_providers):
            try:
                entry = ProviderSetting.model_validate(raw)
            except ValidationError as exc:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                     for e in exc.errors(include_url=False, include_input=False))
                raise UnavailableError(f"LLM_PROVIDERS entry {position + 1} is not valid ({problems}): fix the "
                                       "server's settings.", code="provider_settings_invalid") from None
            openai_host = is_openai_host(entry.base_url)
            providers.append(Provider(
                name=entry.name, kind="openai_compatible", model=entry.model,
                label=entry.label or entry.model, base_url=entry.base_url,
                price=_price(entry.prompt_price_per_1m, entry.completion_price_per_1m),
                server_key=entry.api_key or (settings.openai_api_key if openai_host else None),
                requires_key=openai_host, max_concurrency=entry.max_concurrency))
    else:
        openai_host = is_openai_host(settings.llm_base_url)
        providers.append(Provider(
            name="default", kind="openai_compatible", model=settings.llm_model,
            label=f"{settings.llm_model} (OpenAI)" if openai_host else settings.llm_model,
            base_url=settings.llm_base_url,
            price=_price(settings.llm_prompt_price_per_1m, settings.llm_completion_price_per_1m),
            server_key=settings.openai_api_key if openai_host else None,
            requires_key=openai_host, max_concurrency=32))
    if settings.llm_local_enabled and all(p.name != LOCAL_PROVIDER for p in providers):
        providers.append(Provider(
            name=LOCAL_PROVIDER, kind="embedded", model=LOCAL_MODEL,
            label="SmolLM2-135M (embedded, tiny: for trying the flow only)", base_url=None, price=None,
            server_key=None, requires_key=False, max_concurrency=1, tiny=True))
    names = [p.name for p in providers]
    if len(set(names)) != len(names):
        raise UnavailableError("LLM_PROVIDERS names a provider twice: give each a name of its own.",
                               code="provider_settings_invalid")
    return providers


def list_providers(settings: Settings) -> list[dict[str, Any]]:
    """The provider list a client sees (the route and the page show it)."""
    return [p.public() for p in provider_catalog(settings)]


def resolve_provider(settings: Settings, name: str | None) -> Provider:
    providers = provider_catalog(settings)
    if not providers:
        raise UnavailableError("No LLM provider is configured: set LLM_BASE_URL and LLM_MODEL, or LLM_PROVIDERS.",
                               code="no_provider")
    if name is None:
        return providers[0]
    for provider in providers:
        if provider.name == name:
            return provider
    known = ", ".join(p.name for p in providers)
    raise InvalidInputError(f"Unknown provider {name!r}: choose one of {known}.", code="unknown_provider",
                            providers=[p.name for p in providers])


def api_key_for(provider: Provider, request_key: str | None) -> str | None:
    """The key to send: the request's, else the server's; an error where one is needed and none is there."""
    if request_key:
        return request_key
    if provider.server_key is not None:
        return provider.server_key.get_secret_value()
    if provider.requires_key:
        raise UnauthorizedError(f"The provider {provider.name!r} needs an API key and the server has none: send "
                                "yours in the X-OpenAI-Key header.", code="provider_key_missing")
    return None
