"""pytest-cdp-accept: browser performance and stability as pytest CI gates.

The engine (``protocol`` -> ``connection`` -> ``browser`` -> ``launcher`` /
``pool`` -> ``sync``) drives real Chromium over CDP; the gate (``metrics`` ->
``thresholds``) judges what it measured; ``plugin`` wires them into pytest.
"""

from __future__ import annotations

from .browser import Browser, MemoryInfo, Navigation, Page
from .errors import (
    BrowserNotFoundError,
    CDPAcceptError,
    CommandError,
    CommandTimeoutError,
    ConnectionClosedError,
    EvaluationError,
    HTTPStatusError,
    LaunchError,
    NavigationError,
    NavigationTimeoutError,
    PoolClosedError,
    ProtocolError,
    TargetClosedError,
    TargetCrashedError,
    UsageError,
)
from .metrics import MetricsRecorder
from .pool import BrowserPool, PoolOptions
from .site import LocalSite
from .sync import AsyncPage, SyncBrowser, SyncPage, SyncPool

__version__ = "0.1.0.dev0"

__all__ = [
    "AsyncPage",
    "Browser",
    "BrowserNotFoundError",
    "BrowserPool",
    "CDPAcceptError",
    "CommandError",
    "CommandTimeoutError",
    "ConnectionClosedError",
    "EvaluationError",
    "HTTPStatusError",
    "LaunchError",
    "LocalSite",
    "MemoryInfo",
    "MetricsRecorder",
    "Navigation",
    "NavigationError",
    "NavigationTimeoutError",
    "Page",
    "PoolClosedError",
    "PoolOptions",
    "ProtocolError",
    "SyncBrowser",
    "SyncPage",
    "SyncPool",
    "TargetClosedError",
    "TargetCrashedError",
    "UsageError",
]
