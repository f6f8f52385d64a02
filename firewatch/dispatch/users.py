"""Accounts of the review app: argon2 passwords, import, login with lockout, sessions.

A user is tied to one grid cell and one role; their scope is that cell's subtree (a code prefix,
see :mod:`firewatch.dispatch.codes`).  Passwords are hashed with argon2id (argon2-cffi's
RFC 9106 low-memory defaults).  Login failures lock an account after
``settings.review.lockout_failures`` in a row, and an address that keeps failing gets refused
for a while (counted from the audit log, so it holds across workers and restarts).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, and_, func, select, update
from sqlalchemy.engine import Connection

from firewatch.config import Settings
from firewatch.dispatch import audit
from firewatch.dispatch.codes import code_level, normalise_code, scope_prefix
from firewatch.dispatch.models import ROLES, AuditEntry, ReviewSession, ReviewUser, table
from firewatch.errors import FirewatchError, RegistryImportError
from firewatch.store.models import utcnow

__all__ = [
    "AuthResult",
    "User",
    "UserError",
    "UserImportError",
    "add_user",
    "authenticate",
    "create_session",
    "delete_session",
    "hash_password",
    "import_users",
    "list_users",
    "load_session",
    "set_password",
    "unlock_user",
    "verify_password",
]

log = logging.getLogger(__name__)

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{5,20}$")
MIN_PASSWORD = 10
#: Which levels each role may be tied to.
ROLE_LEVELS: dict[str, tuple[str, ...]] = {
    "village_member": ("village",),
    "field_chief": ("village", "township", "county", "city"),
    "analyst": ("city", "province"),
    "admin": ("county", "city", "province"),
}


class UserError(FirewatchError, ValueError):
    """An account could not be created or changed (bad field, duplicate name, weak password)."""


class UserImportError(RegistryImportError):
    """A user list was refused; ``problems`` lists ``(line, message)``; nothing was written."""


@dataclass(frozen=True)
class User:
    """A user as the web app sees them."""

    id: int
    username: str
    display_name: str
    role: str
    grid_code: str
    email: str | None = None

    @property
    def scope(self) -> str:
        """The code prefix of everything this user may see."""
        return scope_prefix(self.grid_code)

    @property
    def level(self) -> str:
        return code_level(self.grid_code)

    @property
    def can_review(self) -> bool:
        """Whether this user may give verdicts (the people who go to the field)."""
        return self.role in ("village_member", "field_chief")

    @classmethod
    def from_row(cls, row: Any) -> User:
        return cls(
            id=int(row["id"]),
            username=row["username"],
            display_name=row["display_name"],
            role=row["role"],
            grid_code=row["grid_code"],
            email=row["email"],
        )


@cache
def _hasher_for(time_cost: int, memory_kib: int, parallelism: int) -> Any:
    try:
        from argon2 import PasswordHasher
    except ImportError as exc:  # pragma: no cover - the web extra is missing
        raise ImportError("the review app needs argon2-cffi: pip install 'firewatch[web]'") from exc
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def _hasher(settings: Settings) -> Any:
    r = settings.review
    return _hasher_for(r.argon2_time_cost, r.argon2_memory_kib, r.argon2_parallelism)


@cache
def _dummy_hash_for(time_cost: int, memory_kib: int, parallelism: int) -> str:
    # Verified against when the user does not exist, so that a wrong name costs the same time
    # as a wrong password and names cannot be discovered by timing.
    return str(_hasher_for(time_cost, memory_kib, parallelism).hash(secrets.token_urlsafe(16)))


def _dummy_hash(settings: Settings) -> str:
    r = settings.review
    return _dummy_hash_for(r.argon2_time_cost, r.argon2_memory_kib, r.argon2_parallelism)


def hash_password(password: str, settings: Settings) -> str:
    """An argon2id hash of ``password`` with the configured cost."""
    return str(_hasher(settings).hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (never raises on a mismatch)."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        # The hash carries its own parameters; any hasher verifies it.
        return bool(PasswordHasher().verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _check_fields(
    *,
    username: str,
    display_name: str,
    role: str,
    grid_code: str,
    email: str | None,
    phone: str | None,
    password: str | None,
    province_code: str,
    known: set[str] | None = None,
) -> tuple[list[str], str | None]:
    """Problems with one account's fields, and the normalised grid code."""
    problems: list[str] = []
    if not USERNAME_RE.match(username or ""):
        problems.append(f"username {username!r}: 3-64 letters, digits or _.@-")
    if not (display_name or "").strip():
        problems.append("display_name is missing")
    if role not in ROLES:
        problems.append(f"role {role!r} is not one of {', '.join(ROLES)}")
    code: str | None = None
    try:
        code = normalise_code(grid_code)
    except ValueError as exc:
        problems.append(str(exc))
    if code is not None:
        if not code.startswith(province_code):
            problems.append(f"grid code {code} is outside province {province_code}")
        level = code_level(code)
        if role in ROLE_LEVELS and level not in ROLE_LEVELS[role]:
            problems.append(
                f"a {role} is tied to a {' or '.join(ROLE_LEVELS[role])} code, "
                f"{code} is a {level} code"
            )
    if (
        code is not None
        and known is not None
        and code_level(code) in ("township", "village")
        and code not in known
    ):
        problems.append(f"grid code {code} is not a cell of the configured grid")
    if email and not EMAIL_RE.match(email):
        problems.append(f"email {email!r} is not an address")
    if phone and not PHONE_RE.match(phone):
        problems.append(f"phone {phone!r} is not a phone number")
    if password is not None and len(password) < MIN_PASSWORD:
        problems.append(f"password shorter than {MIN_PASSWORD} characters")
    return problems, code


