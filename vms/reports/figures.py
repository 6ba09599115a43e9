"""What both programme reports share: the reporting period in UK local dates, the summary
statistics (defined so a reader can recompute them), bucketed distributions, and the HTML
page with its bar charts drawn as inline SVG (one self-contained file, no script)."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import math
import statistics
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from vms.errors import ConfigError
from vms.evidence.utc import iso, parse

LONDON = ZoneInfo("Europe/London")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Period:
    """Whole days, first to last inclusive, as the UK counts them (GMT or BST)."""

    first: dt.date
    last: dt.date

    def __post_init__(self) -> None:
        if self.last >= dt.date.max - dt.timedelta(days=1) or self.first <= dt.date.min:
            raise ConfigError("choose a period between the years 1 and 9999")
        if self.last < self.first:
            raise ConfigError(f"the period ends ({self.last}) before it starts ({self.first})")

    @classmethod
    def parse(cls, first: str, last: str) -> Period:
        try:
            return cls(dt.date.fromisoformat(first), dt.date.fromisoformat(last))
        except ValueError:
            raise ConfigError(f"dates are written YYYY-MM-DD (got {first!r} to {last!r})"
                              ) from None

    def utc_bounds(self) -> tuple[str, str]:
        """[start, end) in UTC, in the stores' ISO form, so they compare as text."""
        start = dt.datetime.combine(self.first, dt.time(), LONDON)
        end = dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), LONDON)
        return iso(start), iso(end)

    def words(self) -> str:
        return f"{day_words(self.first)} to {day_words(self.last)}"

    def describe(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def day_words(d: dt.date) -> str:
    return f"{d.day} {d.strftime('%b %Y')}"


def local(utc: str) -> dt.datetime:
    return parse(utc).astimezone(LONDON)


def seconds_between(a: str | None, b: str | None) -> float | None:
    if not a or not b:
        return None
    return max(0.0, (parse(b) - parse(a)).total_seconds())


def nearest_rank(values: list[float], p: float) -> float | None:
    """The p-th percentile by nearest rank: the smallest value with at least p % of the
    values at or below it (no interpolation, so every figure is one of the measured ones)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def spread(values: list[float], edges: tuple[float, ...], unit: str = "s") -> dict[str, Any]:
    """n, median, 90th percentile (nearest rank) and maximum, rounded to 0.1, and the counts
    in each bucket: [0, e1), [e1, e2), …, [e_last, ∞)."""
    counts = [0] * (len(edges) + 1)
    for v in values:
        counts[sum(v >= e for e in edges)] += 1
    med, p90 = (statistics.median(values) if values else None), nearest_rank(values, 90)
    return {"n": len(values),
            "median": None if med is None else round(med, 1),
            "p90": None if p90 is None else round(p90, 1),
            "max": round(max(values), 1) if values else None,
            "unit": unit,
            "buckets": [{"label": label, "count": c}
                        for label, c in zip(bucket_labels(edges), counts, strict=True)]}


def _dur(s: float) -> str:
    if s < 60:
        return f"{s:g} s"
    return f"{s / 60:g} min"


def bucket_labels(edges: tuple[float, ...]) -> list[str]:
    out = [f"under {_dur(edges[0])}"]
    out += [f"{_dur(a)} to {_dur(b)}" for a, b in itertools.pairwise(edges)]
    return [*out, f"{_dur(edges[-1])} or more"]


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def rate(part: int, whole: int) -> dict[str, Any]:
    """A share with its counts beside it: 8 of 10 is said as such, never as a bare 80 %."""
    return {"count": part, "of": whole,
            "percent": round(100 * part / whole, 1) if whole else None}


def rate_words(r: dict[str, Any]) -> str:
    if not r["of"]:
        return "none to count"
    return f"{r['count']} of {r['of']} ({r['percent']:g} %)"


# -- HTML ------------------------------------------------------------------------------------

E = html.escape

_STYLE = """
body{font:15px/1.45 "DejaVu Sans",Arial,sans-serif;color:#1b1f24;margin:24px auto;max-width:1100px}
h1{font-size:24px;margin:0 0 4px} h2{font-size:18px;margin:22px 0 8px;border-bottom:1px solid #ccd}
p.sub{color:#4a5360;margin:0 0 14px} table{border-collapse:collapse;margin:6px 0 12px}
td,th{border:1px solid #c8ccd4;padding:3px 8px;text-align:left} th{background:#eef1f5}
td.n{text-align:right} .charts{display:flex;flex-wrap:wrap;gap:18px}
.chart{border:1px solid #d8dce3;padding:8px} .chart h3{font-size:14px;margin:0 0 4px}
ul.limits li{color:#4a5360}
"""


def page(title: str, subtitle: str, body: list[str]) -> str:
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{E(title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{E(title)}</h1><p class='sub'>{E(subtitle)}</p>{''.join(body)}</body></html>")


def table(head: list[str], rows: list[list[object]]) -> str:
    def cell(v: object) -> str:
        cls = " class='n'" if isinstance(v, int | float) else ""
        return f"<td{cls}>{E('' if v is None else str(v))}</td>"
    return ("<table><tr>" + "".join(f"<th>{E(h)}</th>" for h in head) + "</tr>"
            + "".join("<tr>" + "".join(cell(c) for c in r) + "</tr>" for r in rows)
            + "</table>")


def bar_chart(title: str, labels: list[str], values: list[float], width: int = 520,
              height: int = 190) -> str:
    """Vertical bars with the value over each bar and every label under it (SVG)."""
    n = max(1, len(values))
    top = max(values) if values and max(values) > 0 else 1
    left, bottom, head = 8, 44, 16
    slot = (width - left * 2) / n
    bars = []
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        h = (height - bottom - head) * v / top
        x = left + i * slot
        y = height - bottom - h
        bars.append(f"<rect x='{x + slot * 0.12:.1f}' y='{y:.1f}' width='{slot * 0.76:.1f}' "
                    f"height='{h:.1f}' fill='#2f6db5'/>")
        bars.append(f"<text x='{x + slot / 2:.1f}' y='{y - 3:.1f}' font-size='11' "
                    f"text-anchor='middle'>{v:g}</text>")
        size = 11 if slot >= 30 else 9
        bars.append(f"<text x='{x + slot / 2:.1f}' y='{height - bottom + 14:.1f}' "
                    f"font-size='{size}' text-anchor='middle'>{E(label)}</text>")
    axis = (f"<line x1='{left}' y1='{height - bottom}' x2='{width - left}' "
            f"y2='{height - bottom}' stroke='#556'/>")
    return (f"<div class='chart'><h3>{E(title)}</h3><svg xmlns='http://www.w3.org/2000/svg' "
            f"width='{width}' height='{height}' role='img' aria-label='{E(title)}'>"
            f"{axis}{''.join(bars)}</svg></div>")
