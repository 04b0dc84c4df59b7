"""Tests for the threshold grammar, statistics and verdicts (pure logic)."""

from __future__ import annotations

import itertools
import math
import statistics

import pytest

from pytest_cdp_accept.errors import UsageError
from pytest_cdp_accept.gate.thresholds import (
    ACCEPTANCE_PRESET,
    KINDS,
    MIN_SAMPLES,
    Threshold,
    ThresholdSyntaxError,
    Verdict,
    compute_stat,
    evaluate,
    format_value,
    min_samples,
    parse_gates,
    parse_threshold,
    parse_thresholds,
    percentile,
)

# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "kind", "stat", "op", "value", "unit"),
    [
        # every stat
        ("min<10ms", "latency", "min", "<", 10.0, "ms"),
        ("max<3000ms", "latency", "max", "<", 3000.0, "ms"),
        ("avg<200ms", "latency", "avg", "<", 200.0, "ms"),
        ("med<150ms", "latency", "med", "<", 150.0, "ms"),
        ("p95<500ms", "latency", "p95", "<", 500.0, "ms"),
        ("p99.9<2s", "latency", "p99.9", "<", 2000.0, "ms"),
        ("p50<1ms", "latency", "p50", "<", 1.0, "ms"),
        ("p100<1ms", "latency", "p100", "<", 1.0, "ms"),
        ("p5<1ms", "latency", "p5", "<", 1.0, "ms"),
        ("value<500MB", "memory", "value", "<", 500.0, "MB"),
        ("rate>=95%", "rate", "rate", ">=", 0.95, "%"),
        ("count>=20", "latency", "count", ">=", 20.0, ""),
        ("count>=20", "rate", "count", ">=", 20.0, ""),
        ("value>=10", "count", "value", ">=", 10.0, ""),
        # every op (and "<" above)
        ("p95<=500ms", "latency", "p95", "<=", 500.0, "ms"),
        ("min>5ms", "latency", "min", ">", 5.0, "ms"),
        ("min>=5ms", "latency", "min", ">=", 5.0, "ms"),
        # every unit, converted to the canonical unit of the kind
        ("max<3s", "latency", "max", "<", 3000.0, "ms"),
        ("max<0.5s", "latency", "max", "<", 500.0, "ms"),
        ("max<0.3s", "latency", "max", "<", 300.0, "ms"),
        ("max<250", "latency", "max", "<", 250.0, "ms"),
        ("value<1GB", "memory", "value", "<", 1024.0, "MB"),
        ("value<512KB", "memory", "value", "<", 0.5, "MB"),
        ("value<1KB", "memory", "value", "<", 1 / 1024, "MB"),
        ("value<300", "memory", "value", "<", 300.0, "MB"),
        ("rate>=0.95", "rate", "rate", ">=", 0.95, "%"),
        ("rate>=100%", "rate", "rate", ">=", 1.0, "%"),
        ("rate>=0%", "rate", "rate", ">=", 0.0, "%"),
        ("value<64KB/run", "growth", "value", "<", 64.0, "KB/run"),
        ("value<1MB/run", "growth", "value", "<", 1024.0, "KB/run"),
        ("value<1GB/run", "growth", "value", "<", 1024.0 * 1024.0, "KB/run"),
        ("value<5/run", "growth", "value", "<", 5.0, "/run"),
        ("value<=0/run", "growth", "value", "<=", 0.0, "/run"),
        # missing stat -> the kind's default
        ("<3s", "latency", "p95", "<", 3000.0, "ms"),
        ("<500MB", "memory", "value", "<", 500.0, "MB"),
        (">=95%", "rate", "rate", ">=", 0.95, "%"),
        (">=10", "count", "value", ">=", 10.0, ""),
        ("<64KB/run", "growth", "value", "<", 64.0, "KB/run"),
        ("<5/run", "growth", "value", "<", 5.0, "/run"),
        # bare values (latency and memory only)
        ("500", "latency", "p95", "<", 500.0, "ms"),
        ("500ms", "latency", "p95", "<", 500.0, "ms"),
        ("2s", "latency", "p95", "<", 2000.0, "ms"),
        ("500", "memory", "value", "<", 500.0, "MB"),
        ("1GB", "memory", "value", "<", 1024.0, "MB"),
        # spellings: case, k6's p(NN), decimals, leading "+"
        ("P95<500MS", "latency", "p95", "<", 500.0, "ms"),
        ("MAX<1S", "latency", "max", "<", 1000.0, "ms"),
        ("value<500mb", "memory", "value", "<", 500.0, "MB"),
        ("value<64kb/run", "growth", "value", "<", 64.0, "KB/run"),
        ("p(95)<500ms", "latency", "p95", "<", 500.0, "ms"),
        ("p(99.9)<1s", "latency", "p99.9", "<", 1000.0, "ms"),
        ("p99.90<1s", "latency", "p99.9", "<", 1000.0, "ms"),
        ("p095<1s", "latency", "p95", "<", 1000.0, "ms"),
        ("p100.0<1s", "latency", "p100", "<", 1000.0, "ms"),
        ("p95<.5s", "latency", "p95", "<", 500.0, "ms"),
        ("p95<+500ms", "latency", "p95", "<", 500.0, "ms"),
        ("p95<=0ms", "latency", "p95", "<=", 0.0, "ms"),
    ],
)
def test_parse_threshold(text: str, kind: str, stat: str, op: str, value: float, unit: str) -> None:
    t = parse_threshold("m", text, kind)
    assert (t.stat, t.op, t.unit, t.kind, t.source, t.metric) == (stat, op, unit, kind, text, "m")
    assert t.value == pytest.approx(value, rel=1e-12, abs=0)


