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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..metrics import (
    BUILTIN_LATENCY,
    FAILED_SUFFIX,
    METRIC_KINDS,
    VITALS,
    FleetRequest,
    LeaksRequest,
    LoopRequest,
    RecoveryRequest,
    StressRequest,
    failed_metric,
    is_failed_metric,
    is_paint_metric,
    kind_of,
)
from .thresholds import (
    PRESETS,
    Threshold,
    ThresholdSyntaxError,
    Verdict,
    combined,
    evaluate,
    parse_gates,
    parse_thresholds,
)


@dataclass(frozen=True)
class GateSpec:
    """What one marker asks of a test."""

    thresholds: tuple[Threshold, ...] = ()
    memory: frozenset[str] = frozenset()
    """Which memory figures to measure: any of MEMORY_FIGURES."""
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

    @property
    def fresh_page(self) -> bool:
        """The test's own renderers are measured: its page gets a browser context (and so
        a renderer) of its own, never a pooled page an earlier test's renderer served."""
        return bool(self.memory & {"idle", "peak"})

    @property
    def fresh_browser(self) -> bool:
        """The whole browser is measured: the test runs on a browser launched for it."""
        return bool(self.memory & {"browser_idle", "browser_peak"})

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
    problems = []
    for name in sorted(set(kwargs) - set(allowed)):
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(
            ThresholdSyntaxError(
                f"{marker}: unknown keyword {name!r}; allowed: {', '.join(allowed)}{hint}"
            )
        )
    if problems:
        raise combined(problems)


def _each(
    items: Iterable[tuple[str, Any]], parse: Callable[[str, Any], list[Threshold]]
) -> list[Threshold]:
    """Parse every (name, spec); every bad one is reported, not only the first."""
    thresholds: list[Threshold] = []
    problems: list[ThresholdSyntaxError] = []
    for name, spec in items:
        try:
            thresholds += parse(name, spec)
        except ThresholdSyntaxError as exc:
            problems += exc.problems
    if problems:
        raise combined(problems)
    return thresholds


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

    def parse(metric: str, spec: Any) -> list[Threshold]:
        _not_a_misspelling(metric)
        # A loop's vitals (stress.cls, fleet.transfer_kb) keep their own units.
        kind = kind_of(metric) if metric in METRIC_KINDS else "latency"
        return parse_thresholds(metric, spec, kind if kind != "failed" else "latency")

    return GateSpec(tuple(_each(kwargs.items(), parse)))


def vitals_marker(args: Sequence[Any], kwargs: Mapping[str, Any]) -> GateSpec:
    """``cdp_vitals(lcp="p75<2500ms", cls="p75<0.1", inp="<200ms", transfer_kb="<1500")``."""
    _no_positional("cdp_vitals", args)
    if not kwargs:
        raise ThresholdSyntaxError(
            f'cdp_vitals needs at least one metric=threshold, e.g. lcp="p75<2500ms" '
            f"(metrics: {', '.join(VITALS)})"
        )
    problems: list[ThresholdSyntaxError] = []
    try:
        _unknown("cdp_vitals", kwargs, VITALS)
    except ThresholdSyntaxError as exc:
        problems += exc.problems
    try:
        thresholds = _each(
            ((name, spec) for name, spec in kwargs.items() if name in VITALS),
            lambda name, spec: parse_thresholds(name, spec, kind_of(name)),
        )
    except ThresholdSyntaxError as exc:
        problems += exc.problems
    if problems:
        raise combined(problems)
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


MEMORY_FIGURES = ("idle", "peak", "js_heap", "browser_idle", "browser_peak")


