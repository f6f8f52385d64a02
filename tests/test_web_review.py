"""The review workflow through the app's real faces (TestClient): list, point page, verdict,
photos with EXIF GPS, "handled", and what flows back to maps and to the classifier."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import pytest
from review_support import (
    api_login,
    form_csrf,
    jpeg_with_gps,
    login,
    make_client,
    review_store,
)
from sqlalchemy import Engine, select, update

from firewatch.config import Settings
from firewatch.dispatch.models import Assignment, AuditEntry
from firewatch.dispatch.store import load_point_reviews, load_verdict_labels


@pytest.fixture
def store(engine: Engine, settings: Settings) -> Any:
    return review_store(engine, settings)


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    # Equirectangular approximation: independent of the app's haversine, good to <0.1% here.
    k = math.cos(math.radians((lat1 + lat2) / 2))
    return 6_371_008.8 * math.radians(math.hypot(lat2 - lat1, (lon2 - lon1) * k))


def test_list_puts_open_points_first_most_urgent_first(store: Any) -> None:
    ids = store.ids
    now = dt.datetime.now(dt.UTC)
    a = Assignment.__table__
    with store.engine.begin() as conn:
        # b is due soonest, a1 last of the open ones; c has been answered.
        for name, hours in (("b", 1), ("a1", 100)):
            conn.execute(
                update(a)
                .where(a.c.detection_id == ids[name])
                .values(deadline=now + dt.timedelta(hours=hours))
            )
        conn.execute(
            update(a)
            .where(a.c.detection_id == ids["c"])
            .values(status="answered", verdict="industrial")
        )
    client = make_client(store)
    api_login(client, "chief_county")
    order = [p["detection_id"] for p in client.get("/api/v1/points").json()["points"]]
    assert order[0] == ids["b"]
    assert order[-1] == ids["c"]
    assert order.index(ids["a2"]) < order.index(ids["a1"])
    page = client.get("/points").text
    listed = re.findall(r'<li class="point[^"]*">\s*<a href="/points/([0-9a-f]{16})"', page)
    assert listed == order
    opened = client.get("/api/v1/points?status=open").json()["points"]
    assert ids["c"] not in {p["detection_id"] for p in opened}


def test_point_page_shows_time_place_map_and_deadline(store: Any) -> None:
    client = make_client(store)
    login(client, "member_a")
    page = client.get(f"/points/{store.ids['a1']}")
    assert page.status_code == 200
    html = page.text
    assert "2025-04-23 13:14" in html  # 05:14 UTC is 13:14 Beijing time
    assert "鸡东县 鸡东镇 甲村" in html
    assert "45.29082°N, 130.98175°E" in html
    assert "<svg" in html and "像元范围" in html
    assert "待核查" in html
    assert 'name="photos"' in html and 'enctype="multipart/form-data"' in html
    assert "田长A1" in html  # internal edition: the chief on duty is named
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["x-frame-options"] == "DENY"


def test_a_verdict_with_a_gps_photo_is_reflected_everywhere(store: Any) -> None:
    a1 = store.ids["a1"]
    client = make_client(store)
    login(client, "member_a")
    page = client.get(f"/points/{a1}").text
    photo_lat, photo_lon = 45.2921, 130.9831  # taken a few hundred metres from the pixel centre
    r = client.post(
        f"/points/{a1}/verdict",
        data={
            "csrf_token": form_csrf(page),
            "verdict": "straw_burning",
            "note": "玉米秸秆焚烧，约两亩，已联系户主",
        },
        files={"photos": ("IMG_0001.JPG", jpeg_with_gps(photo_lat, photo_lon), "image/jpeg")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/points/{a1}?saved=verdict"
    html = client.get(r.headers["location"]).text
    assert "核查结果已保存" in html
    assert "确认秸秆焚烧" in html and "已反馈" in html
    assert "玉米秸秆焚烧，约两亩，已联系户主" in html
    photo_url = re.search(rf'src="(/points/{a1}/photos/\d+)"', html).group(1)
    img = client.get(photo_url)
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"
    assert img.content[:3] == b"\xff\xd8\xff"
    # The EXIF position is shown beside the fire point, with its distance.
    expected = _metres(45.29082, 130.98175, photo_lat, photo_lon)
    shown = float(re.search(r'<span class="dist">(\d+) m</span>', html).group(1))
    assert abs(shown - expected) <= 2
    assert "45.29210°N, 130.98310°E" in html
    # The API says the same.
    api = make_client(store)
    api_login(api, "member_a")
    detail = api.get(f"/api/v1/points/{a1}").json()
    assert detail["review_status"] == "answered" and detail["verdict"] == "straw_burning"
    ph = detail["verdicts"][0]["photos"][0]
    assert abs(ph["gps_lat"] - photo_lat) < 1e-5 and abs(ph["gps_lon"] - photo_lon) < 1e-5
    assert abs(ph["gps_distance_m"] - expected) < 2
    # Maps and bulletins, and the classifier's labels.
    reviews = load_point_reviews(store.engine, [a1, store.ids["a2"]])
    assert reviews.loc[a1, "review_status"] == "answered"
    assert reviews.loc[a1, "verdict"] == "straw_burning"
    assert reviews.loc[store.ids["a2"], "review_status"] == "pending"
    labels = load_verdict_labels(store.engine)
    assert list(labels.columns) == ["detection_id", "verdict", "decided_at", "user_role"]
    assert labels.to_dict("records")[0] | {"decided_at": None} == {
        "detection_id": a1,
        "verdict": "straw_burning",
        "decided_at": None,
        "user_role": "village_member",
    }
    # Who, what, when, from where.
    with store.engine.connect() as conn:
        entry = (
            conn.execute(select(AuditEntry.__table__).where(AuditEntry.action == "verdict"))
            .mappings()
            .one()
        )
    assert (entry["username"], entry["detection_id"], entry["ip"]) == ("member_a", a1, "testclient")
    assert entry["user_agent"] and entry["at"] is not None


def test_a_later_verdict_replaces_the_first_and_both_are_kept(store: Any) -> None:
    a2 = store.ids["a2"]
    client = make_client(store)
    csrf = api_login(client, "member_a")
    for v in ("straw_burning", "industrial"):
        r = client.post(
            f"/api/v1/points/{a2}/verdict", data={"verdict": v}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status_code == 201
    detail = client.get(f"/api/v1/points/{a2}").json()
    assert detail["verdict"] == "industrial"
    assert [v["verdict"] for v in detail["verdicts"]] == ["industrial", "straw_burning"]
    labels = load_verdict_labels(store.engine)
    assert labels.set_index("detection_id").loc[a2, "verdict"] == "industrial"


def test_fire_out_is_recorded_once(store: Any) -> None:
    b = store.ids["b"]
    client = make_client(store)
    csrf = login(client, "member_b")
    r = client.post(f"/points/{b}/handled", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    html = client.get(r.headers["location"]).text
    assert "火已扑灭" in html and 'id="handled"' in html
    api = make_client(store)
    token = api_login(api, "member_b")
    again = api.post(f"/api/v1/points/{b}/handled", headers={"X-CSRF-Token": token}).json()
    assert again["changed"] is False and again["handled_at"] is not None
    assert load_point_reviews(store.engine, [b]).loc[b, "handled_at"] is not None


def test_bad_verdicts_are_refused_with_a_reason(store: Any) -> None:
    a1 = store.ids["a1"]
    client = make_client(store)
    csrf = api_login(client, "member_a")
    for data in ({"verdict": "arson"}, {}, {"verdict": "other_fire", "note": "x" * 2001}):
        r = client.post(f"/api/v1/points/{a1}/verdict", data=data, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 400, data
    assert client.get(f"/api/v1/points/{a1}").json()["verdicts"] == []


def test_openapi_documents_the_json_api(store: Any) -> None:
    client = make_client(store)
    doc = client.get("/api/openapi.json").json()
    assert doc["info"]["title"] == "firewatch review"
    assert set(doc["paths"]) == {
        "/api/v1/login",
        "/api/v1/logout",
        "/api/v1/me",
        "/api/v1/points",
        "/api/v1/points/{detection_id}",
        "/api/v1/points/{detection_id}/verdict",
        "/api/v1/points/{detection_id}/handled",
        "/api/v1/points/{detection_id}/photos/{photo_id}",
    }
    assert "review_status" in doc["components"]["schemas"]["PointSummary"]["properties"]
    # No documentation page that would pull scripts from a CDN.
    assert client.get("/docs").status_code == 404


def test_pages_load_no_external_assets(store: Any) -> None:
    client = make_client(store)
    login(client, "member_a")
    for path in ("/login", "/points", f"/points/{store.ids['a1']}"):
        html = client.get(path).text
        for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert ref.startswith(("/", "#", "geo:")), (path, ref)
    css = client.get("/static/app.css")
    assert css.status_code == 200 and "max-width" in css.text


def test_the_classifiers_class_is_shown_and_skipped_classes_are_not_dispatched(
    engine: Engine, settings: Settings
) -> None:
    from review_support import DAY, add_users, for_tests, grid_frame, insert_points

    from firewatch.classify.models import Classification
    from firewatch.dispatch.assign import assign_new

    for_tests(settings)
    settings.review.skip_classes = ["industrial"]
    ids = insert_points(engine)
    add_users(engine, settings, ["member_a", "chief_county"])
    now = dt.datetime.now(dt.UTC)
    rows = [
        ("a1", "straw", 0.91, "收获后的玉米田，白天小火点，附近无工厂"),
        ("c", "industrial", 0.04, "距登记的工业热源 300 米，多日重复出现"),
    ]
    with engine.begin() as conn:
        conn.execute(
            Classification.__table__.insert(),
            [
                {
                    "detection_id": ids[n],
                    "model_version": "test-1",
                    "fp_class": cls,
                    "p_straw": p,
                    "explanation": why,
                    "classified_at": now,
                }
                for n, cls, p, why in rows
            ],
        )
    got = assign_new(engine, settings, days=[DAY], grid=grid_frame(ids))
    assert ids["c"] not in got and ids["a1"] in got and len(got) == 4
    store = type("S", (), {"engine": engine, "settings": settings})()
    client = make_client(store)
    login(client, "member_a")
    html = client.get(f"/points/{ids['a1']}").text
    assert "收获后的玉米田，白天小火点，附近无工厂" in html
    assert "秸秆焚烧概率 91%" in html
    api = make_client(store)
    api_login(api, "member_a")
    detail = api.get(f"/api/v1/points/{ids['a1']}").json()
    assert (detail["fp_class"], detail["p_straw"]) == ("straw", 0.91)