@pytest.mark.parametrize(
    "text",
    [
        "p95<500ms",
        "p95 < 500 ms",
        "p95 <500ms",
        "p95< 500ms",
        "p95<500 ms",
        "  p95<500ms  ",
        "\tp95\t<\t500\tms\t",
        "p95   <=   500",
        "p(95) < 500 ms",
        "p (95) < 0.5 s",
        "p( 95 )<500ms",
    ],
)
def test_whitespace_is_optional(text: str) -> None:
    t = parse_threshold("navigation", text, "latency")
    assert t.stat == "p95"
    assert t.value == 500.0
    assert t.unit == "ms"


@pytest.mark.parametrize(
    "text",
    ["value<64KB/run", "value < 64 KB/run", "value<64 KB / run", "<64KB /run", " < 64kb/RUN "],
)
def test_growth_unit_whitespace(text: str) -> None:
    t = parse_threshold("leaks.js_heap", text, "growth")
    assert (t.stat, t.op, t.value, t.unit) == ("value", "<", 64.0, "KB/run")


@pytest.mark.parametrize(
    ("number", "kind", "stat", "value", "unit"),
    [
        (500, "latency", "p95", 500.0, "ms"),
        (2.5, "latency", "p95", 2.5, "ms"),
        (500, "memory", "value", 500.0, "MB"),
        (0.5, "memory", "value", 0.5, "MB"),
        (1e-05, "memory", "value", 1e-05, "MB"),
    ],
)
def test_bare_numbers(number: float, kind: str, stat: str, value: float, unit: str) -> None:
    t = parse_threshold("m", number, kind)
    assert (t.stat, t.op, t.value, t.unit) == (stat, "<", value, unit)


@pytest.mark.parametrize(("number", "source"), [(500, "500"), (0.5, "0.5"), (1e-05, "0.00001")])
def test_number_source_is_plain_decimal(number: float, source: str) -> None:
    assert parse_threshold("m", number, "latency").source == source


