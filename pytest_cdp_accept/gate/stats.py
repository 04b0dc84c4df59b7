"""The statistics of a baseline comparison: is this run's distribution shifted?

Two samples of one metric, the baseline's (``x``) and this run's (``y``), are
compared as distributions, not as two summary figures:

- :func:`mann_whitney_u`: the Mann–Whitney U (Wilcoxon rank-sum) test, with
  SciPy's ``mannwhitneyu`` conventions: ``U`` is the statistic of the first
  sample, ``alternative="greater"`` means the first sample is stochastically
  greater; ``method="auto"`` takes the exact null distribution when one sample
  has at most 8 values and there are no ties, and the normal approximation
  with tie and continuity corrections otherwise.
- :func:`hodges_lehmann`: the Hodges–Lehmann shift ``y - x`` (the median of the
  pairwise differences ``y_j - x_i``) with its distribution-free confidence
  interval (Moses; Lehmann 1975): the order statistics of the pairwise
  differences whose ranks come from the U distribution's critical values,
  exact for small samples and by the normal approximation for large ones, as
  R's ``wilcox.test(conf.int=TRUE)`` does for the exact case.
- :func:`minimum_sizes` / :func:`can_reach`: below which sample sizes a
  one-sided test at a level α can never reach ``p < α``.
- :func:`compare_samples`: the verdict (regressed, improved, no change, too
  few samples) from the shift, the one-sided p and a rule's limit, or without a
  rule the noise floor (:data:`NOISE_FLOOR_PERCENT`).

Pure Python, no NumPy or SciPy (SciPy checks these figures in the tests only).

The pairwise differences are never all built: ``m × n`` of them is 10**6 for
two samples of 1,000, which take ~0.6 s and ~60 MB to build and sort in pure
Python. :func:`pairwise_difference_rank` selects one order statistic of
``y_j - x_i`` from the two sorted samples in ``O((m + n) log(m n))``-ish time
(a weighted-median-of-rows pivot discards at least a quarter of the remaining
candidates per round), which is exact: every difference it compares is
computed the same way (``y[j] - x[i]``) as a brute-force sort would.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import Literal

__all__ = [
    "EXACT_MAX_SMALLER",
    "NOISE_FLOOR_MS",
    "NOISE_FLOOR_PERCENT",
    "Alternative",
    "MannWhitney",
    "SampleComparison",
    "Shift",
    "Verdict",
    "can_reach",
    "compare_samples",
    "hodges_lehmann",
    "mann_whitney_u",
    "minimum_sizes",
    "noise_floor",
    "noise_floor_text",
    "pairwise_difference_rank",
    "smallest_p",
    "too_few_text",
]

Alternative = Literal["two-sided", "less", "greater"]
Method = Literal["auto", "exact", "asymptotic"]
Verdict = Literal["regressed", "improved", "no change", "too few samples"]

EXACT_MAX_SMALLER = 8
"""``method="auto"`` is exact when the smaller sample has at most this many values
(and there are no ties), as in SciPy. The exact distribution then costs at most
``8² × n`` integer additions: ~64,000 for ``n = 1,000``."""

NOISE_FLOOR_PERCENT = 10.0
"""Without a rule, a shift counts only when its whole 95 % interval lies beyond this
share of the baseline median (or :data:`NOISE_FLOOR_MS` for times, the larger).
Samples of one run share that run's conditions (load, CPU frequency, cache), so two
runs of the same suite differ as wholes: on a shared 2-core machine by 5-27 % of the
navigation median, each difference "significant" to a per-sample test
(docs/compare.md). A rule sets a tighter or looser limit."""

NOISE_FLOOR_MS = 1000.0 / 60.0
"""The noise floor of times in ms, when larger than :data:`NOISE_FLOOR_PERCENT` of the
median: one frame at 60 Hz. Two runs of the same 40 navigations of a ~35 ms page
differed by up to +9 ms (interval +5 to +12 ms), and a 3 ms time to first byte by
more than 10 % of itself, while nobody sees a page a frame slower."""

_NORMAL = NormalDist()
_BRUTE_FORCE_CANDIDATES = 4096
""":func:`pairwise_difference_rank` sorts what is left once this few candidates remain."""


# -- the exact null distribution of U --------------------------------------------------


@lru_cache(maxsize=64)
def _u_counts(m: int, n: int) -> tuple[int, ...]:
    """How many of the ``C(m+n, m)`` rank arrangements give ``U = 0, 1, ..., m n``.

    These are the coefficients of the Gaussian binomial ``[m+n choose m]_q`` =
    ``prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i)``, built factor by factor with exact
    integers: multiplying by ``1 - q^(n+i)`` and dividing by ``1 - q^i`` (an exact
    polynomial division) each take one pass.
    """
    m, n = min(m, n), max(m, n)
    poly = [1]
    for i in range(1, m + 1):
        shift = n + i
        grown = poly + [0] * shift
        for k in range(len(grown) - 1, shift - 1, -1):
            grown[k] -= grown[k - shift]
        for k in range(i, len(grown)):  # divide by (1 - q^i): Q[k] = P[k] + Q[k - i]
            grown[k] += grown[k - i]
        del grown[i * n + 1 :]  # the degree of [n+i choose i]_q is i*n
        poly = grown
    return tuple(poly)


def _exact_sf(u: int, m: int, n: int) -> float:
    """``P(U >= u)`` under the null hypothesis, no ties."""
    counts = _u_counts(m, n)
    if u <= 0:
        return 1.0
    if u > m * n:
        return 0.0
    total = math.comb(m + n, m)
    # Sum the shorter tail: the distribution is symmetric around m n / 2.
    if u > m * n - u:
        return sum(counts[u:]) / total
    return 1.0 - sum(counts[:u]) / total


def _exact_cdf(u: int, m: int, n: int) -> float:
    """``P(U <= u)`` under the null hypothesis, no ties."""
    return _exact_sf(m * n - u, m, n)  # by symmetry U ~ m n - U


def smallest_p(m: int, n: int) -> float:
    """The smallest one-sided p a sample pair of these sizes can give (no ties).

    It is ``1 / C(m+n, m)``: every value of one sample beyond every value of the
    other is one arrangement of ranks out of ``C(m+n, m)``.
    """
    if m < 1 or n < 1:
        return 1.0
    arrangements = math.comb(m + n, m)
    return 0.0 if arrangements.bit_length() > 1000 else 1.0 / arrangements


def can_reach(m: int, n: int, alpha: float) -> bool:
    """Whether a one-sided test on samples of ``m`` and ``n`` values can give ``p < alpha``."""
    return smallest_p(m, n) < alpha


def minimum_sizes(alpha: float) -> tuple[tuple[int, int], ...]:
    """The smallest sample-size pairs ``(m, n)``, ``m <= n``, that can reach ``p < alpha``.

    One pair per ``m`` from 1 up to the balanced pair; at ``alpha = 0.01``:
    ``((1, 100), (2, 13), (3, 7), (4, 5))``. A pair not dominated by one of these
    cannot reach significance; larger pairs can.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    pairs: list[tuple[int, int]] = []
    m = 1
    while True:
        # The smallest n >= m with C(m+n, m) > 1/alpha: double, then bisect.
        low, high = m - 1, m
        while not can_reach(m, high, alpha):
            low, high = high, high * 2
        while high - low > 1:
            mid = (low + high) // 2
            if can_reach(m, mid, alpha):
                high = mid
            else:
                low = mid
        pairs.append((m, high))
        if high <= m + 1:  # (m+1, m+1) and beyond are no smaller than (m, m+1)
            return tuple(pairs)
        m += 1


