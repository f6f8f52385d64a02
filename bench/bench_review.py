"""Review app under load: concurrent simulated reviewers against uvicorn on loopback, SQLite store.

Each reviewer is a village grid member with one assigned point (the real points of the bundled
FIRMS sample, 2025-04-23, each put in its own synthetic village), and does what a phone does:

1. ``GET /login`` (the form and its CSRF token), 2. ``POST /login`` (argon2 check, session),
3. ``GET /points`` (my list and map), 4. ``GET /points/{id}`` (the point page),
5. ``POST /points/{id}/verdict`` (a verdict, a note and a small JPEG with EXIF GPS).

All reviewers start at once (``asyncio.gather`` of ``httpx.AsyncClient`` sessions, one cookie jar
each).  The server is ``uvicorn`` with one worker in a separate process, on 127.0.0.1 only, on a
fresh SQLite store per scenario.  Reported per page: count, p50/p95/max latency, errors; per
scenario: wall time, verdicts accepted by the server, verdicts found in the store afterwards,
lost = accepted - found (must be 0).  The 200-reviewer run is shown beside the 20-reviewer run of
the same invocation, with ratios.

Passwords use the configured argon2 cost (default: RFC 9106 low-memory, 64 MiB, t=3, p=4;
``--argon2 owasp`` uses OWASP's m=19 MiB, t=2, p=1).  To keep the set-up short, all bench
accounts share one password hash (the login still verifies it in full).

Usage: ``python bench/bench_review.py [--n 200] [--small 20] [--argon2 default|owasp]
[--timeout 300] [--store sqlite|postgis|both] [--postgis-url URL]``.  ``--store both`` runs the
``--n`` reviewers against SQLite and against PostgreSQL/PostGIS (a fresh database made from the
template that ``.ci/postgis-up`` prints) in the same invocation.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import io
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "firewatch" / "data" / "samples" / "MODIS_C61_NRT_hlj_2025-04-23_to_2025-04-24.csv"
PAGES = ("login form", "login", "list", "point", "verdict")
PASSWORD = "bench-reviewer-2025"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ARGON2 = {
    "default": {"argon2_time_cost": 3, "argon2_memory_kib": 65536, "argon2_parallelism": 4},
    "owasp": {"argon2_time_cost": 2, "argon2_memory_kib": 19456, "argon2_parallelism": 1},
}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def photo() -> bytes:
    from PIL import Image

    img = Image.new("RGB", (320, 240), (190, 120, 50))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (45.0, 17.0, 27.0), 3: "E", 4: (130.0, 58.0, 54.0)}
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif, quality=80)
    return buf.getvalue()


def prepare(url: str, n: int, argon2: dict[str, int]) -> tuple[Any, list[tuple[str, str]]]:
    """A store with the sample's points, each in its own village with one reviewer."""
    from firewatch.config import Settings
    from firewatch.dispatch.assign import GRID_COLUMNS, assign_new
    from firewatch.dispatch.models import ReviewUser
    from firewatch.dispatch.users import hash_password
    from firewatch.pipeline import ingest_file
    from firewatch.store import connect, repo, upgrade
    from firewatch.store.models import utcnow

    settings = Settings(database_url=url, review=argon2)
    engine = connect(settings.database_url)
    upgrade(engine)
    ingest_file(engine, settings, SAMPLE)
    det = repo.load_detections(engine, region=["province"])
    if len(det) < n:
        raise SystemExit(f"the sample has {len(det)} province points; use --n {len(det)} or less")
    det = det.iloc[:n].reset_index(drop=True)
    grid = pd.DataFrame(
        {
            "detection_id": det["detection_id"],
            "township_code": det["county_code"].str.ljust(6, "0") + "100000",
            "township_name": "基准镇",
            "village_code": [
                f"{c}{100 + i // 900:03d}{100 + i % 900:03d}"
                for i, c in enumerate(det["county_code"])
            ],
            "village_name": [f"基准村{i}" for i in range(n)],
            "grid_flags": "",
            "field_chief": None,
            "grid_member": None,
        }
    ).set_index("detection_id")
    assign_new(engine, settings, days=[dt.date(2025, 4, 23)], grid=grid.loc[:, list(GRID_COLUMNS)])
    shared = hash_password(PASSWORD, settings)
    users = [
        {
            "username": f"rev{i:04d}",
            "display_name": f"核查员{i}",
            "role": "village_member",
            "grid_code": code,
            "password_hash": shared,
            "active": True,
            "failed_logins": 0,
            "created_at": utcnow(),
        }
        for i, code in enumerate(grid["village_code"])
    ]
    with engine.begin() as conn:
        conn.execute(insert(ReviewUser), users)
    return engine, [(u["username"], did) for u, did in zip(users, grid.index, strict=True)]


