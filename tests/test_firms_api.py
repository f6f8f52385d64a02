"""The FIRMS area API client against a real local HTTP server answering like FIRMS.

The server (tests/firms_replay.py) serves real rows of tests/data/firms.  Expected counts are
literals counted with awk over those fixtures (noted at each), not produced by the client.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from firewatch.config import Settings
from firewatch.errors import ConfigError, FirewatchError, FirmsApiError, FirmsAuthError
from firewatch.sources.firms import DAY_RANGE_MAX, FirmsClient, SlidingWindowLimiter
from tests.firms_replay import GOOD_KEY, FirmsReplay

HLJ_BOX = (121.1, 43.3, 135.2, 53.6)


class FakeTime:
    """A clock whose sleep advances it; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def replay() -> Iterator[FirmsReplay]:
    with FirmsReplay() as server:
        yield server


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def client(replay: FirmsReplay, fake_time: FakeTime) -> Iterator[FirmsClient]:
    with FirmsClient(
        SecretStr(GOOD_KEY),
        base_url=replay.url,
        timeout=2.0,
        retries=3,
        bbox=HLJ_BOX,
        backoff_s=1.0,
        clock=fake_time.clock,
        sleep=fake_time.sleep,
    ) as c:
        yield c


# --------------------------------------------------------------------------- data


def test_one_day_of_noaa20_over_heilongjiang(client: FirmsClient, replay: FirmsReplay) -> None:
    read = client.area("VIIRS_NOAA20_NRT", start=dt.date(2022, 10, 29), days=1)
    # The series README: 4,312 unique NOAA-20 detections over the box on 2022-10-29 (awk agrees).
    assert read.loaded == 4312
    assert read.quarantined == []
    assert set(read.frame["product"]) == {"VIIRS_NOAA20_NRT"}
    assert (read.frame["acq_time_utc"].dt.date == dt.date(2022, 10, 29)).all()
    [request] = replay.area_requests()
    assert request.path == (
        f"/api/area/csv/{GOOD_KEY}/VIIRS_NOAA20_NRT/121.1,43.3,135.2,53.6/1/2022-10-29"
    )
    # origin names the request with the key masked; lines are lines of the response.
    assert (
        read.origin
        == f"{replay.url}/api/area/csv/***/VIIRS_NOAA20_NRT/121.1,43.3,135.2,53.6/1/2022-10-29"
    )
    assert set(read.frame["origin"]) == {read.origin}
    assert read.frame["origin_line"].tolist() == list(range(2, 4312 + 2))


def test_a_smaller_box(client: FirmsClient) -> None:
    read = client.area("VIIRS_NOAA20_NRT", (126.0, 45.0, 128.0, 47.0), start=dt.date(2022, 10, 29))
    # awk over the series: 11 distinct detections in that box on 2022-10-29.
    assert read.loaded == 11
    lat, lon = read.frame["latitude"], read.frame["longitude"]
    assert lat.between(45.0, 47.0).all() and lon.between(126.0, 128.0).all()


def test_long_ranges_are_split_into_chunks_of_five_days(
    client: FirmsClient, replay: FirmsReplay
) -> None:
    read = client.area("VIIRS_NOAA20_NRT", start=dt.date(2022, 10, 20), days=12)
    got = [(r.path.split("/")[-2], r.path.split("/")[-1]) for r in replay.area_requests()]
    assert got == [("5", "2022-10-20"), ("5", "2022-10-25"), ("2", "2022-10-30")]
    assert all(int(days) <= DAY_RANGE_MAX for days, _ in got)
    # awk over the series: 14,699 distinct detections with acq_date 2022-10-20 .. 2022-10-31.
    assert read.loaded == 14699
    assert read.frame["detection_id"].is_unique
    assert read.origin.endswith("/12/2022-10-20") and "***" in read.origin
    assert FirmsClient.chunks(dt.date(2022, 10, 20), 5) == [(dt.date(2022, 10, 20), 5)]


def test_modis_and_snpp_sources(client: FirmsClient) -> None:
    # awk: the 2025-04-23 in-box file has 326 rows with acq_date 2025-04-23 and 65 on 04-24;
    # no other MODIS fixture has rows on those days.
    modis = client.area("MODIS_NRT", start=dt.date(2025, 4, 23), days=2)
    assert modis.loaded == 391
    assert set(modis.frame["satellite"]) <= {"Terra", "Aqua"}
    snpp = client.area("VIIRS_SNPP_NRT", start=dt.date(2019, 4, 7))
    assert snpp.loaded == 210  # the in-box VIIRS S-NPP file of 2019-04-07


def test_same_rows_from_the_api_and_the_file_get_the_same_ids(client: FirmsClient) -> None:
    from pathlib import Path

    from firewatch.sources.firms import read_firms

    path = Path(__file__).parent / "data" / "firms" / "inbox"
    file_read = read_firms(path / "VIIRS_SNPP_NRT_global_24h_2019-04-07_to_2019-04-07.txt")
    api_read = client.area("VIIRS_SNPP_NRT", start=dt.date(2019, 4, 7))
    assert sorted(api_read.frame["detection_id"]) == sorted(file_read.frame["detection_id"])