def too_few_text(m: int, n: int, alpha: float) -> str:
    """Why ``m`` baseline and ``n`` current values cannot show a change at ``alpha``."""
    pairs = minimum_sizes(alpha)
    smallest, largest = min(m, n), max(m, n)
    balanced = pairs[-1]
    options = [f"{a} and {b}" for a, b in reversed(pairs) if a >= 2]
    needed = next((b for a, b in pairs if a == smallest), None)
    text = (
        f"too few samples ({m} in the baseline, {n} in this run): at alpha {alpha:g} a one-sided "
        f"test needs at least {balanced[0]} and {balanced[1]}"
    )
    if len(options) > 1:
        text += f" (or {', '.join(options[1:])})"
    if needed is not None and largest < needed:
        text += f"; with {smallest} on one side, {needed} on the other"
    return text


# -- ranks and the test -----------------------------------------------------------------


def _ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Average ranks (1-based) and the sizes of the groups of tied values."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties: list[int] = []
    start = 0
    while start < len(order):
        end = start + 1
        while end < len(order) and values[order[end]] == values[order[start]]:
            end += 1
        rank = (start + end + 1) / 2.0  # average of ranks start+1 .. end
        for k in range(start, end):
            ranks[order[k]] = rank
        ties.append(end - start)
        start = end
    return ranks, ties


