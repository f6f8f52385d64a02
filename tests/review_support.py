"""Shared set-up for the review app and dispatch tests (tests/test_web_*.py, test_dispatch_*.py).

Real detections: rows of the bundled FIRMS sample (MODIS Aqua, 2025-04-23 13:14 Beijing time) in
Jixi city, read here with the ``csv`` module.  Their grid attribution is a small fixture: two
villages of Jidong county (real township codes 鸡东镇 230321100 and 向阳镇 230321102, synthetic
village numbers), one point with no grid cell (it falls back to its county), and a village of
Hulin county (虎林镇 230381100) for "another grid".  People are plainly fictional.
"""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import io
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, insert
from typer.testing import CliRunner, Result

from firewatch.cli import app
from firewatch.config import Settings
from firewatch.dispatch.assign import GRID_COLUMNS, assign_new
from firewatch.dispatch.users import add_user
from firewatch.schema import detection_ids
from firewatch.store.models import Detection

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "firewatch" / "data" / "samples" / "MODIS_C61_NRT_hlj_2025-04-23_to_2025-04-24.csv"
DAY = dt.date(2025, 4, 23)

#: name -> (lat, lon as in the sample, county code, county name, grid or None)
POINTS: dict[str, tuple[float, float, str, str, tuple[str, str, str, str] | None]] = {
    "a1": (
        45.29082,
        130.98175,
        "230321",
        "鸡东县",
        ("230321100", "鸡东镇", "230321100201", "甲村"),
    ),
    "a2": (45.3005, 130.97197, "230321", "鸡东县", ("230321100", "鸡东镇", "230321100201", "甲村")),
    "b": (45.02202, 131.04628, "230321", "鸡东县", ("230321102", "向阳镇", "230321102203", "乙村")),
    "c": (44.89871, 130.67798, "230321", "鸡东县", None),
    "h": (45.85695, 133.60562, "230381", "虎林市", ("230381100", "虎林镇", "230381100201", "丙村")),
}

PASSWORD = "field-check-2025"

#: username -> (role, grid code, e-mail)
USERS: dict[str, tuple[str, str, str | None]] = {
    "member_a": ("village_member", "230321100201", "member_a@example.org"),
    "member_b": ("village_member", "230321102203", "member_b@example.org"),
    "member_h": ("village_member", "230381100201", "member_h@example.org"),
    "chief_town_a": ("field_chief", "230321100000", "chief_town_a@example.org"),
    "chief_county": ("field_chief", "230321000000", "chief_county@example.org"),
    "chief_city": ("field_chief", "230300000000", "chief_city@example.org"),
    "analyst": ("analyst", "230300000000", None),
    "admin": ("admin", "230000000000", None),
}


def sample_rows() -> dict[tuple[float, float], dict[str, str]]:
    """The sample's rows keyed by (latitude, longitude) as written in the file."""
    with SAMPLE.open(newline="", encoding="utf-8") as fh:
        return {(float(r["latitude"]), float(r["longitude"])): r for r in csv.DictReader(fh)}


def insert_points(engine: Engine, names: list[str] | None = None) -> dict[str, str]:
    """Store the named sample points as detections; returns name -> detection_id."""
    rows = sample_rows()
    names = names or list(POINTS)
    records = []
    for name in names:
        lat, lon, county, county_name, _grid = POINTS[name]
        r = rows[(lat, lon)]
        t = dt.datetime.strptime(r["acq_date"] + r["acq_time"].zfill(4), "%Y-%m-%d%H%M").replace(
            tzinfo=dt.UTC
        )
        records.append(
            {
                "name": name,
                "product": "MODIS_NRT",
                "instrument": "MODIS",
                "satellite": {"A": "Aqua", "T": "Terra"}[r["satellite"]],
                "acq_time_utc": t,
                "latitude": lat,
                "longitude": lon,
                "scan": float(r["scan"]),
                "track": float(r["track"]),
                "bright_t4": float(r["brightness"]),
                "bright_t5": float(r["bright_t31"]),
                "frp": float(r["frp"]),
                "confidence_raw": r["confidence"],
                "confidence_level": "nominal",
                "confidence_score": float(r["confidence"]),
                "daynight": r["daynight"],
                "version": r["version"],
                "origin": SAMPLE.name,
                "origin_line": 2,
                "region": "province",
                "city_code": "2303",
                "city_name": "鸡西市",
                "county_code": county,
                "county_name": county_name,
            }
        )
    frame = pd.DataFrame(records)
    frame["detection_id"] = detection_ids(
        frame["instrument"],
        frame["satellite"],
        pd.to_datetime(frame["acq_time_utc"], utc=True),
        frame["latitude"],
        frame["longitude"],
    )
    ids = dict(zip(frame["name"], frame["detection_id"], strict=True))
    with engine.begin() as conn:
        conn.execute(
            insert(Detection),
            [
                {k: v for k, v in rec.items() if k != "name"} | {"detection_id": ids[rec["name"]]}
                for rec in records
            ],
        )
    return ids


def grid_frame(ids: dict[str, str]) -> pd.DataFrame:
    """The fixture grid attribution of the stored points (as issue 3's loader returns it)."""
    rows = []
    for name, did in ids.items():
        g = POINTS[name][4]
        if g is None:
            continue
        rows.append(
            {
                "detection_id": did,
                "township_code": g[0].ljust(12, "0"),
                "township_name": g[1],
                "village_code": g[2],
                "village_name": g[3],
                "grid_flags": "",
                "field_chief": f"田长{name.upper()}",
                "grid_member": f"网格员{name.upper()}",
            }
        )
    return pd.DataFrame(rows, columns=["detection_id", *GRID_COLUMNS]).set_index("detection_id")


