"""The report of a run: the summary (every number, percentiles nearest-rank), its
figures as PNGs drawn with matplotlib, report.html with them embedded, summary.json, and
the one line `ballast load` prints."""

from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import asdict, dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from ballast.load.config import DURATION_S_MAX, LoadConfig
from ballast.load.recorder import OUTCOME_NAMES, Outcomes, Recorder

HISTOGRAM_BINS = 40
# Throughput over time: round bucket widths, at most 120 buckets (a readable plot).
TIMELINE_BUCKET_WIDTHS_S = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
TIMELINE_BUCKETS_MAX = 120
assert DURATION_S_MAX / TIMELINE_BUCKET_WIDTHS_S[-1] <= TIMELINE_BUCKETS_MAX
PERCENTILES = (50, 90, 99)


@dataclass(frozen=True)
class Timing:
    started_s: float
    load_ended_s: float
    ended_s: float


def percentiles(sorted_values: list[float]) -> dict[str, float]:
    """Nearest-rank percentiles, the mean and the max, rounded to 0.01."""
    if not sorted_values:
        return {"count": 0}
    count = len(sorted_values)
    figures: dict[str, float] = {"count": count}
    for percent in PERCENTILES:
        figures[f"p{percent}"] = round(sorted_values[math.ceil(percent / 100 * count) - 1], 2)
    figures["max"] = round(sorted_values[-1], 2)
    figures["mean"] = round(sum(sorted_values) / count, 2)
    return figures


def histogram(values: list[float], bins: int = HISTOGRAM_BINS) -> dict[str, list[Any]]:
    """Equal-width bins from 0 to the maximum; every value lands in exactly one bin."""
    if not values:
        return {"edges": [], "counts": []}
    width = max(values) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(int(value / width), bins - 1)] += 1
    return {"edges": [round(width * i, 3) for i in range(bins + 1)], "counts": counts}


def bucket_width_s(span_s: float) -> float:
    """The narrowest round bucket that draws the run in at most TIMELINE_BUCKETS_MAX."""
    for width_s in TIMELINE_BUCKET_WIDTHS_S:
        if span_s / width_s <= TIMELINE_BUCKETS_MAX:
            return width_s
    return TIMELINE_BUCKET_WIDTHS_S[-1]


def _timeline(recorder: Recorder, timing: Timing) -> dict[str, Any]:
    """Submissions accepted and outcomes received per time bucket since the start."""
    span_s = max(timing.ended_s - timing.started_s, 1e-9)
    width_s = bucket_width_s(span_s)
    buckets = max(1, math.ceil(span_s / width_s))
    accepted, finished = [0] * buckets, [0] * buckets
    for series, moments in ((accepted, recorder.accepted), (finished, recorder.finished)):
        for at_s in moments:
            if not math.isnan(at_s):
                series[min(max(0, int((at_s - timing.started_s) / width_s)), buckets - 1)] += 1
    rows = [
        {"start_s": round(i * width_s, 3), "accepted": accepted[i], "outcomes": finished[i]}
        for i in range(buckets)
    ]
    return {"bucket_s": width_s, "rows": rows}


def summarize(
    config: LoadConfig, recorder: Recorder, outcomes: Outcomes, timing: Timing
) -> dict[str, Any]:
    pairs = zip(recorder.started, recorder.accepted, recorder.finished, strict=True)
    submit_ms, outcome_ms = [], []
    for started, accepted, finished in pairs:
        if not math.isnan(accepted):
            submit_ms.append((accepted - started) * 1000)
        if not math.isnan(finished):
            outcome_ms.append((finished - started) * 1000)
    submit_ms.sort()
    outcome_ms.sort()
    mix = {name: recorder.outcome.count(code) for code, name in OUTCOME_NAMES.items()}
    load_s = max(timing.load_ended_s - timing.started_s, 1e-9)
    last_outcome_s = max((f for f in recorder.finished if not math.isnan(f)), default=math.nan)
    outcome_span_s = last_outcome_s - timing.started_s
    settings = asdict(config) | {"out_dir": str(config.out_dir), "rail_secret": None}
    return {
        "config": settings,
        "transfers": {
            "started": len(recorder),
            "accepted": recorder.accepted_count,
            "errors": recorder.errors,
        },
        "outcomes": mix,
        "load_duration_s": round(load_s, 3),
        "total_duration_s": round(timing.ended_s - timing.started_s, 3),
        "throughput_per_s": {
            "accepted": round(recorder.accepted_count / load_s, 1),
            "outcomes": round(recorder.outcomes / outcome_span_s, 1) if outcome_ms else 0.0,
        },
        "submit_latency_ms": percentiles(submit_ms),
        "outcome_latency_ms": percentiles(outcome_ms),
        "histograms": {"submit_ms": histogram(submit_ms), "outcome_ms": histogram(outcome_ms)},
        "timeline": _timeline(recorder, timing),
        "notifications": {"duplicates": outcomes.duplicates, "rejected": outcomes.rejected},
    }


FIGURES = ("throughput", "latency", "outcomes")
FIGURE_SIZE_INCHES = (8.0, 3.6)
FIGURE_DPI = 100  # 800 x 360 pixels: readable in the page, ~30 KB per PNG.