@pytest.mark.parametrize(
    ("metric", "text", "kind", "fragment"),
    [
        # grammar
        ("navigation", "p95<<500ms", "latency", '"<<"'),
        ("navigation", "p95=<500ms", "latency", '"=<"'),
        ("navigation", "p95==500ms", "latency", '"=="'),
        ("navigation", "p95=500ms", "latency", '"="'),
        ("navigation", "p95!=500ms", "latency", '"!="'),
        ("navigation", "p95<500ms<900ms", "latency", '"<"'),
        ("navigation", "", "latency", "empty"),
        ("navigation", "   ", "latency", "empty"),
        ("navigation", "fast", "latency", '"fast"'),
        ("navigation", "p95", "latency", '"p95"'),
        ("navigation", "p95<", "latency", 'after "<"'),
        ("navigation", "p95<ms", "latency", '"ms"'),
        ("navigation", "p95<fast", "latency", '"fast"'),
        ("navigation", "p95<1e3ms", "latency", '"e3ms"'),
        ("navigation", "p95<500,5ms", "latency", '",5ms"'),
        # stats
        ("navigation", "q95<5ms", "latency", '"q95"'),
        ("navigation", "p<5ms", "latency", '"p"'),
        ("navigation", "p95.5.5<5ms", "latency", '"p95.5.5"'),
        ("navigation", "p-5<5ms", "latency", '"p-5"'),
        ("navigation", "mean<5ms", "latency", '"mean"'),
        ("navigation", "p101<5ms", "latency", '"p101"'),
        ("navigation", "p0<5ms", "latency", '"p0"'),
        ("navigation", "p0.0<5ms", "latency", '"p0"'),
        ("navigation", "p100.1<5ms", "latency", '"p100.1"'),
        ("navigation", "rate>=95%", "latency", '"rate"'),
        ("stress.success", "avg>=0.5", "rate", '"avg"'),
        ("stress.success", "p95>=0.5", "rate", '"p95"'),
        # units that do not fit the kind
        ("navigation", "p95<500MB", "latency", '"MB"'),
        ("navigation", "p95<5%", "latency", '"%"'),
        ("navigation", "p95<5m", "latency", '"m"'),
        ("navigation", "p95<5us", "latency", '"us"'),
        ("memory.idle", "<500ms", "memory", '"ms"'),
        ("memory.idle", "<500B", "memory", '"B"'),
        ("memory.idle", "<500MB/run", "memory", '"MB/run"'),
        ("stress.success", "rate>=95ms", "rate", '"ms"'),
        ("fleet.browsers", "value>=10ms", "count", '"ms"'),
        ("fleet.browsers", "value>=10%", "count", '"%"'),
        ("leaks.js_heap", "value<64KB", "growth", '"KB"'),
        ("leaks.js_heap", "value<64", "growth", "missing unit"),
        ("leaks.js_heap", "value<64ms/run", "growth", '"ms/run"'),
        ("navigation", "count>=20ms", "latency", '"ms"'),
        ("stress.success", "count>=20%", "rate", '"%"'),
        # impossible values
        ("navigation", "-5ms", "latency", '"-5"'),
        ("navigation", "p95<-5ms", "latency", '"-5"'),
        ("memory.idle", "<-1MB", "memory", '"-1"'),
        ("stress.success", ">=150%", "rate", "150%"),
        ("stress.success", ">=100.5%", "rate", "100.5%"),
        ("stress.success", "rate>=95", "rate", '"95%"'),
        ("stress.success", "rate>=1.5", "rate", "1.5"),
        ("navigation", "p95<0ms", "latency", "can never pass"),
        ("memory.idle", "<0MB", "memory", "can never pass"),
        ("stress.success", "count<0", "rate", "can never pass"),
        ("stress.success", "rate>100%", "rate", "never above"),
        ("stress.success", "rate>1", "rate", "never above"),
        # a bare value where the direction is not obvious
        ("fleet.browsers", "10", "count", '"10"'),
        ("stress.success", "0.95", "rate", '"0.95"'),
        ("stress.success", "95%", "rate", '"95%"'),
        ("leaks.js_heap", "64KB/run", "growth", '"64KB/run"'),
    ],
)
def test_bad_threshold(metric: str, text: str, kind: str, fragment: str) -> None:
    with pytest.raises(ThresholdSyntaxError) as excinfo:
        parse_threshold(metric, text, kind)
    message = str(excinfo.value)
    assert f'"{text}"' in message
    assert fragment in message
    assert metric in message
    assert excinfo.value.text == text


@pytest.mark.parametrize(
    ("text", "kind", "allowed"),
    [
        ("p95<<500ms", "latency", "op one of < <= > >="),
        ("fast", "latency", "op one of < <= > >="),
        ("q95<5ms", "latency", "min max avg med pNN pNN.N rate count value"),
        ("p101<5ms", "latency", "0 < NN <= 100"),
        ("p95<500MB", "latency", "ms or s"),
        ("<500ms", "memory", "KB, MB or GB"),
        ("value<64", "growth", "KB/run, MB/run, GB/run or /run"),
        ("rate>=9%", "latency", "avg count max med min value pNN"),
        ("avg>=0.5", "rate", "count rate"),
        ("count>=2ms", "latency", "no unit"),
        ("10", "count", '"value>=10"'),
        ("", "latency", '"p95<500ms"'),
        (">=150%", "rate", "0% to 100%"),
    ],
)
def test_bad_threshold_says_what_is_allowed(text: str, kind: str, allowed: str) -> None:
    with pytest.raises(ThresholdSyntaxError, match="bad threshold") as excinfo:
        parse_threshold("m", text, kind)
    assert allowed in str(excinfo.value)


