"""Baseline comparison by distributions (no browser): planted sample sets, fail rules
judged by shift and significance, single values compared directly, the outputs."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from pytest_cdp_accept.gate.baseline import BaselineStore, compare, parse_fail_rule
from pytest_cdp_accept.gate.shift import MAX_SAMPLES, samples_by_metric
from pytest_cdp_accept.gate.thresholds import format_value

from .test_baseline import baseline_of, make_report


def noisy(n: int, centre: float, seed: int, spread: float = 8.0) -> list[float]:
    rng = random.Random(seed)
    return [centre + rng.gauss(0, spread) for _ in range(n)]


def with_samples(report: dict[str, Any]) -> dict[str, Any]:
    """A baseline as BaselineStore.save writes it now: with the raw samples."""
    return baseline_of(report, samples=samples_by_metric(report))


def test_a_planted_regression_is_regressed_and_fails_the_rule() -> None:
    base = with_samples(make_report({"navigation": noisy(40, 100, 21)}))
    current = make_report({"navigation": noisy(40, 140, 22)})
    comparison = compare(current, base, [parse_fail_rule("navigation.p50:20ms")])
    (row,) = comparison.shifts
    assert row.rule == "navigation.p50:20ms"
    assert row.result.verdict == "regressed"
    assert row.regressed
    assert comparison.failed
    shift = row.result.shift
    assert shift is not None
    assert shift.low < 40 < shift.high
    assert row.result.p is not None
    assert row.result.p < 1e-6
    # The rule is judged on the distributions: no statistic row carries it.
    assert all(r.limit is None for r in comparison.rows)
    line = row.line()
    assert line.startswith("navigation: med ")
    assert ", shift +" in line
    assert "95 % CI +" in line
    assert line.endswith("regressed, limit 20 ms ✗")


def test_noise_is_no_change_even_where_a_p95_rule_on_statistics_would_fire() -> None:
    # Same distribution, two draws: their p95 differ by 5 %.
    old, new = noisy(20, 100, 3, spread=20), noisy(20, 100, 4, spread=20)
    base = with_samples(make_report({"navigation": old}))
    current = make_report({"navigation": new})
    rule = parse_fail_rule("navigation.p95:4%")
    statistic_only = compare(current, baseline_of(make_report({"navigation": old})), [rule])
    assert statistic_only.failed  # the old way: two summary figures
    comparison = compare(current, base, [rule])
    assert not comparison.failed
    (row,) = comparison.shifts
    assert row.result.verdict == "no change"
    assert "limit 4% of the baseline p95 ✓" in row.line()


def test_without_rules_every_shared_metric_is_reported_and_nothing_fails() -> None:
    base = with_samples(make_report({"navigation": noisy(30, 100, 5), "command": [1.0, 2.0]}))
    current = make_report({"navigation": noisy(30, 150, 6), "command": [1.5, 2.5]})
    comparison = compare(current, base)
    verdicts = {row.metric: row.result.verdict for row in comparison.shifts}
    assert verdicts == {"navigation": "regressed", "command": "too few samples"}
    assert not comparison.failed  # informational without a rule
    lines = "\n".join(comparison.lines())
    assert "command: med 1.5 ms -> 2.0 ms: too few samples (2 in the baseline" in lines
    assert "one-sided Mann-Whitney U, significant below 0.01" in lines
    # The statistic rows of a metric with a distribution row stay in the JSON only.
    assert "navigation p95:" not in lines
    assert any(r.metric == "navigation" and r.stat == "p95" for r in comparison.rows)


FLOOR = "noise floor: 95 % interval beyond 10 % of the baseline median"


def run_level_shift(
    percent: float, median: float = 1000.0, metric: str = "navigation"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A baseline and a report whose samples all moved by ``percent`` % of ``median``:
    a run-level difference, significant to a per-sample test."""
    old = [median * (1 + 0.06 * (k / 59 - 0.5)) for k in range(60)]
    return with_samples(make_report({metric: old})), make_report(
        {metric: [v + median * percent / 100 for v in old]}
    )