def _check_sample(values: Sequence[float], what: str) -> list[float]:
    floats = [float(v) for v in values]
    if not floats:
        raise ValueError(f"{what} is empty")
    if any(math.isnan(v) for v in floats):
        raise ValueError(f"{what} contains NaN")
    return floats


@dataclass(frozen=True)
class MannWhitney:
    """The outcome of :func:`mann_whitney_u`."""

    u: float
    """U of the first sample: how many pairs ``(x_i, y_j)`` have ``x_i > y_j`` (ties 1/2)."""
    p: float
    alternative: Alternative
    method: Literal["exact", "asymptotic"]
    ties: bool
    """Whether any two values (in either sample) are equal."""


def mann_whitney_u(
    x: Sequence[float],
    y: Sequence[float],
    *,
    alternative: Alternative = "two-sided",
    method: Method = "auto",
    continuity: bool = True,
) -> MannWhitney:
    """The Mann–Whitney U test of ``x`` against ``y``, as SciPy's ``mannwhitneyu``.

    ``alternative="greater"``: ``x`` is stochastically greater than ``y``. The
    exact method ignores ties (as SciPy does, ``U`` is truncated to an integer);
    the asymptotic one corrects the variance for them and, with ``continuity``,
    moves ``U`` half a step towards its mean.
    """
    xs = _check_sample(x, "the first sample")
    ys = _check_sample(y, "the second sample")
    if alternative not in ("two-sided", "less", "greater"):
        raise ValueError(f"alternative must be two-sided, less or greater, got {alternative!r}")
    m, n = len(xs), len(ys)
    ranks, tie_groups = _ranks(xs + ys)
    u1 = sum(ranks[:m]) - m * (m + 1) / 2.0
    u2 = m * n - u1
    ties = any(t > 1 for t in tie_groups)
    if alternative == "greater":
        u, factor = u1, 1.0
    elif alternative == "less":
        u, factor = u2, 1.0  # by symmetry: P(U1 <= u1) = P(U2 >= u2)
    else:
        u, factor = max(u1, u2), 2.0
    if method == "auto":
        exact = min(m, n) <= EXACT_MAX_SMALLER and not ties
    elif method in ("exact", "asymptotic"):
        exact = method == "exact"
    else:
        raise ValueError(f"method must be auto, exact or asymptotic, got {method!r}")
    p = _exact_sf(int(u), m, n) if exact else _normal_sf(u, m, n, tie_groups, continuity)
    return MannWhitney(
        u=u1,
        p=min(1.0, max(0.0, p * factor)),
        alternative=alternative,
        method="exact" if exact else "asymptotic",
        ties=ties,
    )


def _normal_sf(u: float, m: int, n: int, tie_groups: Sequence[int], continuity: bool) -> float:
    total = m + n
    tie_term = sum(t**3 - t for t in tie_groups)
    variance = m * n / 12.0 * ((total + 1) - tie_term / (total * (total - 1)))
    numerator = u - m * n / 2.0 - (0.5 if continuity else 0.0)
    if variance <= 0.0:  # every value tied: no evidence either way
        return 1.0 if numerator <= 0 else 0.0
    z = numerator / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2.0))


# -- Hodges–Lehmann ---------------------------------------------------------------------