def test_bad_operator_message_matches_the_contract() -> None:
    with pytest.raises(ThresholdSyntaxError) as excinfo:
        parse_threshold("navigation", "p95<<500ms", "latency")
    assert str(excinfo.value) == (
        'bad threshold "p95<<500ms" for navigation: operator "<<" is not allowed; '
        'expected "<stat> <op> <value><unit>" with op one of < <= > >='
    )


def test_syntax_error_is_a_value_error_and_a_library_usage_error() -> None:
    assert issubclass(ThresholdSyntaxError, ValueError)
    assert issubclass(ThresholdSyntaxError, UsageError)


@pytest.mark.parametrize("value", [None, True, b"p95<5ms", {"p95": 5}, float("nan"), math.inf])
def test_bad_threshold_types(value: object) -> None:
    with pytest.raises(ThresholdSyntaxError, match=r"bad threshold .* for navigation"):
        parse_threshold("navigation", value, "latency")  # type: ignore[arg-type]


def test_negative_number() -> None:
    with pytest.raises(ThresholdSyntaxError, match="negative"):
        parse_threshold("navigation", -5, "latency")


@pytest.mark.parametrize("kind", ["", "speed", "Latency", None])
def test_unknown_kind(kind: str) -> None:
    with pytest.raises(ThresholdSyntaxError, match="unknown metric kind"):
        parse_threshold("navigation", "p95<5ms", kind)


@pytest.mark.parametrize("metric", ["", "  "])
def test_empty_metric(metric: str) -> None:
    with pytest.raises(ThresholdSyntaxError, match="metric name"):
        parse_threshold(metric, "p95<5ms", "latency")


# --------------------------------------------------------------------------- lists


def test_parse_thresholds_single() -> None:
    [t] = parse_thresholds("navigation", "p95<500ms", "latency")
    assert t.describe() == "p95 < 500 ms"
    [t] = parse_thresholds("navigation", 300, "latency")
    assert t.describe() == "p95 < 300 ms"


@pytest.mark.parametrize("container", [list, tuple])
def test_parse_thresholds_list(container: type) -> None:
    spec = container(["p95<500ms", "p99 < 1s", "max<3s", 250])
    got = parse_thresholds("navigation", spec, "latency")
    assert [t.describe() for t in got] == [
        "p95 < 500 ms",
        "p99 < 1000 ms",
        "max < 3000 ms",
        "p95 < 250 ms",
    ]
    assert {t.metric for t in got} == {"navigation"}


def test_parse_thresholds_empty_list() -> None:
    with pytest.raises(ThresholdSyntaxError, match=r"navigation.*empty"):
        parse_thresholds("navigation", [], "latency")


def test_parse_thresholds_bad_element_names_it() -> None:
    with pytest.raises(ThresholdSyntaxError, match=r'"p95<<1s"'):
        parse_thresholds("navigation", ["p95<500ms", "p95<<1s"], "latency")


def test_parse_thresholds_nested_list_is_refused() -> None:
    with pytest.raises(ThresholdSyntaxError, match="got list"):
        parse_thresholds("navigation", [["p95<500ms"]], "latency")  # type: ignore[list-item]


# --------------------------------------------------------------------------- Threshold


@pytest.mark.parametrize(
    ("text", "kind", "described"),
    [
        ("p95<500ms", "latency", "p95 < 500 ms"),
        ("p95 <= 0.5 s", "latency", "p95 <= 500 ms"),
        ("p99.9<2.5ms", "latency", "p99.9 < 2.5 ms"),
        ("<3s", "latency", "p95 < 3000 ms"),
        ("count>=20", "latency", "count >= 20"),
        ("<500MB", "memory", "value < 500 MB"),
        ("<512KB", "memory", "value < 0.5 MB"),
        (">=95%", "rate", "rate >= 95 %"),
        (">=29%", "rate", "rate >= 29 %"),
        (">=0.5", "rate", "rate >= 50 %"),
        (">=12.5%", "rate", "rate >= 12.5 %"),
        (">=10", "count", "value >= 10"),
        ("<64KB/run", "growth", "value < 64 KB/run"),
        ("<5/run", "growth", "value < 5/run"),
    ],
)
def test_describe(text: str, kind: str, described: str) -> None:
    assert parse_threshold("m", text, kind).describe() == described


