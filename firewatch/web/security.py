"""Sessions, CSRF and the request's user, shared by the page and API routers.

- The session cookie holds a random token (the store keeps only its SHA-256); it is HttpOnly,
  SameSite=Lax, and Secure unless ``review.secure_cookies`` is off (then it loses the
  ``__Host-`` prefix, which requires Secure).
- CSRF: each session has a synchronizer token, sent back in a hidden form field
  (``csrf_token``) or, for the JSON API, the ``X-CSRF-Token`` header.  Before login, the form
  carries an HMAC of a random pre-login cookie (double submit, signed with the session secret).
- Login is throttled and accounts lock; see :func:`firewatch.dispatch.users.authenticate`.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
import weakref
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from sqlalchemy import Engine
from starlette.responses import Response

from firewatch.config import Settings
from firewatch.dispatch import audit
from firewatch.dispatch.users import AuthResult, User, authenticate, load_session

__all__ = [
    "LoginRequired",
    "WebContext",
    "actor_of",
    "api_user",
    "check_csrf",
    "check_prelogin",
    "context",
    "login_attempt",
    "page_user",
    "prelogin_token",
    "safe_next",
    "session_cookie",
    "set_prelogin_cookie",
    "set_session_cookie",
]

CSRF_HEADER = "X-CSRF-Token"


@dataclass
class WebContext:
    """What every request handler needs, kept on ``app.state.fw`` (no module globals)."""

    settings: Settings
    engine: Engine
    secret: bytes
    #: Per event loop: limits how many argon2 hashes run at once (memory-hard: 64 MiB each).
    _hash_limiters: weakref.WeakKeyDictionary[Any, Any] = field(
        default_factory=weakref.WeakKeyDictionary
    )

    def hash_limiter(self) -> Any:
        """The password-hash limiter of the running event loop (made on first use)."""
        import anyio

        loop = asyncio.get_running_loop()
        limiter = self._hash_limiters.get(loop)
        if limiter is None:
            limiter = anyio.CapacityLimiter(max(1, self.settings.review.hash_concurrency))
            self._hash_limiters[loop] = limiter
        return limiter


class LoginRequired(Exception):
    """Raised by page routes without a session; answered by a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.fw
    return ctx


def _cookie_name(settings: Settings, base: str) -> str:
    return f"__Host-{base}" if settings.review.secure_cookies else base


def session_cookie(settings: Settings) -> str:
    return _cookie_name(settings, "fw_session")


def _prelogin_cookie(settings: Settings) -> str:
    return _cookie_name(settings, "fw_pre")


def _set_cookie(response: Response, settings: Settings, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.review.secure_cookies,
    )


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    _set_cookie(
        response,
        settings,
        session_cookie(settings),
        token,
        int(settings.review.session_hours * 3600),
    )
    response.delete_cookie(_prelogin_cookie(settings), path="/")


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        session_cookie(settings),
        path="/",
        secure=settings.review.secure_cookies,
        httponly=True,
        samesite="lax",
    )


def actor_of(request: Request, user: User | None = None) -> audit.Actor:
    """The audit actor of a request: the user (if any), the client address and user agent.

    Behind a reverse proxy, start uvicorn with ``--proxy-headers --forwarded-allow-ips`` so that
    the client address is the real one.
    """
    return audit.Actor(
        username=user.username if user else "anonymous",
        user_id=user.id if user else None,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


def _session(request: Request) -> tuple[User, str] | None:
    ctx = context(request)
    token = request.cookies.get(session_cookie(ctx.settings))
    return load_session(ctx.engine, token)


def page_user(request: Request) -> tuple[User, str]:
    """The logged-in user and their CSRF token; otherwise redirect to the login page."""
    found = _session(request)
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else "/points")
    return found


def api_user(request: Request) -> tuple[User, str]:
    """The logged-in user and their CSRF token; otherwise HTTP 401."""
    found = _session(request)
    if found is None:
        raise HTTPException(status_code=401, detail="not logged in")
    return found


def check_csrf(expected: str, given: str | None) -> None:
    """Refuse (403) unless ``given`` is the session's CSRF token."""
    if not given or not hmac.compare_digest(expected.encode(), given.encode()):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")


def _sign(secret: bytes, nonce: str) -> str:
    return hmac.new(secret, b"prelogin:" + nonce.encode(), hashlib.sha256).hexdigest()


def prelogin_token(request: Request) -> tuple[str, str]:
    """The login form's CSRF token and the pre-login nonce it signs.

    Set the nonce on the response with :func:`set_prelogin_cookie`.
    """
    ctx = context(request)
    nonce = request.cookies.get(_prelogin_cookie(ctx.settings))
    if not nonce or len(nonce) > 64:
        nonce = secrets.token_urlsafe(24)
    return _sign(ctx.secret, nonce), nonce


def set_prelogin_cookie(request: Request, response: Response, nonce: str) -> None:
    ctx = context(request)
    _set_cookie(response, ctx.settings, _prelogin_cookie(ctx.settings), nonce, 3600)


def check_prelogin(request: Request, given: str | None) -> None:
    """Refuse (403) a login form whose token does not match its pre-login cookie."""
    ctx = context(request)
    nonce = request.cookies.get(_prelogin_cookie(ctx.settings))
    if not nonce or not given or not hmac.compare_digest(_sign(ctx.secret, nonce), given):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")


def safe_next(path: str | None) -> str:
    """A redirect target only within this site (no ``//host`` or scheme)."""
    if not path or not path.startswith("/") or path.startswith(("//", "/\\")):
        return "/points"
    return path


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def user_json(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "grid_code": user.grid_code,
        "scope": user.scope,
        "level": user.level,
        "can_review": user.can_review,
    }


async def login_attempt(request: Request, username: str, password: str) -> AuthResult:
    """Check a login in a worker thread of its own limiter.

    argon2 is memory-hard, so only ``review.hash_concurrency`` checks run at once; the others
    wait here without holding one of the threads that serve pages, so a burst of logins does
    not stall the rest of the app.
    """
    import anyio

    ctx = context(request)
    username = username.strip()[:64]
    check = functools.partial(
        authenticate,
        ctx.engine,
        ctx.settings,
        username,
        password[:1024],
        actor=actor_of(request),
    )
    return await anyio.to_thread.run_sync(check, limiter=ctx.hash_limiter())
