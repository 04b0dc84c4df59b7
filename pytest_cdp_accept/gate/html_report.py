"""The JSON report as one self-contained HTML page: a verdict banner, the
verdicts, baseline deltas and a chart per metric family.

:func:`render_html` takes the dict :meth:`Results.to_json
<pytest_cdp_accept.report.Results.to_json>` builds (or the parsed ``--cdp-json``
file) and returns the page; :func:`write_html` writes it. Charts are inline SVG
drawn here, styles are inline CSS, and the page refers to nothing outside
itself (no scripts, no fonts) but the evidence files of failed tests, so it can be
mailed, archived as a CI artifact or opened from disk as it is. Their screenshots
are embedded (for the first :data:`MAX_SCREENSHOTS` tests), their other files
linked relative to the page.

* latency metrics: a histogram of the samples (log bins when they span more
  than a factor of 20) with p50 / p95 / p99 markers;
* memory metrics: value against time since the first sample, a series per test;
* stress: passed and failed runs per test as stacked bars, and the run times;
* recovery: each fault's recovery time, coloured by whether it recovered;
* leaks: the growth slopes per test;
* a baseline comparison: per compared metric, the baseline's and this run's samples
  as two rows of dots with their medians, above the shift, its interval, p and the
  verdict.

Every chart is an ``<svg class="chart" data-metric="...">`` with a ``<title>``
and its marks (``rect``, ``circle``, ``polyline``); however many samples there
are, a chart draws at most :data:`MAX_POINTS` line points and :data:`MAX_DOTS`
dots (evenly subsampled), and a histogram bins every sample.
"""

from __future__ import annotations

import base64
import html
import math
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..metrics import BUILTIN_LATENCY, kind_of, unit_of
from .thresholds import format_value, percentile_of_sorted

MAX_POINTS = 5000
"""The most line points one chart draws; longer series are subsampled evenly."""
MAX_DOTS = 1000
"""The most dots one chart draws."""
MAX_SERIES = 10
"""Series with a colour and a legend entry of their own; the rest are grey."""
MAX_BARS = 40
"""Tests shown in the stress outcome chart."""
MAX_SCREENSHOTS = 20
"""Tests whose screenshots are embedded in the page (the rest are linked)."""
MAX_EMBEDDED_BYTES = 2 * 1024**2
"""A larger screenshot is linked, not embedded."""
BASELINE_COLOUR = "#8c959f"
CURRENT_COLOUR = "#4269d0"

T = TypeVar("T")

STATS = ("min", "med", "p95", "p99", "max", "avg")
FAMILIES = ("stress.", "recovery.", "leaks.")
FAULTS = {"recovery.renderer": "renderer crashes", "recovery.browser": "browser kills"}
LEAKS = ("leaks.js_heap", "leaks.dom_nodes", "leaks.python")
PALETTE = (
    "#4269d0",
    "#efb118",
    "#ff725c",
    "#6cc5b0",
    "#3ca951",
    "#ff8ab7",
    "#a463f2",
    "#97bbf5",
    "#9c6b4e",
    "#7d7d7d",
)
OTHER_COLOUR = "#b8bec6"
PASS_COLOUR = "#1a7f37"
FAIL_COLOUR = "#cf222e"
UNKNOWN_COLOUR = "#8c959f"
BAR_COLOUR = "#4269d0"
MARKERS = (("p50", 50, "#24292f"), ("p95", 95, "#bc4c00"), ("p99", 99, "#a0116b"))

REGRESSED_BADGE = '<span class="badge fail">REGRESSED</span>'
WEAK_BADGE = '<span class="badge weak" title="too few samples for this percentile">weak</span>'
_NUMBERS = (float, int)  # exact types: a bool is no sample
W = 640  # chart width in viewBox units (the chart scales to its card)


class _Sample:
    """One sample of a metric (compared by identity: two equal samples are two faults)."""

    __slots__ = ("test", "time", "value", "worker")

    def __init__(self, value: float, test: str, worker: str, time: float) -> None:
        self.value = value
        self.test = test
        self.worker = worker
        self.time = time


def render_html(report: Mapping[str, Any], folder: str | Path | None = None) -> str:
    """The report as one self-contained HTML page; ``folder``: where the page is
    written, for the links to evidence files (None: absolute ``file:`` links)."""
    by_metric, t0 = _group(report)
    ordered = {m: sorted(s.value for s in samples) for m, samples in by_metric.items()}
    stats = _metric_stats(report, ordered)
    verdicts = [v for v in report.get("verdicts") or () if isinstance(v, Mapping)]

    sections = [
        ("verdicts", "Verdicts", _verdicts_section(verdicts)),
        ("evidence", "Evidence", _evidence_section(report.get("evidence"), folder)),
        ("baseline", "Baseline", _baseline_section(report)),
        ("latency", "Latency", _latency_section(ordered, stats, verdicts)),
        ("memory", "Memory", _memory_section(by_metric, stats, t0)),
        ("stress", "Stress", _stress_section(by_metric, ordered, stats)),
        ("recovery", "Recovery", _recovery_section(by_metric, ordered, stats)),
        ("leaks", "Leaks", _leaks_section(by_metric, verdicts)),
        ("metrics", "All metrics", _metrics_section(stats)),
    ]
    present = [(key, name, body) for key, name, body in sections if body]
    nav = " ".join(f'<a href="#{key}">{name}</a>' for key, name, _ in present)
    body = "\n".join(
        f'<section id="{key}"><h2>{name}</h2>\n{content}</section>'
        for key, name, content in present
    )
    if not by_metric and not verdicts:
        body += '<section><p class="muted">No samples and no verdicts in this report.</p></section>'
    title = "FAIL" if any(not v.get("passed") for v in verdicts) else "PASS"
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title} · pytest-cdp-accept report</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n"
        f"{_header(report, verdicts)}\n"
        f"<nav>{nav}</nav>\n<main>\n{body}\n</main>\n"
        f"<footer>pytest-cdp-accept · schema {_e(report.get('schema', '?'))}</footer>\n"
        "</body>\n</html>\n"
    )