def test_the_noise_floor_of_a_time_is_at_least_a_frame() -> None:
    """A fast page's run-level shift of 16 % (8 ms of 50) is within one frame at 60 Hz;
    a planted +40 ms is beyond it; a size in MB has no such floor."""
    base, current = run_level_shift(16, median=50.0)
    (row,) = compare(current, base).shifts
    assert row.result.shift is not None
    assert row.result.shift.low > 5.0  # beyond 10 % of the median
    assert row.result.verdict == "no change"
    assert row.line().endswith("no change, noise floor: 95 % interval beyond 16.7 ms")
    assert "16.7" in row.result.reason
    base, current = run_level_shift(80, median=50.0)
    (row,) = compare(current, base).shifts
    assert row.result.verdict == "regressed"
    base, current = run_level_shift(16, median=50.0, metric="memory.idle")
    (row,) = compare(current, base).shifts
    assert row.result.verdict == "regressed"
    assert row.line().endswith(f"regressed, {FLOOR}")


def test_without_a_rule_a_shift_within_the_noise_floor_is_no_change() -> None:
    base, current = run_level_shift(8)
    (row,) = compare(current, base).shifts
    assert row.result.p is not None
    assert row.result.p < 1e-10
    assert row.result.verdict == "no change"
    assert row.line().endswith(f"p = {row.result.p:.1e}: no change, {FLOOR}")
    data = row.to_json()
    assert (data["rule"], data["limit"], data["noise_floor_percent"]) == (None, FLOOR, 10.0)
    assert "within the run-to-run noise floor" in data["reason"]
    # A rule tighter than the floor catches it, judged on the estimate.
    ruled = compare(current, base, [parse_fail_rule("navigation.p50:5%")])
    (row,) = ruled.shifts
    assert row.result.verdict == "regressed"
    assert ruled.failed
    assert row.line().endswith("regressed, limit 5% of the baseline med ✗")
    data = row.to_json()
    assert (data["limit"], data["noise_floor_percent"]) == ("5% of the baseline med", None)


def test_without_a_rule_a_shift_beyond_the_noise_floor_is_regressed() -> None:
    base, current = run_level_shift(50)
    comparison = compare(current, base)
    (row,) = comparison.shifts
    assert row.result.verdict == "regressed"
    assert row.line().endswith(f"regressed, {FLOOR}")
    assert not comparison.failed  # informational without a rule


def test_alpha_decides_what_is_significant() -> None:
    base = with_samples(make_report({"navigation": [100.0, 101.0, 102.0, 103.0]}))
    current = make_report({"navigation": [130.0, 131.0, 132.0, 133.0, 134.0]})
    rule = [parse_fail_rule("navigation.med:10ms")]
    strict = compare(current, base, rule, alpha=0.001)
    assert strict.shifts[0].result.verdict == "too few samples"
    assert not strict.failed
    assert compare(current, base, rule, alpha=0.01).failed  # p = 1/126


def test_rules_on_single_values_compare_directly_and_say_so() -> None:
    base = with_samples(make_report({"memory.idle": [300.0], "navigation": noisy(20, 100, 7)}))
    current = make_report({"memory.idle": [340.0], "navigation": noisy(20, 100, 8)})
    rules = [parse_fail_rule("memory.idle.value:20MB"), parse_fail_rule("navigation.value:50%")]
    comparison = compare(current, base, rules)
    direct = {row.metric: row for row in comparison.rows if row.limit is not None}
    assert direct["memory.idle"].regressed  # one sample each: no distribution to test
    assert not direct["navigation"].regressed
    assert direct["navigation"].direct  # samples on both sides, but a rule on value
    assert "compared directly" in direct["navigation"].line()
    assert comparison.failed
    # Both metrics still get their informational distribution rows.
    assert [(row.metric, row.rule) for row in comparison.shifts] == [
        ("memory.idle", None),
        ("navigation", None),
    ]


