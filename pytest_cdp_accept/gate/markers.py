"""The gate: what each marker asks for, and whether the samples meet it.

Markers are plain functions in one table (as in pytest-memray): each takes
the marker's arguments and returns a :class:`GateSpec` (thresholds plus the
settings the plugin needs to set the test up), or raises
:class:`~pytest_cdp_accept.thresholds.ThresholdSyntaxError` naming the keyword
and the fragment. Nothing here knows pytest or CDP.
The metric catalogue (names, kinds, units) lives in :mod:`pytest_cdp_accept.metrics`.
"""

from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..metrics import (
    BUILTIN_LATENCY,
    METRIC_KINDS,
    FleetRequest,
    LeaksRequest,
    LoopRequest,
    RecoveryRequest,
    StressRequest,
)
from .thresholds import (
    ACCEPTANCE_PRESET,
    Threshold,
    ThresholdSyntaxError,
    Verdict,
    evaluate,
    parse_gates,
    parse_thresholds,
)


@dataclass(frozen=True)
class GateSpec:
    """What one marker asks of a test."""

    thresholds: tuple[Threshold, ...] = ()
    memory: frozenset[str] = frozenset()
    """Which memory figures to measure: any of idle, peak, js_heap."""
    fleet: FleetRequest | None = None
    stress: StressRequest | None = None
    recovery: RecoveryRequest | None = None
    leaks: LeaksRequest | None = None

    @property
    def loop(self) -> str | None:
        """Which runner takes over the test body, if any."""
        for name in ("stress", "recovery", "leaks"):
            if getattr(self, name) is not None:
                return name
        return None

    @property
    def loop_request(self) -> LoopRequest | None:
        """What the runner that takes over the body is asked to do, if any."""
        return self.stress or self.recovery or self.leaks

    def merge(self, other: GateSpec) -> GateSpec:
        merged = GateSpec(
            self.thresholds + other.thresholds,
            self.memory | other.memory,
            other.fleet or self.fleet,
            other.stress or self.stress,
            other.recovery or self.recovery,
            other.leaks or self.leaks,
        )
        loops = [n for n in ("stress", "recovery", "leaks") if getattr(merged, n) is not None]
        if len(loops) > 1:
            raise ThresholdSyntaxError(
                f"cdp_{loops[0]} and cdp_{loops[1]} both run the body in a loop of their "
                "own; put them on separate tests"
            )
        return merged


def _no_positional(marker: str, args: Sequence[Any]) -> None:
    if args:
        raise ThresholdSyntaxError(
            f'{marker} takes keyword arguments only (metric="threshold"), got {args!r}'
        )


