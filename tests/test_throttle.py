"""Throttling profiles: presets, explicit values and their errors (no browser)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_cdp_accept.engine.throttle import (
    PRESETS,
    ThrottleProfile,
    parse_throttle,
    throttle_from_marker,
)
from pytest_cdp_accept.errors import UsageError


def test_mobile_slow_4g_is_what_lighthouse_sends_with_devtools_throttling() -> None:
    # Lighthouse 12 (core/lib/emulation.js + lantern's mobileSlow4G): latency 150 * 3.75,
    # floor(1.6 * 1024 * 0.9 * 1024 / 8) and floor(750 * 0.9 * 1024 / 8) bytes/s, CPU 4.
    profile = parse_throttle("mobile-slow-4g")
    assert profile is not None
    assert profile.network_params() == {
        "offline": False,
        "latency": 562.5,
        "downloadThroughput": 188743,
        "uploadThroughput": 86400,
    }
    assert profile.cpu == 4.0


def test_devtools_3g_presets() -> None:
    # Chrome DevTools (and Puppeteer's PredefinedNetworkConditions), 1 Kbps = 1,000 bit/s.
    fast, slow = PRESETS["fast-3g"], PRESETS["slow-3g"]
    assert fast.network_params()["downloadThroughput"] == 180000
    assert fast.network_params()["uploadThroughput"] == 84375
    assert fast.latency_ms == 562.5
    assert slow.network_params()["downloadThroughput"] == 50000
    assert slow.latency_ms == 2000
    assert fast.cpu == slow.cpu == 1.0


def test_desktop_throttles_nothing_but_keeps_its_name() -> None:
    profile = parse_throttle("desktop")
    assert profile is not None
    assert profile.noop
    assert profile.name == "desktop"
    assert profile.describe() == "desktop (no throttling)"


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        (None, {"cpu": 4, "latency": "150ms", "down": "1.6Mbps", "up": "750Kbps"}),
        ("cpu=4, latency=150ms, down=1.6Mbps, up=750Kbps", {}),
        ("cpu=4,latency='0.15s',down=1600Kbps,up=0.75Mbps", {}),
    ],
)
def test_explicit_values(spec: str | None, fields: dict[str, Any]) -> None:
    profile = parse_throttle(spec, **fields)
    assert profile == ThrottleProfile(
        "cpu=4,latency=150ms,down=1.6Mbps,up=750Kbps",
        cpu=4.0,
        latency_ms=150.0,
        down_bps=1_600_000.0,
        up_bps=750_000.0,
    )
    assert profile.network_params()["downloadThroughput"] == 200000


def test_a_preset_with_values_replaced() -> None:
    profile = parse_throttle("slow-3g", cpu=4)
    assert profile is not None
    assert (profile.name, profile.cpu, profile.latency_ms) == ("slow-3g,cpu=4", 4.0, 2000.0)
    assert parse_throttle("slow-3g,cpu=4") == profile
    # Only the CPU: the network stays unthrottled, and nothing network is sent.
    cpu_only = parse_throttle(cpu=2)
    assert cpu_only is not None
    assert not cpu_only.network
    assert cpu_only.name == "cpu=2"


def test_off_means_no_profile() -> None:
    assert parse_throttle("off") is None
    assert parse_throttle("None") is None


def test_marker_forms() -> None:
    assert throttle_from_marker(("fast-3g",), {}) is PRESETS["fast-3g"]
    explicit = throttle_from_marker((), {"cpu": 4})
    assert explicit is not None
    assert explicit.cpu == 4.0
    with pytest.raises(UsageError, match="at most one preset"):
        throttle_from_marker(("fast-3g", "slow-3g"), {})


@pytest.mark.parametrize(
    ("spec", "fields", "message"),
    [
        ("mobile-slow4g", {}, "unknown preset 'mobile-slow4g'; did you mean 'mobile-slow-4g'"),
        ("gprs", {}, "unknown preset 'gprs'; presets: mobile-slow-4g"),
        (None, {"latncy": "5ms"}, "unknown setting 'latncy'; did you mean 'latency'"),
        (None, {"cpu": 0.5}, "cpu=0.5: expected a slowdown factor >= 1"),
        (None, {"cpu": True}, "cpu=True: expected a slowdown factor"),
        (None, {"cpu": "fast"}, "cpu='fast'"),
        (None, {"latency": "150 msec"}, "latency='150 msec': expected a time"),
        (None, {"latency": -1}, "latency=-1: expected a time >= 0"),
        (None, {"down": "1.6"}, "down='1.6': expected a bit rate with its unit"),
        (None, {"up": 750}, "up=750: expected a bit rate with its unit"),
        (None, {"down": "1bps"}, "at least 8 bps"),
        ("slow-3g,fast-3g", {}, "two presets"),
        ("off,cpu=2", {}, "'off' takes no values"),
        ("", {}, "give a preset name"),
        (None, {}, "give a preset name"),
    ],
)
def test_bad_profiles_name_the_fragment_and_the_fix(
    spec: str | None, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError) as info:
        parse_throttle(spec, **fields)
    assert message in str(info.value)


def test_a_non_string_spec_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="expected a preset name"):
        parse_throttle(4)  # type: ignore[arg-type]


def test_describe_and_as_dict() -> None:
    profile = PRESETS["mobile-slow-4g"]
    assert profile.describe() == (
        "mobile-slow-4g (CPU 4x, latency 562.5 ms, 1.51 Mbps down, 691 Kbps up)"
    )
    assert profile.as_dict() == {
        "name": "mobile-slow-4g",
        "cpu": 4.0,
        "latency_ms": 562.5,
        "down_kbps": 1509.949,
        "up_kbps": 691.2,
    }
