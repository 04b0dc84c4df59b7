"""``--cdp-farm`` through real pytest runs against a real browserless (tests/farm_support.py).

The example acceptance suite and the stress / recovery / fleet gates on a farm,
and the checks of issue 17: capacity as back-pressure, a wrong token, a farm
killed mid-run, a farm's session timeout, the built-in site reached by the
farm's browsers. Skipped with the reason where browserless cannot be had (failed
instead under CDP_ACCEPT_REQUIRE_FARM, as in .ci/run).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import run_pytest
from .farm_support import BrowserlessFarm, running_farm

ROOT = Path(__file__).resolve().parent.parent
WRONG = "wrong-token-4d1c9e"


@pytest.fixture(scope="module")
def bl() -> Iterator[BrowserlessFarm]:
    """A farm with room for the pool, a 10-browser fleet and a recovery's new browsers."""
    with running_farm(concurrent=14, queued=4, timeout_ms=600_000) as started:
        yield started


def test_the_acceptance_suite_passes_on_a_farm_elsewhere(pytester: pytest.Pytester) -> None:
    """The example suite with the acceptance preset, on a browserless whose browsers'
    process ids mean nothing here (a PID namespace of its own, as on another host)."""
    shutil.copy(ROOT / "example_suite" / "test_acceptance.py", pytester.path)
    with running_farm(concurrent=14, queued=4, timeout_ms=600_000, own_pids=True) as far:
        result = run_pytest(pytester, "--cdp-preset", "acceptance", "--cdp-farm", far.ws_url)
        assert far.token not in result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=7)
    result.stdout.fnmatch_lines(
        [
            "*session gates:*",
            "*✓ memory.browser_idle value < 500 MB*judged on Chrome's private memory footprint*",
            "*✓ fleet.browsers value >= 10*",
            "*✓ recovery.success rate >= 80 %*",
        ]
    )


def test_capacity_is_back_pressure(pytester: pytest.Pytester) -> None:
    """Farm limit 2 sessions + 2 queued, pool 5, stress 50 runs at concurrency 5."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.cdp_stress(runs=50, concurrency=5, success=">=95%")
        def test_stress(cdp_page, cdp_site):
            assert cdp_page.goto(cdp_site.url("/")).status == 200
        """
    )
    report = pytester.path / "farm.json"
    with running_farm(concurrent=2, queued=2) as small:
        result = run_pytest(
            pytester,
            "--cdp-farm",
            small.ws_url,
            "--cdp-pool-size",
            "5",
            "--cdp-json",
            str(report),
        )
        log = small.log_tail(100_000)
    result.assert_outcomes(passed=1)
    data = json.loads(report.read_text())
    samples = [s for s in data["samples"] if s["metric"] == "stress.success"]
    assert len(samples) == 50
    assert sum(s["value"] for s in samples) / len(samples) >= 0.95  # 1 per run that passed
    assert "farm.queue" in data["metrics"]
    # startup holds the farm's launches only: the farm never queued or refused one.
    assert data["metrics"]["startup"]["n"] <= 2
    assert "Concurrency is at capacity, queueing" not in log
    assert "Too many requests" not in log


def test_a_wrong_token_stops_the_run_once(pytester: pytest.Pytester, bl: BrowserlessFarm) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("i", range(5))
        def test_page(cdp_page, cdp_site, i):
            cdp_page.goto(cdp_site.url("/"))
        """
    )
    before = bl.log_tail(100_000).count("not properly authorized")
    result = run_pytest(pytester, "--cdp-farm", f"ws://127.0.0.1:{bl.port}?token={WRONG}")
    output = result.stdout.str() + result.stderr.str()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*Interrupted: cdp-accept: farm ws://127.0.0.1:*?token=*** *HTTP 401*The run stops here*"]
    )
    assert WRONG not in output
    # One request reached the farm: not retried, not repeated per test.
    assert bl.log_tail(100_000).count("not properly authorized") == before + 1


def test_a_farm_killed_mid_run_stops_the_run_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        """
        import os, signal
        import pytest

        @pytest.mark.parametrize("i", range(8))
        def test_page(cdp_page, cdp_site, i):
            if i == 2:
                os.kill(int(os.environ["FARM_PID"]), signal.SIGKILL)
            assert cdp_page.goto(cdp_site.url("/")).status == 200
        """
    )
    with running_farm() as doomed:
        assert doomed.proc is not None
        monkeypatch.setenv("FARM_PID", str(doomed.proc.pid))
        result = run_pytest(pytester, "--cdp-farm", doomed.ws_url)
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 2
    assert outcomes.get("failed", 0) + outcomes.get("errors", 0) + outcomes.get("error", 0) == 2
    result.stdout.fnmatch_lines(
        [
            "*Interrupted: cdp-accept: farm ws://127.0.0.1:*stopped answering after serving"
            "*The run stops here: 4 tests ran; cut by it: *test_page?2?*",
        ]
    )
    assert result.stdout.str().count("The run stops here") == 1


def test_the_farms_session_timeout_is_reported(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import time

        def test_long(cdp_page, cdp_site):
            cdp_page.goto(cdp_site.url("/"))
            time.sleep(3.5)
            cdp_page.goto(cdp_site.url("/"))

        def test_next(cdp_page, cdp_site):
            assert cdp_page.goto(cdp_site.url("/")).status == 200
        """
    )
    with running_farm(timeout_ms=2500) as short:
        result = run_pytest(pytester, "--cdp-farm", short.ws_url)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*the farm cut the session after *TIMEOUT*",
            "*1 farm session cut by the farm's session timeout*",
        ]
    )


def test_the_built_in_site_at_the_address_the_farm_uses(
    pytester: pytest.Pytester, bl: BrowserlessFarm
) -> None:
    pytester.makepyfile(
        """
        def test_site(cdp_page, cdp_site):
            assert cdp_site.url("/").startswith("http://127.0.0.2:")
            assert cdp_page.goto(cdp_site.url("/")).status == 200
        """
    )
    result = run_pytest(
        pytester,
        "--cdp-farm",
        bl.ws_url,
        "--cdp-site-host",
        "0.0.0.0",
        "--cdp-site-url",
        "http://127.0.0.2",
    )
    result.assert_outcomes(passed=1)


def test_xdist_workers_share_a_farm(pytester: pytest.Pytester, bl: BrowserlessFarm) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("i", range(6))
        def test_page(cdp_page, cdp_site, i):
            assert cdp_page.goto(cdp_site.url("/")).status == 200
        """
    )
    result = run_pytest(pytester, "-n", "2", "--cdp-farm", bl.http_url, "--cdp-pool-size", "2")
    result.assert_outcomes(passed=6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cdp-farm", f"ftp://h?token={WRONG}"], "--cdp-farm 'ftp://h?token=***': expected"),
        (
            ["--cdp-farm", "ws://h:1", "--cdp-endpoint", "ws://h:2"],
            "--cdp-farm and --cdp-endpoint: use one",
        ),
        (["--cdp-farm", "ws://h:1", "--cdp-farm-header", f"bad name={WRONG}"], "NAME=VALUE"),
        (["--cdp-farm", "ws://h:1", "--cdp-farm-switches", "maybe"], "invalid choice"),
        (["--cdp-site-url", f"ftp://x?token={WRONG}"], "--cdp-site-url"),
    ],
)
def test_bad_farm_settings_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    pytester.makepyfile("def test_page(cdp_page, cdp_site):\n    pass\n")
    result = run_pytest(pytester, *args)
    assert result.ret != 0
    output = result.stdout.str() + result.stderr.str()
    assert message in output
    assert WRONG not in output
