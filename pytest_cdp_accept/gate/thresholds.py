"""Threshold grammar, statistics and verdicts: how performance numbers become pass/fail.

Every threshold, whether written in a marker, a fixture call or the session-gate
ini option, uses one small k6-style grammar::

    <stat> <op> <value><unit>

``stat``
    ``min``, ``max``, ``avg`` (arithmetic mean), ``med`` (median, same as ``p50``),
    ``pNN`` / ``pNN.N`` (percentile, ``0 < NN <= 100``; ``p100`` is the maximum;
    k6's spelling ``p(95)`` is accepted too), ``rate`` (share of successful
    outcomes, for rate metrics), ``count`` (number of samples) and ``value``
    (the measured figure: the maximum of the samples, see :func:`compute_stat`).
    Stats are case-insensitive.
``op``
    ``<``, ``<=``, ``>``, ``>=``.
``value``
    A non-negative decimal number (``500``, ``2.5``, ``.5``).
``unit``
    Depends on the *kind* of the metric (below). Units are case-insensitive.

Whitespace is optional everywhere: ``"p95<500ms"``, ``"p95 < 500 ms"`` and
``" p95<500 ms "`` are the same threshold.

Kinds
-----

Each metric has a kind; it decides the units allowed, the canonical unit the
threshold is stored in (samples must be recorded in that unit) and the stat used
when the threshold leaves it out.

``latency``
    Units ``ms`` or ``s``; a number without unit is ms. Stored in ms. Default
    stat ``p95``; a bare value means ``p95 <``.
``memory``
    Units ``KB``, ``MB`` or ``GB``; a number without unit is MB. Stored in MB.
    Default stat ``value``; a bare value means ``value <``.
``rate``
    Unit ``%``, or no unit with a fraction between 0 and 1 (``"rate>=0.95"``).
    Stored as a fraction 0..1, shown as a percentage. Samples are 0/1 outcomes
    and the only stats are ``rate`` (the default) and ``count``.
``count``
    No unit. Default stat ``value``.
``growth``
    Units ``KB/run``, ``MB/run``, ``GB/run`` (stored in KB/run) or the
    dimensionless ``/run`` (``"<5/run"``); the unit is required. Default stat
    ``value``.
``vital``
    The Web Vitals times (``lcp``, ``inp``, ...): units as ``latency``, stored in
    ms, but the default stat is ``p75`` (Google's assessment): a bare value
    means ``p75 <``.
``score``
    No unit (``cls``). Default stat ``p75``; a bare value means ``p75 <``.
``size``
    Page weights: ``KB``, ``MB`` or ``GB``; a number without unit is KB. Stored
    in KB. Default stat ``value`` (the heaviest navigation); a bare value means
    ``value <``.

Memory units are binary: ``1 KB = 1024 bytes``, ``1 MB = 1024 KB``,
``1 GB = 1024 MB``. So ``"3s"`` is stored as 3000 ms, ``"1GB"`` as 1024 MB,
``"512KB"`` as 0.5 MB, ``"1MB/run"`` as 1024 KB/run and ``"95%"`` as 0.95.

The ``count`` stat is dimensionless for every kind (``"count>=20"`` asks for at
least 20 samples) and ``rate`` only applies to rate metrics.

Shorthands
----------

* A missing stat takes the kind's default: ``"<3s"`` is ``p95 < 3000 ms`` for a
  latency metric, ``"<500MB"`` is ``value < 500 MB`` for a memory metric,
  ``">=95%"`` is ``rate >= 95 %``, ``"<64KB/run"`` is ``value < 64 KB/run``.
* A bare value, with no operator (a number such as ``500``, the string ``"500"``,
  or ``"500ms"``), is accepted where smaller is always better (latency, memory,
  vital, score and size): ``500`` means ``p95 < 500 ms`` for latency and
  ``value < 500 MB`` for memory. For the other kinds the direction is not
  obvious, so the operator must be written.
* A list or tuple gives several thresholds for one metric:
  ``["p95<500ms", "p99<1s", "max<3s"]``; all must pass.

Anything else (a bad operator, an unknown stat, a unit that does not fit the
kind such as ``"p95<500MB"`` for latency, a negative value, a percentage over
100, ``p0`` or ``p101``) raises :class:`ThresholdSyntaxError`, whose message
quotes the threshold and the offending fragment and says what is allowed.

Session gates
-------------

The session-gate ini option (see :func:`parse_gates`) holds one
``<metric>: <threshold>`` per line; blank lines and ``#`` comments are ignored
and a metric may appear on several lines::

    cdp_gates =
        # the contract's reference targets
        navigation: p95 < 500 ms
        navigation: max < 3 s
        memory.browser_idle: value < 500 MB

Statistics
----------

Percentiles use one method everywhere: linear interpolation between closest
ranks (Hyndman & Fan type 7, numpy's default ``"linear"`` method, the same as
``statistics.quantiles(method="inclusive")``); see :func:`percentile`. A
percentile needs ``ceil(100 / (100 - NN))`` samples before it says anything
about the tail (``p50`` 2, ``p95`` 20, ``p99`` 100); with fewer the verdict is
still evaluated but flagged *weak* (see :func:`min_samples`).

A threshold whose metric has no samples fails, so a typo in a metric name can
never pass silently.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from types import MappingProxyType
from typing import TypeAlias

from ..errors import UsageError

__all__ = [
    "ACCEPTANCE_PRESET",
    "KINDS",
    "MIN_SAMPLES",
    "OPS",
    "PRESETS",
    "STATS",
    "TIME_KINDS",
    "UNITS",
    "WEB_VITALS_PRESET",
    "Threshold",
    "ThresholdSpec",
    "ThresholdSyntaxError",
    "Verdict",
    "combined",
    "compute_stat",
    "evaluate",
    "format_amount",
    "format_value",
    "min_samples",
    "number_text",
    "parse_gates",
    "parse_threshold",
    "parse_thresholds",
    "percentile",
    "percentile_of_sorted",
    "spell_units",
]


class ThresholdSyntaxError(UsageError):
    """A threshold, or a session-gate line, does not follow the grammar.

    A :class:`ValueError` (through :class:`~pytest_cdp_accept.errors.UsageError`).
    The message quotes the offending text and says what is allowed; ``text`` is
    the threshold (or gate line) as written and ``line`` the 1-based gate line
    number, when the error comes from :func:`parse_gates`.
    """

    def __init__(self, message: str, *, text: str = "", line: int | None = None) -> None:
        super().__init__(message)
        self.text = text
        self.line = line
        self.problems: tuple[ThresholdSyntaxError, ...] = (self,)
        """Every problem this error reports (several when a whole table was checked)."""


KINDS: tuple[str, ...] = ("latency", "memory", "rate", "count", "growth", "vital", "score", "size")
"""The metric kinds, see the module docstring."""
TIME_KINDS = frozenset({"latency", "vital"})
"""The kinds whose limits are times (scaled by ``--cdp-threshold-factor``)."""

OPS: tuple[str, ...] = ("<", "<=", ">", ">=")
"""The comparison operators."""

STATS: tuple[str, ...] = ("min", "max", "avg", "med", "pNN", "pNN.N", "rate", "count", "value")
"""The stats, as shown in error messages (``pNN`` stands for any percentile)."""

_GRAMMAR = '"<stat> <op> <value><unit>"'
_OPS_TEXT = " ".join(OPS)
_STATS_TEXT = " ".join(STATS)

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

_PLAIN_STATS = frozenset({"min", "max", "avg", "med", "rate", "count", "value"})
_NUMBER = r"(?:\d+(?:\.\d+)?|\.\d+)"
_PERCENTILE_RE = re.compile(rf"p(?:(?P<q>{_NUMBER})|\s*\(\s*(?P<qp>{_NUMBER})\s*\))", re.IGNORECASE)
_VALUE_RE = re.compile(rf"(?P<sign>[+-]?)\s*(?P<num>{_NUMBER})\s*(?P<unit>.*)", re.DOTALL)
_OP_RE = re.compile(r"[<>=!]+")


_ONE = Decimal(1)
_KIB = Decimal(1024)

UNITS: Mapping[str, Mapping[str, tuple[Decimal, str]]] = MappingProxyType(
    {
        "latency": {"": (_ONE, "ms"), "ms": (_ONE, "ms"), "s": (Decimal(1000), "ms")},
        "memory": {
            "": (_ONE, "MB"),
            "KB": (_ONE / _KIB, "MB"),
            "MB": (_ONE, "MB"),
            "GB": (_KIB, "MB"),
        },
        "rate": {"": (_ONE, "%"), "%": (Decimal("0.01"), "%")},
        "count": {"": (_ONE, "")},
        "growth": {
            "KB/run": (_ONE, "KB/run"),
            "MB/run": (_KIB, "KB/run"),
            "GB/run": (_KIB * _KIB, "KB/run"),
            "/run": (_ONE, "/run"),
        },
        "vital": {"": (_ONE, "ms"), "ms": (_ONE, "ms"), "s": (Decimal(1000), "ms")},
        "score": {"": (_ONE, "")},
        "size": {
            "": (_ONE, "KB"),
            "KB": (_ONE, "KB"),
            "MB": (_KIB, "KB"),
            "GB": (_KIB * _KIB, "KB"),
        },
    }
)
"""The one unit table, for thresholds and for baseline fail rules alike: per metric
kind, each unit a value may be written in (spelled as in messages, matched
case-insensitively) with its factor to the canonical unit and that unit. ``""``
is a number written without a unit."""


def spell_units(units: Iterable[str]) -> str:
    """``"KB, MB or GB"``: units for a message (a number without unit left out)."""
    names = [unit for unit in units if unit]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _lower_keys(units: Mapping[str, tuple[Decimal, str]]) -> Mapping[str, tuple[Decimal, str]]:
    return MappingProxyType({unit.lower(): value for unit, value in units.items()})


@dataclass(frozen=True)
class _Kind:
    """How one kind of metric reads thresholds."""

    default_stat: str
    bare_op: str | None  # operator of a bare value, None when a bare value is refused
    stats: frozenset[str]  # allowed non-percentile stats
    percentiles: bool  # whether pNN / med are allowed
    units: Mapping[str, tuple[Decimal, str]]  # lower-case unit -> (factor, canonical unit)
    units_text: str  # for messages
    example: str  # for messages


_MOST_STATS = frozenset({"min", "max", "avg", "med", "count", "value"})

_KINDS: Mapping[str, _Kind] = MappingProxyType(
    {
        "latency": _Kind(
            default_stat="p95",
            bare_op="<",
            stats=_MOST_STATS,
            percentiles=True,
            units=_lower_keys(UNITS["latency"]),
            units_text=f"{spell_units(UNITS['latency'])} (a number without unit means ms)",
            example="p95<500ms",
        ),
        "memory": _Kind(
            default_stat="value",
            bare_op="<",
            stats=_MOST_STATS,
            percentiles=True,
            units=_lower_keys(UNITS["memory"]),
            units_text=f"{spell_units(UNITS['memory'])} (a number without unit means MB)",
            example="value<500MB",
        ),
        "rate": _Kind(
            default_stat="rate",
            bare_op=None,
            stats=frozenset({"rate", "count"}),
            percentiles=False,
            units=_lower_keys(UNITS["rate"]),
            units_text=f"{spell_units(UNITS['rate'])} (or no unit with a fraction between 0 and 1)",
            example="rate>=95%",
        ),
        "count": _Kind(
            default_stat="value",
            bare_op=None,
            stats=_MOST_STATS,
            percentiles=True,
            units=_lower_keys(UNITS["count"]),
            units_text="no unit",
            example="value>=10",
        ),
        "growth": _Kind(
            default_stat="value",
            bare_op=None,
            stats=_MOST_STATS,
            percentiles=True,
            units=_lower_keys(UNITS["growth"]),
            units_text=f"{spell_units(UNITS['growth'])} (the unit is required)",
            example="value<64KB/run",
        ),
        "vital": _Kind(
            default_stat="p75",
            bare_op="<",
            stats=_MOST_STATS,
            percentiles=True,
            units=_lower_keys(UNITS["vital"]),
            units_text=f"{spell_units(UNITS['vital'])} (a number without unit means ms)",
            example="p75<2500ms",
        ),
        "score": _Kind(
            default_stat="p75",
            bare_op="<",
            stats=_MOST_STATS,
            percentiles=True,
            units=_lower_keys(UNITS["score"]),
            units_text="no unit",
            example="p75<0.1",
        ),
        "size": _Kind(
            default_stat="value",
            bare_op="<",
            stats=_MOST_STATS,
            percentiles=True,
            units=_lower_keys(UNITS["size"]),
            units_text=f"{spell_units(UNITS['size'])} (a number without unit means KB)",
            example="value<1500KB",
        ),
    }
)

_COUNT_UNITS = _lower_keys(UNITS["count"])


def _check_kind(kind: str) -> _Kind:
    try:
        return _KINDS[kind]
    except (KeyError, TypeError):
        raise ThresholdSyntaxError(
            f"unknown metric kind {kind!r}: expected one of {', '.join(KINDS)}"
        ) from None


def _normalize_stat(stat: str) -> str | None:
    """The canonical spelling of a stat (``"P(99.90)"`` -> ``"p99.9"``), or None."""
    low = stat.strip().lower()
    if low in _PLAIN_STATS:
        return low
    m = _PERCENTILE_RE.fullmatch(low)
    if m is None:
        return None
    q = Decimal(m.group("q") or m.group("qp"))
    return "p" + format(q.normalize(), "f")


def _percentile_q(stat: str) -> Decimal | None:
    """The NN of a canonical ``pNN`` stat (``med`` is 50), or None for other stats."""
    if stat == "med":
        return Decimal(50)
    if stat.startswith("p"):
        return Decimal(stat[1:])
    return None


def min_samples(stat: str) -> int:
    """How many samples ``stat`` needs to be meaningful.

    A percentile ``pNN`` describes the slowest ``100 - NN`` percent of the samples,
    so it needs at least ``ceil(100 / (100 - NN))`` samples for that tail to hold one
    sample: ``p50``/``med`` 2, ``p90`` 10, ``p95`` 20, ``p99`` 100, ``p99.9`` 1000.
    ``p100`` is the maximum and, like every non-percentile stat, needs 1.
    Accepts any spelling the grammar accepts (``"p(95)"``); raises
    :class:`ValueError` for an unknown stat.
    """
    canonical = _normalize_stat(stat)
    if canonical is None:
        raise ValueError(f"unknown stat {stat!r}: expected one of {_STATS_TEXT}")
    q = _percentile_q(canonical)
    if q is None or q >= 100:
        return 1
    return max(1, math.ceil(Decimal(100) / (Decimal(100) - q)))


MIN_SAMPLES: Mapping[str, int] = MappingProxyType(
    {s: min_samples(s) for s in ("med", "p50", "p75", "p90", "p95", "p99", "p99.9")}
)
""":func:`min_samples` for the common percentiles (use the function for any other)."""


@dataclass(frozen=True)
class Threshold:
    """One parsed threshold on one metric.

    ``value`` is in the canonical unit of ``kind`` (ms, MB, a fraction for rates,
    KB/run or /run for growth, plain for counts) and ``unit`` is that canonical
    unit for display (``"ms"``, ``"MB"``, ``"%"``, ``""``, ``"KB/run"``, ``"/run"``;
    ``""`` for the ``count`` stat of any kind). ``source`` is the text as written.
    """

    metric: str
    stat: str
    op: str
    value: float
    unit: str
    kind: str
    source: str

    def scaled(self, factor: float) -> Threshold:
        """This threshold with a time limit multiplied by ``factor``.

        Only latency and vital thresholds are times; other kinds, and the ``count``
        stat (a number of samples), come back unchanged. ``source`` keeps the text as
        written. ``factor`` must be a finite number > 0.
        """
        if isinstance(factor, bool) or not (math.isfinite(factor) and factor > 0):
            raise ValueError(f"scale factor must be a finite number > 0, got {factor!r}")
        if self.kind not in TIME_KINDS or self.stat == "count" or factor == 1:
            return self
        return replace(self, value=self.value * factor)

    def describe(self) -> str:
        """The threshold in canonical form, e.g. ``"p95 < 500 ms"``."""
        return f"{self.stat} {self.op} {_format_limit(self.value, self.unit)}"


def number_text(value: float) -> str:
    """A limit without float noise: ``500.0`` -> ``"500"``, ``28.999999999999996`` -> ``"29"``."""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _with_unit(number: str, unit: str) -> str:
    if not unit:
        return number
    if unit == "/run":
        return number + unit
    return f"{number} {unit}"


def format_amount(value: float, unit: str) -> str:
    """A limit in a canonical unit as written back to the user: ``"500 ms"``, ``"5/run"``."""
    return _with_unit(number_text(value), unit)


def _format_limit(value: float, unit: str) -> str:
    return format_amount(value * 100, unit) if unit == "%" else format_amount(value, unit)


def format_value(value: float, unit: str) -> str:
    """A measured value for humans, in the canonical ``unit`` of its threshold.

    ``ms``, ``MB``, ``KB/run`` (and any other unit): one decimal, ``"1503.2 ms"``
    (latency stays in ms, however large); ``%``: the fraction as a percentage with
    one decimal, ``0.75`` -> ``"75.0 %"``; no unit and ``/run``: an integer when
    integral, ``"10"``, ``"5/run"``, else up to two decimals, ``"2.5/run"``.
    """
    if unit == "%":
        number = f"{value * 100:.1f}"
    elif unit in ("", "/run"):
        number = f"{value:.2f}".rstrip("0").rstrip(".")
    else:
        number = f"{value:.1f}"
    if number.startswith("-") and float(number) == 0:
        number = number[1:]
    return _with_unit(number, unit)


def _error(metric: str, source: str, problem: str) -> ThresholdSyntaxError:
    return ThresholdSyntaxError(f'bad threshold "{source}" for {metric}: {problem}', text=source)


def _source_text(text: str | int | float, metric: str) -> str:
    """The threshold as a string; numbers become their plain decimal spelling."""
    if isinstance(text, str):
        return text
    if isinstance(text, bool) or not isinstance(text, int | float):
        raise ThresholdSyntaxError(
            f"bad threshold {text!r} for {metric}: expected a string such as "
            f'"p95<500ms" or a number, got {type(text).__name__}',
            text=repr(text),
        )
    if isinstance(text, float) and not math.isfinite(text):
        raise _error(metric, repr(text), "the value must be a finite number")
    return format(Decimal(repr(text)), "f") if isinstance(text, float) else str(text)


def parse_threshold(metric: str, text: str | int | float, kind: str) -> Threshold:
    """Parse one threshold on ``metric`` of ``kind`` (see the module docstring).

    >>> parse_threshold("navigation", "p95 < 0.5s", "latency").describe()
    'p95 < 500 ms'

    Raises :class:`ThresholdSyntaxError` naming the bad fragment.
    """
    kind_info = _check_kind(kind)
    if not isinstance(metric, str) or not metric.strip():
        raise ThresholdSyntaxError(f"bad metric name {metric!r}: expected a non-empty string")
    source = _source_text(text, metric)
    body = source.strip()
    if not body:
        raise _error(
            metric, source, f'it is empty; expected {_GRAMMAR}, e.g. "{kind_info.example}"'
        )
    stat, op, value_text = _comparison(metric, source, body, kind, kind_info)
    _check_stat(metric, source, stat, kind, kind_info)
    amount = _amount(metric, source, value_text, op, stat, kind)
    _check_can_pass(metric, source, op, amount, kind)
    number, factor, unit, _ = amount
    return Threshold(
        metric=metric,
        stat=stat,
        op=op,
        value=float(number * factor),
        unit=unit,
        kind=kind,
        source=source,
    )


def _comparison(
    metric: str, source: str, body: str, kind: str, kind_info: _Kind
) -> tuple[str, str, str]:
    """``(stat, op, value text)`` of a threshold, the kind's defaults filled in."""
    op_match = _OP_RE.search(body)
    if op_match is None:  # a bare value: "500", "500ms"
        if _VALUE_RE.fullmatch(body) is None:
            raise _error(
                metric,
                source,
                f'expected {_GRAMMAR} with op one of {_OPS_TEXT}, e.g. "{kind_info.example}"',
            )
        if kind_info.bare_op is None:
            raise _error(
                metric,
                source,
                f"a value without an operator is ambiguous for a {kind} metric; "
                f'write the comparison, e.g. "{kind_info.example}"',
            )
        return kind_info.default_stat, kind_info.bare_op, body
    stat_text = body[: op_match.start()].strip()
    op = op_match.group()
    value_text = body[op_match.end() :].strip()
    if op not in _COMPARE:
        raise _error(
            metric,
            source,
            f'operator "{op}" is not allowed; expected {_GRAMMAR} with op one of {_OPS_TEXT}',
        )
    extra = _OP_RE.search(value_text)
    if extra is not None:
        raise _error(
            metric,
            source,
            f'unexpected "{extra.group()}" after the value; '
            f"write one comparison per threshold (use a list for several)",
        )
    stat = _stat(metric, source, stat_text) if stat_text else kind_info.default_stat
    return stat, op, value_text


