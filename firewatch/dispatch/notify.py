"""Notifications: e-mail over SMTP and chat-robot webhooks, through an outbox in the store.

Every notification is first written to the ``notifications`` table, one row per event (a point
assigned, a reminder, an escalation), channel and target, under a unique key: queueing the same
event twice is a no-op, and a row once sent is never sent again.  :func:`deliver` then groups
the unsent rows by target into one message each (a village with twelve new points gets one
e-mail listing twelve), sends with retries and backoff, and records the outcome on every row.

The webhook body is the enterprise-chat robot form shared by WeCom (企业微信) and DingTalk
(钉钉): ``{"msgtype": "text", "text": {"content": "..."}}``; a 200 answer carrying a non-zero
``errcode`` counts as a failure, as those robots report errors that way.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Final

import httpx
from sqlalchemy import Engine, func, select, update
from sqlalchemy.engine import Connection

from firewatch.config import Settings
from firewatch.dispatch.codes import in_scope
from firewatch.dispatch.models import Notification, ReviewUser, table
from firewatch.dispatch.settings import NotifySettings
from firewatch.errors import FirewatchError
from firewatch.store.models import utcnow
from firewatch.store.repo import dialect_insert

__all__ = [
    "DeliveryResult",
    "Event",
    "Notifier",
    "NotifyError",
    "deliver",
    "enqueue",
    "load_notifications",
    "webhook_payload",
]

log = logging.getLogger(__name__)

#: Titles of the message kinds (the people who read them work in Chinese).
KIND_TITLES: Final[dict[str, str]] = {
    "assignment": "新的火点核查任务",
    "reminder": "火点核查即将到期",
    "escalation": "火点核查逾期未复，已上报本级",
    "overdue": "火点核查逾期未复",
}
#: A failed row is retried on later runs until it has had this many rounds of retries.
MAX_ROUNDS: Final = 3


class NotifyError(FirewatchError, OSError):
    """A message could not be delivered after its retries; ``attempts`` says how many."""

    def __init__(self, message: str, *, attempts: int) -> None:
        self.attempts = attempts
        super().__init__(message)


@dataclass(frozen=True)
class Event:
    """Something to tell people about one point.

    ``responsible_code`` selects the e-mail recipients (accounts tied to that cell);
    ``grid_code`` (the point's own cell) selects the webhooks whose subtree holds the point.
    """

    key: str
    kind: str
    detection_id: str
    grid_code: str
    responsible_code: str
    line: str


def _targets(conn: Connection, settings: Settings, event: Event) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    n = settings.notify
    if n.smtp_host:
        t = table(ReviewUser)
        emails: Iterable[str] = conn.execute(
            select(t.c.email)
            .where(
                t.c.grid_code == event.responsible_code,
                t.c.active.is_(True),
                t.c.email.is_not(None),
            )
            .order_by(t.c.email)
        ).scalars()
        out.extend(("email", e) for e in dict.fromkeys(emails))
    if n.webhook_url is not None:
        out.append(("webhook", "webhook:all"))
    for code in sorted(n.grid_webhooks):
        if in_scope(event.grid_code, code):
            out.append(("webhook", f"webhook:{code}"))
    return out


def _insert_ignore(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows, skipping those whose (event, channel, target) exists already."""
    if not rows:
        return 0
    nt = table(Notification)
    stmt = dialect_insert(conn)(nt).on_conflict_do_nothing(
        index_elements=["event_key", "channel", "target"]  # uq_notifications_event
    )
    count = select(func.count()).select_from(nt)
    before = conn.execute(count).scalar_one()
    conn.execute(stmt, rows)
    return int(conn.execute(count).scalar_one() - before)


def enqueue(
    conn: Connection, settings: Settings, events: Iterable[Event], *, now: dt.datetime
) -> int:
    """Queue the notifications of ``events`` inside the caller's transaction.

    Nothing is queued when no channel is configured.  Returns how many rows were new.
    """
    if not settings.notify.configured:
        return 0
    rows = []
    for ev in events:
        for channel, target in _targets(conn, settings, ev):
            rows.append(
                {
                    "event_key": ev.key,
                    "kind": ev.kind,
                    "channel": channel,
                    "target": target,
                    "detection_id": ev.detection_id,
                    "subject": KIND_TITLES.get(ev.kind, ev.kind),
                    "body": ev.line,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                }
            )
    return _insert_ignore(conn, rows)


def webhook_payload(content: str) -> dict[str, Any]:
    """The enterprise-chat robot body for a text message."""
    return {"msgtype": "text", "text": {"content": content}}


class Notifier:
    """Sends one e-mail or one webhook message, retrying with exponential backoff.

    Parameters
    ----------
    settings
        The ``notify`` settings.
    client
        An :class:`httpx.Client` to reuse (one is made per call otherwise).
    sleep
        The pause between retries (tests pass a recorder instead of sleeping).
    """

    def __init__(
        self,
        settings: NotifySettings,
        *,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.client = client
        self.sleep = sleep

    def _retry(self, what: str, fn: Callable[[], None]) -> int:
        tries = max(1, self.settings.retries)
        for attempt in range(1, tries + 1):
            try:
                fn()
                return attempt
            except (OSError, smtplib.SMTPException, httpx.HTTPError, _Refused) as exc:
                log.warning("%s: attempt %d/%d failed: %s", what, attempt, tries, exc)
                if attempt == tries:
                    raise NotifyError(f"{what}: {exc}", attempts=attempt) from exc
                self.sleep(self.settings.backoff_s * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def email(self, to: str, subject: str, body: str) -> int:
        """Send one plain-text e-mail; returns the number of attempts it took."""
        n = self.settings
        if not n.smtp_host:
            raise NotifyError("no SMTP server configured (notify.smtp_host)", attempts=0)
        msg = EmailMessage()
        msg["From"] = n.smtp_from
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain=n.smtp_from.rpartition("@")[2] or None)
        msg.set_content(body)

        def send() -> None:
            assert n.smtp_host is not None
            cls = smtplib.SMTP_SSL if n.smtp_security == "ssl" else smtplib.SMTP
            with cls(n.smtp_host, n.smtp_port, timeout=n.timeout_s) as smtp:
                if n.smtp_security == "starttls":
                    smtp.starttls()
                if n.smtp_user:
                    pw = n.smtp_password.get_secret_value() if n.smtp_password else ""
                    smtp.login(n.smtp_user, pw)
                smtp.send_message(msg)

        return self._retry(f"e-mail to {to}", send)

    def webhook(self, name: str, url: str, content: str) -> int:
        """Post one text message to a chat robot; ``name`` is what logs show instead of the URL."""
        payload = webhook_payload(content)

        def post() -> None:
            if self.client is not None:
                r = self.client.post(url, json=payload, timeout=self.settings.timeout_s)
            else:
                with httpx.Client(timeout=self.settings.timeout_s) as c:
                    r = c.post(url, json=payload)
            if r.status_code >= 300:
                raise _Refused(f"HTTP {r.status_code}")
            try:
                answer = r.json()
            except ValueError:
                answer = None
            if isinstance(answer, dict) and answer.get("errcode", 0) not in (0, "0"):
                raise _Refused(f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}")

        return self._retry(name, post)


class _Refused(Exception):
    """The robot answered, but refused the message (kept apart from transport errors)."""


@dataclass
class DeliveryResult:
    """What :func:`deliver` did: messages sent and failed, and outbox rows covered."""

    messages_sent: int = 0
    messages_failed: int = 0
    rows_sent: int = 0
    rows_failed: int = 0
    errors: list[str] = field(default_factory=list)


def _compose(settings: Settings, kind: str, bodies: Sequence[str]) -> tuple[str, str]:
    title = KIND_TITLES.get(kind, kind)
    subject = f"【火点核查】{title}（{len(bodies)} 个）"
    lead = {
        "assignment": "以下火点已派给你所在的网格，请在截止时间前到现场核查并在系统中反馈：",
        "reminder": "以下火点的核查截止时间将到，尚未反馈：",
        "escalation": "以下火点逾期未反馈，已上报到本级，请督促核查：",
        "overdue": "以下火点逾期未反馈：",
    }.get(kind, "")
    base = settings.review.base_url.rstrip("/")
    text = "\n".join([subject, lead, *bodies, f"登录核查系统：{base}/points"])
    return subject, text


def _chunks(settings: Settings, channel: str, kind: str, members: list[Any]) -> list[list[Any]]:
    """Split a webhook message so each stays under the robot's size limit (an e-mail is one)."""
    if channel != "webhook":
        return [members]
    limit = settings.notify.webhook_max_bytes
    # Title, lead and link around the lines; the count in the title may grow by a few digits.
    overhead = len(_compose(settings, kind, [])[1].encode()) + 8
    chunks: list[list[Any]] = [[]]
    size = overhead
    for r in members:
        line = len(r["body"].encode()) + 1
        if chunks[-1] and size + line > limit:
            chunks.append([])
            size = overhead
        chunks[-1].append(r)
        size += line
    return chunks


def _webhook_url(settings: Settings, target: str) -> str | None:
    n = settings.notify
    name = target.removeprefix("webhook:")
    secret = n.webhook_url if name == "all" else n.grid_webhooks.get(name)
    return secret.get_secret_value() if secret is not None else None


def deliver(
    engine: Engine,
    settings: Settings,
    *,
    notifier: Notifier | None = None,
    now: dt.datetime | None = None,
) -> DeliveryResult:
    """Send every unsent outbox row, one message per (channel, target, kind).

    Rows left ``sending`` by a run that died are marked ``unknown`` and not sent again: a
    missed message is reported, a doubled one could not be taken back.
    """
    notifier = notifier or Notifier(settings.notify)
    nt = table(Notification)
    result = DeliveryResult()
    with engine.begin() as conn:
        stale = conn.execute(
            update(Notification).where(Notification.status == "sending").values(status="unknown")
        ).rowcount
    if stale:
        log.warning("%d notification(s) were being sent when a run stopped: marked unknown", stale)
    max_attempts = MAX_ROUNDS * max(1, settings.notify.retries)
    with engine.connect() as conn:
        rows = (
            conn.execute(
                select(nt)
                .where(nt.c.status.in_(["pending", "failed"]))
                .where(nt.c.attempts < max_attempts)
                .order_by(nt.c.id)
            )
            .mappings()
            .all()
        )
    groups: dict[tuple[str, str, str], list[Any]] = {}
    for r in rows:
        groups.setdefault((r["channel"], r["target"], r["kind"]), []).append(r)
    batches = [
        (channel, target, kind, chunk)
        for (channel, target, kind), members in groups.items()
        for chunk in _chunks(settings, channel, kind, members)
    ]
    for channel, target, kind, members in batches:
        ids = [r["id"] for r in members]
        with engine.begin() as conn:
            claimed = conn.execute(
                update(Notification)
                .where(nt.c.id.in_(ids), nt.c.status.in_(["pending", "failed"]))
                .values(status="sending")
            ).rowcount
        if claimed != len(ids):  # another deliverer got there first; leave them to it
            log.info("%s: %d of %d rows claimed elsewhere", target, len(ids) - claimed, len(ids))
            with engine.begin() as conn:
                ids = list(
                    conn.execute(
                        select(nt.c.id).where(nt.c.id.in_(ids), nt.c.status == "sending")
                    ).scalars()
                )
        subject, text = _compose(settings, kind, [r["body"] for r in members if r["id"] in ids])
        error: str | None = None
        try:
            if channel == "email":
                attempts = notifier.email(target, subject, text)
            else:
                url = _webhook_url(settings, target)
                if url is None:
                    raise NotifyError(f"{target}: no URL configured any more", attempts=0)
                attempts = notifier.webhook(target, url, text)
        except NotifyError as exc:
            attempts, error = exc.attempts, str(exc)
        sent = error is None
        with engine.begin() as conn:
            conn.execute(
                update(Notification)
                .where(nt.c.id.in_(ids))
                .values(
                    status="sent" if sent else "failed",
                    attempts=nt.c.attempts + attempts,
                    last_error=error,
                    sent_at=(now or utcnow()) if sent else None,
                )
            )
        if sent:
            result.messages_sent += 1
            result.rows_sent += len(ids)
        else:
            result.messages_failed += 1
            result.rows_failed += len(ids)
            result.errors.append(error or "")
    if groups:
        log.info(
            "notifications: %d message(s) sent, %d failed",
            result.messages_sent,
            result.messages_failed,
        )
    return result


def load_notifications(engine: Engine) -> list[dict[str, Any]]:
    """Every outbox row (the record of what was sent), oldest first."""
    t = table(Notification)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(t).order_by(t.c.id)).mappings()]