def _grid_codes(settings: Settings) -> set[str] | None:
    """Codes of the configured grid's cells (issue 3), or ``None`` when there is no grid."""
    try:
        from firewatch.spatial.grid import grid_from_settings
    except ModuleNotFoundError as exc:
        if exc.name is not None and "firewatch.spatial.grid".startswith(exc.name):
            return None
        raise
    grid = grid_from_settings(settings)
    return None if grid is None else set(grid.level_of())


def add_user(
    engine: Engine,
    settings: Settings,
    *,
    username: str,
    display_name: str,
    role: str,
    grid_code: str,
    password: str,
    email: str | None = None,
    phone: str | None = None,
    actor: audit.Actor = audit.SYSTEM,
) -> int:
    """Create one account; returns its id.

    Raises
    ------
    UserError
        If a field is invalid, the role does not fit the code's level, or the name is taken.
    """
    problems, code = _check_fields(
        username=username,
        display_name=display_name,
        role=role,
        grid_code=grid_code,
        email=email,
        phone=phone,
        password=password,
        province_code=settings.region.province_code,
        known=_grid_codes(settings),
    )
    if problems:
        raise UserError(f"{username}: " + "; ".join(problems))
    assert code is not None
    pw_hash = hash_password(password, settings)
    with engine.begin() as conn:
        taken = conn.execute(select(ReviewUser.id).where(ReviewUser.username == username)).first()
        if taken:
            raise UserError(f"{username}: the name is taken")
        uid = _insert_user(conn, username, display_name, role, code, email, phone, pw_hash)
        audit.record(
            conn,
            actor,
            "user_added",
            detail={"username": username, "role": role, "grid_code": code},
        )
    return uid


def _insert_user(
    conn: Connection,
    username: str,
    display_name: str,
    role: str,
    code: str,
    email: str | None,
    phone: str | None,
    pw_hash: str,
) -> int:
    res = conn.execute(
        table(ReviewUser)
        .insert()
        .values(
            username=username,
            display_name=display_name.strip(),
            role=role,
            grid_code=code,
            email=email or None,
            phone=phone or None,
            password_hash=pw_hash,
            active=True,
            failed_logins=0,
            created_at=utcnow(),
        )
    )
    return int(res.inserted_primary_key[0])  # type: ignore[index]