def write_html(report: Mapping[str, Any], path: str | Path) -> None:
    """Write :func:`render_html` of ``report`` to ``path`` (creating its folder)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(report, target.parent), encoding="utf-8")


# -- reading the report -----------------------------------------------------------


def _group(report: Mapping[str, Any]) -> tuple[dict[str, list[_Sample]], float]:
    """The samples with a finite value per metric, each list in time order (stable),
    and the time of the first sample."""
    grouped: dict[str, list[_Sample]] = defaultdict(list)
    t0 = math.inf
    finite = math.isfinite
    for raw in report.get("samples") or ():
        if type(raw) is not dict and not isinstance(raw, Mapping):
            continue
        value: Any = raw.get("value")
        if type(value) not in _NUMBERS or not finite(value):
            continue  # bools, strings, None, NaN and infinities are not samples
        at: Any = raw.get("time")
        if type(at) not in _NUMBERS or not finite(at):
            at = 0.0
        if at < t0:
            t0 = at
        metric, test, worker = raw.get("metric", "?"), raw.get("test", ""), raw.get("worker", "")
        grouped[metric if type(metric) is str else str(metric)].append(
            _Sample(
                value,
                test if type(test) is str else str(test),
                worker if type(worker) is str else str(worker),
                at,
            )
        )
    for samples in grouped.values():
        samples.sort(key=_at)
    return dict(grouped), (0.0 if t0 == math.inf else t0)


def _at(sample: _Sample) -> float:
    return sample.time


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _summary(ordered: Sequence[float]) -> dict[str, float]:
    """n and :data:`STATS` of sorted values, as :func:`~pytest_cdp_accept.thresholds.compute_stat`
    gives them (sorting once: reports can hold 100k samples of a metric)."""
    return {
        "n": float(len(ordered)),
        "min": ordered[0],
        "med": percentile_of_sorted(ordered, 50),
        "p95": percentile_of_sorted(ordered, 95),
        "p99": percentile_of_sorted(ordered, 99),
        "max": ordered[-1],
        "avg": math.fsum(ordered) / len(ordered),
    }


def _metric_stats(
    report: Mapping[str, Any], ordered: Mapping[str, Sequence[float]]
) -> dict[str, dict[str, float]]:
    """Per metric n and the summary stats: the report's own, else computed from samples."""
    given = report.get("metrics")
    stats: dict[str, dict[str, float]] = {}
    if isinstance(given, Mapping):
        for metric, row in given.items():
            if isinstance(row, Mapping):
                stats[str(metric)] = {
                    k: v
                    for k, v in ((k, _number(row.get(k))) for k in ("n", *STATS))
                    if v is not None
                }
    for metric, values in ordered.items():
        if "n" not in stats.get(metric, {}):
            stats[metric] = _summary(values)
    return dict(sorted(stats.items()))


def _stat_unit(metric: str, stat: str) -> str:
    return "" if stat == "count" else unit_of(metric)


# -- header ---------------------------------------------------------------------


def _header(report: Mapping[str, Any], verdicts: Sequence[Mapping[str, Any]]) -> str:
    failed = [v for v in verdicts if not v.get("passed")]
    weak = sum(1 for v in verdicts if v.get("weak"))
    if failed:
        word, cls = "FAIL", "fail"
        detail = f"{len(failed)} of {len(verdicts)} thresholds missed"
    else:
        word, cls = "PASS", "pass"
        detail = f"all {len(verdicts)} thresholds met" if verdicts else "no thresholds were checked"
    if weak:
        detail += f" · {weak} weak (too few samples for the percentile)"
    missed = "".join(f"<li>{_e(_verdict_text(v))}</li>" for v in failed[:6])
    if len(failed) > 6:
        missed += f"<li>… and {len(failed) - 6} more</li>"

    notes = []
    factor = _number(report.get("factor"))
    if factor is not None and factor != 1.0:
        notes.append(f"time thresholds scaled ×{factor:g}")
    if report.get("record_only"):
        notes.append("record-only: missed thresholds did not fail the run")
    facts = []
    created = _number(report.get("created"))
    if created is not None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(created))
        facts.append(f"<span>{_e(stamp)}</span>")
    machine = report.get("machine")
    if isinstance(machine, Mapping):
        parts = [str(machine.get("platform", "")), f"Python {machine.get('python', '?')}"]
        if machine.get("cpus"):
            parts.append(f"{machine['cpus']} CPUs")
        facts.append(f"<span>{_e(' · '.join(p for p in parts if p))}</span>")
    counters = report.get("counters")
    chips = ""
    if isinstance(counters, Mapping) and counters:
        chips = (
            '<div class="chips">'
            + "".join(
                f"<span class=chip><b>{_e(_plain(v))}</b> {_e(str(k).replace('_', ' '))}</span>"
                for k, v in sorted(counters.items())
            )
            + "</div>"
        )
    return (
        f'<header class="banner {cls}">'
        f'<div class="verdict"><span class="word">{word}</span>'
        f'<span class="detail">{_e(detail)}</span></div>'
        + (f'<ul class="missed">{missed}</ul>' if missed else "")
        + "</header>\n"
        + '<div class="facts"><h1>pytest-cdp-accept report</h1>'
        + "".join(facts)
        + "".join(f'<span class="note">{_e(n)}</span>' for n in notes)
        + chips
        + "</div>"
    )


def _plain(value: Any) -> str:
    number = _number(value)
    if number is None:
        return str(value)
    return format_value(number, "")


# -- verdicts ----------------------------------------------------------------------


def _verdict_text(verdict: Mapping[str, Any]) -> str:
    text = str(verdict.get("line") or f"{verdict.get('metric', '?')} {verdict.get('threshold')}")
    test = verdict.get("test")
    if verdict.get("scope") != "session" and test:
        text += f"  [{test}]"
    return text


def _measured_text(verdict: Mapping[str, Any]) -> str:
    measured = _number(verdict.get("measured"))
    if measured is None:
        return "no samples"
    stat = str(verdict.get("threshold", "")).split(" ", 1)[0]
    return format_value(measured, _stat_unit(str(verdict.get("metric", "")), stat))


def _verdicts_section(verdicts: Sequence[Mapping[str, Any]]) -> str:
    if not verdicts:
        return ""
    groups = (
        ("Session gates", [v for v in verdicts if v.get("scope") == "session"]),
        ("Test thresholds", [v for v in verdicts if v.get("scope") != "session"]),
    )
    rows = []
    for name, members in groups:
        if not members:
            continue
        met = sum(1 for v in members if v.get("passed"))
        rows.append(
            f'<tr class="group"><th colspan="6">{name}: {met} of {len(members)} met</th></tr>'
        )
        for v in members:
            passed = bool(v.get("passed"))
            cls = "pass" if passed else "fail"
            badge = f'<span class="badge {cls}">{"PASS" if passed else "FAIL"}</span>'
            if v.get("weak"):
                cls += " weak"
                badge += f" {WEAK_BADGE}"
            scope = "session" if v.get("scope") == "session" else "test"
            test = str(v.get("test", "")) if scope == "test" else ""
            rows.append(
                f'<tr class="{cls}" data-scope="{scope}"><td>{badge}</td>'
                f'<td class="metric">{_e(v.get("metric", ""))}</td>'
                f"<td>{_e(v.get('threshold', ''))}</td>"
                f'<td class="num">{_e(_measured_text(v))}</td>'
                f'<td class="num">{_e(v.get("n", ""))}</td>'
                f'<td class="test">{_e(test)}</td></tr>'
            )
    head = _th("status", "metric", "threshold") + _th("measured", "n", num=True) + _th("test")
    return _table(head, rows)