def memory_marker(args: Sequence[Any], kwargs: Mapping[str, Any]) -> GateSpec:
    """``cdp_memory(idle="<100MB", peak="<200MB", js_heap="<50MB", browser_idle="<500MB")``."""
    _no_positional("cdp_memory", args)
    if not kwargs:
        raise ThresholdSyntaxError(f"cdp_memory needs one of {', '.join(MEMORY_FIGURES)}")
    problems: list[ThresholdSyntaxError] = []
    try:
        _unknown("cdp_memory", kwargs, MEMORY_FIGURES)
    except ThresholdSyntaxError as exc:
        problems += exc.problems
    try:
        thresholds = _each(
            ((name, spec) for name, spec in kwargs.items() if name in MEMORY_FIGURES),
            lambda name, spec: parse_thresholds(f"memory.{name}", spec, "memory"),
        )
    except ThresholdSyntaxError as exc:
        problems += exc.problems
    if problems:
        raise combined(problems)
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
    "cdp_vitals": vitals_marker,
    "cdp_memory": memory_marker,
    "cdp_concurrency": concurrency_marker,
    "cdp_stress": stress_marker,
    "cdp_recovery": recovery_marker,
    "cdp_leaks": leaks_marker,
}

MARKER_HELP = {
    "cdp_latency": 'cdp_latency(navigation="p95<500ms", action="p95<200ms", <your metric>=...): '
    "latency thresholds (ms) on built-in and recorded metrics",
    "cdp_vitals": 'cdp_vitals(lcp="p75<2500ms", cls="p75<0.1", inp="<200ms", '
    'transfer_kb="<1500", ...): Web Vitals (ms, cls unitless, default stat p75) and page '
    "weight (KB, default the heaviest navigation) of every navigation",
    "cdp_memory": 'cdp_memory(idle="<100MB", peak="<200MB", js_heap="<50MB", '
    'browser_idle="<500MB", browser_peak=...): footprint of the renderers of the test\'s '
    "pages after the body settles / sampled peak; of the whole browser, launched for the "
    "test; per-page JS heap",
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
    """Merge the gate specs of a test's markers (name, args, kwargs); every bad marker
    and threshold among them is reported in one error, not only the first."""
    spec = GateSpec()
    problems: list[ThresholdSyntaxError] = []
    for name, args, kwargs in markers:
        try:
            spec = spec.merge(MARKERS[name](args, kwargs))
        except ThresholdSyntaxError as exc:
            problems += exc.problems
    if problems:
        raise combined(problems)
    return spec


def unknown_marker(name: str, known: Iterable[str]) -> str | None:
    """The usage error for a ``cdp_*`` mark that is none of ``known`` (ours, and any the
    project registered itself), with the closest name; None when it is known.

    pytest only warns about an unregistered mark, and a misspelt gate
    (``cdp_latncy``) would gate nothing.
    """
    known = sorted(set(known))
    if not name.startswith("cdp_") or name in known:
        return None
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return (
        f"unknown marker {name!r}: {hint}the cdp-accept markers are {', '.join(known)} "
        "(a mark of your own that starts with cdp_ needs registering under "
        "'markers' in the ini file)"
    )


NO_LAUNCH = "n/a: no browser launch in this test (the pooled browser was already up)"


def judge(
    thresholds: Sequence[Threshold],
    samples: Mapping[str, Sequence[float]],
    factor: float = 1.0,
    unmeasured: Mapping[str, str] | None = None,
    basis: Mapping[str, str] | None = None,
    inapplicable: Mapping[str, str] | None = None,
) -> list[Verdict]:
    """Evaluate thresholds (time limits scaled by ``factor``) against samples by metric.

    Failed attempts (``<metric>.failed``) are not samples: they are counted in the
    verdict, and a metric with nothing but failed attempts fails with "every attempt
    failed (N)". A metric without samples fails, with the reason from ``unmeasured``
    when one is known (a remote browser has no peak; a test without cdp fixtures
    measured nothing). ``basis`` says what a metric's samples are when they are not
    its usual figure; the verdict carries it. A metric without samples that
    ``inapplicable`` names cannot be measured where the test ran (a peak of a farm's
    browser on another host): n/a with that reason, shown, never a failure.
    """
    verdicts = []
    for threshold in thresholds:
        failed = len(samples.get(failed_metric(threshold.metric), ()))
        verdict = evaluate(threshold.scaled(factor), samples.get(threshold.metric, ()), failed)
        metric = threshold.metric
        if verdict.n == 0 and not failed and inapplicable and metric in inapplicable:
            note = f"n/a ({inapplicable[metric]})"
            verdict = replace(verdict, passed=True, applies=False, note=note)
        elif verdict.n == 0 and not failed and unmeasured and metric in unmeasured:
            verdict = replace(verdict, note=unmeasured[metric])
        if verdict.n and basis and threshold.metric in basis:
            verdict = replace(verdict, basis=basis[threshold.metric])
        if failed and is_paint_metric(metric):
            verdict = replace(verdict, passed=False, note=never_painted(failed, verdict.n))
        verdicts.append(verdict)
    return verdicts


def never_painted(unpainted: int, painted: int) -> str:
    """Why a gate on fcp or lcp fails when a navigation painted nothing: it is not a
    sample to leave out (the page showed its user nothing), so it fails the gate."""
    total = unpainted + painted
    return f"never painted: {unpainted} of {total} navigation{'s' if total != 1 else ''}"


def judge_test(
    thresholds: Sequence[Threshold],
    samples: Mapping[str, Sequence[float]],
    factor: float = 1.0,
    unmeasured: Mapping[str, str] | None = None,
    basis: Mapping[str, str] | None = None,
    inapplicable: Mapping[str, str] | None = None,
) -> list[Verdict]:
    """:func:`judge` for one test.

    ``startup`` counts the launches the test caused or waited for, and a test served
    by a browser that was already up caused none: its ``startup`` thresholds do not
    apply then, instead of failing for lack of samples (which only the first test of
    a pool would escape). Any other metric without samples says what the test did
    record, so ``tri_it`` next to a recorded ``try_it`` is plain to see.
    """
    verdicts = []
    for verdict in judge(thresholds, samples, factor, unmeasured, basis, inapplicable):
        if verdict.n == 0 and not verdict.failed and not verdict.note:
            if verdict.threshold.metric == "startup":
                verdict = replace(verdict, passed=True, applies=False, note=NO_LAUNCH)
            else:
                verdict = replace(verdict, note=missing(verdict.threshold.metric, samples))
        verdicts.append(verdict)
    return verdicts


def missing(metric: str, samples: Mapping[str, Sequence[float]]) -> str:
    """ "no samples", with what was recorded instead (and the closest name to ``metric``)."""
    recorded = sorted(name for name, values in samples.items() if values)
    if not recorded:
        return "no samples: this test recorded nothing"
    close = difflib.get_close_matches(metric, recorded, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    if close and "." in close[0]:
        # stress.action is no Python keyword: say how a marker takes it.
        hint += f"(write it cdp_latency(**{{{close[0]!r}: ...}})) "
    return f"no samples: {hint}this test recorded {', '.join(recorded)}"


# -- session gates: judged over what the selected tests can produce -----------------------

PAGE_FIXTURES = ("cdp_page", "cdp_async_page", "cdp_browser", "cdp_fleet", "cdp_pool")
LOOP_FAMILIES = {
    "fleet": "cdp_concurrency",
    "stress": "cdp_stress",
    "recovery": "cdp_recovery",
    "leaks": "cdp_leaks",
}


def produces(spec: GateSpec | None, uses_pages: bool, records: bool) -> frozenset[str]:
    """What one selected test can produce, as tokens :func:`can_produce` reads.

    ``uses_pages``: it uses a page or browser fixture, so the engine records the
    built-in metrics (navigation, command, page_open, startup) for it. ``records``:
    it holds the recorder (asks for ``cdp_metrics`` itself or through a fixture of
    the project's), so it may record metrics of its own. Its markers add the
    figures they measure and every metric they name.
    """
    tokens = set()
    if uses_pages:
        tokens.add("pages")
    if records:
        tokens.add("recorder")
    if spec is not None:
        tokens |= {f"memory.{figure}" for figure in spec.memory}
        tokens |= {family for family in LOOP_FAMILIES if getattr(spec, family) is not None}
        tokens |= {f"metric:{t.metric}" for t in spec.thresholds}
    return frozenset(tokens)


def _base(metric: str) -> str:
    return metric[: -len(FAILED_SUFFIX)] if is_failed_metric(metric) else metric


def can_produce(metric: str, tokens: Iterable[str]) -> bool:
    """Whether a test with these :func:`produces` tokens could record ``metric``.

    A metric of the project's own (any name the catalogue does not know) is
    producible by a test that holds the recorder or names the metric in a marker:
    which of them records it is only known once they ran.
    """
    tokens = set(tokens)
    base = _base(metric)
    if f"metric:{base}" in tokens:
        return True
    if base.startswith("memory."):
        figure = base.removeprefix("memory.").removesuffix("_rss")
        return f"memory.{figure}" in tokens
    family = base.partition(".")[0]
    if family in LOOP_FAMILIES and "." in base:
        return family in tokens
    if base in BUILTIN_LATENCY or base in METRIC_KINDS:
        return "pages" in tokens
    return "recorder" in tokens


def producer_of(metric: str) -> str:
    """Which tests produce ``metric``, for the n/a line of a gate none of them ran for."""
    base = _base(metric)
    if base.startswith("memory."):
        figure = base.removeprefix("memory.").removesuffix("_rss")
        return f"tests marked cdp_memory({figure}=...)"
    family = base.partition(".")[0]
    if family in LOOP_FAMILIES and "." in base:
        return f"tests marked {LOOP_FAMILIES[family]}"
    if base in BUILTIN_LATENCY or base in METRIC_KINDS:
        return f"tests that use {', '.join(PAGE_FIXTURES)}"
    return "tests that ask for cdp_metrics or name it in a marker"


def judge_session(
    gates: Sequence[Threshold],
    samples: Mapping[str, Sequence[float]],
    tokens: Iterable[str],
    factor: float = 1.0,
    deselected: int = 0,
    basis: Mapping[str, str] | None = None,
    inapplicable: Mapping[str, str] | None = None,
) -> list[Verdict]:
    """:func:`judge` for the run's gates, over the selected tests (``tokens``: the union
    of their :func:`produces`).

    A gate whose metric none of them could produce (and that has no samples) does
    not apply: ``n/a (not run: ...)``, never a failure, so ``-k`` runs one test
    without failing every preset gate. A gate whose tests ran and produced nothing
    still fails. ``basis`` and ``inapplicable`` are the tests' (see :func:`judge`).
    """
    tokens = frozenset(tokens)
    verdicts = []
    for verdict in judge(gates, samples, factor, None, basis, inapplicable):
        metric = verdict.threshold.metric
        if verdict.n == 0 and not verdict.failed and not can_produce(metric, tokens):
            why = f"it comes from {producer_of(metric)}, and no selected test is one"
            if deselected:
                why += f"; {deselected} deselected"
            verdict = replace(verdict, passed=True, applies=False, note=f"n/a (not run: {why})")
        elif verdict.n == 0 and not verdict.failed and metric.rpartition(".")[2] == "inp":
            verdict = replace(verdict, passed=True, applies=False, note=NO_INTERACTION)
        verdicts.append(verdict)
    return verdicts


NO_INTERACTION = "n/a: no test interacted with a page (INP comes from clicks and keys)"


def session_gates(ini_text: str | None, preset: str | None) -> list[Threshold]:
    """The run's gates: ini ``cdp_gates`` lines plus ``--cdp-preset``."""
    gates: list[Threshold] = []
    if preset:
        if preset not in PRESETS:
            raise ThresholdSyntaxError(
                f"--cdp-preset {preset!r}: the presets are {', '.join(PRESETS)}"
            )
        for metric, text, kind in PRESETS[preset]:
            gates += parse_thresholds(metric, text, kind)
    if ini_text:
        gates += parse_gates(ini_text, METRIC_KINDS)
    return gates
