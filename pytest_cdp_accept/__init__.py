"""pytest-cdp-accept: browser performance and stability as pytest CI gates.

The engine (``protocol`` -> ``connection`` -> ``browser`` -> ``launcher`` /
``pool`` -> ``sync``) drives real Chromium over CDP; the gate (``metrics`` ->
``thresholds``) judges what it measured; ``plugin`` wires them into pytest.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the real imports, for type checkers; at runtime they load on first use
    from .engine.actions import ExpectedNavigation
    from .engine.browser import Browser, MemoryInfo, Navigation, Page
    from .engine.farm import (
        FarmAuthError,
        FarmBusyError,
        FarmError,
        FarmGoneError,
        FarmRequestError,
        FarmUnreachableError,
    )
    from .engine.farm_endpoint import FarmEndpoint
    from .engine.pool import BrowserPool, PoolOptions
    from .engine.sync import AsyncPage, SyncBrowser, SyncBrowserView, SyncPage, SyncPool
    from .errors import (
        ActionError,
        ActionTimeoutError,
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
    from .site import LocalSite

# Loaded on first attribute access (PEP 562): importing the plugin must not import the
# engine (asyncio, websockets, ...), so a suite that never uses a browser starts as fast
# as without the plugin.
_EXPORTS = {
    "ActionError": "errors",
    "ActionTimeoutError": "errors",
    "AsyncPage": "engine.sync",
    "Browser": "engine.browser",
    "BrowserNotFoundError": "errors",
    "BrowserPool": "engine.pool",
    "CDPAcceptError": "errors",
    "CommandError": "errors",
    "CommandTimeoutError": "errors",
    "ConnectionClosedError": "errors",
    "EvaluationError": "errors",
    "ExpectedNavigation": "engine.actions",
    "FarmAuthError": "engine.farm",
    "FarmBusyError": "engine.farm",
    "FarmEndpoint": "engine.farm_endpoint",
    "FarmError": "engine.farm",
    "FarmGoneError": "engine.farm",
    "FarmRequestError": "engine.farm",
    "FarmUnreachableError": "engine.farm",
    "HTTPStatusError": "errors",
    "LaunchError": "errors",
    "LocalSite": "site",
    "MemoryInfo": "engine.browser",
    "MetricsRecorder": "metrics",
    "Navigation": "engine.browser",
    "NavigationError": "errors",
    "NavigationTimeoutError": "errors",
    "Page": "engine.browser",
    "PoolClosedError": "errors",
    "PoolOptions": "engine.pool",
    "ProtocolError": "errors",
    "SyncBrowser": "engine.sync",
    "SyncBrowserView": "engine.sync",
    "SyncPage": "engine.sync",
    "SyncPool": "engine.sync",
    "TargetClosedError": "errors",
    "TargetCrashedError": "errors",
    "UsageError": "errors",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__version__ = "0.1.0.dev0"

__all__ = [
    "ActionError",
    "ActionTimeoutError",
    "AsyncPage",
    "Browser",
    "BrowserNotFoundError",
    "BrowserPool",
    "CDPAcceptError",
    "CommandError",
    "CommandTimeoutError",
    "ConnectionClosedError",
    "EvaluationError",
    "ExpectedNavigation",
    "FarmAuthError",
    "FarmBusyError",
    "FarmEndpoint",
    "FarmError",
    "FarmGoneError",
    "FarmRequestError",
    "FarmUnreachableError",
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
    "SyncBrowserView",
    "SyncPage",
    "SyncPool",
    "TargetClosedError",
    "TargetCrashedError",
    "UsageError",
]