def test_scaled_multiplies_latency_only() -> None:
    t = parse_threshold("navigation", "p95<500ms", "latency")
    doubled = t.scaled(2)
    assert doubled.value == 1000.0
    assert doubled.describe() == "p95 < 1000 ms"
    assert doubled.source == "p95<500ms"
    assert t.value == 500.0  # frozen, unchanged
    assert t.scaled(1) is t
    assert t.scaled(0.5).value == 250.0


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("<500MB", "memory"),
        (">=95%", "rate"),
        (">=10", "count"),
        ("<64KB/run", "growth"),
        ("count>=20", "latency"),
    ],
)
def test_scaled_leaves_non_times_unchanged(text: str, kind: str) -> None:
    t = parse_threshold("m", text, kind)
    assert t.scaled(3) == t


@pytest.mark.parametrize("factor", [0, -1, math.nan, math.inf])
def test_scaled_rejects_bad_factor(factor: float) -> None:
    t = parse_threshold("navigation", "p95<500ms", "latency")
    with pytest.raises(ValueError, match="scale factor"):
        t.scaled(factor)


def test_threshold_is_frozen() -> None:
    t = parse_threshold("navigation", "p95<500ms", "latency")
    with pytest.raises(AttributeError):
        t.value = 1.0  # type: ignore[misc]


# --------------------------------------------------------------------------- statistics


@pytest.mark.parametrize(
    ("samples", "q", "expected"),
    [
        ([1, 2, 3, 4], 50, 2.5),
        ([1, 2, 3, 4], 25, 1.75),
        ([1, 2, 3, 4], 75, 3.25),
        ([1, 2, 3, 4], 0, 1),
        ([1, 2, 3, 4], 100, 4),
        ([4, 1, 3, 2], 50, 2.5),  # order does not matter
        ([7], 95, 7),
        ([7], 0, 7),
        ([1, 2], 95, 1.95),
        ([1, 2, 3], 50, 2),
        (list(range(1, 21)), 95, 19.05),  # h = 19 * 0.95 = 18.05
        (list(range(1, 21)), 50, 10.5),
        (list(range(1, 21)), 100, 20),
        (list(range(1, 101)), 99, 99.01),
        (list(range(0, 101)), 99, 99),
        ([10, 10, 10], 99.9, 10),
        ([100.0, 200.0], 99.9, 199.9),
    ],
)
def test_percentile_hand_computed(samples: list[float], q: float, expected: float) -> None:
    assert percentile(samples, q) == pytest.approx(expected, rel=1e-12)


def test_percentile_extremes_are_exact() -> None:
    data = [0.1, 0.7, 0.3, 123.456]
    assert percentile(data, 100) == max(data)
    assert percentile(data, 0) == min(data)


@pytest.mark.parametrize(
    "data",
    [
        [1.0, 2.0, 3.0, 4.0],
        list(range(1, 21)),
        [312.4, 280.1, 1503.2, 299.9, 305.0, 290.2, 410.8],
        [5.5, 5.5, 1.0, 9.25, 3.125, 8.0, 2.0, 7.75, 6.0, 4.0, 0.5],
        [float(x * x % 97) for x in range(250)],
    ],
)
def test_percentile_matches_statistics_inclusive(data: list[float]) -> None:
    cuts = statistics.quantiles(data, n=100, method="inclusive")
    for k, cut in enumerate(cuts, start=1):
        assert percentile(data, k) == pytest.approx(cut, rel=1e-12, abs=1e-12), k
    assert percentile(data, 50) == pytest.approx(statistics.median(data), rel=1e-12)


def test_percentile_stays_within_range_and_is_monotonic() -> None:
    data = [float(x * 7919 % 1000) / 7 for x in range(37)]
    values = [percentile(data, q / 10) for q in range(1001)]
    assert all(min(data) <= v <= max(data) for v in values)
    assert all(a <= b for a, b in itertools.pairwise(values))


