"""The postmortem chart: probe latency (p50 and p95) and error rate across the incident window, with
the vendor's status changes and our acknowledgment and resolution marked. Headless (Agg), PNG out.

It runs in its own short-lived process (`python -m bot.postmortem.chart`, driven by
bot/postmortem/chart_worker.py, which says how the frames on its pipes look), so the ~60 MiB that
matplotlib takes leave with it instead of staying in the long-running bot. It imports nothing of
statusbot's.
"""

from __future__ import annotations

import io
import json
import math
import sys
from datetime import datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # after choosing the headless backend
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

STATUS_COLOURS = {
    "investigating": "#d62728",
    "identified": "#ff7f0e",
    "monitoring": "#bcbd22",
    "resolved": "#2ca02c",
    "postmortem": "#7f7f7f",
}
P50, P95, TRAFFIC = "#1f77b4", "#9467bd", "#ff7f0e"


def render(chart: dict[str, Any]) -> bytes:
    fig = figure(chart)
    try:
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=110)
        return out.getvalue()
    finally:
        plt.close(fig)


def figure(chart: dict[str, Any]) -> Figure:
    times = [_time(t) for t in chart["minutes"]]
    window = (_time(chart["window"][0]), _time(chart["window"][1]))
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(10, 5.8), height_ratios=(3, 2))
    fig.subplots_adjust(left=0.08, right=0.98, top=0.93, bottom=0.17, hspace=0.08)
    _latency(top, times, chart)
    bottom.bar(times, chart["error_pct"], width=1 / 1440, color="#d62728", label="failed probes (% per minute)")
    _traffic_series(chart, bottom)
    bottom.set_ylabel("errors %")
    bottom.set_ylim(0, 105)
    _mark_events(chart, (top, bottom))
    bottom.set_xlim(*window)
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=window[0].tzinfo))
    bottom.set_xlabel("UTC")
    top.set_title(chart["title"], fontsize=10)
    # Below the axes, where no vendor or people marker can be hidden behind it.
    fig.legend(loc="lower center", ncol=4, fontsize=8, frameon=False)
    return fig


def _latency(top: Any, times: list[datetime], chart: dict[str, Any]) -> None:
    p50 = [_ms(v) for v in chart["p50_ms"]]
    p95 = [_ms(v) for v in chart["p95_ms"]]
    if not any(not math.isnan(v) for v in p50):
        top.set_ylim(0, 1)  # nothing measured: no made-up (or negative) latency axis
        top.set_yticks([])
        top.text(0.5, 0.5, "no probe results in this window", transform=top.transAxes, ha="center", va="center")
        return
    top.fill_between(times, p50, p95, color=P95, alpha=0.15, linewidth=0)
    top.plot(times, p95, label="latency p95", color=P95, linewidth=1.2, linestyle="--")
    top.plot(times, p50, label="latency p50", color=P50, linewidth=1.6, marker="o", markersize=2.5)
    top.set_ylim(bottom=0)
    top.set_ylabel("ms")


def _traffic_series(chart: dict[str, Any], axis: Any) -> None:
    """The team's own calls' error rate per minute, beside the probes' bars."""
    minutes = chart.get("traffic") or []
    if minutes:
        axis.plot(
            [_time(at) for at, _ in minutes],
            [rate for _, rate in minutes],
            color=TRAFFIC,
            linewidth=1.4,
            marker=".",
            label=f"your traffic ({chart.get('traffic_calls', 0):,} calls)",
        )


def _mark_events(chart: dict[str, Any], axes: tuple[Any, Any]) -> None:
    last = None
    for at, status in chart["vendor"]:
        if status == last:
            continue
        _mark(
            axes, 0, at, f"vendor: {status}", "right", color=STATUS_COLOURS.get(status, "#444"), alpha=0.7, linewidth=1
        )
        last = status
    if chart["resolved"] is not None:
        at, by = chart["resolved"]
        _mark(axes, 1, at, f"resolved ({by})", "right", color="#17becf", linewidth=2, alpha=0.8)
    for at, kind, actor in chart["people"]:
        colour = "#2ca02c" if kind == "ack" else "#17becf"
        _mark(axes, 1, at, f"{kind}: {actor}", "left", color=colour, linestyle=":", linewidth=1.5)


def _mark(axes: tuple[Any, Any], on: int, at: str, label: str, side: str, **line: Any) -> None:
    """A vertical line at `at` across both axes, labelled on axis `on` (`side`: which side of the line)."""
    for axis in axes:
        axis.axvline(_time(at), **line)
    top = 0.98 if on == 0 else 0.95
    axes[on].annotate(
        label, (_time(at), top), xycoords=("data", "axes fraction"), rotation=90, fontsize=7, va="top", ha=side
    )


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _ms(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def serve(requests: Any, answers: Any) -> None:
    """Draw one chart per request until the other end closes our input."""
    while len(head := requests.read(4)) == 4:
        request = requests.read(int.from_bytes(head, "big"))
        try:
            status, body = 0, render(json.loads(request))
        except Exception as exc:  # a chart that cannot be drawn is said, and the next one still is
            status, body = 1, f"{type(exc).__name__}: {exc}".encode()
        answers.write(bytes([status]) + len(body).to_bytes(4, "big") + body)
        answers.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
