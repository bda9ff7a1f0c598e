"""The one table from error class to HTTP status, and the one JSON shape for every error.

Every error body is `{"detail": "<sentence for a person>", "error": "<stable code>", ...fields}`.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.core import errors as e

log = logging.getLogger("slmgen.api")

STATUS_BY_ERROR: dict[type[e.CoreError], int] = {
    e.InvalidInputError: 422,
    e.NotADatasetError: 422,
    e.UnsupportedEncodingError: 422,
    e.NotFoundError: 404,
    e.ExpiredError: 410,
    e.NotReadyError: 409,
    e.ConflictError: 409,
    e.PayloadTooLargeError: 413,
    e.UnauthorizedError: 401,
    e.RateLimitedError: 429,
    e.UnavailableError: 503,
}

# datasets out (Hub): a valid token that may not do what was asked
STATUS_BY_ERROR[e.ForbiddenError] = 403

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
              413: "payload_too_large", 422: "invalid_input", 429: "rate_limited"}


def status_for(exc: e.CoreError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def error_response(exc: e.CoreError) -> JSONResponse:
    status = status_for(exc)
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    retry_after = exc.fields.get("retry_after")
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after))
    return JSONResponse(exc.to_dict(), status_code=status, headers=headers)


def _describe_validation(exc: RequestValidationError) -> tuple[str, list[dict[str, str]]]:
    fields: list[dict[str, str]] = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        fields.append({"field": ".".join(loc) or "request", "message": str(err.get("msg", "invalid"))})
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return f"Invalid request: {summary}", fields


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(e.CoreError)
    async def _core(_: Request, exc: e.CoreError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail, fields = _describe_validation(exc)
        return JSONResponse({"detail": detail, "error": "invalid_input", "fields": fields}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse({"detail": str(exc.detail), "error": code}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        log.error("database error on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": "The database is unavailable right now; nothing was saved. "
                                       "Try again in a moment.", "error": "database_unavailable"},
                            status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(OSError)
    async def _storage(request: Request, exc: OSError) -> JSONResponse:
        log.error("storage error on %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": "Storage is unavailable right now (disk full or not writable); nothing "
                                       "was saved. Try again later.", "error": "storage_unavailable"},
                            status_code=503, headers={"Retry-After": "30"})


INTERNAL_ERROR_BODY = {"detail": "Internal server error; it has been logged. Please try again.",
                       "error": "internal_error"}


class UnexpectedErrors:
    """Turns any unexpected exception into the logged 500 that echoes nothing internal.

    It runs inside the other middleware (security headers included): Starlette's own last-resort
    handler sits outside all middleware, so its 500s would go out without those headers.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:  # too late to answer differently: let the server close the connection
                raise
            await JSONResponse(INTERNAL_ERROR_BODY, status_code=500)(scope, receive, send)