@dataclass
class Stats:
    times: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in PAGES})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PAGES, 0))
    accepted: set[str] = field(default_factory=set)
    messages: list[str] = field(default_factory=list)


async def reviewer(
    base: str, username: str, expect: str, jpeg: bytes, stats: Stats, timeout: float
) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=timeout) as c:

        async def step(page: str, ok: int, method: str, url: str, **kw: Any) -> httpx.Response:
            t = time.perf_counter()
            try:
                r = await c.request(method, url, **kw)
            except httpx.HTTPError as exc:
                stats.errors[page] += 1
                stats.messages.append(f"{page}: {type(exc).__name__}")
                raise
            stats.times[page].append(time.perf_counter() - t)
            if r.status_code != ok:
                stats.errors[page] += 1
                stats.messages.append(f"{page}: HTTP {r.status_code}")
                raise RuntimeError(page)
            return r

        try:
            r = await step("login form", 200, "GET", "/login")
            token = CSRF.search(r.text).group(1)  # type: ignore[union-attr]
            data = {"username": username, "password": PASSWORD, "csrf_token": token}
            await step("login", 303, "POST", "/login", data=data)
            r = await step("list", 200, "GET", "/points")
            ids = re.findall(r'href="/points/([0-9a-f]{16})"', r.text)
            if ids[:1] != [expect]:
                stats.errors["list"] += 1
                stats.messages.append("list: wrong points")
                return
            r = await step("point", 200, "GET", f"/points/{expect}")
            token = CSRF.search(r.text).group(1)  # type: ignore[union-attr]
            await step(
                "verdict",
                303,
                "POST",
                f"/points/{expect}/verdict",
                data={"csrf_token": token, "verdict": "straw_burning", "note": f"{username} 核查"},
                files={"photos": ("field.jpg", jpeg, "image/jpeg")},
            )
            stats.accepted.add(expect)
        except (RuntimeError, httpx.HTTPError, AttributeError):
            return


