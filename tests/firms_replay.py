"""A local HTTP server that answers like the NASA FIRMS API, from real fixture rows.

It serves ``/api/area/csv/{MAP_KEY}/{SOURCE}/{W,S,E,N}/{DAY_RANGE}/{DATE}`` with the rows of the
fixture files in ``tests/data/firms`` whose ``acq_date`` falls in the requested days and whose
position falls in the box, laid out as the API lays them out (an ``instrument`` column after
``satellite``, ISO dates, ``HHMM`` times, no row-index column).  It also answers
``/mapserver/mapkey_status/?MAP_KEY=`` and ``/api/data_availability/csv/{MAP_KEY}/{SOURCE}``.

Like FIRMS it refuses an unknown key with the text ``Invalid MAP_KEY.`` (HTTP 400, or HTTP 200 if
told so), a day range outside 1..5 with ``Invalid day range.`` and a bad box with
``Invalid area.``.  Tests can make it fail the next N requests with 503, stall the next N requests
(to trigger client timeouts), and read every request it received.

The rows are read with the standard ``csv`` module, never with the code under test.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

DATA = Path(__file__).parent / "data" / "firms"

#: The key the replay server accepts unless told otherwise (32 hex digits like a real MAP_KEY).
GOOD_KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"

_MODIS_HEADER = (
    "latitude,longitude,brightness,scan,track,acq_date,acq_time,satellite,instrument,"
    "confidence,version,bright_t31,frp,daynight"
)
_VIIRS_HEADER = (
    "latitude,longitude,bright_ti4,scan,track,acq_date,acq_time,satellite,instrument,"
    "confidence,version,bright_ti5,frp,daynight"
)


@dataclass
class Received:
    """One request as the server saw it."""

    method: str
    path: str  # includes the MAP_KEY, as sent on the wire
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int = 0


@dataclass
class _Row:
    day: dt.date
    lat: float
    lon: float
    line: str


@functools.lru_cache(maxsize=16)
def _api_rows(files: tuple[Path, ...]) -> tuple[str, list[_Row]]:
    """Fixture rows re-laid out as the area API answers (distinct rows only); cached."""
    rows: list[_Row] = []
    seen: set[str] = set()
    header = ""
    for path in files:
        with path.open(newline="") as fh:
            reader = csv.reader(fh)
            names = [n.strip() for n in next(reader)]
            viirs = "bright_ti4" in names
            header = _VIIRS_HEADER if viirs else _MODIS_HEADER
            for values in reader:
                if len(values) != len(names):
                    continue
                rec = dict(zip(names, values, strict=True))
                day = dt.date.fromisoformat(rec["acq_date"])
                acq_time = rec["acq_time"].replace(":", "")
                out = [
                    rec["latitude"],
                    rec["longitude"],
                    rec["bright_ti4" if viirs else "brightness"],
                    rec["scan"],
                    rec["track"],
                    day.isoformat(),
                    acq_time,
                    rec["satellite"],
                    "VIIRS" if viirs else "MODIS",
                    rec["confidence"],
                    rec["version"],
                    rec["bright_ti5" if viirs else "bright_t31"],
                    rec["frp"],
                    rec["daynight"],
                ]
                line = ",".join(out)
                if line in seen:  # the saved series repeats some rows across days
                    continue
                seen.add(line)
                rows.append(_Row(day, float(rec["latitude"]), float(rec["longitude"]), line))
    return header, rows


def default_sources() -> dict[str, list[Path]]:
    """Which fixture files stand for which FIRMS source."""
    inbox = DATA / "inbox"
    modis = sorted(p for p in inbox.glob("MODIS_*") if "excel" not in p.name)
    return {
        "MODIS_NRT": modis,
        "VIIRS_SNPP_NRT": [inbox / "VIIRS_SNPP_NRT_global_24h_2019-04-07_to_2019-04-07.txt"],
        "VIIRS_NOAA20_NRT": sorted((DATA / "viirs_noaa20_hlj_autumn2022").glob("*.csv")),
    }


@dataclass
class FirmsReplay:
    """The replay server.  Use as a context manager or call :meth:`start`/:meth:`stop`."""

    sources: dict[str, list[Path]] = field(default_factory=default_sources)
    keys: set[str] = field(default_factory=lambda: {GOOD_KEY})
    refuse_status: int = 400
    received: list[Received] = field(default_factory=list)
    transactions: int = 0

    def __post_init__(self) -> None:
        self._data = {name: _api_rows(tuple(files)) for name, files in self.sources.items()}
        self._lock = threading.Lock()
        self._fail: list[tuple[int, str]] = []
        self._stall: list[float] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- control
    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, n: int, *, status: int = 503, body: str = "Service Unavailable") -> None:
        """Answer the next ``n`` requests with ``status``."""
        with self._lock:
            self._fail.extend([(status, body)] * n)

    def stall_next(self, n: int, seconds: float) -> None:
        """Wait ``seconds`` before answering each of the next ``n`` requests."""
        with self._lock:
            self._stall.extend([seconds] * n)

    def reject_all_keys(self, *, status: int = 400) -> None:
        """Refuse every key from now on, answering ``Invalid MAP_KEY.`` with ``status``."""
        self.keys = set()
        self.refuse_status = status

    def area_requests(self) -> list[Received]:
        return [r for r in self.received if r.path.startswith("/api/area/")]

    # ---------------------------------------------------------------- answers
    def answer(self, method: str, raw_path: str, headers: dict[str, str]) -> tuple[int, str, str]:
        parts = urlsplit(raw_path)
        rec = Received(method, parts.path, parse_qs(parts.query), headers)
        with self._lock:
            self.received.append(rec)
            stall = self._stall.pop(0) if self._stall else 0.0
            fail = self._fail.pop(0) if self._fail else None
        if stall:
            time.sleep(stall)
        if fail is not None:
            status, body, ctype = fail[0], fail[1], "text/plain"
        else:
            status, body, ctype = self._route(parts.path, rec.query)
        rec.status = status
        return status, body, ctype

    def _refuse(self) -> tuple[int, str, str]:
        return self.refuse_status, "Invalid MAP_KEY.", "text/plain;charset=UTF-8"

    def _route(self, path: str, query: dict[str, list[str]]) -> tuple[int, str, str]:
        bits = [b for b in path.split("/") if b]
        if bits[:2] == ["mapserver", "mapkey_status"]:
            key = (query.get("MAP_KEY") or [""])[0]
            if key not in self.keys:
                text = "MAP_KEY is invalid or your have exceeded your transaction/time limit."
                return self.refuse_status, text, "text/plain"
            body = json.dumps(
                {
                    "transaction_limit": 5000,
                    "current_transactions": self.transactions,
                    "transaction_interval": "10 minutes",
                }
            )
            return 200, body, "application/json"
        if bits[:3] == ["api", "data_availability", "csv"] and len(bits) == 5:
            if bits[3] not in self.keys:
                return self._refuse()
            lines = ["data_id,min_date,max_date"]
            for name, (_, rows) in sorted(self._data.items()):
                if bits[4] in ("all", name) and rows:
                    days = [r.day for r in rows]
                    lines.append(f"{name},{min(days)},{max(days)}")
            return 200, "\n".join(lines) + "\n", "text/csv"
        if bits[:3] == ["api", "area", "csv"] and len(bits) in (7, 8):
            return self._area(bits[3:])
        return 404, "Not Found", "text/plain"

    def _area(self, args: list[str]) -> tuple[int, str, str]:
        key, source, area, day_range = args[:4]
        if key not in self.keys:
            return self._refuse()
        with self._lock:
            self.transactions += 1
        if source not in self._data:
            return 400, "Invalid source.", "text/plain"
        try:
            west, south, east, north = (float(v) for v in area.split(","))
        except ValueError:
            return 400, "Invalid area.", "text/plain"
        if not day_range.isdigit() or not 1 <= int(day_range) <= 5:
            return 400, "Invalid day range.", "text/plain"
        first = dt.date.fromisoformat(args[4]) if len(args) == 5 else dt.date.today()
        last = first + dt.timedelta(days=int(day_range) - 1)
        header, rows = self._data[source]
        body = [header]
        body += [
            r.line
            for r in rows
            if first <= r.day <= last and south <= r.lat <= north and west <= r.lon <= east
        ]
        return 200, "\n".join(body) + "\n", "text/csv"

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> FirmsReplay:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                status, body, ctype = replay.answer("GET", self.path, dict(self.headers))
                data = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean; requests are in replay.received

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)  # serve_forever has returned: this is immediate
            self._thread = None

    def __enter__(self) -> FirmsReplay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def area_csv(text: str) -> list[dict[str, str]]:
    """Parse an area answer with the csv module (for tests that look at the raw rows)."""
    return list(csv.DictReader(io.StringIO(text)))