# --------------------------------------------------------------------------- failures


def test_503_is_retried_with_exponential_backoff(
    client: FirmsClient, replay: FirmsReplay, fake_time: FakeTime
) -> None:
    replay.fail_next(2, status=503)
    read = client.area("VIIRS_NOAA20_NRT", start=dt.date(2022, 10, 5))
    assert read.loaded == 9  # README: 9 detections on 2022-10-05
    assert [r.status for r in replay.area_requests()] == [503, 503, 200]
    assert fake_time.sleeps == [1.0, 2.0]


def test_gives_up_after_the_retries(
    client: FirmsClient, replay: FirmsReplay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    replay.fail_next(10, status=502, body="Bad Gateway")
    with pytest.raises(FirmsApiError) as info:
        client.area("VIIRS_NOAA20_NRT", start=dt.date(2022, 10, 5))
    assert info.value.status == 502
    assert "after 4 attempt(s)" in str(info.value)
    assert len(replay.area_requests()) == 4
    assert GOOD_KEY not in str(info.value) and GOOD_KEY not in caplog.text
    assert isinstance(info.value, FirewatchError) and isinstance(info.value, OSError)


def test_timeouts_are_retried(replay: FirmsReplay, fake_time: FakeTime) -> None:
    replay.stall_next(1, 1.5)
    with FirmsClient(
        GOOD_KEY,
        base_url=replay.url,
        timeout=0.3,
        retries=1,
        bbox=HLJ_BOX,
        clock=fake_time.clock,
        sleep=fake_time.sleep,
    ) as c:
        read = c.area("VIIRS_NOAA20_NRT", start=dt.date(2022, 10, 6))
    assert read.loaded == 48  # README: 48 on 2022-10-06
    assert len(replay.area_requests()) == 2


def test_persistent_timeout_is_an_upstream_error(replay: FirmsReplay, fake_time: FakeTime) -> None:
    replay.stall_next(3, 1.5)
    with (
        FirmsClient(
            GOOD_KEY,
            base_url=replay.url,
            timeout=0.3,
            retries=1,
            bbox=HLJ_BOX,
            clock=fake_time.clock,
            sleep=fake_time.sleep,
        ) as c,
        pytest.raises(FirmsApiError, match="ReadTimeout") as info,
    ):
        c.area("VIIRS_NOAA20_NRT", start=dt.date(2022, 10, 6))
    assert info.value.status is None
    assert GOOD_KEY not in str(info.value)


def test_network_error_when_nothing_listens(fake_time: FakeTime) -> None:
    # Start and stop a server to get a port nobody listens on.
    with FirmsReplay() as server:
        url = server.url
    with (
        FirmsClient(
            GOOD_KEY, base_url=url, retries=2, bbox=HLJ_BOX, clock=fake_time.clock,
            sleep=fake_time.sleep,
        ) as c,
        pytest.raises(FirmsApiError, match="ConnectError"),
    ):  # fmt: skip
        c.area("MODIS_NRT", start=dt.date(2025, 4, 23))
    assert fake_time.sleeps == [1.0, 2.0]


@pytest.mark.parametrize("status", [400, 200])
def test_invalid_key_is_a_clear_auth_error(
    replay: FirmsReplay, fake_time: FakeTime, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    replay.reject_all_keys(status=status)
    with (
        FirmsClient(
            GOOD_KEY, base_url=replay.url, bbox=HLJ_BOX, clock=fake_time.clock,
            sleep=fake_time.sleep,
        ) as c,
        pytest.raises(FirmsAuthError) as info,
    ):  # fmt: skip
        c.area("VIIRS_NOAA20_NRT", start=dt.date(2022, 10, 29))
    message = str(info.value)
    assert "MAP_KEY" in message and "refused" in message and "Invalid MAP_KEY." in message
    assert info.value.status == status
    assert GOOD_KEY not in message and GOOD_KEY not in caplog.text
    assert len(replay.area_requests()) == 1  # a refused key is not retried
    assert isinstance(info.value, PermissionError)


def test_other_client_errors_keep_the_status(client: FirmsClient, replay: FirmsReplay) -> None:
    replay.fail_next(1, status=400, body="Invalid area.")
    with pytest.raises(FirmsApiError, match="Invalid area") as info:
        client.area("MODIS_NRT", start=dt.date(2025, 4, 23))
    assert info.value.status == 400
    assert not isinstance(info.value, FirmsAuthError)


def test_an_html_answer_is_an_upstream_error(client: FirmsClient, replay: FirmsReplay) -> None:
    replay.fail_next(1, status=200, body="<html><title>Maintenance</title></html>")
    with pytest.raises(FirmsApiError, match="not FIRMS CSV"):
        client.area("MODIS_NRT", start=dt.date(2025, 4, 23))


# --------------------------------------------------------------------------- the key


def test_an_answer_echoing_the_url_does_not_leak_the_key(
    client: FirmsClient, replay: FirmsReplay
) -> None:
    # Gateways and error pages often quote the requested URL, key included.
    echo = f"<html>Proxy error for /api/area/csv/{GOOD_KEY}/MODIS_NRT</html>"
    replay.fail_next(1, status=200, body=echo)
    with pytest.raises(FirmsApiError, match="not FIRMS CSV") as info:
        client.area("MODIS_NRT", start=dt.date(2025, 4, 23))
    assert GOOD_KEY not in str(info.value) and "/api/area/csv/***/" in str(info.value)
    replay.fail_next(1, status=200, body=f"Error: unknown request {GOOD_KEY}\n")
    with pytest.raises(FirmsApiError, match="data_availability") as info:
        client.data_availability()
    assert GOOD_KEY not in str(info.value)


def test_the_key_never_reaches_logs(
    client: FirmsClient, replay: FirmsReplay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # includes httpx's own request log
    replay.fail_next(1, status=503)
    client.area("VIIRS_NOAA20_NRT", start=dt.date(2022, 10, 20), days=7)
    client.mapkey_status()
    assert caplog.records, "expected log records to check"
    assert GOOD_KEY not in caplog.text
    assert "***" in caplog.text
    assert "HTTP Request: GET" in caplog.text  # httpx's own log line is there, masked
    # ... while the server did receive it.
    assert all(GOOD_KEY in r.path or r.query.get("MAP_KEY") == [GOOD_KEY] for r in replay.received)
    assert GOOD_KEY not in repr(client)


def test_settings_and_key_validation(replay: FirmsReplay) -> None:
    settings = Settings(firms_map_key=GOOD_KEY, firms_base_url=replay.url, http_retries=0)
    c = FirmsClient.from_settings(settings)
    assert c.bbox == settings.region.bbox and c.retries == 0
    c.close()
    with pytest.raises(ConfigError, match="no FIRMS MAP_KEY"):
        FirmsClient.from_settings(Settings(firms_map_key=None))
    with pytest.raises(ConfigError) as info:
        FirmsClient("abc/def../../x")
    assert "abc/def" not in str(info.value)


# --------------------------------------------------------------------------- budget


def test_sliding_window_limiter(fake_time: FakeTime) -> None:
    limiter = SlidingWindowLimiter(10, 600, clock=fake_time.clock, sleep=fake_time.sleep)
    assert limiter.acquire(4) == 0
    fake_time.now += 100
    assert limiter.acquire(6) == 0
    assert limiter.used == 10
    # Full: the next transaction waits until the first 4 leave the window (at t0 + 600).
    waited = limiter.acquire(1)
    assert waited == pytest.approx(500, abs=0.01)
    assert limiter.used == 7
    fake_time.now += 600
    assert limiter.used == 0
    with pytest.raises(ValueError):
        limiter.acquire(11)


def test_client_keeps_to_the_transaction_budget(replay: FirmsReplay, fake_time: FakeTime) -> None:
    with FirmsClient(
        GOOD_KEY,
        base_url=replay.url,
        bbox=HLJ_BOX,
        transactions_per_10min=6,
        clock=fake_time.clock,
        sleep=fake_time.sleep,
    ) as c:
        # 12 days = chunks costing 5, 5 and 2 transactions; a window holds 6, so the second
        # and the third request each wait for the previous one to leave the window.
        c.area("VIIRS_NOAA20_NRT", start=dt.date(2022, 11, 1), days=12)
    assert len(replay.area_requests()) == 3
    assert fake_time.sleeps == [pytest.approx(600, abs=0.01)] * 2


def test_mapkey_status_and_budget_sync(client: FirmsClient, replay: FirmsReplay) -> None:
    client.area("MODIS_NRT", start=dt.date(2025, 4, 23))
    status = client.mapkey_status()
    assert status.transaction_limit == 5000
    assert status.current_transactions == 1
    replay.transactions = 40  # other processes used the key too
    client.sync_budget()
    assert client.limiter.used == 40


def test_mapkey_status_with_a_refused_key(replay: FirmsReplay, fake_time: FakeTime) -> None:
    replay.reject_all_keys(status=200)
    with (
        FirmsClient(GOOD_KEY, base_url=replay.url, sleep=fake_time.sleep) as c,
        pytest.raises(FirmsAuthError),
    ):
        c.mapkey_status()


def test_data_availability(client: FirmsClient) -> None:
    got = client.data_availability("VIIRS_NOAA20_NRT")
    # The series covers acq_date 2022-10-04 .. 2022-11-26 (its README).
    assert got == {"VIIRS_NOAA20_NRT": (dt.date(2022, 10, 4), dt.date(2022, 11, 26))}