def _unknown(marker: str, kwargs: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ThresholdSyntaxError(
            f"{marker}: unknown keyword {unknown[0]!r}; allowed: {', '.join(allowed)}"
        )


def _positive_int(marker: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ThresholdSyntaxError(f"{marker}: {name}={value!r} must be a whole number >= 1")
    return value


def latency_marker(args: Sequence[Any], kwargs: Mapping[str, Any]) -> GateSpec:
    """``cdp_latency(navigation="p95<500ms", checkout="p99<800ms", ...)``."""
    _no_positional("cdp_latency", args)
    if not kwargs:
        raise ThresholdSyntaxError(
            'cdp_latency needs at least one metric=threshold, e.g. navigation="p95<500ms"'
        )
    thresholds: list[Threshold] = []
    for metric, spec in kwargs.items():
        _not_a_misspelling(metric)
        thresholds += parse_thresholds(metric, spec, "latency")
    return GateSpec(tuple(thresholds))


def _not_a_misspelling(metric: str) -> None:
    """A keyword that is not a built-in latency metric names the test's own metric
    (``cdp_metrics.timer``); one this close to a built-in name is taken for a typo."""
    if metric in BUILTIN_LATENCY:
        return
    close = difflib.get_close_matches(metric, BUILTIN_LATENCY, n=1, cutoff=0.8)
    if close:
        raise ThresholdSyntaxError(
            f"cdp_latency: unknown metric {metric!r}; did you mean {close[0]!r}? "
            f"(the built-in ones are {', '.join(BUILTIN_LATENCY)}; a metric of your own "
            "needs a name that is not this close to one of them)"
        )


def memory_marker(args: Sequence[Any], kwargs: Mapping[str, Any]) -> GateSpec:
    """``cdp_memory(idle="<500MB", peak="<800MB", js_heap="<50MB")``."""
    _no_positional("cdp_memory", args)
    allowed = ("idle", "peak", "js_heap")
    _unknown("cdp_memory", kwargs, allowed)
    if not kwargs:
        raise ThresholdSyntaxError(f"cdp_memory needs one of {', '.join(allowed)}")
    thresholds: list[Threshold] = []
    for name, spec in kwargs.items():
        thresholds += parse_thresholds(f"memory.{name}", spec, "memory")
    return GateSpec(tuple(thresholds), memory=frozenset(kwargs))


def concurrency_marker(args: Sequence[Any], kwargs: Mapping[str, Any]) -> GateSpec:
    """``cdp_concurrency(browsers=10, pages=50, within="30s")``: used with ``cdp_fleet``."""
    _no_positional("cdp_concurrency", args)
    _unknown("cdp_concurrency", kwargs, ("browsers", "pages", "within"))
    browsers = _positive_int("cdp_concurrency", "browsers", kwargs.get("browsers", 1))
    pages = _positive_int("cdp_concurrency", "pages", kwargs.get("pages", browsers))
    if pages < browsers:
        raise ThresholdSyntaxError(
            f"cdp_concurrency: pages={pages} is fewer than browsers={browsers}; "
            "every browser gets at least one page"
        )
    thresholds = [
        parse_thresholds("fleet.browsers", f"value>={browsers}", "count")[0],
        parse_thresholds("fleet.pages", f"value>={pages}", "count")[0],
    ]
    within_ms = None
    if "within" in kwargs:
        within = parse_thresholds("fleet.startup", kwargs["within"], "latency")
        if len(within) != 1 or within[0].op not in ("<", "<="):
            raise ThresholdSyntaxError(
                f'cdp_concurrency: within={kwargs["within"]!r} must be one time limit like "30s"'
            )
        within_ms = within[0].value
        thresholds.append(replace(within[0], stat="max"))
    return GateSpec(tuple(thresholds), fleet=FleetRequest(browsers, pages, within_ms))


def _duration_ms(marker: str, name: str, value: Any) -> float:
    parsed = parse_thresholds(f"{marker}.{name}", value, "latency")
    if len(parsed) != 1 or parsed[0].op not in ("<", "<="):
        raise ThresholdSyntaxError(f'{marker}: {name}={value!r} must be one time like "5s"')
    return parsed[0].value


def stress_marker(args: Sequence[Any], kwargs: Mapping[str, Any]) -> GateSpec:
    """``cdp_stress(runs=200, concurrency=10, success=">=95%", duration=None)``."""
    _no_positional("cdp_stress", args)
    _unknown("cdp_stress", kwargs, ("runs", "concurrency", "success", "duration"))
    runs = _positive_int("cdp_stress", "runs", kwargs.get("runs", 100))
    concurrency = _positive_int("cdp_stress", "concurrency", kwargs.get("concurrency", 1))
    duration = kwargs.get("duration")
    duration_s = (
        None if duration is None else _duration_ms("cdp_stress", "duration", duration) / 1000
    )
    thresholds = parse_thresholds("stress.success", kwargs.get("success", ">=95%"), "rate")
    return GateSpec(
        tuple(thresholds), stress=StressRequest(runs, min(concurrency, runs), duration_s)
    )


def recovery_marker(args: Sequence[Any], kwargs: Mapping[str, Any]) -> GateSpec:
    """``cdp_recovery(crashes=10, kind="mixed", success=">=80%", within="5s")``."""
    _no_positional("cdp_recovery", args)
    _unknown("cdp_recovery", kwargs, ("crashes", "kind", "success", "within"))
    crashes = _positive_int("cdp_recovery", "crashes", kwargs.get("crashes", 5))
    kind = kwargs.get("kind", "mixed")
    if kind not in ("renderer", "browser", "mixed"):
        raise ThresholdSyntaxError(
            f"cdp_recovery: kind={kind!r}; allowed: renderer, browser, mixed"
        )
    within_ms = _duration_ms("cdp_recovery", "within", kwargs.get("within", "5s"))
    thresholds = parse_thresholds("recovery.success", kwargs.get("success", ">=80%"), "rate")
    return GateSpec(tuple(thresholds), recovery=RecoveryRequest(crashes, kind, within_ms))


def leaks_marker(args: Sequence[Any], kwargs: Mapping[str, Any]) -> GateSpec:
    """``cdp_leaks(runs=20, warmup=3, js_heap="<64KB/run", dom_nodes="<5/run")``."""
    _no_positional("cdp_leaks", args)
    _unknown("cdp_leaks", kwargs, ("runs", "warmup", "js_heap", "dom_nodes", "python"))
    runs = _positive_int("cdp_leaks", "runs", kwargs.get("runs", 20))
    warmup = kwargs.get("warmup", 3)
    if isinstance(warmup, bool) or not isinstance(warmup, int) or not 0 <= warmup <= runs - 3:
        raise ThresholdSyntaxError(
            f"cdp_leaks: warmup={warmup!r} must be a whole number from 0 to runs-3 "
            f"({runs - 3}): the slope needs at least 3 runs after the warm-up"
        )
    thresholds = parse_thresholds("leaks.js_heap", kwargs.get("js_heap", "<64KB/run"), "growth")
    if "dom_nodes" in kwargs:
        thresholds += parse_thresholds("leaks.dom_nodes", kwargs["dom_nodes"], "growth")
    python = "python" in kwargs
    if python:
        if importlib.util.find_spec("memray") is None:
            raise ThresholdSyntaxError(
                "cdp_leaks(python=...) needs memray, which is not installed: "
                "pip install 'pytest-cdp-accept[memray]' (or remove python=)"
            )
        thresholds += parse_thresholds("leaks.python", kwargs["python"], "memory")
    return GateSpec(tuple(thresholds), leaks=LeaksRequest(runs, warmup, python))


MARKERS: dict[str, Callable[[Sequence[Any], Mapping[str, Any]], GateSpec]] = {
    "cdp_latency": latency_marker,
    "cdp_memory": memory_marker,
    "cdp_concurrency": concurrency_marker,
    "cdp_stress": stress_marker,
    "cdp_recovery": recovery_marker,
    "cdp_leaks": leaks_marker,
}

MARKER_HELP = {
    "cdp_latency": 'cdp_latency(navigation="p95<500ms", action="p95<200ms", <your metric>=...): '
    "latency thresholds (ms) on built-in and recorded metrics",
    "cdp_memory": 'cdp_memory(idle="<500MB", peak="<800MB", js_heap="<50MB"): browser '
    "process-tree PSS after the body settles / sampled peak, per-page JS heap",
    "cdp_concurrency": 'cdp_concurrency(browsers=10, pages=50, within="30s"): bring up the '
    "cdp_fleet completely and in time, healthy through the body",
    "cdp_stress": 'cdp_stress(runs=200, concurrency=10, success=">=95%", duration=None): run the '
    "body many times, each on its own page; pass iff the success rate holds",
    "cdp_recovery": 'cdp_recovery(crashes=10, kind="mixed", success=">=80%", within="5s"): '
    "inject renderer crashes / browser kills; the body must pass again after each",
    "cdp_leaks": 'cdp_leaks(runs=20, warmup=3, js_heap="<64KB/run", dom_nodes="<5/run", '
    'python="<1MB"): growth per run after forced GC (least-squares slope); Python side '
    "via memray",
}


def spec_for(markers: Sequence[tuple[str, Sequence[Any], Mapping[str, Any]]]) -> GateSpec:
    """Merge the gate specs of a test's markers (name, args, kwargs)."""
    spec = GateSpec()
    for name, args, kwargs in markers:
        spec = spec.merge(MARKERS[name](args, kwargs))
    return spec


NO_LAUNCH = "n/a: no browser launch in this test (the pooled browser was already up)"


def judge(
    thresholds: Sequence[Threshold],
    samples: Mapping[str, Sequence[float]],
    factor: float = 1.0,
    unmeasured: Mapping[str, str] | None = None,
) -> list[Verdict]:
    """Evaluate thresholds (time limits scaled by ``factor``) against samples by metric.

    A metric without samples fails, with the reason from ``unmeasured`` when one is
    known (a remote browser has no PSS; a test without cdp fixtures measured nothing).
    """
    verdicts = []
    for threshold in thresholds:
        verdict = evaluate(threshold.scaled(factor), samples.get(threshold.metric, ()))
        if verdict.n == 0 and unmeasured and threshold.metric in unmeasured:
            verdict = replace(verdict, note=unmeasured[threshold.metric])
        verdicts.append(verdict)
    return verdicts


def judge_test(
    thresholds: Sequence[Threshold],
    samples: Mapping[str, Sequence[float]],
    factor: float = 1.0,
    unmeasured: Mapping[str, str] | None = None,
) -> list[Verdict]:
    """:func:`judge` for one test: ``startup`` counts the launches the test caused or
    waited for, and a test served by a browser that was already up caused none. Its
    ``startup`` thresholds then pass as not applicable instead of failing for lack
    of samples (which only the first test of a pool would escape)."""
    verdicts = judge(thresholds, samples, factor, unmeasured)
    return [
        replace(v, passed=True, note=NO_LAUNCH)
        if v.n == 0 and v.threshold.metric == "startup" and not v.note
        else v
        for v in verdicts
    ]


def session_gates(ini_text: str | None, preset: str | None) -> list[Threshold]:
    """The run's gates: ini ``cdp_gates`` lines plus ``--cdp-preset``."""
    gates: list[Threshold] = []
    if preset:
        if preset != "acceptance":
            raise ThresholdSyntaxError(f"--cdp-preset {preset!r}: the only preset is 'acceptance'")
        for metric, text, kind in ACCEPTANCE_PRESET:
            gates += parse_thresholds(metric, text, kind)
    if ini_text:
        gates += parse_gates(ini_text, METRIC_KINDS)
    return gates
