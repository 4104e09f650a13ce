"""`ballast load compare RUN_A RUN_B`: two runs side by side from their summary.json, the
differences in a table (B against A), overlaid figures, and each run's own figures."""

from __future__ import annotations

import argparse
import html
import json
import sys
from pathlib import Path
from typing import Any

from ballast.load.config import LoadError
from ballast.load.figures import FIGURES, TALL_FIGURE_SIZE_INCHES, png
from ballast.load.report import STYLE, grid, image

# (label, path into summary.json, True when more is better)
COMPARED: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("transfers started", ("transfers", "started"), True),
    ("transfers accepted", ("transfers", "accepted"), True),
    ("errors", ("transfers", "errors"), False),
    ("accepted/s", ("throughput_per_s", "accepted"), True),
    ("outcomes/s", ("throughput_per_s", "outcomes"), True),
    *(
        (f"submission {p} (ms)", ("submit_latency_ms", p), False)
        for p in ("p50", "p90", "p95", "p99", "max")
    ),
    *((f"end to end {p} (ms)", ("outcome_latency_ms", p), False) for p in ("p50", "p95", "p99")),
    ("send delay p99 (ms)", ("send_delay_ms", "p99"), False),
    ("returned", ("outcomes", "returned"), False),
    ("pending at the end", ("outcomes", "pending"), False),
    ("load duration (s)", ("load_duration_s",), False),
    ("total duration (s)", ("total_duration_s",), False),
)


def read_summary(run: Path) -> dict[str, Any]:
    path = run / "summary.json" if run.is_dir() else run
    try:
        summary: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise LoadError(f"{path}: {error.strerror}") from None
    except ValueError:
        raise LoadError(f"{path}: not a summary.json") from None
    if "timeline" not in summary or "run" not in summary:
        raise LoadError(f"{path}: not a summary.json of this version of ballast load")
    return summary


def _get(summary: dict[str, Any], path: tuple[str, ...]) -> float | None:
    value: Any = summary
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value if isinstance(value, int | float) else None


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for label, path, more_is_better in COMPARED:
        value_a, value_b = _get(a, path), _get(b, path)
        change = None if value_a is None or value_b is None else round(value_b - value_a, 3)
        percent = None if not change or not value_a else round(100 * change / value_a, 1)
        better = None if not change else (change > 0) == more_is_better
        rows.append(
            {
                "metric": label,
                "a": value_a,
                "b": value_b,
                "change": change,
                "percent": percent,
                "better": better,
            }
        )
    return rows


def _series(summary: dict[str, Any], pick: Any) -> tuple[list[float], list[float]]:
    rows = summary["timeline"]["rows"]
    return [row["start_s"] for row in rows], [
        pick(row, summary["timeline"]["bucket_s"]) for row in rows
    ]


# The overlaid panels: (y label, the value of a timeline row, given the bucket width).
OVERLAID = (
    ("submission p99 (ms)", lambda row, _: row["submit_ms"].get("p99", float("nan"))),
    ("end to end p99 (ms)", lambda row, _: row["e2e_ms"].get("p99", float("nan"))),
    ("accepted/s", lambda row, width_s: row["accepted"] / width_s),
    ("errors/s", lambda row, width_s: row["errors"] / width_s),
)


def _draw_overlay(
    figure: Any, a: dict[str, Any], b: dict[str, Any], names: tuple[str, str]
) -> None:
    panels = figure.subplots(2, 2, sharex=True).flatten()
    for axes, (label, pick) in zip(panels, OVERLAID, strict=True):
        for summary, name in zip((a, b), names, strict=True):
            axes.plot(*_series(summary, pick), drawstyle="steps-post", label=name)
        axes.set_ylabel(label)
        axes.set_ylim(bottom=0)
    for axes in panels[2:]:
        axes.set_xlabel("seconds since the start")
    panels[1].legend(
        loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize="small"
    )


def _figures_of(run: Path) -> dict[str, bytes]:
    """The figures the run wrote (none for a run with --no-figures): not drawn again."""
    folder = run if run.is_dir() else run.parent
    return {
        name: (folder / f"{name}.png").read_bytes()
        for name in FIGURES
        if (folder / f"{name}.png").is_file()
    }


