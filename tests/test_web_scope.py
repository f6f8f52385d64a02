"""Scope: a user sees and changes only their own grid subtree, on every page and API route.

The route list is taken from the app itself, so a route added later is tried too.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from review_support import (
    api_login,
    app_routes,
    jpeg_with_gps,
    login,
    make_client,
    review_store,
)
from sqlalchemy import Engine, func, select

from firewatch.config import Settings
from firewatch.dispatch.models import AuditEntry, Verdict, VerdictPhoto


@pytest.fixture
def store(engine: Engine, settings: Settings) -> Any:
    st = review_store(engine, settings)
    # Hulin's grid member answers their point with a photo: an object to guess at.
    hulin = make_client(st)
    csrf = api_login(hulin, "member_h")
    r = hulin.post(
        f"/api/v1/points/{st.ids['h']}/verdict",
        data={"verdict": "straw_burning", "note": "虎林的秘密备注"},
        files={"photos": ("h.jpg", jpeg_with_gps(45.857, 133.606), "image/jpeg")},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 201, r.text
    with st.engine.connect() as conn:
        st.h_photo = conn.execute(select(VerdictPhoto.id)).scalar_one()
    return st


def _counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(Verdict.__table__)).scalar_one(),
            conn.execute(select(func.count()).select_from(VerdictPhoto.__table__)).scalar_one(),
            conn.execute(
                select(func.count())
                .select_from(AuditEntry.__table__)
                .where(AuditEntry.action.in_(["verdict", "handled"]))
            ).scalar_one(),
        )


def _try(client: Any, method: str, path: str, api_csrf: str, page_csrf: str) -> Any:
    """One request with valid CSRF, so that only scope can refuse it."""
    if method == "GET":
        return client.get(path, follow_redirects=False)
    files = {"photos": ("x.jpg", jpeg_with_gps(45.29, 130.98), "image/jpeg")}
    return client.post(
        path,
        data={"csrf_token": page_csrf, "verdict": "nothing_found", "note": "guess"},
        files=files if path.endswith("/verdict") else None,
        headers={"X-CSRF-Token": api_csrf},
        follow_redirects=False,
    )


def test_every_route_refuses_another_grids_points(store: Any) -> None:
    pages = make_client(store)
    page_csrf = login(pages, "member_a")
    api = make_client(store)
    api_csrf = api_login(api, "member_a")
    routes = [(p, m) for p, m in app_routes(pages) if "{detection_id}" in p]
    # The routes that take a point id, pages and API (a guard against an empty loop).
    assert {p for p, _ in routes} >= {
        "/points/{detection_id}",
        "/points/{detection_id}/verdict",
        "/points/{detection_id}/handled",
        "/points/{detection_id}/photos/{photo_id}",
        "/api/v1/points/{detection_id}",
        "/api/v1/points/{detection_id}/verdict",
        "/api/v1/points/{detection_id}/handled",
        "/api/v1/points/{detection_id}/photos/{photo_id}",
    }
    ids = store.ids
    foreign = [ids["b"], ids["c"], ids["h"]]  # another village, the county, another county
    guessed = ["0" * 16, ids["h"].upper(), ids["h"][:-1] + "0", "%27%20OR%201%3D1--"]
    own_photo_of_other = (ids["a1"], store.h_photo)  # my point, their photo
    before = _counts(store.engine)
    tried = 0
    for path, methods in routes:
        for method in sorted(methods - {"HEAD"}):
            cases = [(d, store.h_photo) for d in foreign + guessed]
            if "{photo_id}" in path:
                cases.append(own_photo_of_other)
                cases.append((ids["a1"], 999999))
            for did, pid in cases:
                url = path.replace("{detection_id}", did).replace("{photo_id}", str(pid))
                client = api if path.startswith("/api/") else pages
                r = _try(client, method, url, api_csrf, page_csrf)
                tried += 1
                assert r.status_code == 404, (method, url, r.status_code)
                # Nothing about the other point leaks into the answer.
                assert "虎林" not in r.text and "秘密" not in r.text, (method, url)
                assert "member_h" not in r.text
    assert tried >= len(routes) * 7
    assert _counts(store.engine) == before  # nothing was written


def test_lists_show_only_the_users_subtree(store: Any) -> None:
    ids = store.ids
    expect = {
        "member_a": {"a1", "a2"},
        "member_b": {"b"},
        "chief_town_a": {"a1", "a2"},
        "chief_county": {"a1", "a2", "b", "c"},
        "chief_city": {"a1", "a2", "b", "c", "h"},
        "analyst": {"a1", "a2", "b", "c", "h"},
    }
    for username, names in expect.items():
        client = make_client(store)
        api_login(client, username)
        got = {p["detection_id"] for p in client.get("/api/v1/points").json()["points"]}
        assert got == {ids[n] for n in names}, username
        page = client.get("/points").text
        shown = set(re.findall(r'href="/points/([0-9a-f]{16})"', page))
        assert shown == {ids[n] for n in names}, username


def test_a_chief_acts_in_the_subtree_an_analyst_only_reads(store: Any) -> None:
    b = store.ids["b"]
    chief = make_client(store)
    csrf = api_login(chief, "chief_county")
    r = chief.post(
        f"/api/v1/points/{b}/verdict",
        data={"verdict": "other_fire"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 201
    town = make_client(store)
    csrf = api_login(town, "chief_town_a")
    assert town.get(f"/api/v1/points/{b}").status_code == 404  # another township's point
    analyst = make_client(store)
    csrf = api_login(analyst, "analyst")
    assert analyst.get(f"/api/v1/points/{b}").json()["verdict"] == "other_fire"
    r = analyst.post(
        f"/api/v1/points/{b}/verdict",
        data={"verdict": "nothing_found"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 403
    r = analyst.post(f"/api/v1/points/{b}/handled", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403


def test_the_audit_page_is_for_administrators(store: Any) -> None:
    member = make_client(store)
    login(member, "member_a")
    assert member.get("/audit").status_code == 403
    admin = make_client(store)
    login(admin, "admin")
    page = admin.get("/audit")
    assert page.status_code == 200
    assert "login" in page.text and "verdict" in page.text