def _comparison_section(comparison: Any) -> str:
    if not isinstance(comparison, Sequence) or isinstance(comparison, str) or not comparison:
        return ""
    rows = []
    regressions = 0
    for row in comparison:
        if not isinstance(row, Mapping):
            continue
        metric, stat = str(row.get("metric", "")), str(row.get("stat", ""))
        unit = _stat_unit(metric, stat)
        regressed = bool(row.get("regressed"))
        regressions += regressed
        if stat == "avg" and kind_of(metric) == "rate":
            stat = "rate"  # a rate is stored as the mean of its 0/1 outcomes
        change = _number(row.get("change_pct"))
        if change is None:  # from a zero baseline, or no figures
            same = row.get("current") == row.get("baseline")
            change_text = "no change" if same else "from 0"
        else:
            arrow = "▲" if change > 0 else "▼" if change < 0 else ""
            change_text = f"{arrow} {change:+.1f} %".strip()
        limit = row.get("limit")
        rows.append(
            f'<tr class="{"fail" if regressed else ""}">'
            f'<td class="metric">{_e(metric)}</td><td>{_e(stat)}</td>'
            f'<td class="num">{_e(_value_text(row.get("baseline"), unit))}</td>'
            f'<td class="num">{_e(_value_text(row.get("current"), unit))}</td>'
            f'<td class="num change">{_e(change_text)}</td>'
            f'<td class="num">{_e(limit if limit is not None else "–")}</td>'
            f"<td>{REGRESSED_BADGE if regressed else ''}</td></tr>"
        )
    summary = (
        f'<p class="fail-text">{regressions} regression(s) beyond their limit</p>'
        if regressions
        else '<p class="muted">No regression beyond a limit.</p>'
    )
    head = _th("metric", "stat") + _th("baseline", "current", "change", "limit", num=True) + _th("")
    return summary + _table(head, rows)


def _baseline_section(report: Mapping[str, Any]) -> str:
    """The distribution rows (shift, interval, p, verdict, both samples drawn), then
    the statistic rows."""
    found = report.get("baseline_comparison")
    shifts = found.get("shifts") if isinstance(found, Mapping) else None
    rows = [r for r in shifts or () if isinstance(r, Mapping)]
    statistics = _comparison_section(report.get("comparison"))
    if not rows:
        return statistics
    assert isinstance(found, Mapping)
    alpha = _number(found.get("alpha"))
    intro = (
        f'<p class="muted">{_e(found.get("baseline", ""))} Shift: Hodges–Lehmann estimate '
        "of this run minus the baseline, with its 95 % interval; p: one-sided Mann–Whitney "
        f"U, significant below {_e(_plain(alpha if alpha is not None else 0.01))}.</p>"
    )
    cards = [_shift_card(row) for row in rows]
    return intro + _shift_table(rows) + _grid([c for c in cards if c]) + statistics


def _shift_table(rows: Sequence[Mapping[str, Any]]) -> str:
    lines = []
    for row in rows:
        unit = str(row.get("unit") or unit_of(str(row.get("metric", ""))))
        regressed = bool(row.get("regressed"))
        shift, low, high = (_number(row.get(k)) for k in ("shift", "ci_low", "ci_high"))
        interval = (
            "–" if low is None or high is None else f"{_signed(low, unit)} to {_signed(high, unit)}"
        )
        p = _number(row.get("p"))
        lines.append(
            f'<tr class="{"fail" if regressed else ""}">'
            f'<td class="metric">{_e(row.get("metric", ""))}</td>'
            f'<td class="num">{_e(_value_text(row.get("baseline_median"), unit))}</td>'
            f'<td class="num">{_e(_value_text(row.get("current_median"), unit))}</td>'
            f'<td class="num">{_e("–" if shift is None else _signed(shift, unit))}</td>'
            f'<td class="num">{_e(interval)}</td>'
            f'<td class="num">{_e("–" if p is None else f"{p:.2g}")}</td>'
            f"<td>{_e(row.get('verdict', ''))}</td>"
            f'<td class="num">{_e(row.get("limit") or "–")}</td>'
            f"<td>{REGRESSED_BADGE if regressed else ''}</td></tr>"
        )
    head = (
        _th("metric")
        + _th("baseline med", "current med", "shift", "95 % interval", "p", num=True)
        + _th("verdict")
        + _th("limit", num=True)
        + _th("")
    )
    return _table(head, lines)


def _shift_card(row: Mapping[str, Any]) -> str:
    metric = str(row.get("metric", ""))
    old = [v for v in row.get("baseline_samples") or () if _number(v) is not None]
    new = [v for v in row.get("current_samples") or () if _number(v) is not None]
    if not old or not new:
        return ""
    note = f"{row.get('verdict', '')} · n {row.get('baseline_n', len(old))} → "
    note += f"{row.get('current_n', len(new))}"
    return _card(metric, note, _two_distributions(metric, old, new))


def _two_distributions(metric: str, old: Sequence[float], new: Sequence[float]) -> str:
    """The baseline's and this run's samples as two rows of dots (spread vertically
    by a fixed pattern so that equal values stay visible), each with its median."""
    unit = unit_of(metric)
    left, right, bottom, height = 78.0, W - 18.0, 130.0, 160.0
    lo, hi = min(min(old), min(new)), max(max(old), max(new))
    dlo, dhi, ticks = _nice_range(lo, hi, non_negative=lo >= 0)

    def scale(x: float) -> float:
        return left + (right - left) * (x - dlo) / (dhi - dlo)

    parts = []
    for name, values, colour, y in (
        ("baseline", old, BASELINE_COLOUR, 42.0),
        ("this run", new, CURRENT_COLOUR, 94.0),
    ):
        parts.append(f'<text x="{_f(left - 8)}" y="{_f(y + 4)}" text-anchor="end">{name}</text>')
        for i, value in enumerate(_subsample(values, MAX_DOTS)):
            dy = ((i * 7) % 11 - 5) * 3.0
            parts.append(
                f'<circle class="mark" cx="{_f(scale(value))}" cy="{_f(y + dy)}" r="2.5" '
                f'fill="{colour}" fill-opacity="0.55"/>'
            )
        median = percentile_of_sorted(sorted(values), 50)
        x = _f(scale(median))
        parts.append(
            f'<line x1="{x}" y1="{_f(y - 21)}" x2="{x}" y2="{_f(y + 21)}" stroke="#24292f" '
            f'stroke-width="2"><title>{_e(f"{name} median {format_value(median, unit)}")}'
            "</title></line>"
        )
    parts += _x_axis(ticks, scale, left, right, bottom, unit)
    title = f"{metric}: {len(old)} baseline and {len(new)} current samples ({unit})"
    return _svg(metric, title, height, parts)


