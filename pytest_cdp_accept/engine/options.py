"""Settings of the pool and their defaults: light, so the plugin can read its options
without importing the engine (pytest start-up stays cheap for suites that never
use a browser)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..errors import UsageError
from .farm_endpoint import FarmEndpoint, SecretURL

Isolation = Literal["reset", "context"]
ISOLATION_MODES = ("reset", "context")
DEFAULT_COMMAND_TIMEOUT = 30.0
DEFAULT_NAVIGATION_TIMEOUT = 30.0
DEFAULT_ACTION_TIMEOUT = 10.0


def check_isolation(mode: object, setting: str = "isolation") -> Isolation:
    """``mode`` if it names an isolation mode, else a UsageError naming ``setting``.

    The one check of an isolation mode, wherever it comes from (option, ini, marker,
    code).
    """
    if mode not in ISOLATION_MODES:
        raise UsageError(f"{setting} {mode!r}: expected one of {', '.join(ISOLATION_MODES)}")
    return mode  # type: ignore[return-value]  # one of the Literal's values


@dataclass(frozen=True)
class PoolOptions:
    """How the pool launches (or connects to) browsers and hands out pages."""

    executable: str | None = None
    args: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()
    farm: FarmEndpoint | None = None
    """A browser farm (``--cdp-farm``): every connection to it is a new browser."""
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """Sent with every request to ``endpoints`` (a farm's are in ``farm``): header auth.
    Left out of the repr: their values are secrets."""
    farm_switches: bool = True
    """Send our launch switches to a farm that takes them (browserless ``launch=``)."""
    size: int = 1
    isolation: Isolation = "reset"
    launch_timeout: float = 30.0
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT
    navigation_timeout: float = DEFAULT_NAVIGATION_TIMEOUT
    action_timeout: float = DEFAULT_ACTION_TIMEOUT
    """Default of every action, wait and read of the journey API (seconds)."""
    recycle_after: int | None = None
    """Replace a browser after this many leases (None: never)."""
    max_idle_pages: int = 4
    """Wiped pages kept parked per browser; more are closed."""
    recycle_memory_mb: float | None = None
    """Replace a browser whose process tree passes this PSS (checked when a lease ends)."""
    launch_attempts: int = 3
    """Tries per launch/connect for transient failures (exponential backoff with jitter)."""
    breaker_threshold: int = 3
    """Consecutive failed launches/connects after which an endpoint fails fast ..."""
    breaker_reset_after: float = 30.0
    """... for this many seconds, before one trial is let through."""
    vitals: bool = True
    """Measure the Web Vitals and page weight of every navigation (``--cdp-vitals``)."""

    def __post_init__(self) -> None:
        if self.size < 1:
            raise UsageError(f"pool size must be at least 1, got {self.size}")
        check_isolation(self.isolation)
        # URLs may carry tokens: held as strings whose repr is redacted (tracebacks show
        # the options a failing call was given).
        # Parsing checks each URL and registers its secrets (and the headers') for redaction.
        for url in self.endpoints:
            FarmEndpoint.parse(url, self.headers, option="--cdp-endpoint")
        object.__setattr__(self, "endpoints", tuple(SecretURL(e) for e in self.endpoints))
        if self.farm is not None and self.endpoints:
            raise UsageError(
                "--cdp-farm and --cdp-endpoint: use one. A farm starts a browser per "
                "connection; an endpoint is a browser that already runs"
            )
        if self.recycle_after is not None and self.recycle_after < 1:
            raise UsageError(f"recycle_after must be at least 1, got {self.recycle_after}")
        if self.recycle_memory_mb is not None and self.recycle_memory_mb <= 0:
            raise UsageError(f"recycle_memory_mb must be > 0, got {self.recycle_memory_mb}")
        if self.launch_attempts < 1:
            raise UsageError(f"launch_attempts must be at least 1, got {self.launch_attempts}")
        if self.action_timeout <= 0:
            raise UsageError(
                f"action timeout must be > 0 s, got {self.action_timeout:g} "
                "(--cdp-action-timeout / ini cdp_action_timeout)"
            )