def write_report(out_dir: Path, summary: dict[str, Any]) -> dict[str, Path]:
    """report.html (figures embedded), one PNG per figure, and summary.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pngs = render_figures(summary)
    written = {}
    for name, png in pngs.items():
        written[name] = out_dir / f"{name}.png"
        written[name].write_bytes(png)
    written["summary"] = out_dir / "summary.json"
    written["summary"].write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    written["report"] = out_dir / "report.html"
    written["report"].write_text(render_html(summary, pngs), encoding="utf-8")
    return written


def render_figures(summary: dict[str, Any]) -> dict[str, bytes]:
    """The figures as PNG bytes, drawn with matplotlib's Agg canvas (no display, no
    pyplot global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    drawings = {"throughput": _draw_throughput, "latency": _draw_latency, "outcomes": _draw_mix}
    pngs = {}
    for name in FIGURES:
        figure = Figure(figsize=FIGURE_SIZE_INCHES, layout="constrained")
        FigureCanvasAgg(figure)  # Renders through Agg, whatever backend is configured.
        drawings[name](figure, summary)
        output = BytesIO()
        figure.savefig(output, format="png", dpi=FIGURE_DPI)
        pngs[name] = output.getvalue()
    return pngs


def _draw_throughput(figure: Any, summary: dict[str, Any]) -> None:
    axes = figure.subplots()
    width_s, rows = summary["timeline"]["bucket_s"], summary["timeline"]["rows"]
    starts = [row["start_s"] for row in rows] + [rows[-1]["start_s"] + width_s]
    for key, label in (("accepted", "submissions accepted/s"), ("outcomes", "outcomes/s")):
        rates = [row[key] / width_s for row in rows]
        axes.stairs(rates, starts, label=label)
    axes.set_xlabel(f"seconds since start ({width_s:g} s buckets)")
    axes.set_ylabel("per second")
    axes.set_title("Throughput over time")
    axes.legend(loc="upper right")


def _draw_latency(figure: Any, summary: dict[str, Any]) -> None:
    panels = figure.subplots(1, 2)
    titles = {"submit_ms": "Submission latency", "outcome_ms": "Submission → outcome"}
    figures = {"submit_ms": "submit_latency_ms", "outcome_ms": "outcome_latency_ms"}
    for axes, key in zip(panels, ("submit_ms", "outcome_ms"), strict=True):
        data = summary["histograms"][key]
        axes.set_title(titles[key])
        axes.set_xlabel("ms")
        if not data["counts"]:
            axes.text(0.5, 0.5, "no data", ha="center", transform=axes.transAxes)
            continue
        edges = data["edges"]
        axes.bar(edges[:-1], data["counts"], width=edges[1] - edges[0], align="edge")
        for percent, style in zip(PERCENTILES, (":", "--", "-"), strict=True):
            value = summary[figures[key]][f"p{percent}"]
            axes.axvline(value, color="black", linestyle=style, label=f"p{percent} {value:.1f}")
        axes.legend(loc="upper right", fontsize="small")


def _draw_mix(figure: Any, summary: dict[str, Any]) -> None:
    axes = figure.subplots()
    names = list(summary["outcomes"])
    counts = [summary["outcomes"][name] for name in names]
    bars = axes.bar(names, counts, color=["tab:green", "tab:red", "tab:gray", "black"])
    axes.bar_label(bars)
    axes.margins(y=0.15)  # Room for the labels above the tallest bar.
    axes.set_title("Outcome mix")
    axes.set_ylabel("transfers")


def _table(rows: list[tuple[str, Any]]) -> str:
    cells = "".join(
        f"<tr><th>{html.escape(str(name))}</th><td>{html.escape(str(value))}</td></tr>"
        for name, value in rows
    )
    return f"<table>{cells}</table>"


def render_html(summary: dict[str, Any], pngs: dict[str, bytes]) -> str:
    config = summary["config"]
    images = "".join(
        f'<h2>{name.title()}</h2><img alt="{name}" '
        f'src="data:image/png;base64,{base64.b64encode(pngs[name]).decode()}">'
        for name in FIGURES
    )
    latency_rows = [
        (f"{label} {key}", value)
        for label, field in (("submit", "submit_latency_ms"), ("outcome", "outcome_latency_ms"))
        for key, value in summary[field].items()
    ]
    setup = [(key, value) for key, value in config.items() if value is not None]
    figures = [
        *summary["transfers"].items(),
        *((f"outcome {name}", count) for name, count in summary["outcomes"].items()),
        ("load duration (s)", summary["load_duration_s"]),
        ("accepted/s", summary["throughput_per_s"]["accepted"]),
        ("outcomes/s", summary["throughput_per_s"]["outcomes"]),
    ]
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>ballast load: {html.escape(config['target'])}</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}"
        "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;"
        "padding:.2em .6em;text-align:left}img{max-width:100%}</style></head><body>"
        f"<h1>ballast load against the {html.escape(config['target'])}</h1>"
        f"<h2>Run</h2>{_table(setup)}<h2>Figures</h2>{_table(figures)}"
        f"<h2>Latency (ms)</h2>{_table(latency_rows)}{images}</body></html>\n"
    )


def one_line(summary: dict[str, Any]) -> str:
    transfers, mix = summary["transfers"], summary["outcomes"]
    submit = summary["submit_latency_ms"]
    latency = (
        f"p50 {submit['p50']} ms, p99 {submit['p99']} ms, max {submit['max']} ms"
        if submit["count"]
        else "no latency"
    )
    return (
        f"{transfers['accepted']}/{transfers['started']} accepted "
        f"({summary['throughput_per_s']['accepted']}/s; {latency}); "
        f"{mix['succeeded']} succeeded, {mix['returned']} returned, "
        f"{mix['pending']} pending, {transfers['errors']} errors"
    )