def _change_cell(row: dict[str, Any]) -> str:
    if row["change"] is None:
        return "<td class=n>-</td><td class=n>-</td>"
    css = (
        ""
        if row["better"] is None
        else (" style='color:#070'" if row["better"] else " style='color:#b00'")
    )
    percent = "" if row["percent"] is None else f"{row['percent']:+g}%"
    return f"<td class=n{css}>{row['change']:+g}</td><td class=n{css}>{percent}</td>"


def _differs(a: dict[str, Any], b: dict[str, Any], key: str) -> str:
    return "≠" if a.get(key) != b.get(key) else ""


def _side_by_side(names: tuple[str, str], pngs: tuple[dict[str, bytes], ...]) -> str:
    sections = []
    for name, (title, _) in FIGURES.items():
        if not all(name in drawn for drawn in pngs):
            continue
        cells = "".join(
            f"<figure style='margin:0;flex:1 1 28em'><figcaption>{html.escape(run)}"
            f"</figcaption>{image(drawn[name], name)}</figure>"
            for run, drawn in zip(names, pngs, strict=True)
        )
        sections.append(f"<h3>{html.escape(title)}</h3><div class=grid>{cells}</div>")
    return "".join(sections) or "<p>The runs' folders hold no figures (--no-figures).</p>"


def render_compare(
    a: dict[str, Any],
    b: dict[str, Any],
    names: tuple[str, str],
    pngs: tuple[dict[str, bytes], dict[str, bytes]] = ({}, {}),
) -> str:
    body = "".join(
        f"<tr><th>{html.escape(r['metric'])}</th><td class=n>{r['a']}</td>"
        f"<td class=n>{r['b']}</td>{_change_cell(r)}</tr>"
        for r in differences(a, b)
    )
    head = "".join(
        f"<th>{html.escape(text)}</th>"
        for text in ("metric", f"A: {names[0]}", f"B: {names[1]}", "B - A", "%")
    )
    settings = sorted(set(a["config"]) | set(b["config"]))
    setting_rows = [
        [
            key,
            a["config"].get(key, ""),
            b["config"].get(key, ""),
            _differs(a["config"], b["config"], key),
        ]
        for key in settings
    ]
    run_keys = ("started_at", "ballast_version", "ballast_commit", "host", "command_line")
    run_rows = [[key, a["run"].get(key, ""), b["run"].get(key, "")] for key in run_keys]
    overlay = png(lambda figure: _draw_overlay(figure, a, b, names), TALL_FIGURE_SIZE_INCHES)
    side_by_side = _side_by_side(names, pngs)
    title = f"ballast load: {html.escape(names[0])} (A) against {html.escape(names[1])} (B)"
    return (
        "<!doctype html><html lang=en><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>{STYLE}body{{max-width:90em}}</style></head><body>"
        f"<h1>{title}</h1><h2>Differences</h2><table><tr>{head}</tr>{body}</table>"
        f"<h2>Runs</h2>{grid(['', 'A', 'B'], run_rows)}"
        f"<h2>Settings</h2>{grid(['', 'A', 'B', 'differs'], setting_rows)}"
        f"<h2>Overlaid</h2>{image(overlay, 'overlaid')}"
        f"<h2>Side by side</h2>{side_by_side}</body></html>\n"
    )


def render_text(a: dict[str, Any], b: dict[str, Any]) -> str:
    lines = [f"{'metric':<26}{'A':>12}{'B':>12}{'B - A':>12}{'%':>9}"]
    for r in differences(a, b):
        change = "-" if r["change"] is None else f"{r['change']:+g}"
        percent = "" if r["percent"] is None else f"{r['percent']:+g}%"
        lines.append(f"{r['metric']:<26}{r['a']!s:>12}{r['b']!s:>12}{change:>12}{percent:>9}")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    try:
        a, b = read_summary(args.run_a), read_summary(args.run_b)
    except LoadError as error:
        print(f"ballast load compare: {error}", file=sys.stderr)
        return 2
    names = (args.run_a.name or str(args.run_a), args.run_b.name or str(args.run_b))
    out: Path = args.out or args.run_b.parent / f"compare-{names[0]}-vs-{names[1]}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    pngs = (_figures_of(args.run_a), _figures_of(args.run_b))
    out.write_text(render_compare(a, b, names, pngs), encoding="utf-8")
    print(render_text(a, b))
    print(f"comparison: {out}")
    return 0
