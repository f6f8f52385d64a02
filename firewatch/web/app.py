"""The review app's factory: routers, templates, static files, security headers, error table."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from firewatch.config import Settings
from firewatch.dispatch.review import BadVerdict, NotAllowed, PointNotFound
from firewatch.errors import FirewatchError

__all__ = ["create_app"]

log = logging.getLogger(__name__)

HERE = Path(__file__).parent

#: Errors -> (HTTP status, message shown).  One table for pages and the API.
ERROR_STATUS: dict[type[Exception], tuple[int, str]] = {
    PointNotFound: (404, "没有这个火点，或不在你的网格范围内。Not found."),
    NotAllowed: (403, "你的角色不能进行此操作。Not allowed for your role."),
    BadVerdict: (400, "提交的内容不完整或有误。Invalid input."),
}

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(self), geolocation=(self), microphone=()"),
]


class GuardMiddleware:
    """Adds security headers to every answer and refuses request bodies over ``max_body``."""

    def __init__(self, app: ASGIApp, *, max_body: int, secure: bool) -> None:
        self.app = app
        self.max_body = max_body
        self.headers = list(SECURITY_HEADERS)
        if secure:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await _too_large(send, self.headers)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _BodyTooLarge
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except _BodyTooLarge:
            if not started:
                await _too_large(send, self.headers)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, headers: list[tuple[bytes, bytes]]) -> None:
    body = b'{"detail":"request body too large"}'
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings, engine: Engine | None = None) -> Any:
    """Build the review app.

    Parameters
    ----------
    settings
        firewatch settings; ``settings.review`` holds the app's own knobs.
    engine
        The store (migrated); made from ``settings.database_url`` when not given.

    Returns
    -------
    fastapi.FastAPI
    """
    try:
        from fastapi import FastAPI, HTTPException, Request
        from fastapi.exceptions import RequestValidationError
        from fastapi.responses import JSONResponse, RedirectResponse
        from fastapi.staticfiles import StaticFiles
        from fastapi.templating import Jinja2Templates
    except ImportError as exc:  # pragma: no cover - the web extra is missing
        raise ImportError("the review app needs its extra: pip install 'firewatch[web]'") from exc

    from firewatch.web import api, pages
    from firewatch.web.photos import PhotoRejected
    from firewatch.web.security import LoginRequired, WebContext

    if engine is None:
        from firewatch.store import connect

        engine = connect(settings.database_url)
    cfg = settings.review
    secret = (
        cfg.session_secret.get_secret_value().encode()
        if cfg.session_secret is not None
        else secrets.token_bytes(32)
    )
    app = FastAPI(
        title="firewatch review",
        summary="Assigned fire points, verdicts and photos for grid members and field chiefs.",
        version="1",
        docs_url=None,  # the Swagger page would load scripts from a CDN
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.fw = WebContext(settings=settings, engine=engine, secret=secret)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["app_title"] = "火点核查 firewatch"
    app.state.templates = templates

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    def error_page(request: Request, status: int, message: str) -> Any:
        if is_api(request):
            return JSONResponse({"detail": message}, status_code=status)
        return templates.TemplateResponse(
            request, "error.html", {"status": status, "message": message}, status_code=status
        )

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Any:
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}", status_code=303)

    @app.exception_handler(FirewatchError)
    async def _firewatch_error(request: Request, exc: FirewatchError) -> Any:
        for cls, (status, message) in ERROR_STATUS.items():
            if isinstance(exc, cls):
                detail = message if isinstance(exc, PointNotFound) else f"{message} {exc}"
                return error_page(request, status, detail)
        if isinstance(exc, PhotoRejected):
            return error_page(request, exc.status, str(exc))
        log.exception("unexpected firewatch error", exc_info=exc)
        return error_page(request, 500, "internal error")

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Any:
        messages = {404: ERROR_STATUS[PointNotFound][1]}
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return error_page(request, exc.status_code, messages.get(exc.status_code, detail))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Any:
        if is_api(request):
            # Never echo the input back: it may hold a password.
            errors = [
                {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
                for e in exc.errors()
            ]
            return JSONResponse({"detail": errors}, status_code=422)
        return error_page(request, 422, "提交的内容格式不对。Invalid request.")

    from starlette.exceptions import HTTPException as StarletteHTTPException

    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]

    app.include_router(pages.router)
    app.include_router(api.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    max_body = cfg.max_photos * cfg.max_photo_bytes + 1024 * 1024
    app.add_middleware(GuardMiddleware, max_body=max_body, secure=cfg.secure_cookies)
    return app
