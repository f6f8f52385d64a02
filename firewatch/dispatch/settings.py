"""Settings of the review app and of notifications (nested in :class:`firewatch.config.Settings`).

Environment variables use the nested delimiter, e.g. ``FIREWATCH_REVIEW__DEADLINE_HOURS=48``,
``FIREWATCH_NOTIFY__SMTP_HOST=mail.example.org``, ``FIREWATCH_NOTIFY__WEBHOOK_URL=...``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator

__all__ = ["NotifySettings", "ReviewSettings"]


class ReviewSettings(BaseModel):
    """Deadlines, the web app's security knobs and the schedule of the daily run."""

    #: Hours a village gets to check a point on the ground (Punjab gives 48 h for a site visit).
    deadline_hours: float = 48.0
    #: A reminder goes out this many hours before a deadline when no verdict has come back.
    reminder_before_hours: float = 12.0
    #: Hours each next level up gets after an escalation.
    escalation_hours: float = 24.0
    #: Highest level a point escalates to: township, county, city or province.
    escalate_up_to: str = "city"
    #: Assign points of the province only (neighbour points belong to another province's chiefs).
    assign_regions: list[str] = Field(default_factory=lambda: ["province"])
    #: Classes (from the classifier) that are not sent for a ground check, e.g. ["spurious"].
    skip_classes: list[str] = Field(default_factory=list)
    #: Run the dispatch stage inside ``firewatch daily``.
    dispatch_in_daily: bool = True

    #: Secret for signing the pre-login CSRF token; set it so that forms survive a restart and
    #: several workers agree.  When unset, a random one is made per process.
    session_secret: SecretStr | None = None
    #: Send the session cookie only over HTTPS.  Turn off only for a trial on plain http://.
    secure_cookies: bool = True
    session_hours: float = 12.0
    #: Failed logins in a row that lock an account, and for how long.
    lockout_failures: int = 5
    lockout_minutes: float = 15.0
    #: Failed logins from one address within ``ip_window_minutes`` before it gets HTTP 429.
    ip_failures: int = 30
    ip_window_minutes: float = 10.0
    #: How many password hashes may run at once (argon2 uses 64 MiB and 4 threads each by
    #: default); logins beyond it wait without holding up other pages.
    hash_concurrency: int = 2
    #: argon2id cost (defaults: RFC 9106's low-memory profile, argon2-cffi's own defaults).
    #: Stored hashes keep their parameters; a login rehashes when these change.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4

    max_photo_bytes: int = 8 * 1024 * 1024
    max_photos: int = 5
    max_photo_pixels: int = 50_000_000
    #: Public address of the app, used for links in notifications.
    base_url: str = "http://127.0.0.1:8000"

    #: Beijing times of the scheduled daily runs: after the afternoon and the night overpasses
    #: (VIIRS/Aqua ~13:30 and ~01:30 local) plus FIRMS's ~3 h near-real-time latency.
    run_times_bjt: list[str] = Field(default_factory=lambda: ["16:30", "04:30"])
    #: Minutes between checks for reminders, escalations and unsent notifications.
    tick_minutes: float = 15.0

    @field_validator("escalate_up_to")
    @classmethod
    def _level(cls, v: str) -> str:
        if v not in ("township", "county", "city", "province"):
            raise ValueError("escalate_up_to must be township, county, city or province")
        return v

    @field_validator("run_times_bjt")
    @classmethod
    def _times(cls, v: list[str]) -> list[str]:
        for t in v:
            hh, _, mm = t.partition(":")
            if not (hh.isdigit() and mm.isdigit() and 0 <= int(hh) < 24 and 0 <= int(mm) < 60):
                raise ValueError(f"not a HH:MM time: {t!r}")
        return v


class NotifySettings(BaseModel):
    """Where notifications go: an SMTP server and/or chat-robot webhooks."""

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "firewatch@localhost"
    #: ``starttls`` upgrades a plain connection, ``ssl`` connects with TLS (port 465), or none.
    smtp_security: str = "none"
    #: A chat-robot webhook (WeCom/DingTalk form) receiving every notification.  Its URL usually
    #: carries the robot's key, so it is a secret.
    webhook_url: SecretStr | None = None
    #: More robots by grid code: each gets the notifications of points in its subtree,
    #: e.g. {"230302": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=..."}.
    grid_webhooks: dict[str, SecretStr] = Field(default_factory=dict)
    #: A robot message is split to stay under this many bytes (WeCom text allows 2048).
    webhook_max_bytes: int = 2000
    retries: int = 3
    backoff_s: float = 2.0
    timeout_s: float = 10.0

    @field_validator("smtp_security")
    @classmethod
    def _security(cls, v: str) -> str:
        if v not in ("none", "starttls", "ssl"):
            raise ValueError("smtp_security must be none, starttls or ssl")
        return v

    @property
    def configured(self) -> bool:
        """Whether any channel is set up (otherwise nothing is queued or sent)."""
        return bool(self.smtp_host or self.webhook_url or self.grid_webhooks)