def _stat(metric: str, source: str, stat_text: str) -> str:
    canonical = _normalize_stat(stat_text)
    if canonical is None:
        hint = "; a percentile is written pNN or pNN.N, e.g. p95, p99.9"
        raise _error(
            metric,
            source,
            f'unknown stat "{stat_text}"; expected one of {_STATS_TEXT}'
            + (hint if stat_text[:1] in "pP" else ""),
        )
    return canonical


def _amount(
    metric: str, source: str, value_text: str, op: str, stat: str, kind: str
) -> tuple[Decimal, Decimal, str, str]:
    """``(number, factor to the canonical unit, canonical unit, unit as written)``."""
    value_match = _VALUE_RE.fullmatch(value_text)
    if value_match is None:
        raise _error(
            metric,
            source,
            f'expected a number after "{op}" (e.g. "{_KINDS[kind].example}"), got "{value_text}"',
        )
    number = Decimal(value_match.group("num"))
    unit_text = re.sub(r"\s+", "", value_match.group("unit"))
    if value_match.group("sign") == "-" and number != 0:
        raise _error(
            metric, source, f'value "-{value_match.group("num")}" is negative; thresholds are >= 0'
        )
    units = _COUNT_UNITS if stat == "count" else _KINDS[kind].units
    try:
        factor, unit = units[unit_text.lower()]
    except KeyError:
        if stat == "count":
            allowed = "the count stat takes no unit (it is a number of samples)"
        else:
            allowed = f"allowed: {_KINDS[kind].units_text}"
        shown = f'unit "{unit_text}"' if unit_text else "a missing unit"
        raise _error(metric, source, f"{shown} does not fit a {kind} metric; {allowed}") from None
    return number, factor, unit, unit_text