def _signed(value: float, unit: str) -> str:
    return ("-" if value < 0 else "+") + format_value(abs(value), unit)


# -- evidence -----------------------------------------------------------------------


def _evidence_section(evidence: Any, folder: str | Path | None) -> str:
    """Per test that kept evidence: its files as links, its screenshot shown, the
    console and network lines."""
    entries = [e for e in evidence or () if isinstance(e, Mapping)]
    if not isinstance(evidence, list) or not entries:
        return ""
    blocks = []
    for number, entry in enumerate(entries):
        files = [f for f in entry.get("files") or () if isinstance(f, Mapping)]
        links = "".join(
            f'<li>{_e(f.get("what", ""))}: <a href="{_e(_href(str(f.get("path")), folder))}">'
            f"{_e(Path(str(f.get('path'))).name)}</a></li>"
            for f in files
        )
        shots = [f for f in files if str(f.get("path", "")).endswith(".png")]
        picture = ""
        if shots:
            path = str(shots[0].get("path"))
            source = _embedded(path) if number < MAX_SCREENSHOTS else None
            picture = (
                f'<img class="shot" loading="lazy" alt="screenshot of {_e(entry.get("test"))}" '
                f'src="{_e(source or _href(path, folder))}">'
            )
        text = [*(f"({n})" for n in entry.get("notes") or ()), *(entry.get("lines") or ())]
        lines = f"<pre>{_e(chr(10).join(str(t) for t in text))}</pre>" if text else ""
        blocks.append(
            f'<div class="card"><h3><span class="metric">{_e(entry.get("test", ""))}</span></h3>'
            f"<ul>{links}</ul>{lines}{picture}</div>"
        )
    return "\n".join(blocks)


def _href(path: str, folder: str | Path | None) -> str:
    """A link to ``path`` from a page in ``folder`` (relative when both are local)."""
    target = Path(path)
    if folder is not None:
        try:
            return Path(os.path.relpath(target.resolve(), Path(folder).resolve())).as_posix()
        except ValueError:  # another drive
            pass
    return target.resolve().as_uri()


def _embedded(path: str) -> str | None:
    """``path`` as a data: URI (None when it is missing or too large)."""
    try:
        target = Path(path)
        if target.stat().st_size > MAX_EMBEDDED_BYTES:
            return None
        data = target.read_bytes()
    except OSError:
        return None
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _value_text(value: Any, unit: str) -> str:
    number = _number(value)
    return "–" if number is None else format_value(number, unit)


# -- metric cards -------------------------------------------------------------------


def _card(metric: str, note: str, chart: str, extra: str = "") -> str:
    return (
        f'<div class="card"><h3><span class="metric">{_e(metric)}</span>'
        f' <span class="muted">{_e(note)}</span></h3>{extra}{chart}</div>'
    )


def _stats_chips(metric: str, stats: Mapping[str, float]) -> str:
    unit = unit_of(metric)
    if kind_of(metric) == "rate":
        shown = [("n", _plain(stats.get("n", 0)))]
        if "avg" in stats:
            shown.append(("rate", format_value(stats["avg"], "%")))
    else:
        shown = [("n", _plain(stats.get("n", 0)))]
        shown += [(s, format_value(stats[s], unit)) for s in STATS if s in stats]
    return (
        '<div class="stats">'
        + "".join(f"<span><i>{_e(k)}</i> {_e(v)}</span>" for k, v in shown)
        + "</div>"
    )


def _gate_chips(metric: str, verdicts: Sequence[Mapping[str, Any]]) -> str:
    mine = [v for v in verdicts if v.get("metric") == metric]
    if not mine:
        return ""
    chips = []
    for v in mine:
        if v.get("scope") == "session":
            cls = "pass" if v.get("passed") else "fail"
            mark = "✓" if v.get("passed") else "✗"
            chips.append(
                f'<span class="gate {cls}">{mark} gate {_e(v.get("threshold", ""))}</span>'
            )
    tests = [v for v in mine if v.get("scope") != "session"]
    if tests:
        met = sum(1 for v in tests if v.get("passed"))
        cls = "pass" if met == len(tests) else "fail"
        chips.append(f'<span class="gate {cls}">{met} of {len(tests)} test thresholds met</span>')
    return '<div class="gates">' + "".join(chips) + "</div>"


def _latency_section(
    ordered: Mapping[str, Sequence[float]],
    stats: Mapping[str, Mapping[str, float]],
    verdicts: Sequence[Mapping[str, Any]],
) -> str:
    cards = []
    latency = [m for m in stats if kind_of(m) == "latency" and not m.startswith(FAMILIES)]
    first = {m: i for i, m in enumerate((*BUILTIN_LATENCY, "fleet.startup"))}
    for metric in sorted(latency, key=lambda m: (first.get(m, len(first)), m)):
        values = ordered.get(metric, ())
        chart = _histogram(metric, values) if values else _no_samples()
        extra = _stats_chips(metric, stats[metric]) + _gate_chips(metric, verdicts)
        cards.append(_card(metric, unit_of(metric), chart, extra))
    return _grid(cards)


def _memory_section(
    by_metric: Mapping[str, Sequence[_Sample]], stats: Mapping[str, Mapping[str, float]], t0: float
) -> str:
    cards = []
    for metric in stats:
        if kind_of(metric) != "memory" or metric.startswith(FAMILIES):
            continue
        samples = by_metric.get(metric, ())
        if samples:
            chart, legend = _time_chart(metric, samples, t0)
        else:
            chart, legend = _no_samples(), ""
        cards.append(
            _card(
                metric,
                f"{unit_of(metric)} over time",
                chart + legend,
                _stats_chips(metric, stats[metric]),
            )
        )
    return _grid(cards)


