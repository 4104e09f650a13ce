"""The report's figures, drawn with matplotlib's Agg canvas (no display, no pyplot global
state). Every axis is labelled, and every legend sits outside its axes, so that no legend
ever covers data."""

from __future__ import annotations

from io import BytesIO
from typing import Any

FIGURE_SIZE_INCHES = (9.0, 3.4)
TALL_FIGURE_SIZE_INCHES = (9.0, 5.2)
FIGURE_DPI = 100  # 900 pixels wide: readable in the page, tens of KB per PNG.
# Which figure, its title in the page, and how tall it is.
FIGURES = {
    "latency_over_time": ("Latency percentiles over time", TALL_FIGURE_SIZE_INCHES),
    "throughput": ("Throughput and errors over time", FIGURE_SIZE_INCHES),
    "status_in_flight": ("Status codes and requests in flight over time", TALL_FIGURE_SIZE_INCHES),
    "latency_distribution": ("Latency distribution", FIGURE_SIZE_INCHES),
    "outcomes": ("Outcome mix", FIGURE_SIZE_INCHES),
}
OUTCOME_COLORS = {
    "succeeded": "tab:green",
    "returned": "tab:red",
    "late_returned": "tab:orange",
    "corrected": "tab:olive",
    "completed": "tab:blue",
    "pending": "tab:gray",
    "error": "black",
}


def _outside_legend(axes: Any) -> None:
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize="small")


def _edges(summary: dict[str, Any]) -> tuple[float, list[float]]:
    width_s = summary["timeline"]["bucket_s"]
    rows = summary["timeline"]["rows"]
    return width_s, [row["start_s"] for row in rows] + [rows[-1]["start_s"] + width_s]


def _time_axis(axes: Any, width_s: float) -> None:
    axes.set_xlabel(f"seconds since the start ({width_s:g} s buckets)")
    axes.set_xlim(left=0)


def draw_latency_over_time(figure: Any, summary: dict[str, Any]) -> None:
    rows = summary["timeline"]["rows"]
    width_s, edges = _edges(summary)
    panels = figure.subplots(2, 1, sharex=True)
    for axes, key, title in zip(
        panels,
        ("submit_ms", "e2e_ms"),
        ("Submission (scheduled send → answer)", "End to end (scheduled send → outcome)"),
        strict=True,
    ):
        for percent, style in (("p50", "-"), ("p90", "--"), ("p99", ":")):
            values = [row[key].get(percent, float("nan")) for row in rows]
            axes.stairs(values, edges, label=percent, linestyle=style, linewidth=1.6)
        axes.set_title(title, fontsize="medium")
        axes.set_ylabel("latency (ms)")
        axes.set_ylim(bottom=0)
        _outside_legend(axes)
    _time_axis(panels[1], width_s)


def draw_throughput(figure: Any, summary: dict[str, Any]) -> None:
    rows = summary["timeline"]["rows"]
    width_s, edges = _edges(summary)
    axes = figure.subplots()
    series = (("accepted", "accepted/s"), ("outcomes", "outcomes/s"), ("errors", "errors/s"))
    for key, label in series:
        axes.stairs([row[key] / width_s for row in rows], edges, label=label, linewidth=1.6)
    axes.set_ylabel("per second")
    axes.set_ylim(bottom=0)
    _time_axis(axes, width_s)
    _outside_legend(axes)


def draw_status_in_flight(figure: Any, summary: dict[str, Any]) -> None:
    rows = summary["timeline"]["rows"]
    width_s, edges = _edges(summary)
    panels = figure.subplots(2, 1, sharex=True)
    statuses = sorted({status for row in rows for status in row["statuses"]})
    baseline = [0.0] * len(rows)
    for status in statuses:
        rates = [row["statuses"].get(status, 0) / width_s for row in rows]
        top = [low + rate for low, rate in zip(baseline, rates, strict=True)]
        panels[0].stairs(top, edges, baseline=baseline, fill=True, label=f"HTTP {status}")
        baseline = top
    panels[0].set_ylabel("answers/s")
    panels[0].set_title("Answers by status code (stacked)", fontsize="medium")
    panels[1].stairs([row["in_flight"] for row in rows], edges, label="in flight", linewidth=1.6)
    panels[1].set_ylabel("requests")
    panels[1].set_title("Requests in flight (at each bucket's end)", fontsize="medium")
    for axes in panels:
        axes.set_ylim(bottom=0)
        _outside_legend(axes)
    _time_axis(panels[1], width_s)


def draw_latency_distribution(figure: Any, summary: dict[str, Any]) -> None:
    """HDR's percentile plot, one panel per latency (their scales differ a thousandfold):
    the x axis stretches the tail, 1 / (1 - percentile)."""
    panels = figure.subplots(1, 2)
    labels = {"submit_ms": "Submission", "outcome_ms": "End to end"}
    ticks = [50, 90, 99, 99.9, 99.99]
    for axes, (key, label) in zip(panels, labels.items(), strict=True):
        points = [(p, ms) for p, ms in summary["distribution"][key] if p < 100]
        axes.set_title(label, fontsize="medium")
        if points:
            xs = [1 / (1 - p / 100) for p, _ in points]
            axes.plot(xs, [ms for _, ms in points], marker="o", markersize=3)
        else:
            axes.text(0.5, 0.5, "no data", ha="center", transform=axes.transAxes)
        axes.set_xscale("log")
        axes.set_xticks([1 / (1 - p / 100) for p in ticks], [f"{p:g}%" for p in ticks])
        axes.set_xlim(1, 1 / (1 - 99.99 / 100) * 1.5)
        axes.set_xlabel("percentile")
        axes.set_ylabel("latency (ms)")
        axes.set_ylim(bottom=0)


def draw_outcomes(figure: Any, summary: dict[str, Any]) -> None:
    axes = figure.subplots()
    names = [name for name, count in summary["outcomes"].items() if count] or ["pending"]
    counts = [summary["outcomes"][name] for name in names]
    bars = axes.bar(names, counts, color=[OUTCOME_COLORS[name] for name in names])
    axes.bar_label(bars)
    axes.margins(y=0.15)  # Room for the labels above the tallest bar.
    axes.set_xlabel("outcome")
    axes.set_ylabel("transfers")


DRAWINGS = {
    "latency_over_time": draw_latency_over_time,
    "throughput": draw_throughput,
    "status_in_flight": draw_status_in_flight,
    "latency_distribution": draw_latency_distribution,
    "outcomes": draw_outcomes,
}


def png(draw: Any, size_inches: tuple[float, float], *args: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size_inches, layout="constrained")
    FigureCanvasAgg(figure)  # Renders through Agg, whatever backend is configured.
    draw(figure, *args)
    output = BytesIO()
    figure.savefig(output, format="png", dpi=FIGURE_DPI)
    return output.getvalue()


def render_figures(summary: dict[str, Any]) -> dict[str, bytes]:
    return {name: png(DRAWINGS[name], size, summary) for name, (_, size) in FIGURES.items()}