def _check_can_pass(
    metric: str, source: str, op: str, amount: tuple[Decimal, Decimal, str, str], kind: str
) -> None:
    """Refuse thresholds no measurement can pass (``"< 0"``, a rate above 100 %)."""
    number, factor, unit, unit_text = amount
    if op == "<" and number == 0 and kind != "growth":
        # Durations, sizes, rates and counts are never below 0 (growth can be).
        raise _error(metric, source, '"< 0" can never pass: measured values are >= 0; use "<= 0"')
    if unit != "%":
        return
    if op == ">" and number * factor >= 1:
        raise _error(metric, source, "a rate is at most 100%, so it is never above that")
    if unit_text == "%" and number > 100:
        raise _error(metric, source, f"{number}% is more than 100%; a rate is 0% to 100%")
    if unit_text == "" and number > 1:
        raise _error(
            metric,
            source,
            f"a rate without % is a fraction between 0 and 1, got {number}; "
            f'write "{number}%" for a percentage',
        )


def _check_stat(metric: str, source: str, stat: str, kind: str, kind_info: _Kind) -> None:
    q = _percentile_q(stat)
    if q is not None and not 0 < q <= 100:
        raise _error(
            metric, source, f'percentile "{stat}" is out of range; pNN needs 0 < NN <= 100'
        )
    allowed = stat in kind_info.stats or (kind_info.percentiles and q is not None)
    if not allowed:
        names = sorted(kind_info.stats)
        if kind_info.percentiles:
            names.append("pNN")
        raise _error(
            metric,
            source,
            f'stat "{stat}" does not apply to a {kind} metric; allowed: {" ".join(names)}',
        )