def _stress_section(
    by_metric: Mapping[str, Sequence[_Sample]],
    ordered: Mapping[str, Sequence[float]],
    stats: Mapping[str, Mapping[str, float]],
) -> str:
    cards = []
    outcomes = by_metric.get("stress.success", ())
    if outcomes:
        chart = _outcome_bars("stress.success", outcomes)
        legend = _legend([("passed runs", PASS_COLOUR), ("failed runs", FAIL_COLOUR)])
        cards.append(
            _card(
                "stress.success",
                "runs per test",
                chart + legend,
                _stats_chips("stress.success", stats["stress.success"]),
            )
        )
    for metric in stats:
        if metric.startswith("stress.") and kind_of(metric) == "latency":
            values = ordered.get(metric, ())
            chart = _histogram(metric, values) if values else _no_samples()
            cards.append(
                _card(
                    metric, unit_of(metric) + " per run", chart, _stats_chips(metric, stats[metric])
                )
            )
    return _grid(cards)


def _recovery_section(
    by_metric: Mapping[str, Sequence[_Sample]],
    ordered: Mapping[str, Sequence[float]],
    stats: Mapping[str, Mapping[str, float]],
) -> str:
    """Fault by fault, how long recovery took and whether it worked; then the
    distributions of the other recovery timings (``recovery.navigation``)."""
    faults = [m for m in FAULTS if by_metric.get(m)]
    if not faults and by_metric.get("recovery.time"):
        faults = ["recovery.time"]
    outcome = _fault_outcomes(by_metric)
    cards = []
    for metric in faults:
        samples = by_metric[metric]
        known = [outcome[s] for s in samples if s in outcome]
        tally = f"recovered {sum(known)} of {len(known)}" if known else "outcomes not recorded"
        cls = "pass" if all(known) else "fail"
        extra = f'<div class="gates"><span class="gate {cls}">{tally}</span></div>'
        chart = _fault_dots(metric, samples, outcome)
        legend = _legend([("recovered", PASS_COLOUR), ("not recovered", FAIL_COLOUR)])
        note = f"ms to recover, {FAULTS.get(metric, 'faults')} in order"
        cards.append(
            _card(metric, note, chart + legend, _stats_chips(metric, stats[metric]) + extra)
        )
    for metric in stats:
        if (
            metric.startswith("recovery.")
            and kind_of(metric) == "latency"
            and metric not in FAULTS
            and metric not in faults
            and not (metric == "recovery.time" and faults)  # the faults' times together
        ):
            values = ordered.get(metric, ())
            chart = _histogram(metric, values) if values else _no_samples()
            cards.append(_card(metric, unit_of(metric), chart, _stats_chips(metric, stats[metric])))
    if not cards and "recovery.success" in stats:
        cards.append(
            _card(
                "recovery.success",
                "",
                "",
                _stats_chips("recovery.success", stats["recovery.success"]),
            )
        )
    return _grid(cards)


def _fault_outcomes(by_metric: Mapping[str, Sequence[_Sample]]) -> dict[_Sample, bool]:
    """Whether each fault recovered.

    Each fault records ``recovery.success`` then ``recovery.time`` and one of
    the fault metrics, so per test the n-th outcome in time order belongs to the
    n-th recovery time and to the n-th fault sample (either kind) in time order.
    """
    successes: dict[str, list[bool]] = defaultdict(list)
    for sample in by_metric.get("recovery.success", ()):
        successes[sample.test].append(bool(sample.value))
    outcome: dict[_Sample, bool] = {}
    for family in (("recovery.time",), tuple(FAULTS)):
        position: dict[str, int] = defaultdict(int)
        merged = sorted((s for m in family for s in by_metric.get(m, ())), key=lambda s: s.time)
        for sample in merged:
            index = position[sample.test]
            position[sample.test] += 1
            if index < len(successes[sample.test]):
                outcome[sample] = successes[sample.test][index]
    return outcome


def _leaks_section(
    by_metric: Mapping[str, Sequence[_Sample]], verdicts: Sequence[Mapping[str, Any]]
) -> str:
    metrics = [m for m in LEAKS if by_metric.get(m)]
    if not metrics:
        return ""
    missed = {
        (str(v.get("test")), str(v.get("metric")))
        for v in verdicts
        if not v.get("passed") and v.get("scope") != "session"
    }
    table: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for metric in metrics:
        for sample in by_metric[metric]:
            table[sample.test][metric].append(sample.value)
    head = _th("test") + "".join(
        f'<th class="num">{_e(m)} <span class="muted">{_e(unit_of(m))}</span></th>' for m in metrics
    )
    rows = []
    for test in sorted(table):
        cells = []
        for metric in metrics:
            values = table[test].get(metric, [])
            text = ", ".join(format_value(v, unit_of(metric)) for v in values[:5]) or "–"
            if len(values) > 5:
                text += f" (+{len(values) - 5})"
            cls = "num fail-text" if (test, metric) in missed else "num"
            cells.append(f'<td class="{cls}">{_e(text)}</td>')
        rows.append(f'<tr><td class="test">{_e(test)}</td>{"".join(cells)}</tr>')
    return (
        '<p class="muted">Growth per run after forced garbage collection '
        "(the slope over the measured runs); red: a threshold missed.</p>" + _table(head, rows)
    )


def _metrics_section(stats: Mapping[str, Mapping[str, float]]) -> str:
    if not stats:
        return ""
    head = _th("metric", "kind") + _th("n", *STATS, num=True)
    rows = []
    for metric, row in stats.items():
        unit = unit_of(metric)
        if kind_of(metric) == "rate":
            rate = row.get("avg")
            text = f"rate {_value_text(rate, '%')}"
            cells = f'<td class="num" colspan="{len(STATS)}">{_e(text)}</td>'
        else:
            cells = "".join(
                f'<td class="num">{_e(_value_text(row.get(s), unit))}</td>' for s in STATS
            )
        rows.append(
            f'<tr><td class="metric">{_e(metric)}</td><td>{_e(kind_of(metric))}</td>'
            f'<td class="num">{_e(_plain(row.get("n", 0)))}</td>{cells}</tr>'
        )
    return _table(head, rows)


def _th(*names: str, num: bool = False) -> str:
    cls = ' class="num"' if num else ""
    return "".join(f"<th{cls}>{_e(name)}</th>" for name in names)


def _table(head: str, rows: Iterable[str]) -> str:
    """A table that scrolls sideways on narrow screens instead of squeezing its columns."""
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _grid(cards: Sequence[str]) -> str:
    return f'<div class="grid">{"".join(cards)}</div>' if cards else ""


