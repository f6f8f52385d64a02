"""Login, session cookies, CSRF on every form and API change, lockout and throttling."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from review_support import (
    PASSWORD,
    api_login,
    app_routes,
    for_tests,
    form_csrf,
    login,
    make_client,
    review_store,
)
from sqlalchemy import Engine, select, text

from firewatch.config import Settings
from firewatch.dispatch import audit
from firewatch.dispatch.models import AuditEntry, ReviewUser, Verdict
from firewatch.dispatch.users import authenticate, unlock_user


@pytest.fixture
def store(engine: Engine, settings: Settings) -> Any:
    return review_store(engine, settings)


def _set_cookie_headers(response: Any) -> list[str]:
    return [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie"]


def test_session_cookie_is_httponly_and_samesite(store: Any) -> None:
    client = make_client(store)
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": "member_a", "password": PASSWORD, "csrf_token": form_csrf(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/points"
    cookie = next(c for c in _set_cookie_headers(r) if c.startswith("fw_session="))
    attrs = {a.strip().lower() for a in cookie.split(";")}
    assert "httponly" in attrs
    assert "samesite=lax" in attrs
    assert "path=/" in attrs
    assert "secure" not in attrs  # this store is set up for plain http


def test_secure_setting_gives_a_secure_host_cookie(engine: Engine, settings: Settings) -> None:
    store = review_store(engine, settings)
    settings.review.secure_cookies = True
    client = make_client(store, base_url="https://testserver")
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": "member_a", "password": PASSWORD, "csrf_token": form_csrf(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    cookie = next(c for c in _set_cookie_headers(r) if c.startswith("__Host-fw_session="))
    attrs = {a.strip().lower() for a in cookie.split(";")}
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= attrs
    assert "strict-transport-security" in r.headers
    assert client.get("/points").status_code == 200


def test_passwords_are_stored_as_argon2id_hashes(store: Any) -> None:
    with store.engine.connect() as conn:
        hashes = conn.execute(select(ReviewUser.password_hash)).scalars().all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(PASSWORD in h for h in hashes)
    assert len(set(hashes)) == len(hashes)  # salted


def test_without_a_session_pages_redirect_and_the_api_says_401(store: Any) -> None:
    client = make_client(store)
    r = client.get(f"/points/{store.ids['a1']}", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/login?next=/points/{store.ids['a1']}"
    assert client.get("/api/v1/points").status_code == 401
    assert client.get(f"/api/v1/points/{store.ids['a1']}").status_code == 401


def test_login_form_needs_its_csrf_token(store: Any) -> None:
    client = make_client(store)
    client.get("/login")
    for token in (None, "", "forged-token"):
        data = {"username": "member_a", "password": PASSWORD}
        if token is not None:
            data["csrf_token"] = token
        r = client.post("/login", data=data, follow_redirects=False)
        assert r.status_code == 403
    # A token from another browser (another pre-login cookie) does not fit this one.
    other = make_client(store)
    foreign = form_csrf(other.get("/login").text)
    r = client.post(
        "/login",
        data={"username": "member_a", "password": PASSWORD, "csrf_token": foreign},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert client.get("/points", follow_redirects=False).status_code == 303  # still logged out


def test_every_form_refuses_a_missing_or_wrong_csrf_token(store: Any) -> None:
    client = make_client(store)
    csrf = login(client, "member_a")
    a1 = store.ids["a1"]
    posts = [p for p, m in app_routes(client) if "POST" in m and not p.startswith("/api/")]
    paths = set(posts)
    assert paths == {
        "/login",
        "/logout",
        "/points/{detection_id}/verdict",
        "/points/{detection_id}/handled",
    }
    for path in posts:
        if path == "/login":
            continue  # its own token scheme, tested above
        url = path.replace("{detection_id}", a1)
        for token in ("", "x" * 43, csrf[:-1] + ("A" if csrf[-1] != "A" else "B")):
            r = client.post(
                url, data={"csrf_token": token, "verdict": "straw_burning"}, follow_redirects=False
            )
            assert r.status_code == 403, (url, token, r.status_code)
    # Nothing changed: no verdict, not handled, and the session still works.
    with store.engine.connect() as conn:
        assert conn.execute(select(Verdict.id)).first() is None
        handled = conn.execute(
            text("SELECT handled_at FROM assignments WHERE detection_id = :d"), {"d": a1}
        ).scalar()
    assert handled is None
    assert client.get("/points", follow_redirects=False).status_code == 200
    # With the right token the same form works.
    r = client.post(
        f"/points/{a1}/verdict",
        data={"csrf_token": csrf, "verdict": "straw_burning"},
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_every_api_change_needs_the_csrf_header(store: Any) -> None:
    client = make_client(store)
    csrf = api_login(client, "member_a")
    a1 = store.ids["a1"]
    posts = [
        p
        for p, m in app_routes(client)
        if "POST" in m and p.startswith("/api/") and p != "/api/v1/login"
    ]
    assert set(posts) == {
        "/api/v1/logout",
        "/api/v1/points/{detection_id}/verdict",
        "/api/v1/points/{detection_id}/handled",
    }
    for path in posts:
        url = path.replace("{detection_id}", a1)
        for headers in ({}, {"X-CSRF-Token": "nope"}):
            r = client.post(url, data={"verdict": "industrial"}, headers=headers)
            assert r.status_code == 403, (url, headers)
    assert client.get("/api/v1/me").status_code == 200
    r = client.post(
        f"/api/v1/points/{a1}/verdict",
        data={"verdict": "industrial"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 201


def test_api_login_accepts_json_only(store: Any) -> None:
    client = make_client(store)
    r = client.post("/api/v1/login", data={"username": "member_a", "password": PASSWORD})
    assert r.status_code == 422
    assert PASSWORD not in r.text  # a validation error never echoes the input
    assert client.get("/api/v1/me").status_code == 401


def test_logout_ends_the_session_on_the_server(store: Any) -> None:
    client = make_client(store)
    csrf = login(client, "member_a")
    cookie = client.cookies.get("fw_session")
    r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    # Replaying the old cookie does not work: the session is gone from the store.
    replay = make_client(store)
    replay.cookies.set("fw_session", cookie)
    assert replay.get("/api/v1/me").status_code == 401


def _fail(client: Any, username: str, password: str = "wrong-password-123") -> Any:
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": form_csrf(page.text)},
        follow_redirects=False,
    )


def test_repeated_failures_lock_the_account(store: Any) -> None:
    client = make_client(store)
    statuses = [_fail(client, "member_a").status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 423]
    # Locked: even the right password is refused, and not checked.
    r = _fail(client, "member_a", PASSWORD)
    assert r.status_code == 423
    assert "锁定" in r.text
    # Other accounts are unaffected.
    assert (
        client.post(
            "/api/v1/login", json={"username": "member_b", "password": PASSWORD}
        ).status_code
        == 200
    )
    with store.engine.connect() as conn:
        actions = conn.execute(
            select(AuditEntry.action, AuditEntry.ip)
            .where(AuditEntry.username == "member_a")
            .order_by(AuditEntry.id)
        ).all()
    assert [a for a, _ in actions].count("login_failed") == 5
    assert [a for a, _ in actions][-1] == "login_locked"
    assert {ip for _, ip in actions} == {"testclient"}  # from where
    # The administrator lifts the lock; then the right password works again.
    unlock_user(store.engine, "member_a")
    assert (
        client.post(
            "/api/v1/login", json={"username": "member_a", "password": PASSWORD}
        ).status_code
        == 200
    )


def test_a_lock_runs_out(store: Any) -> None:
    s, e = store.settings, store.engine
    actor = audit.Actor(username="?", ip="192.0.2.7")
    t0 = dt.datetime.now(dt.UTC)
    for i in range(5):
        authenticate(
            e, s, "member_b", "nope-nope-nope", actor=actor, now=t0 + dt.timedelta(seconds=i)
        )
    locked = authenticate(e, s, "member_b", PASSWORD, actor=actor, now=t0 + dt.timedelta(minutes=1))
    assert locked.outcome == "locked"
    assert locked.locked_until == t0 + dt.timedelta(seconds=4, minutes=15)
    later = authenticate(e, s, "member_b", PASSWORD, actor=actor, now=t0 + dt.timedelta(minutes=16))
    assert later.outcome == "ok" and later.user is not None and later.user.username == "member_b"


def test_an_address_that_keeps_failing_is_throttled(engine: Engine, settings: Settings) -> None:
    for_tests(settings)
    settings.review.ip_failures = 4
    store = review_store(engine, settings)
    client = make_client(store)
    # Spread over several names (and unknown ones), so no single account locks.
    for name in ("member_a", "member_b", "nobody", "member_h"):
        assert _fail(client, name).status_code == 401
    r = _fail(client, "chief_city", PASSWORD)  # even a right password
    assert r.status_code == 429
    r = client.post("/api/v1/login", json={"username": "chief_city", "password": PASSWORD})
    assert r.status_code == 429
    # Another address is not affected.
    ok = authenticate(
        engine,
        settings,
        "chief_city",
        PASSWORD,
        actor=audit.Actor(username="?", ip="198.51.100.9"),
    )
    assert ok.outcome == "ok"


def test_unknown_user_and_wrong_password_look_the_same(store: Any) -> None:
    client = make_client(store)
    a = _fail(client, "no_such_user")
    b = _fail(client, "member_a")
    assert a.status_code == b.status_code == 401
    strip = lambda t: t.replace(form_csrf(t), "")  # noqa: E731
    assert strip(a.text) == strip(b.text)