def test_rates_regress_by_dropping() -> None:
    base = with_samples(make_report({"stress.success": [1.0] * 95 + [0.0] * 5}))
    current = make_report({"stress.success": [1.0] * 70 + [0.0] * 30})
    comparison = compare(current, base, [parse_fail_rule("stress.success.rate:10%")])
    (row,) = comparison.shifts
    assert row.result.lower_is_worse
    assert row.result.p_worse is not None
    assert row.result.p_worse < 0.01


def test_the_json_rows_carry_everything_the_reports_show() -> None:
    base = with_samples(make_report({"navigation": noisy(40, 100, 9)}))
    current = make_report({"navigation": noisy(40, 140, 10)})
    comparison = compare(current, base, [parse_fail_rule("navigation.p50:20ms")])
    (row,) = comparison.shifts_json()
    assert json.loads(json.dumps(row, allow_nan=False)) == row
    assert row["verdict"] == "regressed"
    assert row["ci_low"] < row["shift"] < row["ci_high"]
    assert row["p"] < 0.01
    assert row["alpha"] == 0.01
    assert row["limit"] == "20 ms"
    assert len(row["baseline_samples"]) == 40


def test_a_baseline_keeps_the_last_samples_of_each_metric(tmp_path: Path) -> None:
    values = [float(i) for i in range(MAX_SAMPLES + 50)]
    path = BaselineStore(tmp_path).save("main", make_report({"navigation": values}))
    kept = json.loads(path.read_text())["samples"]["navigation"]
    assert kept == values[-MAX_SAMPLES:]


def test_samples_from_a_report_or_a_baseline() -> None:
    report = make_report({"navigation": [1.0, 2.0], "startup": [3.0]})
    assert samples_by_metric(report) == {"navigation": [1.0, 2.0], "startup": [3.0]}
    assert samples_by_metric({"samples": {"navigation": [1, 2, "x"]}}) == {"navigation": [1, 2]}
    assert samples_by_metric({"metrics": {}}) == {}


@pytest.mark.parametrize("name", ["base.json", "report.json"])
def test_compare_reads_baselines_and_reports_alike(tmp_path: Path, name: str) -> None:
    report = make_report({"navigation": noisy(30, 100, 11)})
    if name == "base.json":
        source = json.loads(BaselineStore(tmp_path).save("base", report).read_text())
    else:
        source = report
    comparison = compare(make_report({"navigation": noisy(30, 100, 12)}), source)
    assert [row.result.verdict for row in comparison.shifts] == ["no change"]


# --------------------------------------------------------------------------- cdp-accept compare