@pytest.mark.parametrize(
    ("samples", "q", "message"),
    [
        ([], 50, "no samples"),
        ([1.0], -1, "between 0 and 100"),
        ([1.0], 100.5, "between 0 and 100"),
        ([1.0], math.nan, "between 0 and 100"),
        ([1.0, math.nan], 50, "NaN"),
    ],
)
def test_percentile_errors(samples: list[float], q: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        percentile(samples, q)


@pytest.mark.parametrize(
    ("stat", "samples", "expected"),
    [
        ("min", [3, 1, 2], 1),
        ("max", [3, 1, 2], 3),
        ("avg", [1, 2, 3, 4], 2.5),
        ("avg", [0.1] * 10, 0.1),
        ("med", [1, 2, 3, 4], 2.5),
        ("med", [5, 1, 3], 3),
        ("p50", [1, 2, 3, 4], 2.5),
        ("p95", list(range(1, 21)), 19.05),
        ("p(95)", list(range(1, 21)), 19.05),
        ("p100", [3, 9, 1], 9),
        ("rate", [1, 1, 0, 1], 0.75),
        ("rate", [True, False], 0.5),
        ("rate", [0, 0], 0.0),
        ("rate", [1], 1.0),
        ("count", [5, 5, 5], 3),
        ("value", [420.0], 420.0),
        ("value", [410.0, 498.5, 300.0], 498.5),
    ],
)
def test_compute_stat(stat: str, samples: list[float], expected: float) -> None:
    assert compute_stat(stat, samples) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("stat", ["min", "max", "avg", "med", "p95", "rate", "count", "value"])
def test_compute_stat_no_samples(stat: str) -> None:
    with pytest.raises(ValueError, match="no samples"):
        compute_stat(stat, [])


def test_compute_stat_unknown_stat() -> None:
    with pytest.raises(ValueError, match="unknown stat"):
        compute_stat("q95", [1.0])


@pytest.mark.parametrize(
    ("stat", "needed"),
    [
        ("p50", 2),
        ("med", 2),
        ("p75", 4),
        ("p90", 10),
        ("p95", 20),
        ("p(95)", 20),
        ("p99", 100),
        ("p99.9", 1000),
        ("p99.99", 10000),
        ("p66", 3),  # 100 / 34 = 2.94
        ("p1", 2),  # 100 / 99 = 1.01
        ("p100", 1),
        ("min", 1),
        ("max", 1),
        ("avg", 1),
        ("rate", 1),
        ("count", 1),
        ("value", 1),
    ],
)
def test_min_samples(stat: str, needed: int) -> None:
    assert min_samples(stat) == needed


def test_min_samples_table() -> None:
    assert MIN_SAMPLES["p95"] == 20
    assert MIN_SAMPLES["p99"] == 100
    assert MIN_SAMPLES["p50"] == 2
    assert all(min_samples(stat) == n for stat, n in MIN_SAMPLES.items())
    with pytest.raises(ValueError, match="unknown stat"):
        min_samples("fast")


# --------------------------------------------------------------------------- verdicts


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (312.4, "ms", "312.4 ms"),
        (1503.25, "ms", "1503.2 ms"),
        (65000.0, "ms", "65000.0 ms"),
        (0.04, "ms", "0.0 ms"),
        (498.5, "MB", "498.5 MB"),
        (0.5, "MB", "0.5 MB"),
        (0.75, "%", "75.0 %"),
        (1.0, "%", "100.0 %"),
        (0.9567, "%", "95.7 %"),
        (10.0, "", "10"),
        (10.5, "", "10.5"),
        (19.05, "", "19.05"),
        (3.0, "/run", "3/run"),
        (2.5, "/run", "2.5/run"),
        (12.34, "KB/run", "12.3 KB/run"),
        (-0.01, "KB/run", "0.0 KB/run"),
        (-3.5, "KB/run", "-3.5 KB/run"),
    ],
)
def test_format_value(value: float, unit: str, shown: str) -> None:
    assert format_value(value, unit) == shown


NAV = parse_threshold("navigation", "p95<500ms", "latency")