def start_server(url: str, tmp: Path, port: int, argon2: dict[str, int]) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        {
            "FIREWATCH_CONFIG": str(tmp / "none.toml"),
            "FIREWATCH_DATABASE_URL": url,
            "FIREWATCH_REVIEW__SECURE_COOKIES": "false",
            "FIREWATCH_REVIEW__SESSION_SECRET": "bench-secret-bench-secret",
            # Every reviewer comes from 127.0.0.1; failures are what get throttled, not logins.
            **{f"FIREWATCH_REVIEW__{k.upper()}": str(v) for k, v in argon2.items()},
        }
    )
    cmd = [
        sys.executable, "-m", "uvicorn", "--factory", "firewatch.web.serve:app_from_env",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("uvicorn did not start")


@contextlib.contextmanager
def store_url(kind: str, tmp: Path, postgis: str | None) -> Iterator[str]:
    """A fresh store: a SQLite file, or a PostGIS database made from the template and dropped."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if not postgis:
        raise SystemExit("--store postgis needs --postgis-url or FIREWATCH_TEST_POSTGIS_URL")
    base = make_url(postgis)
    name = f"fw_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{base.database}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def scenario(
    n: int,
    argon2: dict[str, int],
    timeout: float,
    *,
    store: str = "sqlite",
    postgis: str | None = None,
) -> dict[str, Any]:
    from firewatch.dispatch.models import Verdict

    with tempfile.TemporaryDirectory() as tmp, store_url(store, Path(tmp), postgis) as url:
        engine, people = prepare(url, n, argon2)
        port = free_port()
        proc = start_server(url, Path(tmp), port, argon2)
        stats = Stats()
        jpeg = photo()
        try:
            t = time.perf_counter()

            async def everyone() -> None:
                await asyncio.gather(
                    *(
                        reviewer(f"http://127.0.0.1:{port}", u, d, jpeg, stats, timeout)
                        for u, d in people
                    )
                )

            asyncio.run(asyncio.wait_for(everyone(), timeout=timeout * 2))
            wall = time.perf_counter() - t
        finally:
            proc.terminate()
            proc.wait(10)
        with engine.connect() as conn:
            found = set(conn.execute(select(Verdict.detection_id)).scalars())
            rows = conn.execute(select(func.count()).select_from(Verdict.__table__)).scalar()
        engine.dispose()
    return {
        "n": n,
        "store": store,
        "stats": stats,
        "wall": wall,
        "accepted": len(stats.accepted),
        "found": len(found & stats.accepted),
        "rows": rows,
        "lost": len(stats.accepted - found),
    }


def pct(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="reviewers in the big run")
    ap.add_argument("--small", type=int, default=20, help="reviewers in the comparison run")
    ap.add_argument("--argon2", choices=sorted(ARGON2), default="default")
    ap.add_argument("--timeout", type=float, default=300.0, help="per request, seconds")
    ap.add_argument(
        "--store",
        choices=("sqlite", "postgis", "both"),
        default="sqlite",
        help="the store under the app; 'both' runs the big scenario on SQLite and PostGIS",
    )
    ap.add_argument(
        "--postgis-url",
        default=os.environ.get("FIREWATCH_TEST_POSTGIS_URL"),
        help="template database URL (what .ci/postgis-up prints)",
    )
    args = ap.parse_args()
    argon2 = ARGON2[args.argon2]
    if args.store == "both":
        # The comparison the scale-out issue asks for: the same 200 reviewers on each store.
        runs = [
            scenario(args.n, argon2, args.timeout, store=k, postgis=args.postgis_url)
            for k in ("sqlite", "postgis")
        ]
    else:
        runs = [
            scenario(k, argon2, args.timeout, store=args.store, postgis=args.postgis_url)
            for k in (args.small, args.n)
        ]
    small, big = runs
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nreview app on loopback, uvicorn 1 worker; argon2 {args.argon2} {argon2}; "
        f"{os.cpu_count()} CPUs, load average {load}"
    )
    titles = [f"{r['n']} reviewers, {r['store']}" for r in runs]
    head = f"{'page':<11}" + "".join(f" | {t:^33}" for t in titles) + " | ratio p50  p95"
    print(head)
    print(
        f"{'':<11}"
        + " | {:>5} {:>8} {:>8} {:>8}    ".format("n", "p50 ms", "p95 ms", "max ms") * 2
        + " |"
    )
    print("-" * len(head))
    for page in PAGES:
        cells = []
        med = []
        for r in runs:
            ts = [x * 1000 for x in r["stats"].times[page]]
            p50, p95 = pct(ts, 50), pct(ts, 95)
            med.append((p50, p95))
            cells.append(
                f" | {len(ts):>5} {p50:>8.1f} {p95:>8.1f} {max(ts, default=float('nan')):>8.1f}"
            )
        ratio = f" | {med[1][0] / med[0][0]:>8.1f}x {med[1][1] / med[0][1]:>4.1f}x"
        print(f"{page:<11}" + "".join(cells) + ratio)
    print()
    print(f"{'':<22}" + "".join(f"{t:>28}" for t in titles))
    for label, key in (
        ("wall time s", "wall"),
        ("verdicts accepted", "accepted"),
        ("verdicts in store", "found"),
        ("verdict rows", "rows"),
        ("verdicts lost", "lost"),
    ):
        vals = "".join(
            f"{r[key]:>28.1f}" if isinstance(r[key], float) else f"{r[key]:>28d}" for r in runs
        )
        print(f"{label:<22}{vals}")
    errs = "".join(f"{sum(r['stats'].errors.values()):>28d}" for r in runs)
    print(f"{'errors':<22}{errs}")
    for r in runs:
        if r["stats"].messages:
            print(f"  {r['n']} reviewers: " + ", ".join(sorted(set(r["stats"].messages))[:10]))
    if big["lost"] or small["lost"]:
        raise SystemExit("verdicts were lost")


if __name__ == "__main__":
    main()