ThresholdSpec: TypeAlias = (
    str | int | float | list[str | int | float] | tuple[str | int | float, ...]
)
"""What a marker or fixture accepts for one metric: one threshold or a list of them."""


def parse_thresholds(metric: str, spec: ThresholdSpec, kind: str) -> list[Threshold]:
    """Parse one threshold, or a list or tuple of them, on ``metric``.

    An empty list raises :class:`ThresholdSyntaxError` (a metric named with no
    threshold is almost certainly a mistake), as does any bad element.
    """
    if isinstance(spec, list | tuple):
        if not spec:
            raise ThresholdSyntaxError(
                f"bad thresholds for {metric}: the list is empty; give at least one, "
                f'e.g. "{_check_kind(kind).example}"'
            )
        return [parse_threshold(metric, item, kind) for item in spec]
    return [parse_threshold(metric, spec, kind)]


def parse_gates(text: str, kinds: Mapping[str, str]) -> list[Threshold]:
    """Parse the session-gate ini syntax: one ``<metric>: <threshold>`` per line.

    Blank lines and ``#`` comments (whole-line or trailing) are ignored; a metric
    may appear on several lines, each adding a threshold. The kind of a metric is
    ``kinds.get(metric, "latency")``. Bad lines raise one
    :class:`ThresholdSyntaxError` naming every one of them (1-based line number and
    text; ``line`` and ``text`` are the first's, ``problems`` holds them all).
    """
    gates: list[Threshold] = []
    problems: list[ThresholdSyntaxError] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            gates.append(_parse_gate_line(line, lineno, kinds))
        except ThresholdSyntaxError as exc:
            problems.append(exc)
    if problems:
        raise combined(problems)
    return gates


