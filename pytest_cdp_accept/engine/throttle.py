"""Throttling profiles: network and CPU conditions a page is measured under.

A profile is a preset name, explicit values, or a preset with some values
replaced::

    parse_throttle("mobile-slow-4g")
    parse_throttle(cpu=4, latency="150ms", down="1.6Mbps", up="750Kbps")
    parse_throttle("slow-3g", cpu=4)
    parse_throttle("slow-3g,cpu=4")            # the option and ini spelling

The presets are the ones Lighthouse and Chrome DevTools apply when they
throttle through the DevTools protocol:

``mobile-slow-4g``
    Lighthouse's default mobile profile (``mobileSlow4G``: 150 ms RTT,
    1.6 Mbps down, 750 Kbps up, CPU 4x) as Lighthouse applies it with DevTools
    throttling: the request latency is the RTT times 3.75 (562.5 ms) and the
    throughputs are 90 % of the nominal ones (1,474.56 and 675 Kbps, with
    Lighthouse's 1 Kbps = 1,024 bit/s), because DevTools throttles whole
    requests, not packets.
``fast-3g`` / ``slow-3g``
    Chrome DevTools' network presets "Fast 3G" (562.5 ms, 1.44 Mbps down,
    675 Kbps up) and "3G" / "Slow 3G" (2,000 ms, 400 Kbps both ways), with
    DevTools' 1 Kbps = 1,000 bit/s. Network only: the CPU is not slowed
    (add ``cpu=4`` for that).
``desktop``
    No throttling (Lighthouse's desktop preset throttles nothing when it
    measures through DevTools); the profile name is still recorded with
    every sample.

Explicit values (all optional, the rest stay unthrottled):

``cpu``      slowdown factor of the renderer's main thread, ``>= 1`` (``4`` = 4x)
``latency``  added to every request's time to response headers: ``"150ms"``,
             ``"0.5s"`` or a number of ms (this is Chromium's request latency:
             for an RTT-like figure do as Lighthouse and multiply it by 3.75)
``down``     download throughput: ``"1.6Mbps"``, ``"750Kbps"``, ``"1Gbps"``,
             ``"64000bps"`` (bits per second, 1 Kbps = 1,000 bit/s)
``up``       upload throughput, the same units

No network access, no CDP sessions here beyond :func:`apply_throttle` and
:func:`clear_throttle`, which send the commands on a session they are given.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import UsageError

# Lighthouse's devtools adjustment factors (lantern's throttling constants).
DEVTOOLS_RTT_ADJUSTMENT = 3.75
DEVTOOLS_THROUGHPUT_ADJUSTMENT = 0.9


@dataclass(frozen=True)
class ThrottleProfile:
    """Network and CPU conditions. Throughputs in bit/s; ``None`` = not throttled."""

    name: str
    """The preset's name, or the canonical spelling of explicit values."""
    cpu: float = 1.0
    latency_ms: float = 0.0
    down_bps: float | None = None
    up_bps: float | None = None

    @property
    def network(self) -> bool:
        """Whether any network condition is set."""
        return self.latency_ms > 0 or self.down_bps is not None or self.up_bps is not None

    @property
    def noop(self) -> bool:
        """Whether applying this profile changes nothing (``desktop``)."""
        return self.cpu == 1.0 and not self.network

    def describe(self) -> str:
        """``mobile-slow-4g (CPU 4x, latency 562.5 ms, 1.47 Mbps down, 691 Kbps up)``."""
        if self.noop:
            return f"{self.name} (no throttling)"
        parts = []
        if self.cpu != 1.0:
            parts.append(f"CPU {_num(self.cpu)}x")
        if self.latency_ms:
            parts.append(f"latency {_num(self.latency_ms)} ms")
        if self.down_bps is not None:
            parts.append(f"{_rate(self.down_bps)} down")
        if self.up_bps is not None:
            parts.append(f"{_rate(self.up_bps)} up")
        return f"{self.name} ({', '.join(parts)})"

    def as_dict(self) -> dict[str, Any]:
        """For reports and baselines: what was applied, in plain units."""
        return {
            "name": self.name,
            "cpu": self.cpu,
            "latency_ms": self.latency_ms,
            "down_kbps": None if self.down_bps is None else round(self.down_bps / 1000.0, 3),
            "up_kbps": None if self.up_bps is None else round(self.up_bps / 1000.0, 3),
        }

    def network_params(self) -> dict[str, Any]:
        """``Network.emulateNetworkConditions`` parameters (throughputs in bytes/s)."""
        return {
            "offline": False,
            "latency": self.latency_ms,
            "downloadThroughput": _bytes_per_s(self.down_bps),
            "uploadThroughput": _bytes_per_s(self.up_bps),
        }