@pytest.mark.parametrize(
    ("threshold", "samples", "passed", "weak", "line"),
    [
        (
            NAV,
            [312.4] * 20,
            True,
            False,
            "✓ navigation p95 < 500 ms: 312.4 ms (n=20)",
        ),
        (
            NAV,
            [1503.2] * 20,
            False,
            False,
            "✗ navigation p95 < 500 ms: 1503.2 ms (n=20)",
        ),
        (
            NAV,
            [100.0, 200.0, 300.0],
            True,
            True,
            "✓ navigation p95 < 500 ms: 290.0 ms (n=3) [weak: p95 over 3 samples]",
        ),
        (
            NAV,
            [900.0],
            False,
            True,
            "✗ navigation p95 < 500 ms: 900.0 ms (n=1) [weak: p95 over 1 sample]",
        ),
        (
            NAV,
            [500.0] * 20,
            False,
            False,
            "✗ navigation p95 < 500 ms: 500.0 ms (n=20)",
        ),
        (
            parse_threshold("navigation", "p95<=500ms", "latency"),
            [500.0] * 20,
            True,
            False,
            "✓ navigation p95 <= 500 ms: 500.0 ms (n=20)",
        ),
        (
            parse_threshold("startup", "max<3000ms", "latency"),
            [1200.0, 2999.9],
            True,
            False,
            "✓ startup max < 3000 ms: 2999.9 ms (n=2)",
        ),
        (
            parse_threshold("memory.idle", "value<500MB", "memory"),
            [512.0],
            False,
            False,
            "✗ memory.idle value < 500 MB: 512.0 MB (n=1)",
        ),
        (
            parse_threshold("stress.success", "rate>=95%", "rate"),
            [1, 1, 0, 1],
            False,
            False,
            "✗ stress.success rate >= 95 %: 75.0 % (n=4)",
        ),
        (
            parse_threshold("stress.success", "rate>=95%", "rate"),
            [1] * 19 + [0],
            True,
            False,
            "✓ stress.success rate >= 95 %: 95.0 % (n=20)",
        ),
        (
            parse_threshold("fleet.browsers", "value>=10", "count"),
            [10],
            True,
            False,
            "✓ fleet.browsers value >= 10: 10 (n=1)",
        ),
        (
            parse_threshold("fleet.pages", "value>=50", "count"),
            [49],
            False,
            False,
            "✗ fleet.pages value >= 50: 49 (n=1)",
        ),
        (
            parse_threshold("leaks.js_heap", "value<64KB/run", "growth"),
            [12.34],
            True,
            False,
            "✓ leaks.js_heap value < 64 KB/run: 12.3 KB/run (n=1)",
        ),
        (
            parse_threshold("leaks.handles", "<5/run", "growth"),
            [7],
            False,
            False,
            "✗ leaks.handles value < 5/run: 7/run (n=1)",
        ),
        (
            parse_threshold("navigation", "count>=20", "latency"),
            [300.0] * 5,
            False,
            False,
            "✗ navigation count >= 20: 5 (n=5)",
        ),
        (
            parse_threshold("navigation", "med<400ms", "latency"),
            [350.0],
            True,
            True,
            "✓ navigation med < 400 ms: 350.0 ms (n=1) [weak: med over 1 sample]",
        ),
    ],
)
def test_evaluate(
    threshold: Threshold, samples: list[float], passed: bool, weak: bool, line: str
) -> None:
    verdict = evaluate(threshold, samples)
    assert verdict.threshold is threshold
    assert verdict.n == len(samples)
    assert verdict.passed is passed
    assert verdict.weak is weak
    assert verdict.measured is not None
    assert verdict.line() == line


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("p95<500ms", "latency"),
        ("p95>=0ms", "latency"),
        ("count<5", "latency"),  # "no samples" beats a count of 0
        ("<500MB", "memory"),
        (">=0%", "rate"),
        (">=0", "count"),
        ("<64KB/run", "growth"),
    ],
)
def test_no_samples_fails(text: str, kind: str) -> None:
    t = parse_threshold("navigaton", text, kind)
    verdict = evaluate(t, [])
    assert verdict == Verdict(threshold=t, measured=None, n=0, passed=False, weak=False)
    assert verdict.line() == f"✗ navigaton {t.describe()}: no samples"


def test_weak_boundary() -> None:
    assert not evaluate(NAV, [1.0] * 20).weak
    assert evaluate(NAV, [1.0] * 19).weak
    p99 = parse_threshold("navigation", "p99<500ms", "latency")
    assert evaluate(p99, [1.0] * 99).weak
    assert not evaluate(p99, [1.0] * 100).weak
    assert not evaluate(parse_threshold("startup", "max<3s", "latency"), [1.0]).weak


