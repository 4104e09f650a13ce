"""The report of a run, in its folder: report.html (self-contained: figures embedded as
base64 PNGs), one PNG per figure, summary.json with every figure, and samples.csv with
every transfer's raw timings; and the one line `ballast load` prints."""

from __future__ import annotations

import base64
import csv
import html
import json
import math
from pathlib import Path
from typing import Any

from ballast.load.figures import FIGURES, render_figures
from ballast.load.recorder import ERROR, OUTCOME_NAMES, Recorder
from ballast.load.scenario import Mix
from ballast.load.summary import status_name

SAMPLES_HEADER = (
    "index",
    "step",
    "kind",
    "scheduled_s",
    "sent_s",
    "answered_s",
    "outcome_s",
    "status",
    "outcome",
    "submit_ms",
    "e2e_ms",
)
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:64em;margin:auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ccc;padding:.2em .6em;"
    "text-align:left;vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "img{max-width:100%}.pass{color:#070}.fail{color:#b00;font-weight:bold}"
    "code{background:#f4f4f4;padding:0 .2em}.grid{display:flex;flex-wrap:wrap;gap:1.5em}"
)


def write_report(
    out_dir: Path,
    summary: dict[str, Any],
    recorder: Recorder,
    mix: Mix,
    origin_s: float,
    *,
    figures: bool = True,
) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    pngs = render_figures(summary) if figures else {}
    written = {}
    for name, data in pngs.items():
        written[name] = out_dir / f"{name}.png"
        written[name].write_bytes(data)
    written["summary"] = out_dir / "summary.json"
    written["summary"].write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    written["samples"] = out_dir / "samples.csv"
    write_samples(written["samples"], recorder, mix, origin_s)
    written["report"] = out_dir / "report.html"
    written["report"].write_text(render_html(summary, pngs), encoding="utf-8")
    return written


def _relative(at_s: float, origin_s: float) -> str:
    return "" if math.isnan(at_s) else f"{at_s - origin_s:.6f}"


def _ms(later_s: float, earlier_s: float) -> str:
    return "" if math.isnan(later_s) else f"{(later_s - earlier_s) * 1000:.3f}"


def write_samples(path: Path, recorder: Recorder, mix: Mix, origin_s: float) -> None:
    """One row per transfer, times in seconds since the start of the load."""
    steps = mix.scenario.steps
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(SAMPLES_HEADER)
        for i in range(len(recorder)):
            scheduled, answered, finished = (
                recorder.scheduled[i],
                recorder.answered[i],
                recorder.finished[i],
            )
            accepted = recorder.outcome[i] != ERROR  # A refusal has no latency.
            writer.writerow(
                (
                    i,
                    recorder.step[i],
                    steps[recorder.step[i]].kind,
                    _relative(scheduled, origin_s),
                    _relative(recorder.sent[i], origin_s),
                    _relative(answered, origin_s),
                    _relative(finished, origin_s),
                    status_name(recorder.status[i]) if not math.isnan(answered) else "",
                    OUTCOME_NAMES[recorder.outcome[i]],
                    _ms(answered, scheduled) if accepted else "",
                    _ms(finished, scheduled),
                )
            )


def _cell(value: Any) -> str:
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value)
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return f"<td{' class=n' if numeric else ''}>{html.escape(str(value))}</td>"


def table(rows: list[tuple[str, Any]]) -> str:
    cells = "".join(
        f"<tr><th>{html.escape(str(name))}</th>{_cell(value)}</tr>" for name, value in rows
    )
    return f"<table>{cells}</table>"


