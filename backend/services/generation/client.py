"""Chat completions through the `openai` SDK against any OpenAI-compatible server, with fault handling.

What happens to a fault:
    429, 408, 409, 5xx, timeouts, dropped connections   the SDK retries them (LLM_MAX_RETRIES, exponential
                                                         backoff, honouring Retry-After); every 429 the
                                                         server sends also halves our concurrency (limiter.py)
    still failing after the retries                      BatchFailed(reason): the loop counts the batch as
                                                         failed by that reason and goes on (or stops on the
                                                         error rate)
    a body that is not the API's JSON, no choices         BatchFailed("invalid_response" / "empty_output")
    401/403, 404 (model), 400/422, insufficient_quota    a CoreError: no other batch could succeed either,
                                                         so the task stops at once with the reason

Messages from the provider are passed on with every known secret removed (redact), and the key is
never logged: the SDK's own logger redacts auth headers, and nothing here logs a request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from backend.core.errors import InvalidInputError, NotFoundError, RateLimitedError, UnauthorizedError
from backend.core.generation.presets import Sampling
from backend.services.generation.limiter import AdaptiveLimit
from backend.services.generation.providers import Provider

if TYPE_CHECKING:
    import openai

_KEY_LIKE = re.compile(r"\b(sk|rk|pk|hf|ghp|gho|xox[abp])[-_][A-Za-z0-9_\-*]{8,}")
_DETAIL_CHARS = 300


@dataclass(frozen=True, slots=True)
class ChatReply:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None = None


class BatchFailed(Exception):  # noqa: N818 - a result the loop counts, not an error for a person
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class ChatClient(Protocol):
    provider: Provider
    limiter: AdaptiveLimit

    async def complete(self, messages: Sequence[dict[str, str]], sampling: Sampling) -> ChatReply: ...

    async def aclose(self) -> None: ...


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with each secret (and anything shaped like an API key) replaced by [redacted]."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return _KEY_LIKE.sub("[redacted]", text)


class OpenAIChat:
    """One provider, one AsyncOpenAI client (its connection pool), one adaptive concurrency limit."""

    def __init__(self, provider: Provider, api_key: str | None, *, timeout: float, max_retries: int,
                 limiter: AdaptiveLimit) -> None:
        assert provider.base_url is not None
        self.provider = provider
        self.limiter = limiter
        self._key = api_key
        self.http_attempts = 0
        self.throttled = 0
        import openai  # in the worker that generates; the server never loads the SDK (seconds at startup)
        self._http = openai.DefaultAsyncHttpxClient(
            event_hooks={"request": [self._on_request], "response": [self._on_response]})
        # A server that needs no key still gets a placeholder: the SDK refuses to start without one.
        self._client = openai.AsyncOpenAI(api_key=api_key or "no-key", base_url=provider.base_url,
                                          timeout=timeout, max_retries=max_retries, http_client=self._http)

    async def _on_request(self, request: Any) -> None:
        self.http_attempts += 1

    async def _on_response(self, response: Any) -> None:
        if response.status_code == 429:  # seen on every attempt, retried ones included
            self.throttled += 1
            self.limiter.on_throttle()

    async def complete(self, messages: Sequence[dict[str, str]], sampling: Sampling) -> ChatReply:
        import openai  # loaded by __init__ already

        try:
            response = await self._client.chat.completions.create(
                model=self.provider.model, messages=list(messages),  # type: ignore[arg-type]
                temperature=sampling.temperature, top_p=sampling.top_p,
                presence_penalty=sampling.presence_penalty, max_tokens=sampling.max_tokens)
        except openai.APIStatusError as exc:
            raise self._status_failure(exc) from None
        except openai.APITimeoutError:
            raise BatchFailed("timeout", "the provider did not answer in time, after retries") from None
        except openai.APIConnectionError as exc:
            raise BatchFailed("connection", self._detail(f"could not reach the provider: {exc}")) from None
        except (openai.APIResponseValidationError, json.JSONDecodeError, ValueError) as exc:
            raise BatchFailed("invalid_response", self._detail(f"the answer is not the API's JSON: {exc}")) from None
        if not getattr(response, "choices", None):
            raise BatchFailed("empty_output", "the answer holds no choices")
        choice = response.choices[0]
        text = choice.message.content if choice.message is not None else None
        if choice.finish_reason == "content_filter":
            raise BatchFailed("content_filter", "the provider's content filter stopped the answer")
        if not text or not text.strip():
            raise BatchFailed("empty_output", "the model answered with no text")
        usage = response.usage
        self.limiter.on_success()
        return ChatReply(text, usage.prompt_tokens if usage else -1, usage.completion_tokens if usage else -1,
                         choice.finish_reason)

    def _detail(self, text: str) -> str:
        return redact(text, [self._key])[:_DETAIL_CHARS]

    def _status_failure(self, exc: openai.APIStatusError) -> Exception:
        status = exc.status_code
        message = self._detail(_provider_message(exc))
        name = self.provider.name
        if status in (401, 403):
            return UnauthorizedError(f"The provider {name!r} refused the API key ({status}: {message}). Check the "
                                     "key sent in X-OpenAI-Key or the server's key.", code="provider_key_rejected")
        if status == 404:
            return NotFoundError(f"The provider {name!r} does not know the model {self.provider.model!r} ({message}): "
                                 "fix the provider's model setting.", code="provider_model_not_found")
        if status in (400, 413, 422):
            return InvalidInputError(f"The provider {name!r} refused the request ({status}: {message}): the prompt "
                                     "may be too long for the model; lower batch_size or num_shots.",
                                     code="provider_bad_request")
        if status == 429 and getattr(exc, "code", None) == "insufficient_quota":
            return RateLimitedError(f"The provider {name!r} says the account has no quota left ({message}).",
                                    code="provider_quota_exhausted")
        if status == 429:
            return BatchFailed("rate_limited", f"429 after retries: {message}")
        return BatchFailed("server_error", f"{status} after retries: {message}")

    async def aclose(self) -> None:
        await self._client.close()


def _provider_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return exc.message