def test_evaluate_scaled() -> None:
    verdict = evaluate(NAV.scaled(2), [900.0] * 20)
    assert verdict.passed
    assert verdict.line() == "✓ navigation p95 < 1000 ms: 900.0 ms (n=20)"


# --------------------------------------------------------------------------- gates


KINDS_MAP = {"memory.idle": "memory", "stress.success": "rate", "leaks.js_heap": "growth"}


def test_parse_gates() -> None:
    text = """
        # the contract's reference targets

        navigation: p95 < 500 ms
        navigation: max<3s   # same metric, second line
        memory.idle: value < 500 MB
        stress.success: >=95%
          # indented comment
        leaks.js_heap: <64KB/run
        startup: 3000
    """
    gates = parse_gates(text, KINDS_MAP)
    assert [(g.metric, g.kind, g.describe()) for g in gates] == [
        ("navigation", "latency", "p95 < 500 ms"),
        ("navigation", "latency", "max < 3000 ms"),
        ("memory.idle", "memory", "value < 500 MB"),
        ("stress.success", "rate", "rate >= 95 %"),
        ("leaks.js_heap", "growth", "value < 64 KB/run"),
        ("startup", "latency", "p95 < 3000 ms"),
    ]
    assert gates[1].source == "max<3s"


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n   # and another"])
def test_parse_gates_empty(text: str) -> None:
    assert parse_gates(text, {}) == []


@pytest.mark.parametrize(
    ("text", "lineno", "fragments"),
    [
        ("navigation: p95<500ms\n\nnavigation: p95<<500ms", 3, ['"p95<<500ms"', '"<<"']),
        ("# c\nnavigation p95<500ms", 2, ['"navigation p95<500ms"', '"<metric>: <threshold>"']),
        ("p95<500ms", 1, ['"<metric>: <threshold>"']),
        (": p95<500ms", 1, ['"<metric>: <threshold>"']),
        ("navigation:", 1, ["empty"]),
        ("nav igation: p95<5ms", 1, ['"<metric>: <threshold>"']),
        ("navigation: p95<500ms, p99<1s", 1, ["one threshold per line"]),
        ("\n\n\nmemory.idle: p95<500ms", 4, ['"ms"', "memory"]),
        ("x\n", 1, ['"x"']),
    ],
)
def test_parse_gates_bad_line(text: str, lineno: int, fragments: list[str]) -> None:
    with pytest.raises(ThresholdSyntaxError, match=f"^gate line {lineno} ") as excinfo:
        parse_gates(text, KINDS_MAP)
    assert excinfo.value.line == lineno
    for fragment in fragments:
        assert fragment in str(excinfo.value)


def test_parse_gates_reports_every_bad_line() -> None:
    text = "navigation: p95<<500ms\nstartup: max<3s\ncheckout: soon\nx\n"
    with pytest.raises(ThresholdSyntaxError, match=r"^3 problems:") as excinfo:
        parse_gates(text, KINDS_MAP)
    assert [problem.line for problem in excinfo.value.problems] == [1, 3, 4]
    assert excinfo.value.line == 1
    for fragment in ("gate line 1", '"p95<<500ms"', "gate line 3", '"soon"', "gate line 4"):
        assert fragment in str(excinfo.value)


def test_parse_gates_unknown_kind_in_mapping() -> None:
    with pytest.raises(ThresholdSyntaxError, match=r"gate line 1 .*unknown metric kind"):
        parse_gates("navigation: p95<5ms", {"navigation": "speed"})


# --------------------------------------------------------------------------- preset


def test_acceptance_preset_parses() -> None:
    parsed = [parse_threshold(metric, text, kind) for metric, text, kind in ACCEPTANCE_PRESET]
    assert {t.kind for t in parsed} <= set(KINDS)
    assert [(t.metric, t.describe()) for t in parsed] == [
        ("startup", "max < 3000 ms"),
        ("navigation", "p95 < 500 ms"),
        ("memory.browser_idle", "value < 500 MB"),
        ("fleet.browsers", "value >= 10"),
        ("fleet.pages", "value >= 50"),
        ("stress.success", "rate >= 95 %"),
        ("leaks.js_heap", "value < 64 KB/run"),
        ("recovery.success", "rate >= 80 %"),
    ]
    assert len({metric for metric, _, _ in ACCEPTANCE_PRESET}) == len(ACCEPTANCE_PRESET)