def pairwise_difference_rank(x_sorted: Sequence[float], y_sorted: Sequence[float], k: int) -> float:
    """The ``k``-th smallest (1-based) of the ``m n`` differences ``y[j] - x[i]``.

    Both samples must be sorted ascending. The differences form a matrix whose
    rows (fixed ``i``) rise with ``j`` and whose columns fall with ``i``; rounding
    is monotone, so that holds for the computed floats too. Each round takes the
    weighted median of the rows' middle candidates as a pivot, counts the
    candidates below and equal to it with one staircase walk (``O(m + n)``) and
    keeps the side that holds rank ``k``.
    """
    m, n = len(x_sorted), len(y_sorted)
    if not 1 <= k <= m * n:
        raise ValueError(f"rank {k} is outside 1..{m * n}")
    x, y = x_sorted, y_sorted
    lo = [0] * m  # candidates of row i are the columns lo[i] .. hi[i]-1
    hi = [n] * m
    below = 0  # differences known to rank before every candidate
    while True:
        remaining = sum(h - lo_ for lo_, h in zip(lo, hi, strict=True))
        if remaining <= _BRUTE_FORCE_CANDIDATES:
            rest = sorted(y[j] - x[i] for i in range(m) for j in range(lo[i], hi[i]))
            return rest[k - below - 1]
        middles = sorted(
            (y[(lo[i] + hi[i]) // 2] - x[i], hi[i] - lo[i]) for i in range(m) if hi[i] > lo[i]
        )
        half, seen = remaining / 2.0, 0
        pivot = middles[-1][0]
        for value, weight in middles:
            seen += weight
            if seen >= half:
                pivot = value
                break
        # less[i]: the columns j < less[i] of row i have y[j] - x[i] < pivot; upto[i]: the
        # columns j < upto[i] have y[j] - x[i] <= pivot. Rows lower down subtract a larger
        # x[i], so both boundaries only move right: one walk over j serves every row.
        less = [0] * m
        upto = [0] * m
        j_less = j_upto = 0
        for i in range(m):
            xi = x[i]
            while j_less < n and y[j_less] - xi < pivot:
                j_less += 1
            while j_upto < n and y[j_upto] - xi <= pivot:
                j_upto += 1
            less[i], upto[i] = j_less, j_upto
        n_less = n_equal = 0
        for i in range(m):
            a = min(max(less[i], lo[i]), hi[i])
            b = min(max(upto[i], lo[i]), hi[i])
            less[i], upto[i] = a, b
            n_less += a - lo[i]
            n_equal += b - a
        target = k - below
        if target <= n_less:
            hi = less
        elif target <= n_less + n_equal:
            return pivot
        else:
            below += n_less + n_equal
            lo = upto


@dataclass(frozen=True)
class Shift:
    """The Hodges–Lehmann shift of ``current`` against ``baseline`` with its interval."""

    estimate: float
    """Median of the pairwise differences ``current_j - baseline_i``."""
    low: float
    high: float
    confidence: float
    """The confidence asked for (0.95)."""
    achieved: float
    """The interval's actual coverage (exact: at least ``confidence`` when the sizes allow)."""
    method: Literal["exact", "asymptotic"]


def _interval_rank(m: int, n: int, confidence: float, exact: bool) -> tuple[int, float]:
    """The 1-based rank ``k`` of the lower bound (the upper is ``m n + 1 - k``) and the
    coverage it achieves.

    Exact: ``k`` is the smallest ``u`` with ``P(U <= u) >= (1 - confidence) / 2``
    (R's ``qwilcox``), at least 1; the interval ``[D(k), D(mn+1-k)]`` then covers
    the shift with probability ``1 - 2 P(U <= k - 1)``. Asymptotic: the same with
    ``P(U <= u) ~ Phi((u + 1/2 - m n / 2) / sigma)``, ``sigma`` without tie
    correction (the interval assumes continuous data; with ties it is wider).
    """
    tail = (1.0 - confidence) / 2.0
    mn = m * n
    if exact:
        counts = _u_counts(m, n)
        total = math.comb(m + n, m)
        cumulative = 0
        k = 0
        while k < mn and (cumulative + counts[k]) / total < tail:
            cumulative += counts[k]
            k += 1
        # k is the smallest u with P(U <= u) >= tail; cumulative is P(U <= k - 1) * total.
        if k == 0:
            return 1, 0.0 if mn == 0 else 1.0 - 2.0 * counts[0] / total
        return k, 1.0 - 2.0 * cumulative / total
    sigma = math.sqrt(mn * (m + n + 1) / 12.0)
    z = _NORMAL.inv_cdf(1.0 - tail)
    k = max(1, math.ceil(mn / 2.0 - 0.5 - z * sigma))
    achieved = 1.0 - 2.0 * _NORMAL.cdf((k - 1 + 0.5 - mn / 2.0) / sigma)
    return k, achieved


def hodges_lehmann(
    baseline: Sequence[float],
    current: Sequence[float],
    *,
    confidence: float = 0.95,
    method: Method = "auto",
) -> Shift:
    """The shift ``current - baseline`` (Hodges–Lehmann) with its ``confidence`` interval.

    ``method="auto"`` chooses as :func:`mann_whitney_u` does (exact when the
    smaller sample has at most 8 values and nothing is tied). When the sizes are
    too small for the coverage asked for, the interval is the widest there is
    (smallest to largest difference) and ``achieved`` says what it covers.
    """
    xs = sorted(_check_sample(baseline, "the baseline sample"))
    ys = sorted(_check_sample(current, "the current sample"))
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    m, n = len(xs), len(ys)
    if method == "auto":
        _, tie_groups = _ranks(xs + ys)
        exact = min(m, n) <= EXACT_MAX_SMALLER and all(t == 1 for t in tie_groups)
    elif method in ("exact", "asymptotic"):
        exact = method == "exact"
    else:
        raise ValueError(f"method must be auto, exact or asymptotic, got {method!r}")
    mn = m * n
    if mn % 2:
        estimate = pairwise_difference_rank(xs, ys, (mn + 1) // 2)
    else:
        estimate = (
            pairwise_difference_rank(xs, ys, mn // 2)
            + pairwise_difference_rank(xs, ys, mn // 2 + 1)
        ) / 2.0
    k, achieved = _interval_rank(m, n, confidence, exact)
    k = min(k, (mn + 1) // 2)
    return Shift(
        estimate=estimate,
        low=pairwise_difference_rank(xs, ys, k),
        high=pairwise_difference_rank(xs, ys, mn + 1 - k),
        confidence=confidence,
        achieved=achieved,
        method="exact" if exact else "asymptotic",
    )


# -- the verdict ------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleComparison:
    """One metric's samples in the baseline and in this run, judged."""

    verdict: Verdict
    baseline_n: int
    current_n: int
    shift: Shift | None
    """``None`` only with too few samples."""
    p: float | None
    """The one-sided p in the direction the shift points (towards worse when it is 0)."""
    p_worse: float | None
    """One-sided p of "this run is worse" (higher for latency and memory, lower for rates)."""
    p_better: float | None
    relative_shift: float | None
    """The shift as a percentage of the baseline's median (``None`` when that is 0)."""
    limit: float
    relative: bool
    noise_floor: bool
    """No rule: ``limit`` is :data:`NOISE_FLOOR_PERCENT` (relative), or ``floor_amount``
    when larger, and the whole interval of the shift, not its estimate, has to lie beyond
    it."""
    lower_is_worse: bool
    alpha: float
    reason: str
    """One sentence on why this verdict."""
    floor_amount: float = 0.0
    """The absolute part of the noise floor, in the samples' unit."""

    @property
    def failed(self) -> bool:
        return self.verdict == "regressed"


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def compare_samples(
    baseline: Sequence[float],
    current: Sequence[float],
    *,
    limit: float | None = None,
    relative: bool = False,
    lower_is_worse: bool = False,
    alpha: float = 0.01,
    confidence: float = 0.95,
    floor_amount: float = 0.0,
) -> SampleComparison:
    """Judge whether ``current`` is shifted from ``baseline`` by more than ``limit``.

    ``limit`` (a rule's): an amount in the samples' unit, or with ``relative`` a
    percentage of the baseline's median. *regressed* only when the Hodges–Lehmann
    shift goes the worse way by more than ``limit`` **and** the one-sided
    Mann–Whitney p for "worse" is below ``alpha``; *improved* the other way round;
    *too few samples* when no arrangement of these sizes could give ``p < alpha``;
    *no change* otherwise. ``limit=None`` (no rule): the whole interval of the
    shift, not its estimate, has to lie beyond :data:`NOISE_FLOOR_PERCENT` of the
    baseline median, or ``floor_amount`` (in the samples' unit) when that is larger.
    ``lower_is_worse``: rates and counts, which regress by dropping.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    if limit is not None and (limit < 0 or math.isnan(limit)):
        raise ValueError(f"limit must be >= 0, got {limit!r}")
    xs = _check_sample(baseline, "the baseline sample")
    ys = _check_sample(current, "the current sample")
    m, n = len(xs), len(ys)
    rule = {
        "limit": NOISE_FLOOR_PERCENT if limit is None else limit,
        "relative": limit is None or relative,
        "noise_floor": limit is None,
        "floor_amount": floor_amount if limit is None else 0.0,
        "lower_is_worse": lower_is_worse,
    }
    sizes = {"baseline_n": m, "current_n": n, "alpha": alpha}
    if not can_reach(m, n, alpha):
        return _too_few(rule, m, n, alpha)
    shift = hodges_lehmann(xs, ys, confidence=confidence)
    p_worse, p_better = _one_sided_p(xs, ys, lower_is_worse)
    centre = _median(xs)
    worse_by = -shift.estimate if lower_is_worse else shift.estimate
    verdict, reason = (
        _floor_verdict(shift, centre, (p_worse, p_better), alpha, lower_is_worse, floor_amount)
        if limit is None
        else _verdict(worse_by, centre, p_worse, p_better, alpha, limit, relative)
    )
    return SampleComparison(
        verdict=verdict,
        shift=shift,
        p=p_worse if worse_by >= 0 else p_better,
        p_worse=p_worse,
        p_better=p_better,
        relative_shift=None if centre == 0 else shift.estimate / abs(centre) * 100.0,
        reason=reason,
        **rule,  # type: ignore[arg-type]
        **sizes,  # type: ignore[arg-type]
    )


def _too_few(rule: Mapping[str, object], m: int, n: int, alpha: float) -> SampleComparison:
    """The comparison of samples too small to reach significance (see :func:`too_few_text`)."""
    return SampleComparison(
        verdict="too few samples",
        baseline_n=m,
        current_n=n,
        shift=None,
        p=None,
        p_worse=None,
        p_better=None,
        relative_shift=None,
        alpha=alpha,
        reason=too_few_text(m, n, alpha),
        **rule,  # type: ignore[arg-type]
    )


def _one_sided_p(
    xs: Sequence[float], ys: Sequence[float], lower_is_worse: bool
) -> tuple[float, float]:
    """The one-sided Mann–Whitney p of "this run is worse" and of "better"."""
    greater = mann_whitney_u(ys, xs, alternative="greater").p
    less = mann_whitney_u(ys, xs, alternative="less").p
    return (less, greater) if lower_is_worse else (greater, less)


def _verdict(
    worse_by: float,
    centre: float,
    p_worse: float,
    p_better: float,
    alpha: float,
    limit: float,
    relative: bool,
) -> tuple[Verdict, str]:
    """The verdict and its reason from the shift towards worse (``worse_by``), the
    baseline median ``centre`` and the two one-sided p-values."""
    if relative:
        if centre != 0:
            amount = abs(worse_by) / abs(centre) * 100.0
        else:  # any move away from a median of 0 is an unbounded relative change
            amount = math.inf if worse_by else 0.0
        limit_text = f"{limit:g} % of the baseline median"
    else:
        amount = abs(worse_by)
        limit_text = f"{limit:g}"
    beyond = _beyond(amount, limit)
    if worse_by > 0 and beyond and p_worse < alpha:
        return "regressed", (
            f"shifted the worse way beyond {limit_text} with p = {p_worse:.2g} < {alpha:g}"
        )
    if worse_by < 0 and beyond and p_better < alpha:
        return "improved", (
            f"shifted the better way beyond {limit_text} with p = {p_better:.2g} < {alpha:g}"
        )
    if not beyond:
        return "no change", f"the shift is within {limit_text}"
    p_side = p_worse if worse_by >= 0 else p_better
    return "no change", f"p = {p_side:.2g} is not below {alpha:g}: the shift may be noise"


def noise_floor(baseline_median: float, floor_amount: float = 0.0) -> float:
    """The amount a shift's whole interval must lie beyond when no rule applies."""
    return max(abs(baseline_median) * NOISE_FLOOR_PERCENT / 100.0, floor_amount)


def noise_floor_text(
    baseline_median: float, floor_amount: float = 0.0, unit: str = "", confidence: float = 0.95
) -> str:
    """The noise floor a verdict without a rule is judged against, e.g. ``"noise floor:
    95 % interval beyond 10 % of the baseline median"``."""
    level = f"{confidence * 100:g} %"
    relative = abs(baseline_median) * NOISE_FLOOR_PERCENT / 100.0
    if floor_amount > relative:
        return f"noise floor: {level} interval beyond {floor_amount:.3g}{_spaced(unit)}"
    if baseline_median == 0:
        return f"noise floor: {level} interval beyond 0 (the baseline median is 0)"
    return f"noise floor: {level} interval beyond {NOISE_FLOOR_PERCENT:g} % of the baseline median"


def _spaced(unit: str) -> str:
    return f" {unit}" if unit else ""


def _floor_verdict(
    shift: Shift,
    centre: float,
    p_sides: tuple[float, float],
    alpha: float,
    lower_is_worse: bool,
    floor_amount: float,
) -> tuple[Verdict, str]:
    """The verdict without a rule: the shift counts only when its whole interval lies
    beyond :func:`noise_floor` (``centre``: the baseline median), and the one-sided p that
    way (``p_sides``: worse, better) is below ``alpha``."""
    p_worse, p_better = p_sides
    floor = noise_floor(centre, floor_amount)
    # The interval's ends measured towards worse: the near end is the smaller one.
    near, far = (-shift.high, -shift.low) if lower_is_worse else (shift.low, shift.high)
    worse = _beyond(near, floor)
    better = _beyond(-far, floor)
    level = f"{shift.confidence * 100:g} %"
    if centre == 0 or floor > abs(centre) * NOISE_FLOOR_PERCENT / 100.0:
        interval = f"{shift.low:+.4g} to {shift.high:+.4g}"
        floor_text = f"{floor:.3g}" + (" (the baseline median is 0)" if centre == 0 else "")
    else:
        low, high = (v / abs(centre) * 100.0 for v in (shift.low, shift.high))
        interval = f"{low:+.1f} % to {high:+.1f} % of the baseline median"
        floor_text = f"{NOISE_FLOOR_PERCENT:g} %"
    if worse and p_worse < alpha:
        return "regressed", (
            f"the whole {level} interval of the shift ({interval}) lies beyond the noise "
            f"floor of {floor_text} the worse way, with p = {p_worse:.2g} < {alpha:g}"
        )
    if better and p_better < alpha:
        return "improved", (
            f"the whole {level} interval of the shift ({interval}) lies beyond the noise "
            f"floor of {floor_text} the better way, with p = {p_better:.2g} < {alpha:g}"
        )
    if worse or better:
        p_side = p_worse if worse else p_better
        return "no change", f"p = {p_side:.2g} is not below {alpha:g}: the shift may be noise"
    return "no change", (
        f"the shift is within the run-to-run noise floor: its {level} interval ({interval}) "
        f"does not lie wholly beyond {floor_text}"
    )


def _beyond(amount: float, limit: float) -> bool:
    return amount > limit and not math.isclose(amount, limit, rel_tol=1e-9)