def _parse_gate_line(line: str, lineno: int, kinds: Mapping[str, str]) -> Threshold:
    metric, colon, spec = line.partition(":")
    metric, spec = metric.strip(), spec.strip()
    where = f'gate line {lineno} "{line}"'
    if not colon or not metric or any(ch.isspace() for ch in metric):
        raise ThresholdSyntaxError(
            f'{where}: expected "<metric>: <threshold>", e.g. "navigation: p95<500ms"',
            text=line,
            line=lineno,
        )
    if "," in spec:
        raise ThresholdSyntaxError(
            f"{where}: one threshold per line; put each threshold of {metric} "
            f'on its own line ("{metric}: ...")',
            text=line,
            line=lineno,
        )
    try:
        return parse_threshold(metric, spec, kinds.get(metric, "latency"))
    except ThresholdSyntaxError as exc:
        raise ThresholdSyntaxError(f"{where}: {exc}", text=line, line=lineno) from exc


def combined(problems: Sequence[ThresholdSyntaxError]) -> ThresholdSyntaxError:
    """One error for several: each problem on a line of its own (one is returned as is)."""
    if len(problems) == 1:
        return problems[0]
    first = problems[0]
    error = ThresholdSyntaxError(
        f"{len(problems)} problems:\n" + "\n".join(f"  {p}" for p in problems),
        text=first.text,
        line=first.line,
    )
    error.problems = tuple(problems)
    return error


