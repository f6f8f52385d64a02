"""Classifier commands: ``firewatch train``, ``firewatch classify``, ``firewatch model card``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from firewatch.cli.app import ExitCode, app, fail, open_store, state
from firewatch.cli.app import parse_date as _date
from firewatch.errors import FirmsFormatError, ModelSchemaError

console = Console()
err_console = Console(stderr=True)

model_app = typer.Typer(help="Trained classifier models.", no_args_is_help=True)
app.add_typer(model_app, name="model")


def _firms_files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(
                f for f in p.rglob("*") if f.suffix.lower() in (".csv", ".txt") and f.is_file()
            )
        elif p.is_file():
            out.append(p)
        else:
            fail(f"no such file or folder: {p}", ExitCode.USAGE)
    return out


def _metrics_table(title: str, m: dict[str, Any]) -> Table:
    t = Table(title=title)
    for col in ("class", "precision", "recall", "F1", "support"):
        t.add_column(col, justify="left" if col == "class" else "right")
    for c, v in m["per_class"].items():
        t.add_row(
            c, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", str(v["support"])
        )
    t.add_row("macro F1", "", "", f"{m['macro_f1']:.3f}", str(m["n"]))
    return t


@app.command()
def train(
    ingest: Annotated[
        list[Path] | None,
        typer.Option(
            "--ingest",
            help="FIRMS files or folders to ingest into the store first (idempotent).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Model file (default: classify.model_path or models/)."),
    ] = None,
    no_eval: Annotated[
        bool, typer.Option("--no-eval", help="Skip the spatially blocked evaluation.")
    ] = False,
    splits: Annotated[int, typer.Option(help="Folds of the spatially blocked CV.")] = 5,
) -> None:
    """Train the false-positive classifier on every stored detection and its labels.

    Labels: review verdicts (when the review app has any), the FIRMS archive `type`, and the
    documented weak rules.  Writes the model (.skops) and its card (.card.md/.card.json).
    """
    from firewatch.classify.train import train as run_train
    from firewatch.pipeline import ingest_file

    settings = state().settings
    engine = open_store(migrate=True)
    refused = []
    for f in _firms_files(ingest or []):
        try:
            ingest_file(engine, settings, f)
        except FirmsFormatError as exc:
            refused.append(str(exc))
    for msg in refused:
        err_console.print(f"[red]refused[/] {msg}")
    cmd = "firewatch train" + "".join(f" --ingest {p}" for p in ingest or [])
    try:
        result = run_train(
            engine,
            settings,
            out_path=out,
            run_evaluation=not no_eval,
            n_splits=splits,
            command=cmd,
        )
    except ValueError as exc:
        fail(str(exc), ExitCode.REFUSED)
    card = result.card
    console.print(f"model {result.model.version}: {result.path}")
    console.print(f"classes: {', '.join(result.model.classes)}")
    for c in card.get("classes_without_labels", []):
        console.print(f"[yellow]not learnt[/] {c}")
    console.print(
        "labels used: " + ", ".join(f"{k} {v}" for k, v in card.get("labels_used", {}).items())
    )
    ev = card.get("evaluation", {})
    for key, title in (
        ("model", "model (spatially blocked CV)"),
        ("model_rule_blind", "model without the rules' inputs"),
        ("baseline", "baseline: confidence + distance to industry"),
    ):
        if key in ev:
            console.print(_metrics_table(title, ev[key]))
    if refused:
        raise typer.Exit(int(ExitCode.REFUSED))


@app.command("classify")
def classify_cmd(
    first: Annotated[
        str | None, typer.Option("--from", help="First Beijing-time day (default: all).")
    ] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last Beijing-time day.")] = None,
    model_path: Annotated[
        Path | None, typer.Option("--model", help="Model file (default: classify.model_path).")
    ] = None,
    no_explain: Annotated[
        bool, typer.Option("--no-explain", help="Skip the plain-words explanations.")
    ] = False,
) -> None:
    """Classify stored detections (straw / other vegetation / industrial / spurious)."""
    from firewatch.classify.model import default_model_path, load_model
    from firewatch.classify.store import classify_stored

    settings = state().settings
    engine = open_store(migrate=True)
    path = model_path or default_model_path(settings)
    try:
        model = load_model(path, landcover_available=settings.classify.landcover_path is not None)
    except FileNotFoundError as exc:
        fail(str(exc), ExitCode.USAGE)
    except ModelSchemaError as exc:
        fail(str(exc), ExitCode.REFUSED)
    d1 = _date(first)
    d2 = _date(last) or d1
    if d1 is None and last is not None:
        fail("--to needs --from", ExitCode.USAGE)
    res = classify_stored(engine, settings, first=d1, last=d2, model=model, explain=not no_explain)
    console.print(f"classified {res.classified} detection(s) with model {res.model_version}")
    for c, n in sorted(res.per_class.items()):
        console.print(f"  {c}: {n}")
    console.print(
        f"  p_straw below {settings.classify.straw_threshold}: {res.below_threshold} "
        "(flagged as probable false positives)"
    )


@model_app.command("card")
def model_card(
    path: Annotated[
        Path | None, typer.Argument(help="Model file (default: classify.model_path).")
    ] = None,
) -> None:
    """Print a model's card (training data, labels, spatially blocked metrics, limitations)."""
    from firewatch.classify.card import card_paths, read_card, render_card
    from firewatch.classify.model import default_model_path

    p = path or default_model_path(state().settings)
    card = read_card(p)
    if not card:
        fail(f"no model card beside {p} ({card_paths(p)[0].name})", ExitCode.USAGE)
    typer.echo(render_card(card))
