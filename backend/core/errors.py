"""One error tree for the whole product.

    CoreError                      anything SLMGen reports to a person on purpose
    ├── InvalidInputError          the request or option is wrong            (422)
    ├── NotADatasetError           the file is something else (LFS pointer…) (422)
    ├── UnsupportedEncodingError   bytes that are no text we can read        (422)
    ├── NotFoundError              unknown (or someone else's) resource      (404)
    ├── ExpiredError               a session or link that has run out        (410)
    ├── NotReadyError              e.g. the analysis has not finished        (409)
    ├── ConflictError              the resource's state forbids this         (409)
    ├── PayloadTooLargeError       over a configured size limit              (413)
    ├── UnauthorizedError          missing or invalid credentials            (401)
    ├── RateLimitedError           too many requests; carries retry_after    (429)
    └── UnavailableError           disk, database or worker trouble          (503)

Core code raises these with structured fields and no HTTP status; the API maps each class
to a status in one table (backend/api/errors.py) and renders `{"detail", "error", ...}`.
`code` is the stable machine-readable name clients can switch on.
"""

from __future__ import annotations

from typing import Any, ClassVar


class CoreError(Exception):
    code: ClassVar[str] = "error"

    def __init__(self, detail: str, *, code: str | None = None, **fields: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code  # type: ignore[misc]  # a subclass may refine its code per raise
        self.fields = fields

    def to_dict(self) -> dict[str, Any]:
        return {"detail": self.detail, "error": self.code, **self.fields}


class InvalidInputError(CoreError):
    code = "invalid_input"


class NotADatasetError(CoreError):
    code = "not_a_dataset"


class UnsupportedEncodingError(CoreError):
    code = "unsupported_encoding"


class NotFoundError(CoreError):
    code = "not_found"


class ExpiredError(CoreError):
    code = "expired"


class NotReadyError(CoreError):
    code = "not_ready"


class ConflictError(CoreError):
    code = "conflict"


class PayloadTooLargeError(CoreError):
    code = "payload_too_large"


class UnauthorizedError(CoreError):
    code = "unauthorized"


class RateLimitedError(CoreError):
    code = "rate_limited"


class UnavailableError(CoreError):
    code = "unavailable"


# --- datasets out (Hub): credentials that are valid but not enough, e.g. a read-only Hub token asked to
# push, or a gated repo whose conditions were not accepted. (Someone else's resource stays a NotFoundError.)
class ForbiddenError(CoreError):  # 403
    code = "forbidden"