def _bytes_per_s(bps: float | None) -> float:
    return -1 if bps is None else math.floor(bps / 8.0)


def _lighthouse_kbps(kbps: float) -> float:
    return kbps * 1024.0


PRESETS: dict[str, ThrottleProfile] = {
    "mobile-slow-4g": ThrottleProfile(
        "mobile-slow-4g",
        cpu=4.0,
        latency_ms=150 * DEVTOOLS_RTT_ADJUSTMENT,
        down_bps=_lighthouse_kbps(1.6 * 1024 * DEVTOOLS_THROUGHPUT_ADJUSTMENT),
        up_bps=_lighthouse_kbps(750 * DEVTOOLS_THROUGHPUT_ADJUSTMENT),
    ),
    "fast-3g": ThrottleProfile(
        "fast-3g",
        latency_ms=150 * 3.75,
        down_bps=1.6 * 1000 * 1000 * 0.9,
        up_bps=750 * 1000 * 0.9,
    ),
    "slow-3g": ThrottleProfile(
        "slow-3g",
        latency_ms=400 * 5,
        down_bps=500 * 1000 * 0.8,
        up_bps=500 * 1000 * 0.8,
    ),
    "desktop": ThrottleProfile("desktop"),
}
OFF = ("off", "none")
"""Spellings that mean "no profile" (to switch an ini or option default off for a test)."""
FIELDS = ("cpu", "latency", "down", "up")

_RATE = re.compile(
    r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*(bps|kbps|mbps|gbps|kbit/s|mbit/s)\s*$", re.I
)
_RATE_FACTORS = {"bps": 1.0, "kbps": 1e3, "mbps": 1e6, "gbps": 1e9, "kbit/s": 1e3, "mbit/s": 1e6}
_TIME = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s)?\s*$", re.I)


def parse_throttle(spec: str | None = None, /, **fields: Any) -> ThrottleProfile | None:
    """A profile from a preset name and/or explicit fields; ``None`` for ``off``/``none``.

    ``spec`` may also carry fields, comma-separated (``"slow-3g,cpu=4"``); keyword
    fields win over those. Bad names, keys or values raise :class:`UsageError`
    naming the fragment and the fix.
    """
    base: ThrottleProfile | None = None
    given: dict[str, Any] = {}
    if spec is not None:
        if not isinstance(spec, str):
            raise UsageError(
                f"throttle profile {spec!r}: expected a preset name ({', '.join(PRESETS)}) "
                "or cpu=..., latency=..., down=..., up=..."
            )
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            key, sep, value = part.partition("=")
            if sep:
                given[_field(key.strip())] = value.strip().strip("\"'")
            elif base is not None:
                raise UsageError(f"throttle profile {spec!r}: two presets ({base.name}, {part})")
            elif part.lower() in OFF:
                if len([p for p in spec.split(",") if p.strip()]) > 1 or fields:
                    raise UsageError(f"throttle profile {spec!r}: {part!r} takes no values")
                return None
            else:
                base = _preset(part)
    for key, value in fields.items():
        given[_field(key)] = value
    if not given:
        if base is None:
            raise UsageError(
                "throttle profile: give a preset name "
                f"({', '.join(PRESETS)}) or cpu=..., latency=..., down=..., up=..."
            )
        return base
    start = base or ThrottleProfile("custom")
    cpu = _cpu(given["cpu"]) if "cpu" in given else start.cpu
    latency = _latency(given["latency"]) if "latency" in given else start.latency_ms
    down = _throughput("down", given["down"]) if "down" in given else start.down_bps
    up = _throughput("up", given["up"]) if "up" in given else start.up_bps
    canonical = ",".join(f"{k}={_canonical(k, given[k])}" for k in FIELDS if k in given)
    name = f"{base.name},{canonical}" if base is not None else canonical
    return ThrottleProfile(name, cpu=cpu, latency_ms=latency, down_bps=down, up_bps=up)