ACCEPTANCE_PRESET: list[tuple[str, str, str]] = [
    ("startup", "max<3000ms", "latency"),
    ("navigation", "p95<500ms", "latency"),
    ("memory.browser_idle", "value<500MB", "memory"),
    ("fleet.browsers", "value>=10", "count"),
    ("fleet.pages", "value>=50", "count"),
    ("stress.success", "rate>=95%", "rate"),
    ("leaks.js_heap", "value<64KB/run", "growth"),
    ("recovery.success", "rate>=80%", "rate"),
]
"""The contract's reference targets as ``(metric, threshold, kind)``. "Idle memory <
500 MB" is the whole browser's: ``memory.browser_idle``, read on a browser launched
for the test that measures it (the per-test ``memory.idle`` counts the test's own
renderers only)."""

WEB_VITALS_PRESET: list[tuple[str, str, str]] = [
    ("lcp", "p75<=2500ms", "vital"),
    ("inp", "p75<=200ms", "vital"),
    ("cls", "p75<=0.1", "score"),
    ("fcp", "p75<=1800ms", "vital"),
    ("ttfb", "p75<=800ms", "vital"),
]
"""Google's "good" limits, assessed at the 75th percentile, as ``(metric, threshold,
kind)`` (``--cdp-preset web-vitals``)."""

