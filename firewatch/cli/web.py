"""Review-app commands: ``serve``, ``users add/import/list/unlock/passwd``, ``dispatch``, ``watch``."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from firewatch.cli.app import ExitCode, app, fail, state
from firewatch.cli.app import open_store as _engine
from firewatch.cli.app import parse_date as _date
from firewatch.errors import FirewatchError, FirmsApiError

if TYPE_CHECKING:
    from firewatch.dispatch.assign import DispatchResult

console = Console()
err_console = Console(stderr=True)

users_app = typer.Typer(help="Accounts of the review app.", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _read_password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    proxy_headers: Annotated[
        bool,
        typer.Option(help="Trust X-Forwarded-For from --forwarded-allow-ips (behind a proxy)."),
    ] = False,
    forwarded_allow_ips: Annotated[str, typer.Option(help="Proxies to trust.")] = "127.0.0.1",
) -> None:
    """Run the review app (pages for phones and the JSON API) on the store."""
    import uvicorn

    from firewatch.web import create_app

    settings = state().settings
    engine = _engine()
    if settings.review.session_secret is None and workers > 1:
        fail(
            "several workers need a shared review.session_secret "
            "(FIREWATCH_REVIEW__SESSION_SECRET)",
            ExitCode.USAGE,
        )
    if not settings.review.secure_cookies:
        err_console.print(
            "[yellow]review.secure_cookies is off: session cookies also travel over plain "
            "http. Use it only for a trial; serve over HTTPS otherwise.[/]"
        )
    elif host in ("127.0.0.1", "localhost"):
        err_console.print(
            "[yellow]Session cookies are Secure: log in through an HTTPS proxy, or set "
            "FIREWATCH_REVIEW__SECURE_COOKIES=false for a local trial over http.[/]"
        )
    console.print(f"review app on http://{host}:{port}/  (store {engine.url.render_as_string()})")
    if workers > 1:
        # uvicorn needs an import string to start several processes.
        os.environ["FIREWATCH_DATABASE_URL"] = settings.database_url
        uvicorn.run(
            "firewatch.web.serve:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=proxy_headers,
            forwarded_allow_ips=forwarded_allow_ips,
        )
    else:
        uvicorn.run(
            create_app(settings, engine),
            host=host,
            port=port,
            proxy_headers=proxy_headers,
            forwarded_allow_ips=forwarded_allow_ips,
        )


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="village_member | field_chief | analyst | admin.")],
    grid: Annotated[str, typer.Option(help="Grid code (2/4/6/9/12 digits) the user answers for.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    email: Annotated[str | None, typer.Option(help="E-mail for notifications.")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Create one account (the password is asked for, or read from stdin)."""
    from firewatch.dispatch.users import UserError, add_user

    engine = _engine()
    password = _read_password(password_stdin)
    try:
        add_user(
            engine,
            state().settings,
            username=username,
            display_name=name or username,
            role=role,
            grid_code=grid,
            password=password,
            email=email,
            phone=phone,
        )
    except UserError as exc:
        fail(str(exc), ExitCode.REFUSED)
    console.print(f"user {username} added ({role}, {grid})")


