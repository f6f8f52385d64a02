"""``firewatch bulletin`` (a day) and ``firewatch report`` (a week, a ban period, a range)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from firewatch.cli.app import ExitCode, app, fail, open_store, parse_date, state
from firewatch.errors import FirewatchError

if TYPE_CHECKING:
    from firewatch.publish.bulletin.content import Document

console = Console()
err_console = Console(stderr=True)

_FORMATS = ("html", "docx", "xlsx", "pdf")


def _formats(value: str) -> list[str]:
    items = [f.strip().lower() for f in value.split(",") if f.strip()]
    if "all" in items:
        return list(_FORMATS)
    bad = [f for f in items if f not in _FORMATS]
    if bad or not items:
        raise typer.BadParameter(
            f"unknown format(s) {', '.join(bad) or '(none)'}; use {','.join(_FORMATS)} or all",
            param_hint="--format",
        )
    return items


def _editions(value: str) -> list[str]:
    items = [e.strip().lower() for e in value.split(",") if e.strip()]
    if "both" in items:
        return ["public", "internal"]
    bad = [e for e in items if e not in ("public", "internal")]
    if bad or not items:
        raise typer.BadParameter("edition must be public, internal or both", param_hint="--edition")
    return items


def _lang(value: str | None) -> str | None:
    if value is not None and value not in ("zh", "en"):
        raise typer.BadParameter("language must be zh or en", param_hint="--lang")
    return value


def _write(doc: Document, out: Path, formats: list[str]) -> None:
    from firewatch.publish.bulletin.render import write_document

    timings: dict[str, float] = {}
    try:
        paths = write_document(doc, out, formats=formats, timings=timings)
    except (FirewatchError, ImportError) as exc:
        fail(str(exc), ExitCode.ERROR)
    for fmt, path in paths.items():
        console.print(f"{fmt}: {path}  ({timings[fmt]:.1f} s)")


def _print_head(doc: Document) -> None:
    console.print(f"[bold]{doc.title}[/] {doc.subtitle} — {doc.edition_label}")
    if doc.status_message:
        console.print(f"[bold red]{doc.status_message}[/]")
    for line in doc.lead:
        console.print(line)
    for line in doc.notes:
        console.print(f"[dim]{line}[/]")


FormatOpt = Annotated[
    str, typer.Option("--format", "-F", help="Comma-separated: html,docx,xlsx,pdf (or all).")
]
EditionOpt = Annotated[
    str,
    typer.Option(
        "--edition", help="public (no names or phones), internal, or both.", show_default=True
    ),
]
LangOpt = Annotated[
    str | None, typer.Option("--lang", help="zh or en (default: settings.bulletin.lang).")
]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", "-o", help="Output folder (default: settings.output_dir)."),
]


@app.command("bulletin")
def bulletin_cmd(
    day: Annotated[str, typer.Option("--date", help="Beijing-time day (YYYY-MM-DD).")],
    formats: FormatOpt = "html,docx,xlsx,pdf",
    edition: EditionOpt = "public",
    lang: LangOpt = None,
    out: OutOpt = None,
) -> None:
    """Write the daily bulletin of a day from the store, in the official layout.

    A day with no fire point, a day with no data and a day not yet ingested each say so (exit 0:
    the bulletin is still written and says which).
    """
    from firewatch.publish.bulletin.content import build_daily_bulletin

    settings = state().settings
    the_day = parse_date(day, option="--date")
    fmts, eds, lg = _formats(formats), _editions(edition), _lang(lang)
    engine = open_store()
    target = out or settings.output_dir
    map_png: bytes | None = None
    for ed in eds:
        doc = build_daily_bulletin(
            engine,
            settings,
            the_day,
            edition=ed,  # type: ignore[arg-type]
            lang=lg,
            map_png=map_png,
        )
        maps = [f.png for f in doc.figures if f.key == "map"]
        map_png = maps[0] if maps else None
        _print_head(doc)
        _write(doc, target, fmts)


@app.command("report")
def report_cmd(
    week: Annotated[
        str | None, typer.Option("--week", help="A day of the week (Monday–Sunday) to report.")
    ] = None,
    period: Annotated[
        str | None,
        typer.Option("--period", help="A ban period from the settings (spring, autumn, …)."),
    ] = None,
    year: Annotated[int | None, typer.Option("--year", help="Year of --period.")] = None,
    first: Annotated[str | None, typer.Option("--from", help="First day of a range.")] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last day of a range.")] = None,
    formats: FormatOpt = "html,docx,xlsx,pdf",
    edition: EditionOpt = "public",
    lang: LangOpt = None,
    out: OutOpt = None,
) -> None:
    """Write a weekly, ban-period or date-range report: per-day counts and chart, per county.

    Give one of --week D (Monday–Sunday around D), --period NAME --year Y (a ban period from the
    settings) or --from D1 --to D2.
    """
    from firewatch.publish.bulletin.content import (
        build_period_report,
        period_window,
        week_window,
    )

    settings = state().settings
    chosen = [week is not None, period is not None, first is not None or last is not None]
    if sum(chosen) != 1:
        fail(
            "give exactly one of --week D, --period NAME --year Y, --from D1 --to D2",
            ExitCode.USAGE,
        )
    if week is not None:
        name = "week"
        a, b = week_window(parse_date(week, option="--week"))
    elif period is not None:
        if year is None:
            fail("--period needs --year", ExitCode.USAGE)
        name = period
        try:
            a, b = period_window(settings, period, year)
        except ValueError as exc:
            fail(str(exc), ExitCode.USAGE)
    else:
        if first is None or last is None:
            fail("--from needs --to (and the other way round)", ExitCode.USAGE)
        name = ""
        a, b = parse_date(first, option="--from"), parse_date(last, option="--to")
        if b < a:
            fail(f"--to {b} is before --from {a}", ExitCode.USAGE)
    fmts, eds, lg = _formats(formats), _editions(edition), _lang(lang)
    engine = open_store()
    for ed in eds:
        doc = build_period_report(
            engine,
            settings,
            a,
            b,
            name=name,
            edition=ed,  # type: ignore[arg-type]
            lang=lg,
        )
        _print_head(doc)
        _write(doc, out or settings.output_dir, fmts)