def grid(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _thresholds(summary: dict[str, Any]) -> str:
    results = summary["thresholds"]
    if not results:
        return "<p>No thresholds were set (<code>--threshold 'p99&lt;250ms'</code>).</p>"
    rows = [
        f"<tr><td class={'pass' if r['passed'] else 'fail'}>{'✓ pass' if r['passed'] else '✗ FAIL'}"
        f"</td><td><code>{html.escape(r['threshold'])}</code></td><td>"
        f"{html.escape(str(r['actual'] if r['actual'] is not None else 'no data'))}</td></tr>"
        for r in results
    ]
    return (
        f"<table><tr><th>result</th><th>threshold</th><th>actual</th></tr>{''.join(rows)}</table>"
    )


def _rail(rail: dict[str, Any]) -> str:
    if "error" in rail:
        return f"<p>Rail clock and rules unknown: {html.escape(rail['error'])}.</p>"
    day_ms = rail["day_ms"]
    why = (
        "With <code>--day-ms 0</code> every outcome falls due at once: end-to-end latency is "
        "the pipeline's own."
        if day_ms == 0
        else f"One banking day lasts {day_ms} ms, so outcomes arrive at the settlement windows "
        "of the simulated day: end-to-end latencies cluster in steps of a window, not smoothly."
    )
    facts = [
        ("url", rail["url"]),
        ("day length (ms)", day_ms),
        ("clock", rail["clock_mode"]),
        ("same-day ACH", rail["same_day_ach"]),
        ("rules", rail["rules_count"]),
    ]
    rules = "".join(f"<li><code>{html.escape(line)}</code></li>" for line in rail["rules"])
    listed = f"<details><summary>Rules, in order</summary><ol>{rules}</ol></details>"
    return f"<p>{why}</p>{table(facts)}{listed}"


def _latency_rows(summary: dict[str, Any]) -> str:
    columns = ("submit_latency_ms", "outcome_latency_ms", "send_delay_ms")
    keys = ("count", "p50", "p90", "p95", "p99", "max", "mean")
    rows = [[key, *(summary[column].get(key, "-") for column in columns)] for key in keys]
    header = ["ms", "submission (from schedule)", "end to end (from schedule)", "send delay"]
    return grid(header, rows)


def _results(summary: dict[str, Any]) -> str:
    transfers = [(f"transfers {key}", value) for key, value in summary["transfers"].items()]
    durations = [
        ("load duration (s)", summary["load_duration_s"]),
        ("drain duration (s)", summary["drain_duration_s"]),
        ("total duration (s)", summary["total_duration_s"]),
    ]
    rates = [(f"{key}/s", value) for key, value in summary["throughput_per_s"].items()]
    notifications = [
        (f"notifications {key}", value) for key, value in summary["notifications"].items()
    ]
    statuses = [(f"HTTP {key}", value) for key, value in summary["status_codes"].items()]
    outcomes = [(key, value) for key, value in summary["outcomes"].items()]
    steps = grid(
        ["step", "kind", "weight", "started", *OUTCOME_NAMES.values()],
        [
            [s["step"], s["kind"], s["weight"], s["started"], *s["outcomes"].values()]
            for s in summary["by_step"]
        ],
    )
    return (
        "<div class=grid>"
        f"<div><h3>Transfers</h3>{table(transfers + durations + rates + notifications)}</div>"
        f"<div><h3>Status codes</h3>{table(statuses)}<h3>Outcomes</h3>{table(outcomes)}</div></div>"
        f"<h3>By step</h3>{steps}"
    )


def _timeline_table(summary: dict[str, Any]) -> str:
    rows = [
        [
            row["start_s"],
            row["accepted"],
            row["errors"],
            row["outcomes"],
            row["in_flight"],
            ", ".join(f"{k}: {v}" for k, v in row["statuses"].items()),
            *(row["submit_ms"].get(p, "") for p in ("p50", "p90", "p99")),
            *(row["e2e_ms"].get(p, "") for p in ("p50", "p90", "p99")),
        ]
        for row in summary["timeline"]["rows"]
    ]
    header = ["start (s)", "accepted", "errors", "outcomes", "in flight", "statuses"]
    header += ["submit p50", "p90", "p99", "e2e p50", "p90", "p99"]
    width_s = summary["timeline"]["bucket_s"]
    title = f"The timeline as numbers ({width_s:g} s buckets)"
    return f"<details><summary>{title}</summary>{grid(header, rows)}</details>"


def image(data: bytes, alt: str) -> str:
    encoded = base64.b64encode(data).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def render_html(summary: dict[str, Any], pngs: dict[str, bytes]) -> str:
    run, config = summary["run"], summary["config"]
    verdict = ""
    if summary["thresholds"]:
        passed = all(r["passed"] for r in summary["thresholds"])
        said = "<p class=pass>Thresholds: all passed</p>"
        verdict = said if passed else "<p class=fail>Thresholds: FAILED</p>"
    if run.get("interrupted"):
        verdict += "<p class=fail>Interrupted (Ctrl-C): the load and the drain ended early.</p>"
    meta = [(key.replace("_", " "), value) for key, value in run.items() if key != "rail"]
    images = (
        "".join(
            f"<h3>{html.escape(title)}</h3>{image(pngs[name], name)}"
            for name, (title, _) in FIGURES.items()
            if name in pngs
        )
        or "<p>Figures were not drawn (--no-figures).</p>"
    )
    target = html.escape(config["target"])
    return (
        f"<!doctype html><html lang=en><head><meta charset='utf-8'><title>ballast load: {target}, "
        f"{html.escape(config['scenario'])}</title><style>{STYLE}</style></head><body>"
        f"<h1>ballast load against the {target}: {html.escape(config['scenario'])}</h1>{verdict}"
        f"<h2>Run</h2>{table(meta)}<h2>Rail</h2>{_rail(run['rail'])}"
        f"<h2>Settings</h2>{table(list(config.items()))}"
        f"<h2>Thresholds</h2>{_thresholds(summary)}<h2>Results</h2>{_results(summary)}"
        f"<h2>Latency</h2>{_latency_rows(summary)}<h2>Figures</h2>{images}{_timeline_table(summary)}"
        "<p>Also here: <a href='summary.json'>summary.json</a> (every figure), "
        "<a href='samples.csv'>samples.csv</a> (every transfer's timings).</p></body></html>\n"
    )


def one_line(summary: dict[str, Any]) -> str:
    transfers, mix = summary["transfers"], summary["outcomes"]
    submit = summary["submit_latency_ms"]
    latency = (
        f"p50 {submit['p50']} ms, p99 {submit['p99']} ms, max {submit['max']} ms"
        if submit["count"]
        else "no latency"
    )
    settled = ", ".join(
        f"{count} {name}" for name, count in mix.items() if count and name != "error"
    )
    return (
        f"{transfers['accepted']}/{transfers['started']} accepted "
        f"({summary['throughput_per_s']['accepted']}/s; {latency}); "
        f"{settled or 'no outcome'}; {transfers['errors']} errors"
    )
