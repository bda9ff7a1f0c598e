"""The Hub through `huggingface_hub`: one API handle per operation, and every Hub failure as a CoreError.

The endpoint is passed explicitly (settings `HF_ENDPOINT`), never read from the library's import-time
globals, so one process can serve any configured Hub. Tokens go only into the client; they are never
logged or put into an error (huggingface_hub's own messages name URLs, not tokens).

    with hub_errors("alice/chat", token_given=True, action="push"):
        api.create_commit(...)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import httpx2  # what huggingface_hub 2.x speaks HTTP with
from huggingface_hub import HfApi
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from backend.core.errors import (
    ConflictError,
    CoreError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    UnauthorizedError,
    UnavailableError,
)

log = logging.getLogger("slmgen.hub")

DEFAULT_ENDPOINT = "https://huggingface.co"
TOKEN_HINT = "Send a Hugging Face access token in the X-HuggingFace-Key header (or save one in your settings)"
_REPO_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}$")


def open_api(endpoint: str, token: str | None) -> HfApi:
    return HfApi(endpoint=endpoint.rstrip("/"), token=token or False, library_name="slmgen")


def check_repo_id(repo: str) -> str:
    """A Hub dataset id as `owner/name` (or a bare `name`, for the token's own namespace)."""
    repo = repo.strip()
    if not _REPO_ID.match(repo) or "--" in repo or ".." in repo or repo.endswith((".", ".git")):
        raise InvalidInputError(
            f"{repo!r} is not a Hub repository id: write it as owner/name (letters, digits, '-', '_', '.').",
            field="repo")
    return repo


def repo_page(endpoint: str, repo_id: str) -> str:
    return f"{endpoint.rstrip('/')}/datasets/{repo_id}"


@contextmanager
def hub_errors(repo_id: str, *, token_given: bool, action: str) -> Iterator[None]:
    """Turn what huggingface_hub (or the network) raises into a CoreError saying what to do."""
    try:
        yield
    except CoreError:
        raise
    except Exception as exc:  # the client raises many types; each is mapped below, the rest re-raised
        error = translate(exc, repo_id, token_given=token_given, action=action)
        if error is None:
            raise
        log.info("hub %s of %s failed: %s (%s)", action, repo_id, error.code, type(exc).__name__)
        raise error from exc


def translate(exc: BaseException, repo_id: str, *, token_given: bool, action: str) -> CoreError | None:
    """The CoreError for one client exception, or None when it is not a Hub failure."""
    if isinstance(exc, RuntimeError) and exc.__cause__ is not None:  # the client wraps failed LFS uploads
        return translate(exc.__cause__, repo_id, token_given=token_given, action=action)
    if isinstance(exc, GatedRepoError):
        return ForbiddenError(
            f"The Hub dataset {repo_id} is gated: accept its conditions on its page with your account, then "
            f"try again with a token of that account. {TOKEN_HINT}.", code="hub_gated", repo=repo_id)
    if isinstance(exc, RevisionNotFoundError):
        return NotFoundError(f"The Hub dataset {repo_id} has no such revision (branch, tag or commit).",
                             code="hub_revision_not_found", repo=repo_id)
    if isinstance(exc, RepositoryNotFoundError):
        if not token_given:
            return UnauthorizedError(
                f"No public Hub dataset {repo_id} can be seen without a token: it does not exist, or it is private "
                f"or gated. Check the id; if it is private, {TOKEN_HINT[0].lower() + TOKEN_HINT[1:]}.",
                code="hub_token_required", repo=repo_id)
        return NotFoundError(
            f"The Hub has no dataset {repo_id} that this token can see: check the id (owner/name), or use a token "
            "of an account with access to it.", code="hub_repo_not_found", repo=repo_id)
    if isinstance(exc, HfHubHTTPError):
        return _from_status(exc, repo_id, action)
    if isinstance(exc, httpx.TransportError | httpx2.TransportError | ConnectionError | TimeoutError):
        return UnavailableError(
            "The Hugging Face Hub could not be reached (network trouble or the Hub is down); nothing was changed "
            "on it. Try again in a few minutes.", code="hub_unreachable", retry_after=60)
    if isinstance(exc, ValueError) and "Invalid metadata in README.md" in str(exc):
        return InvalidInputError(f"The Hub refused the dataset card's metadata: {exc}", code="hub_card_invalid")
    return None


def _from_status(exc: HfHubHTTPError, repo_id: str, action: str) -> CoreError:
    response = exc.response
    status = response.status_code if response is not None else 0
    server_message = (response.headers.get("X-Error-Message") if response is not None else None) or ""
    said = f" The Hub said: {server_message.strip().rstrip('.')}." if server_message.strip() else ""
    if status == 401:
        return UnauthorizedError(
            f"The Hub refused the token (invalid, expired or revoked).{said} Create a new access token in your "
            "Hugging Face settings and send it again.", code="hub_token_invalid")
    if status in (402, 413, 507) or "quota" in server_message.lower() or "storage limit" in server_message.lower():
        return PayloadTooLargeError(
            f"The Hub refused the upload for {repo_id}: over the account's storage or size quota.{said} Free some "
            "space, upgrade the plan, or push a smaller dataset.", code="hub_quota_exceeded", repo=repo_id)
    if status == 403:
        return ForbiddenError(
            f"This token may not {action} {repo_id}.{said} Use a token with write access to the repository's "
            "owner (user or organization).", code="hub_forbidden", repo=repo_id)
    if status == 409:
        return ConflictError(f"The Hub answered with a conflict for {repo_id}.{said}", code="hub_conflict",
                             repo=repo_id)
    if status == 412:
        return ConflictError(
            f"{repo_id} changed on the Hub while this {action} was running; nothing was committed. Run it again.",
            code="hub_repo_changed", repo=repo_id)
    if status == 429:
        retry = response.headers.get("Retry-After") if response is not None else None
        return RateLimitedError(
            f"The Hub is rate-limiting this account.{said} Wait a little and try again.", code="hub_rate_limited",
            retry_after=int(retry) if retry and retry.isdigit() else 60)
    if status >= 500 or status == 0:
        return UnavailableError(
            f"The Hub failed while answering ({status or 'no answer'}); nothing was committed. Try again in a few "
            "minutes.", code="hub_unavailable", retry_after=60)
    return InvalidInputError(f"The Hub refused the {action} of {repo_id} ({status}).{said}", code="hub_refused",
                             repo=repo_id)
