"""Security headers on every response: a CSP without inline script, no framing, no sniffing."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Swagger UI and ReDoc load their scripts from a CDN and run inline script: they keep FastAPI's defaults.
_DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")


def content_security_policy(supabase_url: str | None) -> str:
    connect = "'self'" + (f" {supabase_url.rstrip('/')}" if supabase_url else "")
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src {connect}; font-src 'self'; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, supabase_url: str | None) -> None:
        self.app = app
        self.headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        self.csp = (b"content-security-policy", content_security_policy(supabase_url).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with_csp = not str(scope.get("path", "")).startswith(_DOCS_PATHS)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(self.headers)
                if with_csp:
                    headers.append(self.csp)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