def throttle_from_marker(
    args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> ThrottleProfile | None:
    """``cdp_throttle("mobile-slow-4g")``, ``cdp_throttle(cpu=4, ...)`` or both."""
    if len(args) > 1:
        raise UsageError(
            f"cdp_throttle takes at most one preset name, got {len(args)} positional arguments"
        )
    return parse_throttle(args[0] if args else None, **dict(kwargs))


def _field(key: str) -> str:
    if key in FIELDS:
        return key
    close = difflib.get_close_matches(key, FIELDS, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UsageError(
        f"throttle profile: unknown setting {key!r}{hint} (settings: {', '.join(FIELDS)})"
    )


def _preset(name: str) -> ThrottleProfile:
    key = name.strip().lower()
    if key in PRESETS:
        return PRESETS[key]
    close = difflib.get_close_matches(key, list(PRESETS), n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise UsageError(
        f"throttle profile: unknown preset {name!r}; {hint}presets: {', '.join(PRESETS)}, "
        "or explicit values: cpu=4,latency=150ms,down=1.6Mbps,up=750Kbps"
    )


def _cpu(value: Any) -> float:
    try:
        rate = math.nan if isinstance(value, bool) else float(str(value).strip().rstrip("xX"))
    except ValueError:
        rate = math.nan
    if not math.isfinite(rate) or rate < 1:
        raise UsageError(
            f"throttle profile: cpu={value!r}: expected a slowdown factor >= 1 (cpu=4 for 4x)"
        )
    return rate


def _latency(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        ms = float(value)
    else:
        match = _TIME.match(str(value))
        if not match:
            raise UsageError(
                f"throttle profile: latency={value!r}: expected a time such as '150ms' or '0.5s'"
            )
        ms = float(match.group(1)) * (1000.0 if (match.group(2) or "ms").lower() == "s" else 1.0)
    if not math.isfinite(ms) or ms < 0:
        raise UsageError(f"throttle profile: latency={value!r}: expected a time >= 0")
    return ms


def _throughput(key: str, value: Any) -> float:
    match = _RATE.match(str(value)) if isinstance(value, str) else None
    if not match:
        raise UsageError(
            f"throttle profile: {key}={value!r}: expected a bit rate with its unit, "
            "such as '1.6Mbps', '750Kbps' or '64000bps'"
        )
    bps = float(match.group(1)) * _RATE_FACTORS[match.group(2).lower()]
    if bps < 8:
        raise UsageError(f"throttle profile: {key}={value!r}: at least 8 bps (one byte a second)")
    return bps


def _canonical(key: str, value: Any) -> str:
    if key == "cpu":
        return _num(_cpu(value))
    if key == "latency":
        return f"{_num(_latency(value))}ms"
    return _rate(_throughput(key, value)).replace(" ", "")


def _num(value: float) -> str:
    return f"{value:.6g}"


def _rate(bps: float) -> str:
    for unit, factor in (("Gbps", 1e9), ("Mbps", 1e6), ("Kbps", 1e3)):
        if bps >= factor:
            return f"{bps / factor:.3g} {unit}"
    return f"{bps:.3g} bps"


# -- applying a profile to a page ------------------------------------------------------


class _Session(Protocol):
    async def send(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> dict[str, Any]: ...


NO_NETWORK_THROTTLING: dict[str, Any] = {
    "offline": False,
    "latency": 0,
    "downloadThroughput": -1,
    "uploadThroughput": -1,
}


async def apply_throttle(session: _Session, profile: ThrottleProfile) -> None:
    """Set ``profile``'s conditions on a page session (before it navigates)."""
    if profile.network:
        await _emulate_network(session, profile.network_params())
    if profile.cpu != 1.0:
        await session.send("Emulation.setCPUThrottlingRate", {"rate": profile.cpu})


async def clear_throttle(session: _Session, profile: ThrottleProfile) -> None:
    """Undo :func:`apply_throttle`: the page is back to full speed."""
    if profile.network:
        await _emulate_network(session, NO_NETWORK_THROTTLING)
    if profile.cpu != 1.0:
        await session.send("Emulation.setCPUThrottlingRate", {"rate": 1})


async def _emulate_network(session: _Session, params: dict[str, Any]) -> None:
    # Marked deprecated in favour of the experimental ...ByRule, but implemented by
    # Chromium and used as it is by Lighthouse and Puppeteer.
    await session.send("Network.emulateNetworkConditions", params)


__all__ = [
    "PRESETS",
    "ThrottleProfile",
    "apply_throttle",
    "clear_throttle",
    "parse_throttle",
    "throttle_from_marker",
]
