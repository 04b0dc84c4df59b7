"""Tests for the comparison statistics (no browser): Mann–Whitney U, Hodges–Lehmann,
minimum sample sizes and the verdict, against SciPy, brute force and published values.

SciPy is a test-only dependency: the package computes everything in pure Python.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence

import pytest

from pytest_cdp_accept.gate.stats import (
    _u_counts,
    can_reach,
    compare_samples,
    hodges_lehmann,
    mann_whitney_u,
    minimum_sizes,
    pairwise_difference_rank,
    smallest_p,
    too_few_text,
)

scipy_stats = pytest.importorskip("scipy.stats")

ALTERNATIVES = ("two-sided", "less", "greater")


def sample_sets(
    sizes: Sequence[tuple[int, int]], *, seed: int, decimals: int | None = None
) -> list[tuple[list[float], list[float]]]:
    """Fixed (seeded) pairs of latency-like samples, the second shifted a little."""
    rng = random.Random(seed)
    sets = []
    for m, n in sizes:
        x = [rng.lognormvariate(4.5, 0.3) for _ in range(m)]
        y = [rng.lognormvariate(4.6, 0.3) for _ in range(n)]
        if decimals is not None:
            x = [round(v, decimals) for v in x]
            y = [round(v, decimals) for v in y]
        sets.append((x, y))
    return sets


def brute_differences(x: Sequence[float], y: Sequence[float]) -> list[float]:
    return sorted(b - a for a in x for b in y)


# --------------------------------------------------------------------------- the U test


SMALL = [(1, 1), (1, 5), (2, 9), (3, 3), (4, 7), (5, 5), (6, 40), (8, 8), (8, 200), (3, 1000)]


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize(("x", "y"), sample_sets(SMALL, seed=1))
def test_exact_p_values_match_scipy(x: list[float], y: list[float], alternative: str) -> None:
    ours = mann_whitney_u(x, y, alternative=alternative)  # type: ignore[arg-type]
    theirs = scipy_stats.mannwhitneyu(x, y, alternative=alternative, method="auto")
    assert ours.method == "exact"
    assert ours.u == theirs.statistic
    assert ours.p == pytest.approx(float(theirs.pvalue), abs=1e-6, rel=0)


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize(("x", "y"), sample_sets([(9, 12), (12, 15), (15, 15)], seed=2))
def test_exact_method_on_larger_samples_matches_scipy(
    x: list[float], y: list[float], alternative: str
) -> None:
    ours = mann_whitney_u(x, y, alternative=alternative, method="exact")  # type: ignore[arg-type]
    theirs = scipy_stats.mannwhitneyu(x, y, alternative=alternative, method="exact")
    assert ours.p == pytest.approx(float(theirs.pvalue), abs=1e-6, rel=0)


LARGE = [(9, 9), (20, 20), (40, 40), (9, 300), (100, 120), (1000, 1000)]


@pytest.mark.parametrize("alternative", ALTERNATIVES)
@pytest.mark.parametrize(
    ("x", "y"),
    sample_sets(LARGE, seed=3)
    + sample_sets([(20, 20), (40, 40), (200, 150)], seed=4, decimals=0)  # many ties
    + sample_sets([(5, 7), (3, 30)], seed=5, decimals=0),  # small but tied: asymptotic
)
def test_asymptotic_p_values_match_scipy(x: list[float], y: list[float], alternative: str) -> None:
    ours = mann_whitney_u(x, y, alternative=alternative)  # type: ignore[arg-type]
    theirs = scipy_stats.mannwhitneyu(x, y, alternative=alternative, method="auto")
    assert ours.method == "asymptotic"
    assert ours.u == pytest.approx(float(theirs.statistic))
    assert ours.p == pytest.approx(float(theirs.pvalue), abs=1e-3, rel=0)
    # Both use the same normal approximation, so they agree far closer than 1e-3.
    assert ours.p == pytest.approx(float(theirs.pvalue), abs=1e-9, rel=1e-9)


@pytest.mark.parametrize("continuity", [True, False])
def test_asymptotic_without_continuity_matches_scipy(continuity: bool) -> None:
    ((x, y),) = sample_sets([(12, 14)], seed=6, decimals=0)
    for alternative in ALTERNATIVES:
        ours = mann_whitney_u(
            x,
            y,
            alternative=alternative,  # type: ignore[arg-type]
            method="asymptotic",
            continuity=continuity,
        )
        theirs = scipy_stats.mannwhitneyu(
            x, y, alternative=alternative, method="asymptotic", use_continuity=continuity
        )
        assert ours.p == pytest.approx(float(theirs.pvalue), abs=1e-9)


def test_published_example() -> None:
    # SciPy's documentation (after Shier 2004): ages at diagnosis, males vs females.
    males, females = [19, 22, 16, 29, 24], [20, 11, 17, 12]
    two_sided = mann_whitney_u(males, females)
    assert two_sided.u == 17.0
    assert two_sided.p == pytest.approx(0.1111111111111111, abs=1e-12)
    assert mann_whitney_u(females, males, alternative="less").p == pytest.approx(
        0.05555555555555555, abs=1e-12
    )
    assert mann_whitney_u(males, females, method="asymptotic").p == pytest.approx(
        0.11134688653314041, abs=1e-12
    )
    assert mann_whitney_u(males, females, method="asymptotic", continuity=False).p == pytest.approx(
        0.0864107329737, abs=1e-12
    )


def test_all_values_tied_gives_no_evidence() -> None:
    same = [5.0] * 12
    for alternative in ALTERNATIVES:
        ours = mann_whitney_u(same, same, alternative=alternative)  # type: ignore[arg-type]
        theirs = scipy_stats.mannwhitneyu(same, same, alternative=alternative)
        assert ours.p == 1.0 == float(theirs.pvalue)


def test_bad_samples_are_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        mann_whitney_u([], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        mann_whitney_u([1.0, math.nan], [1.0])
    with pytest.raises(ValueError, match="alternative"):
        mann_whitney_u([1.0], [2.0], alternative="up")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="method"):
        mann_whitney_u([1.0], [2.0], method="fast")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the null distribution


@pytest.mark.parametrize(("m", "n"), [(1, 1), (2, 3), (3, 3), (4, 6), (5, 7), (6, 6)])
def test_u_distribution_counts_every_arrangement(m: int, n: int) -> None:
    # Enumerate which ranks the first sample takes; U = rank sum - m(m+1)/2.
    counts = [0] * (m * n + 1)
    for ranks in itertools.combinations(range(1, m + n + 1), m):
        counts[sum(ranks) - m * (m + 1) // 2] += 1
    assert list(_u_counts(m, n)) == counts
    assert list(_u_counts(n, m)) == counts


def test_smallest_p_and_minimum_sizes() -> None:
    assert smallest_p(5, 5) == 1 / 252
    assert smallest_p(1000, 1000) == 0.0  # 1 / C(2000, 1000) is below the smallest float
    assert minimum_sizes(0.01) == ((1, 100), (2, 13), (3, 7), (4, 5))
    assert minimum_sizes(0.05) == ((1, 20), (2, 5), (3, 4))
    for alpha in (0.001, 0.01, 0.05, 0.1):
        for m, n in minimum_sizes(alpha):
            assert can_reach(m, n, alpha)
            assert can_reach(n, m, alpha)
            assert not can_reach(m, n - 1, alpha)
            assert not can_reach(m - 1, n, alpha) if m > 1 else True
    # The bound is real: the most extreme arrangement at (4, 4) gives p = 1/70 > 0.01,
    # at (4, 5) 1/126 < 0.01 (SciPy agrees).
    assert scipy_stats.mannwhitneyu([5, 6, 7, 8], [1, 2, 3, 4], alternative="greater").pvalue > 0.01
    assert (
        scipy_stats.mannwhitneyu([5, 6, 7, 8, 9], [1, 2, 3, 4], alternative="greater").pvalue < 0.01
    )
    with pytest.raises(ValueError, match="alpha"):
        minimum_sizes(0.0)


def test_too_few_text_names_the_sizes_needed() -> None:
    text = too_few_text(3, 3, 0.01)
    assert "3 in the baseline, 3 in this run" in text
    assert "at least 4 and 5" in text
    assert "3 and 7" in text
    assert "with 3 on one side, 7 on the other" in text


# --------------------------------------------------------------------------- Hodges–Lehmann


@pytest.mark.parametrize(
    ("x", "y"),
    sample_sets([(1, 1), (1, 7), (5, 5), (30, 40), (70, 90), (150, 200)], seed=7)
    + sample_sets([(60, 80), (200, 200)], seed=8, decimals=0)
    + [([1.0] * 100, [1.0] * 90), ([0.1, 0.2, 0.3] * 40, [0.3, 0.1] * 50)],
)
def test_pairwise_difference_rank_matches_brute_force(x: list[float], y: list[float]) -> None:
    diffs = brute_differences(x, y)
    xs, ys = sorted(x), sorted(y)
    total = len(diffs)
    ranks = {1, 2, total, total - 1, (total + 1) // 2, total // 2 + 1}
    ranks |= set(random.Random(total).sample(range(1, total + 1), min(25, total)))
    for k in sorted(r for r in ranks if 1 <= r <= total):
        assert pairwise_difference_rank(xs, ys, k) == diffs[k - 1], k


@pytest.mark.parametrize(
    ("x", "y"),
    sample_sets([(1, 9), (7, 1), (13, 17), (25, 20)], seed=13)
    + sample_sets([(20, 30)], seed=14, decimals=0)
    + [([3.0] * 10, [3.0] * 10), ([0.0, 1.0] * 8, [1.0, 2.0, 0.0] * 5)],
)
def test_every_rank_by_selection_alone(
    x: list[float], y: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Selection rounds all the way down (no brute-force finish): every rank must come out.
    monkeypatch.setattr("pytest_cdp_accept.gate.stats._BRUTE_FORCE_CANDIDATES", 1)
    diffs = brute_differences(x, y)
    xs, ys = sorted(x), sorted(y)
    assert [pairwise_difference_rank(xs, ys, k) for k in range(1, len(diffs) + 1)] == diffs


def test_pairwise_difference_rank_refuses_a_bad_rank() -> None:
    with pytest.raises(ValueError, match="outside"):
        pairwise_difference_rank([1.0, 2.0], [3.0], 3)


def interval_rank_from_scipy(m: int, n: int, confidence: float) -> int:
    """R's rule (qwilcox) on SciPy's exact distribution: the smallest u with
    P(U <= u) >= (1 - confidence) / 2, read from mannwhitneyu on samples built to have
    U = u."""
    tail = (1 - confidence) / 2
    for u in range(m * n + 1):
        # Second sample 0..n-1; first-sample values placed after c_i of them, c summing to u.
        cuts, left = [], u
        for _ in range(m):
            c = min(n, left)
            cuts.append(c)
            left -= c
        x = [c - 0.5 + i * 1e-6 for i, c in enumerate(cuts)]
        y = [float(j) for j in range(n)]
        result = scipy_stats.mannwhitneyu(x, y, alternative="less", method="exact")
        assert result.statistic == u
        if result.pvalue >= tail:
            return max(1, u)
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("x", "y"), sample_sets([(3, 4), (5, 5), (6, 9), (8, 8), (4, 30), (8, 60)], seed=9)
)
def test_exact_interval_uses_the_exact_critical_values(x: list[float], y: list[float]) -> None:
    shift = hodges_lehmann(x, y)
    assert shift.method == "exact"
    diffs = brute_differences(x, y)
    total = len(diffs)
    k = interval_rank_from_scipy(len(x), len(y), 0.95)
    assert shift.low == diffs[k - 1]
    assert shift.high == diffs[total - k]
    assert shift.estimate == pytest.approx(_median(diffs), abs=1e-12)
    if can_reach(len(x), len(y), 0.025):
        assert shift.achieved >= 0.95


@pytest.mark.parametrize(
    ("x", "y"),
    sample_sets([(9, 9), (20, 20), (40, 40), (100, 120), (300, 250)], seed=10)
    + sample_sets([(30, 30)], seed=11, decimals=0),
)
def test_asymptotic_interval_follows_the_normal_critical_value(
    x: list[float], y: list[float]
) -> None:
    shift = hodges_lehmann(x, y)
    assert shift.method == "asymptotic"
    m, n = len(x), len(y)
    diffs = brute_differences(x, y)
    z = float(scipy_stats.norm.ppf(0.975))
    k = max(1, math.ceil(m * n / 2 - 0.5 - z * math.sqrt(m * n * (m + n + 1) / 12)))
    assert shift.low == diffs[k - 1]
    assert shift.high == diffs[m * n - k]
    assert shift.estimate == pytest.approx(_median(diffs), abs=1e-12)
    assert shift.achieved == pytest.approx(0.95, abs=0.01)


@pytest.mark.parametrize(("m", "n"), [(9, 9), (9, 30), (12, 12), (20, 25)])
def test_asymptotic_interval_rank_is_close_to_the_exact_one(m: int, n: int) -> None:
    ((x, y),) = sample_sets([(m, n)], seed=12)
    exact = hodges_lehmann(x, y, method="exact")
    approx = hodges_lehmann(x, y, method="asymptotic")
    diffs = brute_differences(x, y)
    assert abs(diffs.index(exact.low) - diffs.index(approx.low)) <= 1
    assert abs(exact.achieved - approx.achieved) < 0.01


@pytest.mark.parametrize(
    ("current", "baseline", "estimate", "interval", "p_two_sided", "p_greater"),
    [
        # R 4.2's documented wilcox.test example (exact), with conf.int = TRUE.
        (
            [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46],
            [1.15, 0.88, 0.90, 0.74, 1.21],
            0.305,
            (-0.15, 0.76),
            0.254412254412254,
            0.127206127206127,
        ),
        # A planted latency shift, through R 4.2's wilcox.test(b, a, conf.int = TRUE).
        (
            [141.0, 150.2, 139.9, 160.4, 133.3, 145.8],
            [131.2, 98.4, 112.7, 105.3, 120.9, 99.8, 101.1],
            36.6,
            (19.0, 49.1),
            0.00116550116550117,
            0.000582750582750583,
        ),
    ],
)
def test_matches_r_wilcox_test(
    current: list[float],
    baseline: list[float],
    estimate: float,
    interval: tuple[float, float],
    p_two_sided: float,
    p_greater: float,
) -> None:
    shift = hodges_lehmann(baseline, current)
    assert shift.method == "exact"
    assert shift.estimate == pytest.approx(estimate, abs=1e-9)
    assert (shift.low, shift.high) == pytest.approx(interval, abs=1e-9)
    assert mann_whitney_u(current, baseline).p == pytest.approx(p_two_sided, abs=1e-12)
    greater = mann_whitney_u(current, baseline, alternative="greater").p
    assert greater == pytest.approx(p_greater, abs=1e-12)


R_BASELINE = [
    178.783, 62.864, 73.092, 79.544, 67.276, 67.749, 112.668, 86.914, 94.236, 173.642,
    100.193, 203.37, 178.473, 99.207, 158.987, 103.576, 68.845, 82.089, 89.887, 121.08,
    115.807, 111.23, 133.192, 59.359, 131.878, 95.131, 112.808, 107.504, 67.026, 82.862,
]  # fmt: skip
R_CURRENT = [
    76.611, 123.422, 102.842, 97.17, 87.694, 84.046, 134.19, 71.412, 95.327, 109.344,
    143.39, 80.657, 91.32, 67.123, 88.473, 88.194, 149.18, 118.79, 102.53, 131.541,
    91.944, 99.256, 111.068, 166.027, 123.609,
]  # fmt: skip


def test_asymptotic_interval_matches_r() -> None:
    # R 4.2: set.seed(7); a <- round(rlnorm(30, 4.5, 0.3), 3); b <- round(rlnorm(25, 4.6,
    # 0.3), 3); wilcox.test(b, a, conf.int = TRUE, exact = FALSE). R finds the bounds with
    # uniroot on the continuity-corrected statistic: they are the same order statistics
    # of the differences, up to uniroot's tolerance.
    shift = hodges_lehmann(R_BASELINE, R_CURRENT)
    assert shift.method == "asymptotic"
    assert (shift.low, shift.high) == pytest.approx((-14.4019816512657, 18.8729697674988), abs=1e-3)
    assert mann_whitney_u(R_CURRENT, R_BASELINE).p == pytest.approx(0.75450322046142, abs=1e-12)


def test_interval_of_too_small_samples_is_the_widest_and_says_so() -> None:
    shift = hodges_lehmann([1.0, 2.0], [3.0, 5.0])
    assert (shift.low, shift.high) == (1.0, 4.0)
    assert shift.achieved == pytest.approx(1 - 2 / 6)


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


# --------------------------------------------------------------------------- the verdict


def latencies(n: int, centre: float, seed: int, spread: float = 8.0) -> list[float]:
    rng = random.Random(seed)
    return [centre + rng.gauss(0, spread) for _ in range(n)]


def test_a_planted_regression_is_regressed_and_its_interval_covers_the_shift() -> None:
    baseline, current = latencies(40, 100, 21), latencies(40, 140, 22)
    result = compare_samples(baseline, current, limit=20)
    assert result.verdict == "regressed"
    assert result.failed
    assert result.shift is not None
    assert result.shift.low < 40 < result.shift.high
    assert result.p is not None
    assert result.p < 1e-6
    assert result.p == result.p_worse


@pytest.mark.parametrize(("m", "n"), [(5, 6), (40, 40)])
def test_the_interval_covers_a_planted_shift_about_95_percent_of_the_time(m: int, n: int) -> None:
    covered = 0
    trials = 400
    for trial in range(trials):
        shift = hodges_lehmann(
            latencies(m, 100, 2 * trial + 1000), latencies(n, 140, 2 * trial + 1001)
        )
        covered += shift.low <= 40 <= shift.high
    assert 0.92 <= covered / trials <= 0.99


def test_the_same_distribution_is_no_change() -> None:
    result = compare_samples(latencies(40, 100, 3), latencies(40, 100, 4), limit=0)
    assert result.verdict == "no change"
    assert not result.failed
    assert result.p is not None
    assert result.p > 0.01


def test_a_significant_shift_within_the_limit_is_no_change() -> None:
    result = compare_samples(latencies(200, 100, 5, 2), latencies(200, 105, 6, 2), limit=20)
    assert result.verdict == "no change"
    assert result.p_worse is not None
    assert result.p_worse < 1e-10
    assert "within 20" in result.reason


def test_a_large_but_noisy_shift_is_no_change() -> None:
    # Two samples whose HL shift is 30 ms but which overlap too much for p < 0.01.
    baseline = [100.0, 300.0, 120.0, 280.0, 110.0, 260.0]
    current = [130.0, 330.0, 150.0, 310.0, 140.0, 290.0]
    result = compare_samples(baseline, current, limit=20)
    assert result.shift is not None
    assert result.shift.estimate == 30.0
    assert result.verdict == "no change"
    assert "may be noise" in result.reason


def test_improvement_and_direction_for_rates() -> None:
    faster = compare_samples(latencies(40, 140, 7), latencies(40, 100, 8), limit=20)
    assert faster.verdict == "improved"
    assert faster.p == faster.p_better
    # Rates regress by dropping: a fall of 20 points is a regression.
    baseline = [1.0] * 30 + [0.9] * 10
    dropped = [0.7] * 30 + [0.8] * 10
    rate = compare_samples(baseline, dropped, limit=5, relative=True, lower_is_worse=True)
    assert rate.verdict == "regressed"
    assert rate.shift is not None
    assert rate.shift.estimate < 0
    assert compare_samples(dropped, baseline, lower_is_worse=True).verdict == "improved"


def test_relative_limits_are_a_share_of_the_baseline_median() -> None:
    baseline, current = latencies(60, 100, 9, 2), latencies(60, 110, 10, 2)
    assert compare_samples(baseline, current, limit=5, relative=True).verdict == "regressed"
    within = compare_samples(baseline, current, limit=15, relative=True)
    assert within.verdict == "no change"
    assert within.relative_shift == pytest.approx(10, abs=2)


def test_too_few_samples_says_which() -> None:
    result = compare_samples([100.0, 101.0, 99.0], [300.0, 310.0, 305.0], limit=20)
    assert result.verdict == "too few samples"
    assert result.shift is None
    assert result.p is None
    assert "at least 4 and 5" in result.reason
    # With alpha 0.05 three against three is still too few, three against four is not.
    assert compare_samples([1, 2, 3], [7, 8, 9], alpha=0.05).verdict == "too few samples"
    assert compare_samples([1, 2, 3], [7, 8, 9, 10], alpha=0.05).verdict == "regressed"


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="alpha"):
        compare_samples([1.0], [2.0], alpha=1.5)
    with pytest.raises(ValueError, match="limit"):
        compare_samples([1.0], [2.0], limit=-1)


# --------------------------------------------------------------------------- the noise floor
# Without a rule a shift counts only when its whole 95 % interval lies beyond 10 % of the
# baseline median. The planted sets are evenly spaced values around a centre, and the
# current run is the same set moved: the shift is exact and its interval symmetric.


def evenly(n: int, centre: float, width: float) -> list[float]:
    """``n`` values evenly spaced over ``centre ± width / 2``."""
    return [centre + width * (k / (n - 1) - 0.5) for k in range(n)]


def moved(values: Sequence[float], by: float) -> list[float]:
    return [v + by for v in values]


def test_a_significant_run_level_shift_of_8_percent_is_within_the_noise_floor() -> None:
    baseline = evenly(60, 100, 6)
    current = moved(baseline, 8)
    result = compare_samples(baseline, current)
    assert result.shift is not None
    assert result.shift.estimate == pytest.approx(8)
    assert 7 < result.shift.low < result.shift.high < 9  # +7.3 % to +8.7 %: inside 10 %
    assert result.p is not None
    assert result.p < 1e-10  # significant: only the floor makes it no change
    assert result.verdict == "no change"
    assert result.noise_floor
    assert "within the run-to-run noise floor" in result.reason
    assert "+7.3 % to +8.7 % of the baseline median" in result.reason
    assert "10 %" in result.reason
    # A rule sets its own limit, judged on the estimate as before.
    ruled = compare_samples(baseline, current, limit=5, relative=True)
    assert ruled.verdict == "regressed"
    assert not ruled.noise_floor


def test_a_shift_of_50_percent_is_regressed_without_a_rule() -> None:
    baseline = evenly(40, 100, 20)
    result = compare_samples(baseline, moved(baseline, 50))
    assert result.verdict == "regressed"
    assert result.shift is not None
    assert result.shift.low > 40  # the whole interval far beyond 10 ms
    assert "lies beyond the noise floor of 10 % the worse way" in result.reason


def test_an_interval_reaching_inside_the_floor_is_no_change() -> None:
    # The estimate is 12 % but the interval reaches down to 7 %.
    baseline = evenly(40, 100, 39)
    current = moved(baseline, 12)
    result = compare_samples(baseline, current)
    assert result.shift is not None
    assert result.shift.estimate == pytest.approx(12)
    assert (result.shift.low, result.shift.high) == pytest.approx((7, 17))
    assert result.p is not None
    assert result.p < 1e-3
    assert result.verdict == "no change"
    assert "within the run-to-run noise floor" in result.reason
    # The same estimate against a 10 % rule: the rule judges the estimate.
    assert compare_samples(baseline, current, limit=10, relative=True).verdict == "regressed"
    # And the same the better way.
    faster = compare_samples(baseline, moved(baseline, -12))
    assert faster.verdict == "no change"
    assert "within the run-to-run noise floor" in faster.reason


def test_a_rate_dropping_by_half_is_regressed_and_rising_is_improved() -> None:
    baseline = evenly(40, 100, 20)
    dropped = moved(baseline, -50)
    result = compare_samples(baseline, dropped, lower_is_worse=True)
    assert result.verdict == "regressed"
    assert result.p == result.p_worse
    assert "lies beyond the noise floor of 10 % the worse way" in result.reason
    risen = compare_samples(baseline, moved(baseline, 50), lower_is_worse=True)
    assert risen.verdict == "improved"
    assert "lies beyond the noise floor of 10 % the better way" in risen.reason
    # A drop of 12 % whose interval (-17 % to -7 %) reaches inside the floor.
    wide = evenly(40, 100, 39)
    straddling = compare_samples(wide, moved(wide, -12), lower_is_worse=True)
    assert straddling.p_worse is not None
    assert straddling.p_worse < 1e-3
    assert straddling.verdict == "no change"


def test_a_latency_halving_is_improved_without_a_rule() -> None:
    baseline = evenly(40, 100, 20)
    result = compare_samples(baseline, moved(baseline, -50))
    assert result.verdict == "improved"
    assert result.p == result.p_better
    assert "lies beyond the noise floor of 10 % the better way" in result.reason
    assert compare_samples(baseline, moved(baseline, -5)).verdict == "no change"


def test_a_baseline_median_of_0_has_a_floor_of_0() -> None:
    errors = [0.0] * 30 + [1.0] * 10
    more = compare_samples(errors, moved(errors, 1))
    assert more.verdict == "regressed"
    assert "the noise floor of 0 (the baseline median is 0)" in more.reason
    fewer = compare_samples(errors, moved(errors, -1), lower_is_worse=True)
    assert fewer.verdict == "regressed"
    same = compare_samples(errors, [0.0] * 26 + [1.0] * 14)
    assert same.verdict == "no change"
    assert "beyond 0 (the baseline median is 0)" in same.reason


def test_an_interval_beyond_the_floor_needs_p_below_alpha_too() -> None:
    baseline = evenly(40, 100, 39)
    for by, verdict in ((18, "regressed"), (-18, "improved")):
        current = moved(baseline, by)
        result = compare_samples(baseline, current, alpha=1e-6)
        assert result.shift is not None
        assert min(abs(result.shift.low), abs(result.shift.high)) > 12  # 13 % to 23 %
        assert result.p is not None
        assert 1e-8 < result.p < 1e-7
        assert result.verdict == verdict
        strict = compare_samples(baseline, current, alpha=1e-9)
        assert strict.verdict == "no change"
        assert "may be noise" in strict.reason