def add_users(engine: Engine, settings: Settings, names: list[str] | None = None) -> None:
    for username in names or list(USERS):
        role, code, email = USERS[username]
        add_user(
            engine,
            settings,
            username=username,
            display_name=f"测试 {username}",
            role=role,
            grid_code=code,
            password=PASSWORD,
            email=email,
        )


@dataclass
class Store:
    """A store with the sample points assigned and the fixture users."""

    engine: Engine
    settings: Settings
    ids: dict[str, str]
    assigned: list[str] = field(default_factory=list)


def for_tests(settings: Settings) -> Settings:
    """Cheap argon2 (still argon2id; the cost is not under test) and cookies over plain http.

    No grid file: these tests give the points' grid attribution as a frame (:func:`grid_frame`),
    so user codes are not checked against the bundled demo grid.
    """
    settings.grids_path = ROOT / "tests" / "data" / "no-grid-in-these-tests.gpkg"
    settings.review.argon2_time_cost = 1
    settings.review.argon2_memory_kib = 8192
    settings.review.argon2_parallelism = 1
    settings.review.secure_cookies = False
    return settings


def review_store(engine: Engine, settings: Settings, *, now: dt.datetime | None = None) -> Store:
    """Store the sample points and the fixture users, and assign the points (at ``now``).

    ``settings`` is tuned with :func:`for_tests`.
    """
    for_tests(settings)
    ids = insert_points(engine)
    add_users(engine, settings)
    assigned = assign_new(engine, settings, days=[DAY], now=now, grid=grid_frame(ids))
    return Store(engine=engine, settings=settings, ids=ids, assigned=assigned)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def jpeg_with_gps(lat: float, lon: float, *, size: tuple[int, int] = (64, 48)) -> bytes:
    """A real small JPEG whose EXIF carries a GPS position (as a phone camera writes it)."""
    from PIL import Image

    img = Image.new("RGB", size, (200, 120, 40))
    exif = Image.Exif()

    def dms(v: float) -> tuple[float, float, float]:
        v = abs(v)
        d = int(v)
        m = int((v - d) * 60)
        s = round(((v - d) * 60 - m) * 60, 4)
        return (float(d), float(m), s)

    gps = {
        1: "N" if lat >= 0 else "S",
        2: dms(lat),
        3: "E" if lon >= 0 else "W",
        4: dms(lon),
    }
    exif[0x8825] = gps
    exif[0x0132] = "2025:04:23 15:02:11"
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif, quality=85)
    return buf.getvalue()


def png_bytes(size: tuple[int, int] = (20, 20)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (0, 80, 160)).save(buf, "PNG")
    return buf.getvalue()


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_client(store: Store, **kwargs: Any) -> Any:
    """A FastAPI TestClient on the review app of ``store``."""
    from fastapi.testclient import TestClient

    from firewatch.web import create_app

    return TestClient(create_app(store.settings, store.engine), **kwargs)


def form_csrf(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no CSRF field in the page"
    return m.group(1)


def login(client: Any, username: str, password: str = PASSWORD) -> str:
    """Log in through the login form; returns the session's CSRF token."""
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": form_csrf(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return form_csrf(client.get("/points").text)


def api_login(client: Any, username: str, password: str = PASSWORD) -> str:
    """Log in through the JSON API; returns the CSRF token for the X-CSRF-Token header."""
    r = client.post("/api/v1/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf_token"])


def app_routes(client: Any) -> list[tuple[str, set[str]]]:
    """Every (path, methods) the app serves, through included routers (``app.routes``)."""
    from fastapi.routing import iter_route_contexts

    out = []
    for r in iter_route_contexts(client.app.routes):
        if r.path is not None and getattr(r, "methods", None):
            out.append((r.path, set(r.methods)))
    return out


# --- real notification servers on 127.0.0.1 ------------------------------------------------
@dataclass
class Mail:
    sender: str
    to: list[str]
    subject: str
    body: str


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        with self.lock:
            self.mails.append(
                Mail(
                    sender=envelope.mail_from,
                    to=list(envelope.rcpt_tos),
                    subject=str(msg["Subject"]),
                    body=body.get_content() if body is not None else "",  # type: ignore[attr-defined]
                )
            )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.to]


class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1."""

    def __init__(self, port: int) -> None:
        from aiosmtpd.controller import Controller

        self.inbox = Inbox()
        self.port = port
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=port)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


@dataclass
class Robot:
    """What a chat-robot server received; ``script`` holds the next answers to give."""

    received: list[dict[str, Any]] = field(default_factory=list)
    #: (status, JSON body) answered to the next requests, then {"errcode": 0}.
    script: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.received if r["path"] == path]


class RobotServer:
    """A real HTTP server on 127.0.0.1 answering like a WeCom/DingTalk group robot."""

    def __init__(self) -> None:
        state = self.state = Robot()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with state.lock:
                    state.received.append(
                        {
                            "path": self.path,
                            "content_type": self.headers.get("Content-Type"),
                            "json": json.loads(raw),
                            "bytes": len(raw),
                        }
                    )
                    status, answer = state.script.pop(0) if state.script else (200, {"errcode": 0})
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> RobotServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def run_cli(*args: str, input: str | None = None) -> Result:
    """Run ``firewatch ARGS`` in-process (settings from the environment), errors raised."""
    return CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)
