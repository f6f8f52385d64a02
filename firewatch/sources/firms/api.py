"""Client for the NASA FIRMS area API, polite and safe with the MAP_KEY.

Endpoint: ``{base}/api/area/csv/{MAP_KEY}/{SOURCE}/{W,S,E,N}/{DAY_RANGE}/{YYYY-MM-DD}`` returns the
detections of ``SOURCE`` inside the box for ``DAY_RANGE`` days starting at the date.  FIRMS
accepts a day range of 1 to :data:`DAY_RANGE_MAX` (5); longer requests are split into chunks and
merged (unique by ``detection_id``).

What FIRMS does that the client handles:

* A refused key is answered with the text ``Invalid MAP_KEY.`` (HTTP 400, and by some reports
  HTTP 200) instead of CSV: that raises :class:`~firewatch.errors.FirmsAuthError`; so do 401/403
  and the "exceeded transaction limit" answer.  Other 4xx answers (``Invalid area.``,
  ``Invalid day range.``) raise :class:`~firewatch.errors.FirmsApiError` with the status.
* 5xx, 429 and network errors/timeouts are retried with exponential backoff.
* A MAP_KEY allows 5,000 transactions per 10 minutes, and a multi-day request can count as
  several: a sliding-window limiter charges each request ``DAY_RANGE`` transactions (the
  conservative reading) and sleeps when the window is full.
  :meth:`FirmsClient.sync_budget` reads ``/mapserver/mapkey_status/`` to count what other
  processes already used.

The MAP_KEY never appears in logs, exception messages or ``origin``: requests are built with a
placeholder and a transport wrapper substitutes the key only on the wire, so even httpx's own
request log shows ``***``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import httpx
from pydantic import SecretStr

from firewatch.config import Settings
from firewatch.errors import ConfigError, FirmsApiError, FirmsAuthError, FirmsFormatError
from firewatch.schema import PRODUCTS
from firewatch.sources.firms.reader import Bbox, FirmsRead, combine_reads, read_firms_bytes

__all__ = [
    "DAY_RANGE_MAX",
    "DEFAULT_BASE_URL",
    "FirmsClient",
    "MapKeyStatus",
    "SlidingWindowLimiter",
    "mask_key",
]

log = logging.getLogger(__name__)

#: Longest day range one area request may ask for (FIRMS API: 1..5).
DAY_RANGE_MAX: Final = 5
DEFAULT_BASE_URL: Final = "https://firms.modaps.eosdis.nasa.gov"
#: FIRMS's published budget per MAP_KEY.
FIRMS_TRANSACTIONS_PER_WINDOW: Final = 5000
WINDOW_S: Final = 600.0

_PLACEHOLDER: Final = "__FIRMS_MAP_KEY__"
_MASK: Final = "***"


def mask_key(text: str, key: str | None = None) -> str:
    """``text`` with the MAP_KEY (and the client's placeholder) replaced by ``***``."""
    out = text.replace(_PLACEHOLDER, _MASK)
    if key:
        out = out.replace(key, _MASK)
    return out


class SlidingWindowLimiter:
    """At most ``limit`` transactions in any ``window_s`` seconds; ``acquire`` sleeps if needed.

    Parameters
    ----------
    limit
        Transactions allowed per window.
    window_s
        Window length in seconds (FIRMS: 600).
    clock, sleep
        Injectable for tests (a fake clock whose ``sleep`` advances it).
    """

    def __init__(
        self,
        limit: int,
        window_s: float = WINDOW_S,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._sleep = sleep
        self._events: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def _purge(self, now: float) -> None:
        while self._events and self._events[0][0] <= now - self.window_s:
            self._events.popleft()

    @property
    def used(self) -> int:
        """Transactions charged within the current window."""
        with self._lock:
            self._purge(self._clock())
            return sum(c for _, c in self._events)

    def acquire(self, cost: int = 1) -> float:
        """Charge ``cost`` transactions, first sleeping until the window has room.

        Returns
        -------
        float
            Seconds slept.
        """
        if cost < 0:
            raise ValueError("cost must not be negative")
        if cost > self.limit:
            raise ValueError(f"one request costs {cost} transactions, over the limit {self.limit}")
        slept = 0.0
        with self._lock:
            while True:
                now = self._clock()
                self._purge(now)
                used = sum(c for _, c in self._events)
                if used + cost <= self.limit:
                    if cost:
                        self._events.append((now, cost))
                    return slept
                # Sleep until enough of the oldest charges leave the window.
                need = used + cost - self.limit
                freed = 0
                until = now
                for t, c in self._events:
                    freed += c
                    until = t + self.window_s
                    if freed >= need:
                        break
                wait = max(until - now, 0.0) + 1e-3
                log.info("FIRMS transaction budget full: waiting %.1f s", wait)
                self._sleep(wait)
                slept += wait

    def record(self, used: int) -> None:
        """Count ``used`` transactions spent elsewhere (e.g. from ``mapkey_status``) as of now."""
        if used > 0:
            with self._lock:
                self._events.append((self._clock(), min(used, self.limit)))


@dataclass(frozen=True)
class MapKeyStatus:
    """What ``/mapserver/mapkey_status/`` says about the key."""

    transaction_limit: int
    current_transactions: int
    transaction_interval: str

    @property
    def remaining(self) -> int:
        """Transactions left in the current interval (never negative)."""
        return max(self.transaction_limit - self.current_transactions, 0)


class _KeyTransport(httpx.BaseTransport):
    """Put the MAP_KEY into the URL on the wire only; everything above sees the placeholder."""

    def __init__(self, inner: httpx.BaseTransport, key: str) -> None:
        self._inner = inner
        self._key = key

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if _PLACEHOLDER in url:
            request = httpx.Request(
                request.method,
                url.replace(_PLACEHOLDER, self._key),
                headers=request.headers,
                stream=request.stream,
                extensions=request.extensions,
            )
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def _fmt_coord(x: float) -> str:
    s = f"{float(x):.6f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


class FirmsClient:
    """The FIRMS area API behind one object: timeouts, retries, a transaction budget.

    Parameters
    ----------
    map_key
        The FIRMS MAP_KEY (letters and digits).
    base_url
        FIRMS root, e.g. ``https://firms.modaps.eosdis.nasa.gov`` (tests point it at a local
        replay server).
    timeout
        Seconds for connect/read/write of one request.
    retries
        Extra attempts after a 5xx, 429, timeout or network error.
    transactions_per_10min
        The budget the limiter keeps to (at most FIRMS's 5,000).
    bbox
        Default ``(west, south, east, north)`` for :meth:`area`.
    backoff_s, backoff_max_s
        Backoff before retry ``k`` is ``min(backoff_s * 2**k, backoff_max_s)`` seconds.
    clock, sleep
        Injectable time functions (tests).
    transport
        An httpx transport to send through (default: a plain HTTP transport).
    """

    def __init__(
        self,
        map_key: SecretStr | str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 60.0,
        retries: int = 4,
        transactions_per_10min: int = 4500,
        bbox: Bbox | None = None,
        backoff_s: float = 1.0,
        backoff_max_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        key = map_key.get_secret_value() if isinstance(map_key, SecretStr) else str(map_key)
        key = key.strip()
        if not re.fullmatch(r"[A-Za-z0-9]{8,128}", key):
            # Never echo the key: say only what is wrong with it.
            raise ConfigError(
                f"the FIRMS MAP_KEY must be 8-128 letters and digits (got {len(key)} characters)"
            )
        self._key = SecretStr(key)
        self.base_url = base_url.rstrip("/")
        self.retries = max(int(retries), 0)
        self.bbox = bbox
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._sleep = sleep
        limit = min(int(transactions_per_10min), FIRMS_TRANSACTIONS_PER_WINDOW)
        self.limiter = SlidingWindowLimiter(limit, WINDOW_S, clock=clock, sleep=sleep)
        inner = transport or httpx.HTTPTransport()
        self._http = httpx.Client(
            transport=_KeyTransport(inner, key),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
            follow_redirects=False,
            headers={"User-Agent": "firewatch (FIRMS area API client)"},
        )

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> FirmsClient:
        """A client configured from :class:`~firewatch.config.Settings` (keywords override)."""
        if settings.firms_map_key is None:
            raise ConfigError(
                "no FIRMS MAP_KEY: set FIREWATCH_FIRMS_MAP_KEY or firms_map_key in the settings file"
            )
        options: dict[str, Any] = {
            "base_url": settings.firms_base_url,
            "timeout": settings.http_timeout_s,
            "retries": settings.http_retries,
            "transactions_per_10min": settings.firms_transactions_per_10min,
            "bbox": settings.region.bbox,
        }
        options.update(kwargs)
        return cls(settings.firms_map_key, **options)

    def __repr__(self) -> str:
        return f"FirmsClient(base_url={self.base_url!r}, map_key=***)"

    def __enter__(self) -> FirmsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    # ------------------------------------------------------------------ requests

    @staticmethod
    def chunks(start: dt.date, days: int) -> list[tuple[dt.date, int]]:
        """``(first_day, day_range)`` requests covering ``days`` days from ``start``."""
        if days < 1:
            raise ValueError("days must be at least 1")
        return [
            (start + dt.timedelta(days=off), min(DAY_RANGE_MAX, days - off))
            for off in range(0, days, DAY_RANGE_MAX)
        ]

    def area_url(self, product: str, bbox: Bbox, *, start: dt.date, days: int) -> str:
        """The request URL with the MAP_KEY masked (as used for ``origin`` and logs)."""
        return mask_key(self._area_path(product, bbox, start, days))

    def _area_path(self, product: str, bbox: Bbox, start: dt.date, days: int) -> str:
        area = ",".join(_fmt_coord(v) for v in bbox)
        return (
            f"{self.base_url}/api/area/csv/{_PLACEHOLDER}/{product}/{area}/{days}/{start:%Y-%m-%d}"
        )

    def area(
        self,
        product: str,
        bbox: Bbox | None = None,
        *,
        start: dt.date,
        days: int = 1,
    ) -> FirmsRead:
        """Detections of ``product`` inside ``bbox`` for ``days`` days from ``start``.

        Parameters
        ----------
        product
            A FIRMS source, one of :data:`firewatch.schema.PRODUCTS`.
        bbox
            ``(west, south, east, north)``; defaults to the client's (the configured region).
        start
            First UTC day.
        days
            Number of days; more than :data:`DAY_RANGE_MAX` are fetched in chunks.

        Returns
        -------
        FirmsRead
            Canonical rows (``origin`` = masked request URL of each chunk, ``origin_line`` = line
            in that response), quarantined rows, and the masked URL of the whole request.

        Raises
        ------
        FirmsAuthError
            The MAP_KEY was refused or is over its transaction limit.
        FirmsApiError
            FIRMS failed after all retries, or answered with something that is not FIRMS CSV.
        """
        if product not in PRODUCTS:
            raise ValueError(f"unknown FIRMS product {product!r}; expected one of {PRODUCTS}")
        box = bbox if bbox is not None else self.bbox
        if box is None:
            raise ValueError("no bbox given and the client has no default region bbox")
        west, south, east, north = (float(v) for v in box)
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise ValueError(f"bbox must be (west, south, east, north) in degrees, got {box}")
        box = (west, south, east, north)
        reads = []
        for first, n in self.chunks(start, days):
            path = self._area_path(product, box, first, n)
            response = self._get(path, cost=n)
            origin = mask_key(path)
            try:
                read = read_firms_bytes(response.content, origin=origin, product=product)
            except FirmsFormatError as exc:
                # The answer (and the reader's message, which quotes its first line) may echo
                # the request URL, key included: mask the whole message.
                raise FirmsApiError(
                    mask_key(
                        f"FIRMS answered {origin} with something that is not FIRMS CSV: "
                        f"{response.text[:120]!r} ({exc})",
                        self._secret,
                    ),
                    status=response.status_code,
                ) from None
            log.info(
                "FIRMS %s: %d row(s), %d quarantined", origin, read.loaded, len(read.quarantined)
            )
            reads.append(read)
        whole = mask_key(self._area_path(product, box, start, days))
        if len(reads) == 1:
            return reads[0]
        out = combine_reads(reads, origin=whole)
        out.notes.append(f"fetched in {len(reads)} requests of at most {DAY_RANGE_MAX} days")
        return out

    def mapkey_status(self) -> MapKeyStatus:
        """Transactions used and allowed for the key in the current 10-minute interval."""
        url = f"{self.base_url}/mapserver/mapkey_status/?MAP_KEY={_PLACEHOLDER}"
        response = self._get(url, cost=0)
        try:
            data = json.loads(response.text)
            return MapKeyStatus(
                transaction_limit=int(data["transaction_limit"]),
                current_transactions=int(data.get("current_transactions") or 0),
                transaction_interval=str(data.get("transaction_interval", "10 minutes")),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise FirmsApiError(
                f"unexpected mapkey_status answer: {mask_key(response.text[:120], self._secret)!r}",
                status=response.status_code,
            ) from exc

    def sync_budget(self) -> MapKeyStatus:
        """Ask FIRMS how much of the key's budget is spent and charge it to the limiter."""
        status = self.mapkey_status()
        self.limiter.record(status.current_transactions - self.limiter.used)
        return status

    def data_availability(self, product: str = "all") -> dict[str, tuple[dt.date, dt.date]]:
        """First and last day each FIRMS source covers (``/api/data_availability/``)."""
        url = f"{self.base_url}/api/data_availability/csv/{_PLACEHOLDER}/{product}"
        response = self._get(url, cost=1)
        out: dict[str, tuple[dt.date, dt.date]] = {}
        rows = csv.DictReader(io.StringIO(response.text))
        try:
            # A text answer without the CSV header would otherwise read as "no sources".
            missing = {"data_id", "min_date", "max_date"} - set(rows.fieldnames or ())
            if missing:
                raise KeyError(", ".join(sorted(missing)))
            for row in rows:
                out[row["data_id"]] = (
                    dt.date.fromisoformat(row["min_date"]),
                    dt.date.fromisoformat(row["max_date"]),
                )
        except (KeyError, ValueError) as exc:
            raise FirmsApiError(
                "unexpected data_availability answer: "
                f"{mask_key(response.text[:120], self._secret)!r}",
                status=response.status_code,
            ) from exc
        return out

    # ------------------------------------------------------------------ transport

    @property
    def _secret(self) -> str:
        return self._key.get_secret_value()

    def _backoff(self, attempt: int, response: httpx.Response | None) -> float:
        wait = min(self.backoff_s * 2**attempt, self.backoff_max_s)
        if response is not None:
            after = response.headers.get("Retry-After", "")
            if after.isdigit():
                wait = min(max(wait, float(after)), self.backoff_max_s)
        return wait

    def _get(self, url: str, *, cost: int) -> httpx.Response:
        """GET with budget, retries and error mapping; ``url`` holds the key placeholder."""
        shown = mask_key(url)
        attempts = self.retries + 1
        for attempt in range(attempts):
            self.limiter.acquire(cost)
            log.debug("GET %s (attempt %d/%d)", shown, attempt + 1, attempts)
            try:
                response = self._http.get(url)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {mask_key(str(exc), self._secret)}"
                if attempt + 1 < attempts:
                    wait = self._backoff(attempt, None)
                    log.warning("FIRMS %s failed (%s); retrying in %.1f s", shown, problem, wait)
                    self._sleep(wait)
                    continue
                raise FirmsApiError(
                    f"FIRMS request {shown} failed after {attempts} attempt(s): {problem}"
                ) from None
            status = response.status_code
            if status >= 500 or status == 429:
                if attempt + 1 < attempts:
                    wait = self._backoff(attempt, response)
                    log.warning(
                        "FIRMS %s answered HTTP %d; retrying in %.1f s", shown, status, wait
                    )
                    self._sleep(wait)
                    continue
                raise FirmsApiError(
                    f"FIRMS request {shown} answered HTTP {status} after {attempts} attempt(s): "
                    f"{mask_key(response.text[:120], self._secret)!r}",
                    status=status,
                )
            self._check_refusal(response, shown)
            if status >= 400:
                raise FirmsApiError(
                    f"FIRMS refused {shown} with HTTP {status}: "
                    f"{mask_key(response.text[:200].strip(), self._secret)!r}",
                    status=status,
                )
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_refusal(self, response: httpx.Response, shown: str) -> None:
        head = response.text[:300].strip()
        low = head.lower()
        refused_key = "invalid map_key" in low or "map_key is invalid" in low
        over_limit = "exceed" in low and "transaction" in low
        if refused_key or over_limit or response.status_code in (401, 403):
            what = (
                "is over its transaction limit"
                if over_limit and not refused_key
                else ("was refused (invalid or expired)")
            )
            raise FirmsAuthError(
                f"the FIRMS MAP_KEY {what}: {shown} answered HTTP {response.status_code} "
                f"{mask_key(head[:120], self._secret)!r}",
                status=response.status_code,
            )