def _legend(entries: Iterable[tuple[str, str]]) -> str:
    return (
        '<div class="legend">'
        + "".join(
            f'<span><i style="background:{colour}"></i>{_e(name)}</span>'
            for name, colour in entries
        )
        + "</div>"
    )


def _no_samples() -> str:
    return '<p class="muted">No samples in this report.</p>'


# -- charts -----------------------------------------------------------------------


def _svg(metric: str, title: str, height: float, body: Iterable[str]) -> str:
    return (
        f'<svg class="chart" data-metric="{_e(metric)}" viewBox="0 0 {W} {_f(height)}" '
        f'width="100%" role="img"><title>{_e(title)}</title>{"".join(body)}</svg>'
    )


def _histogram(metric: str, values: Sequence[float]) -> str:
    """Sample counts per bin of the (sorted) ``values``, with p50 / p95 / p99 lines.

    Bins are linear and line up with the axis ticks, or logarithmic when the
    samples span more than a factor of 20; identical samples make one bar.
    """
    unit = unit_of(metric)
    n = len(values)
    lo, hi = values[0], values[-1]
    left, right, top, bottom, height = 48.0, W - 18.0, 52.0, 196.0, 226.0
    target = min(50, max(10, round(1.5 * math.sqrt(n))))
    log = lo > 0 and hi / lo >= 20
    if log:
        llo, lhi = math.log10(lo), math.log10(hi)
        bins = target
        edges = [10 ** (llo + (lhi - llo) * i / bins) for i in range(bins + 1)]
        ticks = _log_ticks(lo, hi)

        def scale(x: float) -> float:
            return left + (right - left) * (math.log10(x) - llo) / (lhi - llo)

        def index(x: float) -> int:
            return int((math.log10(x) - llo) / (lhi - llo) * bins)

    else:
        dlo, dhi, ticks = _nice_range(lo, hi, non_negative=lo >= 0)
        if hi == lo:  # one bar, centred on the value
            half = (dhi - dlo) / 40
            bins, edges = 1, [lo - half, lo + half]
        else:
            steps = max(1, len(ticks) - 1)
            bins = steps * min((1, 2, 4, 5, 10, 20), key=lambda m: abs(steps * m - target))
            edges = [dlo + (dhi - dlo) * i / bins for i in range(bins + 1)]

        def scale(x: float) -> float:
            return left + (right - left) * (x - dlo) / (dhi - dlo)

        def index(x: float) -> int:
            return int((x - edges[0]) / (edges[-1] - edges[0]) * bins)

    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, max(0, index(value)))] += 1
    _, top_count, count_ticks = _nice_range(0, max(counts), non_negative=True, integer=True)

    def y_of(count: float) -> float:
        return bottom - (bottom - top) * count / top_count

    parts = _y_grid(count_ticks, y_of, left, right, _tick_text)
    parts += _bars(counts, edges, scale, y_of, bottom, unit)
    parts += _x_axis(ticks, scale, left, right, bottom, unit + (" (log scale)" if log else ""))
    parts += _markers(values, scale, unit, right, top, bottom)
    title = f"{metric}: distribution of {n} sample{'s' if n != 1 else ''} ({unit})"
    return _svg(metric, title, height, parts)


def _bars(
    counts: Sequence[int],
    edges: Sequence[float],
    scale: Callable[[float], float],
    y_of: Callable[[float], float],
    bottom: float,
    unit: str,
) -> list[str]:
    """One bar per non-empty bin, its range and count in its tooltip."""
    parts = []
    for i, count in enumerate(counts):
        if not count:
            continue
        x0, x1 = scale(edges[i]), scale(edges[i + 1])
        y = min(y_of(count), bottom - 1.5)
        label = f"{format_value(edges[i], unit)} – {format_value(edges[i + 1], unit)}: {count}"
        parts.append(
            f'<rect class="mark" x="{_f(x0 + 0.5)}" y="{_f(y)}" '
            f'width="{_f(max(1.0, x1 - x0 - 1))}" height="{_f(bottom - y)}" '
            f'fill="{BAR_COLOUR}"><title>{_e(label)}</title></rect>'
        )
    return parts