PRESETS: Mapping[str, list[tuple[str, str, str]]] = MappingProxyType(
    {"acceptance": ACCEPTANCE_PRESET, "web-vitals": WEB_VITALS_PRESET}
)
"""The ``--cdp-preset`` names and their gates."""


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (``0 <= q <= 100``) of ``samples``.

    Method: linear interpolation between closest ranks, i.e. Hyndman & Fan
    type 7, numpy's default ``"linear"`` method and
    ``statistics.quantiles(..., method="inclusive")``. With the samples sorted
    as ``x[0] <= ... <= x[n-1]`` and ``h = (n - 1) * q / 100``, the result is
    ``x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])``. So
    ``q=0`` is the minimum, ``q=100`` the maximum, ``q=50`` the median, and
    ``percentile([1, 2, 3, 4], 50) == 2.5``. The result never leaves the range
    of the samples.

    Raises :class:`ValueError` for no samples, a NaN sample or ``q`` outside
    ``[0, 100]``.
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be between 0 and 100, got {q!r}")
    return percentile_of_sorted(_sorted_samples(samples), q)


def percentile_of_sorted(ordered: Sequence[float], q: float) -> float:
    """:func:`percentile` of samples already sorted, without its checks: for reports
    that take several percentiles of one series of up to 100k samples."""
    h = (len(ordered) - 1) * q / 100
    lo = math.floor(h)
    frac = h - lo
    if frac == 0 or lo + 1 >= len(ordered):
        return ordered[min(lo, len(ordered) - 1)]
    low, high = ordered[lo], ordered[lo + 1]
    return low + (high - low) * frac