#: Columns of a user list (CSV or XLSX); ``password`` is optional.
IMPORT_COLUMNS = ("username", "display_name", "role", "grid_code", "email", "phone")


def _read_table(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and ``(line, row)`` pairs of a CSV (UTF-8, BOM allowed) or XLSX file."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        rows = list(wb.active.iter_rows(values_only=True))  # type: ignore[union-attr]
        wb.close()
        if not rows:
            return [], []
        header = [str(h or "").strip() for h in rows[0]]
        out = []
        for i, r in enumerate(rows[1:], start=2):
            vals = ["" if v is None else str(v).strip() for v in r]
            if any(vals):
                out.append((i, dict(zip(header, vals, strict=False))))
        return header, out
    text = path.read_bytes().decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return [], []
    out = []
    for row in reader:
        vals = [v.strip() for v in row]
        if any(vals):
            out.append((reader.line_num, dict(zip(header, vals, strict=False))))
    return header, out


@dataclass
class ImportResult:
    """Accounts created by :func:`import_users`; ``passwords`` holds generated ones."""

    created: list[str]
    passwords: dict[str, str]


def import_users(
    engine: Engine, settings: Settings, path: str | Path, *, actor: audit.Actor = audit.SYSTEM
) -> ImportResult:
    """Create the accounts listed in a CSV or XLSX file, all or nothing.

    Columns: ``username, display_name, role, grid_code, email, phone`` and optionally
    ``password``; a row without a password gets a random one, returned in
    :attr:`ImportResult.passwords` (hand them out, they are not stored in clear).

    Raises
    ------
    UserImportError
        If any row is bad (with its line number) or a name exists already; nothing is written.
    """
    path = Path(path)
    header, rows = _read_table(path)
    missing = [c for c in ("username", "display_name", "role", "grid_code") if c not in header]
    if missing:
        raise UserImportError([(1, f"missing column(s): {', '.join(missing)}")], origin=path.name)
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    known = _grid_codes(settings)
    ready = []
    for line, r in rows:
        pw = r.get("password") or None
        errs, code = _check_fields(
            username=r.get("username", ""),
            display_name=r.get("display_name", ""),
            role=r.get("role", ""),
            grid_code=r.get("grid_code", ""),
            email=r.get("email") or None,
            phone=r.get("phone") or None,
            password=pw,
            province_code=settings.region.province_code,
            known=known,
        )
        name = r.get("username", "")
        if name in seen:
            errs.append(f"username {name!r} repeats line {seen[name]}")
        seen.setdefault(name, line)
        problems.extend((line, e) for e in errs)
        if not errs:
            ready.append((line, r, code, pw))
    with engine.connect() as conn:
        taken = set(
            conn.execute(
                select(ReviewUser.username).where(ReviewUser.username.in_(list(seen)))
            ).scalars()
        )
    problems.extend((seen[n], f"username {n!r} exists already") for n in sorted(taken))
    if problems:
        raise UserImportError(sorted(problems), origin=path.name)
    generated: dict[str, str] = {}
    hashed = []
    for _line, r, code, pw in ready:
        assert code is not None  # rows with a bad code were refused above
        if pw is None:
            pw = secrets.token_urlsafe(12)
            generated[r["username"]] = pw
        hashed.append((r, code, hash_password(pw, settings)))
    with engine.begin() as conn:
        for r, code, pw_hash in hashed:
            _insert_user(
                conn,
                r["username"],
                r["display_name"],
                r["role"],
                code,
                r.get("email") or None,
                r.get("phone") or None,
                pw_hash,
            )
        audit.record(
            conn,
            actor,
            "users_imported",
            detail={"file": path.name, "usernames": [r["username"] for r, _, _ in hashed]},
        )
    return ImportResult(created=[r["username"] for r, _, _ in hashed], passwords=generated)


def list_users(engine: Engine) -> list[dict[str, Any]]:
    """Every account (without password hashes), ordered by grid code and name."""
    t = table(ReviewUser)
    cols = [c for c in t.columns if c.name != "password_hash"]
    with engine.connect() as conn:
        rows = conn.execute(select(*cols).order_by(t.c.grid_code, t.c.username)).mappings()
        return [dict(r) for r in rows]


def set_password(
    engine: Engine,
    settings: Settings,
    username: str,
    password: str,
    *,
    actor: audit.Actor = audit.SYSTEM,
) -> None:
    """Set a new password (and lift a lockout)."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password shorter than {MIN_PASSWORD} characters")
    pw_hash = hash_password(password, settings)
    with engine.begin() as conn:
        res = conn.execute(
            update(ReviewUser)
            .where(ReviewUser.username == username)
            .values(password_hash=pw_hash, failed_logins=0, locked_until=None)
        )
        if res.rowcount != 1:
            raise UserError(f"no user {username!r}")
        # A new password ends every open session of the account.
        uid = conn.execute(select(ReviewUser.id).where(ReviewUser.username == username)).scalar()
        conn.execute(table(ReviewSession).delete().where(ReviewSession.user_id == uid))
        audit.record(conn, actor, "password_set", detail={"username": username})


def unlock_user(engine: Engine, username: str, *, actor: audit.Actor = audit.SYSTEM) -> None:
    """Lift a lockout before it runs out."""
    with engine.begin() as conn:
        res = conn.execute(
            update(ReviewUser)
            .where(ReviewUser.username == username)
            .values(failed_logins=0, locked_until=None)
        )
        if res.rowcount != 1:
            raise UserError(f"no user {username!r}")
        audit.record(conn, actor, "user_unlocked", detail={"username": username})


@dataclass(frozen=True)
class AuthResult:
    """The outcome of a login attempt."""

    outcome: Literal["ok", "bad", "locked", "throttled"]
    user: User | None = None
    locked_until: dt.datetime | None = None


def _ip_failures(conn: Connection, ip: str | None, since: dt.datetime) -> int:
    if not ip:
        return 0
    t = table(AuditEntry)
    return int(
        conn.execute(
            select(func.count())
            .select_from(t)
            .where(and_(t.c.action == "login_failed", t.c.ip == ip, t.c.at >= since))
        ).scalar_one()
    )


def authenticate(
    engine: Engine,
    settings: Settings,
    username: str,
    password: str,
    *,
    actor: audit.Actor,
    now: dt.datetime | None = None,
) -> AuthResult:
    """Check a login; count failures, lock the account or throttle the address when needed.

    ``actor`` carries the address and user agent for the audit log.  The password is checked
    even for unknown names, so a wrong name and a wrong password take the same time.
    """
    now = now or utcnow()
    cfg = settings.review
    t = table(ReviewUser)
    with engine.connect() as conn:
        since = now - dt.timedelta(minutes=cfg.ip_window_minutes)
        if _ip_failures(conn, actor.ip, since) >= cfg.ip_failures:
            throttled = True
        else:
            throttled = False
            row = conn.execute(select(t).where(t.c.username == username)).mappings().first()
    who = audit.Actor(
        username=username[:64] or "?",
        user_id=None,
        ip=actor.ip,
        user_agent=actor.user_agent,
    )
    if throttled:
        with engine.begin() as conn:
            audit.record(conn, who, "login_throttled", at=now)
        return AuthResult("throttled")
    if row is None or not row["active"]:
        verify_password(_dummy_hash(settings), password)
        with engine.begin() as conn:
            audit.record(conn, who, "login_failed", detail={"reason": "unknown user"}, at=now)
        return AuthResult("bad")
    who = audit.Actor(
        username=row["username"], user_id=row["id"], ip=actor.ip, user_agent=actor.user_agent
    )
    if row["locked_until"] is not None and row["locked_until"] > now:
        # While locked the password is not even checked, so guessing on gains nothing.
        with engine.begin() as conn:
            audit.record(conn, who, "login_locked", at=now)
        return AuthResult("locked", locked_until=row["locked_until"])
    if not verify_password(row["password_hash"], password):
        with engine.begin() as conn:
            conn.execute(
                update(ReviewUser)
                .where(ReviewUser.id == row["id"])
                .values(failed_logins=ReviewUser.failed_logins + 1)
            )
            failures = conn.execute(
                select(ReviewUser.failed_logins).where(ReviewUser.id == row["id"])
            ).scalar_one()
            locked_until = None
            if failures >= cfg.lockout_failures:
                locked_until = now + dt.timedelta(minutes=cfg.lockout_minutes)
                conn.execute(
                    update(ReviewUser)
                    .where(ReviewUser.id == row["id"])
                    .values(failed_logins=0, locked_until=locked_until)
                )
            audit.record(
                conn,
                who,
                "login_failed",
                detail={"reason": "wrong password", "failures": failures}
                | ({"locked_until": locked_until.isoformat()} if locked_until else {}),
                at=now,
            )
        if locked_until is not None:
            return AuthResult("locked", locked_until=locked_until)
        return AuthResult("bad")
    values: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
    if _hasher(settings).check_needs_rehash(row["password_hash"]):
        values["password_hash"] = hash_password(password, settings)
    with engine.begin() as conn:
        conn.execute(update(ReviewUser).where(ReviewUser.id == row["id"]).values(**values))
        audit.record(conn, who, "login", at=now)
    return AuthResult("ok", user=User.from_row(row))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(
    engine: Engine,
    settings: Settings,
    user: User,
    *,
    ip: str | None,
    now: dt.datetime | None = None,
) -> tuple[str, str]:
    """Open a session; returns ``(cookie token, CSRF token)``.  Only the token's hash is stored."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        # Expired sessions are swept here rather than by a separate job.
        conn.execute(table(ReviewSession).delete().where(ReviewSession.expires_at < now))
        conn.execute(
            table(ReviewSession)
            .insert()
            .values(
                token_hash=_token_hash(token),
                user_id=user.id,
                csrf_token=csrf,
                created_at=now,
                expires_at=now + dt.timedelta(hours=settings.review.session_hours),
                ip=(ip or None) and ip[:64],
            )
        )
    return token, csrf


def load_session(
    engine: Engine, token: str | None, *, now: dt.datetime | None = None
) -> tuple[User, str] | None:
    """The user and CSRF token of a live session, or ``None``."""
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    s, u = table(ReviewSession), table(ReviewUser)
    stmt = (
        select(u, s.c.csrf_token, s.c.expires_at)
        .join(s, s.c.user_id == u.c.id)
        .where(s.c.token_hash == _token_hash(token))
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).mappings().first()
    if row is None or row["expires_at"] <= now or not row["active"]:
        return None
    return User.from_row(row), row["csrf_token"]


def delete_session(engine: Engine, token: str | None) -> None:
    """End a session (logout)."""
    if not token:
        return
    with engine.begin() as conn:
        conn.execute(
            table(ReviewSession).delete().where(ReviewSession.token_hash == _token_hash(token))
        )


def users_for(
    conn: Connection, codes: Iterable[str], *, roles: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Active accounts tied exactly to one of ``codes`` (optionally of some roles)."""
    t = table(ReviewUser)
    stmt = select(t.c.id, t.c.username, t.c.display_name, t.c.role, t.c.grid_code, t.c.email)
    stmt = stmt.where(t.c.grid_code.in_(list(codes)), t.c.active.is_(True))
    if roles is not None:
        stmt = stmt.where(t.c.role.in_(list(roles)))
    return [dict(r) for r in conn.execute(stmt).mappings()]
