"""The postmortem chart: probe latency and error rate across the incident window, with the vendor's
status changes and our acknowledgment and resolution marked. Headless (Agg), PNG bytes out."""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import datetime

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from bot.postmortem.data import PostmortemData
from bot.store.models import ProbeResult

STATUS_COLOURS = {
    "investigating": "#d62728",
    "identified": "#ff7f0e",
    "monitoring": "#bcbd22",
    "resolved": "#2ca02c",
    "postmortem": "#7f7f7f",
}


def _per_minute(data: PostmortemData) -> tuple[list[datetime], list[float], list[float], list[float]]:
    buckets: dict[datetime, list[ProbeResult]] = defaultdict(list)
    for result in data.probe.results:
        buckets[result.at.replace(second=0, microsecond=0)].append(result)
    times, p50, p95, errors = [], [], [], []
    for minute in sorted(buckets):
        items = buckets[minute]
        ok = sorted(r.latency_ms for r in items if r.latency_ms is not None and r.outcome != "failure")
        times.append(minute)
        p50.append(ok[len(ok) // 2] if ok else float("nan"))
        p95.append(ok[min(len(ok) - 1, int(len(ok) * 0.95))] if ok else float("nan"))
        errors.append(100.0 * sum(r.outcome in ("failure", "degraded") for r in items) / len(items))
    return times, p50, p95, errors


def render(data: PostmortemData) -> bytes:
    times, p50, p95, errors = _per_minute(data)
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(10, 5.5), height_ratios=(3, 2))
    fig.subplots_adjust(left=0.08, right=0.98, top=0.93, bottom=0.1, hspace=0.08)
    try:
        top.plot(times, p50, label="latency p50", color="#1f77b4", linewidth=1.4)
        top.plot(times, p95, label="latency p95", color="#9467bd", linewidth=1.0, linestyle="--")
        top.set_ylabel("ms")
        bottom.bar(times, errors, width=1 / 1440, color="#d62728", label="failed probes")
        _traffic_series(data, bottom)
        bottom.set_ylabel("errors %")
        bottom.set_ylim(0, 105)
        if not times:
            top.text(0.5, 0.5, "no probe results in this window", transform=top.transAxes, ha="center")
        _mark_events(data, (top, bottom))
        bottom.set_xlim(*data.window)
        bottom.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=data.window[0].tzinfo))
        bottom.set_xlabel("UTC")
        top.set_title(f"#{data.incident.id} {data.incident.title}"[:90], fontsize=10)
        top.legend(loc="upper left", fontsize=8)
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=110)
        return out.getvalue()
    finally:
        plt.close(fig)


def _traffic_series(data: PostmortemData, axis: Axes) -> None:
    """The team's own calls' error rate per minute, beside the probes' bars."""
    minutes = [(at, 100.0 * f / n) for at, n, f in data.traffic.minutes if n]
    if minutes:
        axis.plot(
            mdates.date2num([at for at, _ in minutes]),
            [rate for _, rate in minutes],
            color="#ff7f0e",
            linewidth=1.4,
            marker=".",
            label=f"your traffic ({data.traffic.calls:,} calls)",
        )
        axis.legend(loc="upper right", fontsize=8)


def _mark_events(data: PostmortemData, axes: tuple[Axes, Axes]) -> None:
    last = None
    for update in data.vendor_updates:
        if update.status != last:
            for axis in axes:
                axis.axvline(
                    mdates.date2num(update.at),
                    color=STATUS_COLOURS.get(update.status or "", "#444"),
                    alpha=0.7,
                    linewidth=1,
                )
            axes[0].annotate(
                f"vendor: {update.status}",
                (update.at, 1),
                xycoords=("data", "axes fraction"),
                rotation=90,
                fontsize=7,
                va="top",
                ha="right",
            )
            last = update.status
    if data.incident.resolved_at is not None:
        for axis in axes:
            axis.axvline(mdates.date2num(data.incident.resolved_at), color="#17becf", linewidth=2, alpha=0.8)
        axes[1].annotate(
            f"resolved ({data.incident.resolved_by})",
            (data.incident.resolved_at, 0.95),
            xycoords=("data", "axes fraction"),
            rotation=90,
            fontsize=7,
            va="top",
            ha="right",
        )
    for entry in data.people:
        label = "ack" if entry.kind == "ack" else entry.kind
        for axis in axes:
            axis.axvline(
                mdates.date2num(entry.at),
                color="#2ca02c" if entry.kind == "ack" else "#17becf",
                linestyle=":",
                linewidth=1.5,
            )
        axes[1].annotate(
            f"{label}: {entry.actor or ''}",
            (entry.at, 0.95),
            xycoords=("data", "axes fraction"),
            rotation=90,
            fontsize=7,
            va="top",
            ha="left",
        )