def _sorted_samples(samples: Sequence[float]) -> list[float]:
    if len(samples) == 0:
        raise ValueError("no samples")
    data = sorted(float(x) for x in samples)
    if any(math.isnan(x) for x in data):
        raise ValueError("samples contain NaN")
    return data


def compute_stat(stat: str, samples: Sequence[float]) -> float:
    """Compute ``stat`` over ``samples`` (canonical units in, canonical units out).

    ``min``, ``max``; ``avg`` the arithmetic mean; ``med`` and ``pNN`` via
    :func:`percentile`; ``rate`` the share of truthy samples (samples are 0/1
    outcomes), a fraction 0..1; ``count`` the number of samples; ``value`` the
    maximum: a ``value`` metric is a single measured figure (idle memory, the
    number of browsers reached) normally recorded once; when it is recorded
    several times the maximum counts, which is the worst case for an upper limit
    (``value < 500 MB``: the largest footprint must fit) and the capacity
    actually reached for a lower one (``value >= 10`` browsers).

    Raises :class:`ValueError` for an unknown stat, NaN samples, or no samples
    (for every stat, ``count`` included: :func:`evaluate` turns "no samples" into
    a failed verdict instead).
    """
    canonical = _normalize_stat(stat)
    if canonical is None:
        raise ValueError(f"unknown stat {stat!r}: expected one of {_STATS_TEXT}")
    data = _sorted_samples(samples)
    if canonical == "count":
        return float(len(data))
    if canonical == "rate":
        return sum(1 for x in data if x) / len(data)
    if canonical == "min":
        return data[0]
    if canonical in ("max", "value"):
        return data[-1]
    if canonical == "avg":
        return math.fsum(data) / len(data)
    q = _percentile_q(canonical)
    assert q is not None
    return percentile_of_sorted(data, float(q))


@dataclass(frozen=True)
class Verdict:
    """The outcome of one threshold against the samples of its metric.

    ``measured`` is the stat in the threshold's canonical unit (None when there
    were no samples, which fails unless the metric did not apply); ``weak`` flags
    a percentile computed from fewer than :func:`min_samples` samples (the verdict
    still counts); ``note`` says why there were no samples, when that is known;
    ``failed`` counts the attempts that failed (``<metric>.failed``), which are
    not samples; ``applies`` is False for a threshold that does not apply to what
    ran (shown with a dash, never a failure); ``basis`` says what the samples are
    when they are not the metric's usual figure (a farm's browser on another host:
    Chrome's private footprint instead of the footprint read from ``/proc``).
    """

    threshold: Threshold
    measured: float | None
    n: int
    passed: bool
    weak: bool
    note: str = ""
    failed: int = 0
    applies: bool = True
    basis: str = ""

    def line(self) -> str:
        """One k6-style line, e.g. ``"✓ navigation p95 < 500 ms: 312.4 ms (n=20)"``."""
        t = self.threshold
        mark = "–" if not self.applies else ("✓" if self.passed else "✗")
        head = f"{mark} {t.metric} {t.describe()}"
        if self.measured is None:
            if self.failed and not self.note:
                return f"{head}: every attempt failed ({self.failed})"
            return f"{head}: {self.note or 'no samples'}"
        failed = f", {self.failed} failed" if self.failed else ""
        text = f"{head}: {format_value(self.measured, t.unit)} (n={self.n}{failed})"
        if self.weak:
            noun = "sample" if self.n == 1 else "samples"
            text += f" [weak: {t.stat} over {self.n} {noun}]"
        if self.basis:
            text += f" [judged on {self.basis}]"
        if self.note:
            text += f"; {self.note}"
        return text


def evaluate(threshold: Threshold, samples: Sequence[float], failed: int = 0) -> Verdict:
    """Check ``threshold`` against ``samples`` (recorded in the kind's canonical unit).

    No samples is a failure with ``measured=None``; ``failed`` (the attempts that
    failed, not samples) only travels with the verdict. ``weak`` is set when
    ``0 < n < min_samples(threshold.stat)``.
    """
    n = len(samples)
    if n == 0:
        return Verdict(threshold, measured=None, n=0, passed=False, weak=False, failed=failed)
    measured = compute_stat(threshold.stat, samples)
    passed = _COMPARE[threshold.op](measured, threshold.value)
    weak = n < min_samples(threshold.stat)
    return Verdict(threshold, measured, n, passed, weak, failed=failed)