def test_cdp_accept_compare_on_a_baseline_and_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_cdp_accept import cli

    store = BaselineStore(tmp_path / "baselines")
    store.save("main", make_report({"navigation": noisy(40, 100, 21)}))
    report = tmp_path / "pr.json"
    report.write_text(json.dumps(make_report({"navigation": noisy(40, 140, 22)})))
    args = ["compare", "main", str(report), "--baseline-dir", str(store.root)]

    assert cli.main([*args, "--json", str(tmp_path / "cmp.json")]) == 0  # no rule: report only
    out = capsys.readouterr().out
    assert f"{report} against main:" in out
    assert "navigation: med " in out
    assert ": regressed" in out
    assert json.loads((tmp_path / "cmp.json").read_text())["shifts"][0]["verdict"] == "regressed"

    assert cli.main([*args, "--fail", "navigation.p50:20ms"]) == 1
    assert "regression(s) beyond the --cdp-compare-fail limits" in capsys.readouterr().out
    # A run-level shift of 8 %: within the noise floor without a rule, beyond a 5 % rule.
    base, current = run_level_shift(8)
    (tmp_path / "a.json").write_text(json.dumps(base))
    (tmp_path / "b.json").write_text(json.dumps(current))
    pair = ["compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")]
    assert cli.main(pair) == 0
    assert f": no change, {FLOOR}" in capsys.readouterr().out
    assert cli.main([*pair, "--fail", "navigation.p50:5%"]) == 1
    assert "regressed, limit 5% of the baseline med ✗" in capsys.readouterr().out
    # Swapped, the same shift is an improvement, and the rule passes.
    assert cli.main(["compare", str(report), "main", "--baseline-dir", str(store.root),
                     "--fail", "navigation.p50:20ms"]) == 0  # fmt: skip
    assert ": improved" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere", "nowhere"], "nowhere: no such file, and no baseline of that name"),
        (["a.json", "a.json", "--alpha", "0.7"], "--alpha 0.7 must be between 0 and 0.5"),
        (["a.json", "a.json", "--fail", "navigation:10%"], "bad fail rule"),
        (["bad.json", "a.json"], "bad.json: neither a baseline nor a --cdp-json report"),
    ],
)
def test_cdp_accept_compare_bad_input(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    from pytest_cdp_accept import cli

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.json").write_text(json.dumps(make_report({"navigation": [1.0, 2.0]})))
    (tmp_path / "bad.json").write_text("[]")
    assert cli.main(["compare", *args]) == 2
    assert message in capsys.readouterr().err


# --------------------------------------------------------------------------- the reports


def compared_report() -> dict[str, Any]:
    """A report compared with a baseline as --cdp-compare writes it."""
    base = with_samples(make_report({"navigation": noisy(40, 100, 31)}))
    report = make_report({"navigation": noisy(40, 140, 32)})
    comparison = compare(report, base, [parse_fail_rule("navigation.p50:20ms")])
    report["comparison"] = comparison.to_json()
    report["baseline_comparison"] = {
        "baseline": comparison.header(),
        "alpha": 0.01,
        "shifts": comparison.shifts_json(),
    }
    return report


def test_the_html_report_draws_both_distributions_with_the_verdict() -> None:
    from pytest_cdp_accept.gate.html_report import render_html

    report = compared_report()
    page = render_html(report)
    (shift,) = report["baseline_comparison"]["shifts"]
    section = page.split('<section id="baseline">')[1].split("</section>")[0]
    assert "Hodges–Lehmann" in section
    (row,) = [r for r in section.split("<tr") if "REGRESSED" in r]
    assert ">regressed<" in row
    assert ">20 ms<" in row
    chart = section.split('<svg class="chart" data-metric="navigation"')[1].split("</svg>")[0]
    assert chart.count("<circle") == 80  # 40 samples a side
    assert ">baseline<" in chart
    assert ">this run<" in chart
    assert f"baseline median {format_value(shift['baseline_median'], 'ms')}<" in chart
    assert f"this run median {format_value(shift['current_median'], 'ms')}<" in chart


def test_the_html_report_shows_the_noise_floor_of_a_row_without_a_rule() -> None:
    from pytest_cdp_accept.gate.html_report import render_html

    base, report = run_level_shift(8)
    comparison = compare(report, base)
    report["baseline_comparison"] = {
        "baseline": comparison.header(),
        "alpha": 0.01,
        "shifts": comparison.shifts_json(),
    }
    section = render_html(report).split('<section id="baseline">')[1].split("</section>")[0]
    (row,) = [r for r in section.split("<tr") if 'class="metric">navigation<' in r]
    assert "<td>no change</td>" in row
    assert f">{FLOOR}<" in row


def test_the_benchmark_export_carries_the_comparison() -> None:
    from pytest_cdp_accept.gate.benchmark_export import to_pytest_benchmark

    run = to_pytest_benchmark(compared_report(), commit_info={})
    (bench,) = [b for b in run["benchmarks"] if b["group"] == "navigation"]
    (row,) = bench["extra_info"]["baseline_comparison"]
    assert row["verdict"] == "regressed"
    assert row["ci_low"] < row["shift"] < row["ci_high"]
    assert row["rule"] == "navigation.p50:20ms"
    assert "baseline_samples" not in row
    plain = to_pytest_benchmark(make_report({"navigation": [1.0, 2.0]}), commit_info={})
    assert "baseline_comparison" not in plain["benchmarks"][0]["extra_info"]