@users_app.command("import")
def users_import(
    path: Annotated[Path, typer.Argument(help="CSV or XLSX with the accounts.", exists=True)],
    passwords_out: Annotated[
        Path | None,
        typer.Option(help="Where to write generated passwords (CSV, readable by you only)."),
    ] = None,
) -> None:
    """Create accounts from a CSV/XLSX list, all or nothing.

    Columns: username, display_name, role, grid_code, email, phone [, password].  Rows without a
    password get a random one, written to --passwords-out.
    """
    from firewatch.dispatch.users import UserImportError, import_users

    engine = _engine()
    try:
        result = import_users(engine, state().settings, path)
    except UserImportError as exc:
        for line, message in exc.problems:
            err_console.print(f"[red]{path.name}:{line}:[/] {message}")
        fail(f"{len(exc.problems)} problem(s); no account was created", ExitCode.REFUSED)
    console.print(f"{len(result.created)} account(s) created from {path.name}")
    if result.passwords:
        if passwords_out is None:
            err_console.print(
                f"[yellow]{len(result.passwords)} account(s) got generated passwords; "
                "rerun with --passwords-out to keep them, or set them with `users passwd`[/]"
            )
        else:
            fd = os.open(passwords_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(["username", "password"])
                w.writerows(sorted(result.passwords.items()))
            console.print(f"generated passwords written to {passwords_out}")


@users_app.command("list")
def users_list() -> None:
    """List accounts (no passwords)."""
    from firewatch.dispatch.users import list_users

    t = Table(title="review app accounts")
    for col in ("username", "display_name", "role", "grid_code", "email", "active", "locked_until"):
        t.add_column(col)
    for u in list_users(_engine()):
        t.add_row(
            u["username"],
            u["display_name"],
            u["role"],
            u["grid_code"],
            u["email"] or "",
            "yes" if u["active"] else "no",
            u["locked_until"].isoformat() if u["locked_until"] else "",
        )
    console.print(t)


@users_app.command("unlock")
def users_unlock(username: str) -> None:
    """Lift a login lockout."""
    from firewatch.dispatch.users import UserError, unlock_user

    try:
        unlock_user(_engine(), username)
    except UserError as exc:
        fail(str(exc), ExitCode.REFUSED)
    console.print(f"{username} unlocked")


@users_app.command("passwd")
def users_passwd(
    username: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Set a user's password (ends their sessions)."""
    from firewatch.dispatch.users import UserError, set_password

    try:
        set_password(_engine(), state().settings, username, _read_password(password_stdin))
    except UserError as exc:
        fail(str(exc), ExitCode.REFUSED)
    console.print(f"password of {username} set")


def _report(result: DispatchResult, *, sent: bool = True) -> None:
    d = result.delivery
    if d is not None:
        notes = f"notifications: {d.messages_sent} message(s) sent, {d.messages_failed} failed"
    elif not state().settings.notify.configured:
        notes = "notifications not configured"
    else:
        notes = "notifications queued, not sent" if not sent else "nothing to send"
    console.print(
        f"dispatch: {len(result.assigned)} point(s) assigned, {result.reminders} reminder(s), "
        f"{result.escalations} escalation(s); {notes}"
    )
    if d is not None:
        for e in d.errors:
            err_console.print(f"[red]notification failed:[/] {e}")


@app.command("dispatch")
def dispatch_cmd(
    date: Annotated[
        str | None,
        typer.Option(
            "--date", help="Beijing day whose points to assign (default: today and yesterday)."
        ),
    ] = None,
    no_send: Annotated[bool, typer.Option("--no-send", help="Queue but do not send.")] = False,
) -> None:
    """Assign new points, send reminders, escalate overdue points, send notifications."""
    from firewatch.dispatch.assign import run_dispatch

    engine = _engine()
    days = [_date(date)] if date else None
    result = run_dispatch(engine, state().settings, days=days, send=not no_send)
    _report(result, sent=not no_send)
    if result.delivery is not None and result.delivery.messages_failed:
        raise typer.Exit(int(ExitCode.UPSTREAM))


@app.command("watch")
def watch_cmd(
    once: Annotated[
        bool, typer.Option("--once", help="Run the daily job once now and exit.")
    ] = False,
    date: Annotated[
        str | None, typer.Option("--date", help="With --once: the Beijing day (default today).")
    ] = None,
    file: Annotated[
        list[Path] | None,
        typer.Option("--file", help="With --once: ingest these files instead of the API."),
    ] = None,
) -> None:
    """The scheduled job: `daily` after the afternoon and night overpasses, then dispatch.

    Without --once it loops (times in review.run_times_bjt, ticks every review.tick_minutes
    for reminders and escalations); with --once it is what a cron job or systemd timer calls.
    """
    from firewatch.dispatch.watch import run_once, watch

    settings = state().settings
    engine = _engine()
    try:
        if once:
            run = run_once(
                engine,
                settings,
                day=_date(date) if date else None,
                files=file or (),
                fetch_api=not file,
            )
            console.print(f"daily run for {run.day}: {run.daily.summary.total} point(s)")
            if run.dispatch is not None:
                _report(run.dispatch)
            if run.daily.refused:
                for r in run.daily.refused:
                    err_console.print(f"[red]refused:[/] {r}")
                raise typer.Exit(int(ExitCode.REFUSED))
            delivery = run.dispatch.delivery if run.dispatch is not None else None
            if delivery is not None and delivery.messages_failed:
                raise typer.Exit(int(ExitCode.UPSTREAM))
            return
        if date or file:
            fail("--date and --file go with --once", ExitCode.USAGE)
        console.print(
            f"watching: daily runs at {', '.join(settings.review.run_times_bjt)} Beijing time; "
            "Ctrl-C to stop"
        )
        watch(engine, settings)
    except FirmsApiError as exc:
        fail(str(exc), ExitCode.UPSTREAM)
    except KeyboardInterrupt:
        console.print("stopped")
    except FirewatchError as exc:
        fail(str(exc), ExitCode.ERROR)