def _markers(
    values: Sequence[float],
    scale: Callable[[float], float],
    unit: str,
    right: float,
    top: float,
    bottom: float,
) -> list[str]:
    """Percentile lines; their labels go in rows above the plot so that they never overlap.

    Percentiles with the same value share one line and one label.
    """
    merged: dict[str, tuple[list[str], float, str]] = {}
    for name, q, colour in MARKERS:
        value = percentile_of_sorted(values, q)
        text = format_value(value, unit)
        if text in merged:
            merged[text][0].append(name)
            merged[text] = (merged[text][0], value, colour)
        else:
            merged[text] = ([name], value, colour)
    rows: list[list[tuple[float, float]]] = [[], [], []]
    lines, labels = [], []
    for text, (names, value, colour) in merged.items():
        x = scale(value)
        label = f"{' · '.join(names)} {text}"
        width = len(label) * 6.8
        if x + 3 + width > right:
            start, anchor, tx = x - 3 - width, "end", x - 3
        else:
            start, anchor, tx = x + 3, "start", x + 3
        row = next(
            (
                i
                for i, used in enumerate(rows)
                if all(start > b + 8 or start + width < a - 8 for a, b in used)
            ),
            len(rows) - 1,
        )
        rows[row].append((start, start + width))
        ty = top - 8 - row * 14
        lines.append(
            f'<line x1="{_f(x)}" y1="{_f(bottom)}" x2="{_f(x)}" y2="{_f(ty - 9)}" '
            f'stroke="{colour}" stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
        labels.append(
            f'<text x="{_f(tx)}" y="{_f(ty)}" text-anchor="{anchor}" fill="{colour}" '
            f'class="marker">{_e(label)}</text>'
        )
    return lines + labels


def _time_chart(metric: str, samples: Sequence[_Sample], t0: float) -> tuple[str, str]:
    """Value against seconds since the first sample of the report, one series per test."""
    unit = unit_of(metric)
    left, right, top, bottom, height = 52.0, W - 18.0, 22.0, 206.0, 236.0
    xs = [s.time - t0 for s in samples]
    ys = [s.value for s in samples]
    _, xmax, xticks = _nice_range(0, max(max(xs), 0.0), non_negative=True)
    ylo, yhi, yticks = _nice_range(min(ys), max(ys), non_negative=min(ys) >= 0)

    def sx(x: float) -> float:
        return left + (right - left) * x / xmax

    def sy(y: float) -> float:
        return bottom - (bottom - top) * (y - ylo) / (yhi - ylo)

    series: dict[str, list[_Sample]] = defaultdict(list)
    for sample in samples:
        series[sample.test].append(sample)
    order = sorted(series, key=lambda t: series[t][0].time)
    colours = {t: PALETTE[i] if i < MAX_SERIES else OTHER_COLOUR for i, t in enumerate(order)}
    line_share = MAX_POINTS / len(samples)
    dot_share = MAX_DOTS / len(samples)

    parts = _y_grid(yticks, sy, left, right, _tick_text)
    parts.append(f'<text x="{_f(left - 6)}" y="{_f(top - 10)}" text-anchor="end">{_e(unit)}</text>')
    parts += _x_axis(xticks, sx, left, right, bottom, "s since the first sample")
    for test in reversed(order):  # the first series on top
        points = series[test]
        colour = colours[test]
        name = _e(f"{test} ({points[0].worker})" if points[0].worker else test)
        if len(points) > 1:
            shown = _subsample(points, max(2, math.floor(len(points) * line_share)))
            coords = " ".join(f"{_f(sx(s.time - t0))},{_f(sy(s.value))}" for s in shown)
            parts.append(
                f'<polyline class="mark" points="{coords}" fill="none" stroke="{colour}" '
                f'stroke-width="1.5" stroke-linejoin="round"><title>{name}</title></polyline>'
            )
        radius = "2.5" if len(points) > 1 else "4"
        for s in _subsample(points, max(1, math.floor(len(points) * dot_share))):
            parts.append(
                f'<circle class="mark" cx="{_f(sx(s.time - t0))}" cy="{_f(sy(s.value))}" '
                f'r="{radius}" fill="{colour}"/>'
            )
    title = f"{metric} over time ({unit}), {len(order)} test{'s' if len(order) != 1 else ''}"
    entries = [(f"{t}", colours[t]) for t in order[:MAX_SERIES]]
    if len(order) > MAX_SERIES:
        entries.append((f"{len(order) - MAX_SERIES} more tests", OTHER_COLOUR))
    return _svg(metric, title, height, parts), _legend(entries)


def _outcome_bars(metric: str, samples: Sequence[_Sample]) -> str:
    """Per test, passed and failed runs as one bar split by share."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for sample in samples:
        tally[sample.test][0 if sample.value else 1] += 1
    tests = sorted(tally, key=lambda t: (-tally[t][1], t))
    shown = tests[:MAX_BARS]
    left, right, row = 10.0, W - 10.0, 40.0
    height = 10 + row * len(shown) + (18 if len(tests) > len(shown) else 0)
    parts = []
    for i, test in enumerate(shown):
        passed, failed = tally[test]
        total = passed + failed
        y = 10 + i * row
        summary = f"{passed} of {total} passed · {format_value(passed / total, '%')}"
        parts.append(
            f'<text x="{_f(left)}" y="{_f(y + 11)}">{_e(_shorten(test, 62))}</text>'
            f'<text x="{_f(right)}" y="{_f(y + 11)}" text-anchor="end" class="strong">'
            f"{_e(summary)}</text>"
        )
        split = left + (right - left) * passed / total
        for x0, x1, colour, what in (
            (left, split, PASS_COLOUR, f"{passed} passed"),
            (split, right, FAIL_COLOUR, f"{failed} failed"),
        ):
            if x1 - x0 > 0:
                parts.append(
                    f'<rect class="mark" x="{_f(x0)}" y="{_f(y + 17)}" '
                    f'width="{_f(max(1.5, x1 - x0))}" height="14" fill="{colour}">'
                    f"<title>{_e(test)}: {_e(what)}</title></rect>"
                )
    if len(tests) > len(shown):
        more = f"… and {len(tests) - len(shown)} more tests"
        parts.append(f'<text x="{_f(left)}" y="{_f(height - 6)}">{_e(more)}</text>')
    title = f"{metric}: passed and failed runs per test"
    return _svg(metric, title, height, parts)


def _fault_dots(metric: str, samples: Sequence[_Sample], outcome: Mapping[_Sample, bool]) -> str:
    """Each fault's recovery time in order, green when it recovered, red when not."""
    left, right, top, bottom, height = 52.0, W - 18.0, 22.0, 196.0, 226.0
    shown = _subsample(list(enumerate(samples, 1)), MAX_DOTS)
    count = len(samples)
    xticks = [t for t in _nice_range(1, count, integer=True)[2] if 1 <= t <= count]
    _, ymax, yticks = _nice_range(0, max(s.value for s in samples), non_negative=True)

    def sx(x: float) -> float:
        return left + (right - left) * (x - 0.5) / count

    def sy(y: float) -> float:
        return bottom - (bottom - top) * y / ymax

    parts = _y_grid(yticks, sy, left, right, _tick_text)
    parts.append(f'<text x="{_f(left - 6)}" y="{_f(top - 10)}" text-anchor="end">ms</text>')
    parts += _x_axis(xticks, sx, left, right, bottom, "fault #")
    radius = 5.0 if count <= 100 else 3.0
    for number, sample in shown:
        ok = outcome.get(sample)
        colour = UNKNOWN_COLOUR if ok is None else PASS_COLOUR if ok else FAIL_COLOUR
        state = "outcome unknown" if ok is None else "recovered" if ok else "not recovered"
        label = f"#{number} {sample.test}: {format_value(sample.value, 'ms')}, {state}"
        parts.append(
            f'<circle class="mark" cx="{_f(sx(number))}" cy="{_f(sy(sample.value))}" '
            f'r="{_f(radius + (1 if ok is False else 0))}" fill="{colour}" stroke="#fff" '
            f'stroke-width="1"><title>{_e(label)}</title></circle>'
        )
    title = f"{metric}: recovery time per fault (ms), coloured by outcome"
    return _svg(metric, title, height, parts)


def _y_grid(
    ticks: Sequence[float],
    scale: Callable[[float], float],
    left: float,
    right: float,
    text: Callable[[float], str],
) -> list[str]:
    parts = []
    for tick in ticks:
        y = scale(tick)
        parts.append(
            f'<line x1="{_f(left)}" y1="{_f(y)}" x2="{_f(right)}" y2="{_f(y)}" class="grid"/>'
            f'<text x="{_f(left - 6)}" y="{_f(y + 4)}" text-anchor="end">{_e(text(tick))}</text>'
        )
    return parts


def _x_axis(
    ticks: Sequence[float],
    scale: Callable[[float], float],
    left: float,
    right: float,
    bottom: float,
    label: str,
) -> list[str]:
    y = _f(bottom)
    parts = [f'<line x1="{_f(left)}" y1="{y}" x2="{_f(right)}" y2="{y}" class="axis"/>']
    for tick in ticks:
        x = _f(scale(tick))
        parts.append(
            f'<line x1="{x}" y1="{y}" x2="{x}" y2="{_f(bottom + 4)}" class="axis"/>'
            f'<text x="{x}" y="{_f(bottom + 16)}" text-anchor="middle">'
            f"{_e(_tick_text(tick))}</text>"
        )
    parts.append(
        f'<text x="{_f(right)}" y="{_f(bottom + 29)}" text-anchor="end" class="muted">'
        f"{_e(label)}</text>"
    )
    return parts


# -- numbers ----------------------------------------------------------------------


def _nice_range(
    lo: float, hi: float, *, non_negative: bool = False, integer: bool = False, target: int = 5
) -> tuple[float, float, list[float]]:
    """A domain covering ``lo..hi`` with round tick values at its ends and between."""
    if hi - lo <= abs(hi) * 1e-9 or hi - lo <= 1e-12:
        pad = abs(lo) * 0.2 or 1.0
        lo, hi = lo - pad, hi + pad
        if non_negative:
            lo = max(lo, 0.0)
    raw = (hi - lo) / target
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in steps if raw <= m * magnitude * 1.0000001)
    if integer:
        step = max(1.0, step)
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    ticks = [float(f"{k * step:.12g}") for k in range(first, last + 1)]
    return ticks[0], ticks[-1], ticks


