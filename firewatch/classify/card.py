"""The model card: what a model was trained on, how good it is, and what it cannot do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["card_paths", "read_card", "render_card", "write_card"]


def card_paths(model_path: str | Path) -> tuple[Path, Path]:
    """``(json, markdown)`` paths of the card of the model at ``model_path``."""
    p = Path(model_path)
    stem = p.name.removesuffix(".skops")
    return p.with_name(f"{stem}.card.json"), p.with_name(f"{stem}.card.md")


def read_card(model_path: str | Path) -> dict[str, Any]:
    """The card saved beside a model ({} when there is none)."""
    js, _ = card_paths(model_path)
    return json.loads(js.read_text(encoding="utf-8")) if js.is_file() else {}


def write_card(card: dict[str, Any], model_path: str | Path) -> None:
    """Write the card as JSON and as Markdown beside the model."""
    js, md = card_paths(model_path)
    js.write_text(json.dumps(card, indent=2, ensure_ascii=False, sort_keys=True) + "\n", "utf-8")
    md.write_text(render_card(card), encoding="utf-8")


def _table(header: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def _metrics_block(name: str, m: dict[str, Any]) -> str:
    rows = [
        [c, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", v["support"]]
        for c, v in m["per_class"].items()
    ]
    rows.append(["**macro**", "", "", f"**{m['macro_f1']:.3f}**", m["n"]])
    labels = m["confusion"]["labels"]
    conf = _table(
        ["true \\ predicted", *labels],
        [[t, *row] for t, row in zip(labels, m["confusion"]["matrix"], strict=True)],
    )
    return (
        f"**{name}**\n\n"
        + _table(["class", "precision", "recall", "F1", "support"], rows)
        + (f"\n\nConfusion matrix:\n\n{conf}\n")
    )


def render_card(card: dict[str, Any]) -> str:
    """Markdown text of a card."""
    ev = card.get("evaluation", {})
    parts = [
        f"# Model card: firewatch false-positive classifier `{card.get('version', '?')}`",
        "",
        f"- Trained: {card.get('created_utc', '?')} with `{card.get('command', 'firewatch train')}`",
        f"- Estimator: {card.get('estimator', '?')}",
        f"- Classes it can predict: {', '.join(card.get('classes', []))}",
        f"- Classes without enough labels (never predicted): "
        f"{', '.join(card.get('classes_without_labels', [])) or 'none'}",
        f"- Features ({len(card.get('feature_names', []))}): {', '.join(card.get('feature_names', []))}",
        f"- Land cover: {card.get('landcover', 'not used')}",
        "- Library versions: "
        + ", ".join(f"{k} {v}" for k, v in card.get("library_versions", {}).items()),
        "",
        "## Training data",
        "",
        card.get("training_data", {}).get("description", ""),
        "",
        _table(
            ["origin", "detections"],
            [[k, v] for k, v in card.get("training_data", {}).get("origins", {}).items()],
        ),
        "",
        "## Labels",
        "",
        card.get("labels_note", ""),
        "",
        _table(
            ["source", "rule", "class", "points"],
            [[r["source"], r["rule"], r["label"], r["n"]] for r in card.get("label_counts", [])],
        ),
        "",
        "## Evaluation (spatially blocked cross-validation)",
        "",
        ev.get("method", ""),
        "",
    ]
    for key, title in (
        ("model", "Model, all features"),
        ("baseline", "Baseline: FIRMS confidence + distance-to-industry threshold"),
        ("model_rule_blind", "Model without the weak rules' inputs"),
    ):
        if key in ev:
            parts.append(_metrics_block(title, ev[key]))
            if ev[key].get("note"):
                parts.append(ev[key]["note"] + "\n")
    parts += ["## Limitations", "", *[f"- {x}" for x in card.get("limitations", [])], ""]
    return "\n".join(parts)