def _log_ticks(lo: float, hi: float) -> list[float]:
    """1-2-5 ticks between ``lo`` and ``hi`` (only the powers of ten when those are many)."""
    ticks = []
    for exponent in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5):
            tick = float(f"{m * 10.0**exponent:.12g}")
            if lo <= tick <= hi:
                ticks.append(tick)
    if len(ticks) > 9:
        ticks = [t for t in ticks if f"{t:.12g}".lstrip("0.").startswith("1")]
    return ticks


def _tick_text(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


def _subsample(items: Sequence[T], limit: int) -> Sequence[T]:
    """At most ``limit`` items, evenly spaced, the first and the last kept."""
    if len(items) <= limit:
        return items
    if limit <= 1:
        return [items[0]]
    step = (len(items) - 1) / (limit - 1)
    return [items[round(i * step)] for i in range(limit)]


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def _f(number: float) -> str:
    text = f"{number:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


CSS = """
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#f6f8fa;--pass:#1a7f37;--fail:#cf222e;
--pass-bg:#dafbe1;--fail-bg:#ffebe9;--weak:#9a6700;--weak-bg:#fff8c5}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.banner{color:#fff;padding:18px 28px}
.banner.pass{background:var(--pass)}
.banner.fail{background:var(--fail)}
.verdict{display:flex;align-items:baseline;gap:18px;flex-wrap:wrap}
.verdict .word{font-size:40px;font-weight:800;letter-spacing:.04em}
.verdict .detail{font-size:18px;opacity:.95}
.missed{margin:8px 0 0;padding-left:20px;font:13px/1.5 ui-monospace,SFMono-Regular,Menlo,monospace}
.facts{max-width:1280px;margin:0 auto;padding:14px 28px 0;display:flex;flex-wrap:wrap;gap:6px 18px;
align-items:baseline;color:var(--muted)}
.facts h1{font-size:16px;margin:0;color:var(--fg)}
.note{color:var(--weak);background:var(--weak-bg);border-radius:4px;padding:0 6px}
.chips{flex-basis:100%;display:flex;flex-wrap:wrap;gap:6px}
.chip{background:#fff;border:1px solid var(--line);border-radius:12px;padding:1px 10px;
color:var(--fg)}
nav{max-width:1280px;margin:10px auto 0;padding:0 28px;display:flex;gap:14px;flex-wrap:wrap}
nav a{color:#0969da;text-decoration:none}
main{max-width:1280px;margin:0 auto;padding:0 28px 20px}
section{margin-top:22px}
h2{font-size:20px;margin:0 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:0 0 6px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:16px;
align-items:start}
@media (max-width:560px){.grid{grid-template-columns:1fr}main,.facts,nav{padding:0 10px}}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 14px;min-width:0}
.metric{font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
.muted{color:var(--muted);font-weight:normal}
.stats{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:13px;margin-bottom:4px}
.stats i{font-style:normal;color:var(--muted)}
.gates{display:flex;flex-wrap:wrap;gap:6px;margin:4px 0;font-size:12px}
.gate{border-radius:4px;padding:0 6px}
.gate.pass{background:var(--pass-bg);color:var(--pass)}
.gate.fail{background:var(--fail-bg);color:var(--fail);font-weight:600}
svg.chart{display:block;width:100%;height:auto;overflow:visible}
svg.chart text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#57606a}
svg.chart text.marker{font-weight:600;stroke:#fff;stroke-width:3px;paint-order:stroke}
svg.chart text.strong{fill:var(--fg);font-weight:600}
svg.chart .grid{stroke:#eaeef2;stroke-width:1}
svg.chart .axis{stroke:#8c959f;stroke-width:1}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;color:var(--muted);margin-top:4px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px}
.legend span{overflow-wrap:anywhere}
.scroll{overflow-x:auto}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line);
font-size:13px}
th,td{text-align:left;padding:5px 10px;border-bottom:1px solid #eaeef2;vertical-align:top}
thead th{background:#f6f8fa;color:var(--muted);font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.test{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;min-width:18em;
overflow-wrap:anywhere}
td,th{white-space:nowrap}
td.test,.missed{white-space:normal}
tr.group th{background:#f6f8fa;color:var(--fg)}
tr.fail td{background:var(--fail-bg)}
tr.fail td:first-child{box-shadow:inset 4px 0 var(--fail)}
tr.weak td:first-child{box-shadow:inset 4px 0 #d4a72c}
tr.fail.weak td:first-child{box-shadow:inset 4px 0 var(--fail)}
img.shot{display:block;max-width:100%;border:1px solid var(--line);margin-top:8px}
pre{white-space:pre-wrap;font-size:12px;margin:6px 0}
.badge{display:inline-block;border-radius:4px;padding:0 6px;font-size:11px;font-weight:700}
.badge.pass{background:var(--pass-bg);color:var(--pass)}
.badge.fail{background:var(--fail);color:#fff}
.badge.weak{background:var(--weak-bg);color:var(--weak)}
tr.fail .change,.fail-text{color:var(--fail);font-weight:600}
footer{max-width:1280px;margin:0 auto;padding:10px 28px 24px;color:var(--muted);font-size:12px}
"""
