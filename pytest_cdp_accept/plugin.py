"""pytest glue: options, ini keys, markers and fixtures. Thin on purpose.

Everything here calls into the library; the one stateful piece is
:class:`CDPAccept`, registered in ``pytest_configure``, which owns the
process's pool (created on first use, closed at the end of the run).
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from typing import Any

import pytest

from .errors import CDPAcceptError
from .metrics import MetricsRecorder
from .pool import ISOLATION_MODES, Isolation, PoolOptions
from .site import LocalSite
from .sync import AsyncPage, SyncBrowser, SyncPage, SyncPool

PLUGIN_NAME = "cdp_accept_manager"

# (option, dest/ini name, type, help); every default is None so ini and env fall back.
_OPTIONS: list[tuple[str, str, str, str]] = [
    ("--cdp-browser", "cdp_browser", "string", "browser executable (else env, PATH, Playwright)"),
    ("--cdp-pool-size", "cdp_pool_size", "int", "browsers per process (default 1)"),
    ("--cdp-isolation", "cdp_isolation", "choice", "page isolation: reset (default) or context"),
    ("--cdp-launch-timeout", "cdp_launch_timeout", "float", "seconds to start a browser (30)"),
    ("--cdp-command-timeout", "cdp_command_timeout", "float", "seconds per CDP command (30)"),
    ("--cdp-navigation-timeout", "cdp_navigation_timeout", "float", "seconds per goto (30)"),
    ("--cdp-recycle-after", "cdp_recycle_after", "int", "replace a browser after N leases"),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cdp-accept", "browser performance gates (pytest-cdp-accept)")
    for flag, dest, kind, help_text in _OPTIONS:
        kwargs: dict[str, Any] = {"dest": dest, "default": None, "help": help_text}
        if kind == "int":
            kwargs["type"] = int
        elif kind == "float":
            kwargs["type"] = float
        elif kind == "choice":
            kwargs["choices"] = ISOLATION_MODES
        group.addoption(flag, **kwargs)
        parser.addini(dest, help_text, type="string", default=None)
    group.addoption(
        "--cdp-endpoint",
        dest="cdp_endpoints",
        action="append",
        default=None,
        help="connect to a running browser (ws://... or http://host:port) instead of "
        "launching; repeatable",
    )
    parser.addini("cdp_endpoints", "browsers to connect to, one per line", type="linelist")
    group.addoption(
        "--cdp-browser-arg",
        dest="cdp_browser_args",
        action="append",
        default=None,
        help="extra browser switch for launched browsers; repeatable",
    )
    parser.addini("cdp_browser_args", "extra browser switches, one per line", type="linelist")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cdp_isolation(mode): page isolation for this test's cdp_page: 'reset' or 'context'",
    )
    config.pluginmanager.register(CDPAccept(config), PLUGIN_NAME)


def _setting(config: pytest.Config, name: str) -> Any:
    """Option beats ini; both default to None."""
    value = config.getoption(name, default=None)
    if value is None:
        value = config.getini(name) or None
    return value


def _convert(name: str, value: Any, kind: type) -> Any:
    if value is None:
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise pytest.UsageError(
            f"{name} = {value!r} is not a valid {kind.__name__}; fix it in the command line "
            "or the ini file"
        ) from None


def pool_options_from_config(config: pytest.Config) -> PoolOptions:
    """Build the pool's options from command line, ini and env (in that order)."""
    endpoints = tuple(_setting(config, "cdp_endpoints") or ())
    size = _convert("cdp_pool_size", _setting(config, "cdp_pool_size"), int)
    isolation = _setting(config, "cdp_isolation") or "reset"
    if isolation not in ISOLATION_MODES:
        raise pytest.UsageError(
            f"cdp_isolation = {isolation!r}: expected one of {', '.join(ISOLATION_MODES)}"
        )
    values: dict[str, Any] = {
        "executable": _setting(config, "cdp_browser"),
        "args": tuple(_setting(config, "cdp_browser_args") or ()),
        "endpoints": endpoints,
        "size": size if size is not None else max(1, len(endpoints)),
        "isolation": isolation,
        "recycle_after": _convert("cdp_recycle_after", _setting(config, "cdp_recycle_after"), int),
    }
    for name, field in (
        ("cdp_launch_timeout", "launch_timeout"),
        ("cdp_command_timeout", "command_timeout"),
        ("cdp_navigation_timeout", "navigation_timeout"),
    ):
        value = _convert(name, _setting(config, name), float)
        if value is not None:
            values[field] = value
    try:
        return PoolOptions(**values)
    except CDPAcceptError as exc:
        raise pytest.UsageError(str(exc)) from exc


class CDPAccept:
    """Per-process state: the pool (lazy) and the recorders of the tests that ran."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._pool: SyncPool | None = None

    def pool(self, options: PoolOptions) -> SyncPool:
        if self._pool is None:
            self._pool = SyncPool(options)
            atexit.register(self._pool.pool.kill_now)
        return self._pool

    def close_pool(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.close()
            atexit.unregister(pool.pool.kill_now)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.close_pool()  # normally already closed by the cdp_pool fixture


def _manager(config: pytest.Config) -> CDPAccept:
    manager = config.pluginmanager.get_plugin(PLUGIN_NAME)
    assert isinstance(manager, CDPAccept)
    return manager


# -- fixtures (each overridable, as in pytest-playwright) --------------------------


@pytest.fixture(scope="session")
def cdp_pool_options(pytestconfig: pytest.Config) -> PoolOptions:
    """The pool's options; override this fixture to set them in code."""
    return pool_options_from_config(pytestconfig)


@pytest.fixture(scope="session")
def cdp_pool(pytestconfig: pytest.Config, cdp_pool_options: PoolOptions) -> Iterator[SyncPool]:
    """The process's browser pool (one per xdist worker); browsers start on first lease."""
    manager = _manager(pytestconfig)
    yield manager.pool(cdp_pool_options)
    # Closed here, at session teardown: an xdist worker reports "finished" after this
    # and may be torn down before pytest_unconfigure has run to the end.
    manager.close_pool()


@pytest.fixture
def cdp_metrics() -> MetricsRecorder:
    """This test's recorder: ``timer(name)``, ``record(name, value)``, ``samples(name)``."""
    return MetricsRecorder()


def _isolation(request: pytest.FixtureRequest) -> Isolation | None:
    marker = request.node.get_closest_marker("cdp_isolation")
    if marker is None:
        return None
    mode = marker.args[0] if marker.args else marker.kwargs.get("mode")
    if mode not in ISOLATION_MODES:
        raise pytest.UsageError(
            f"{request.node.nodeid}: cdp_isolation({mode!r}): expected 'reset' or 'context'"
        )
    return mode  # type: ignore[no-any-return]


@pytest.fixture
def cdp_page(
    request: pytest.FixtureRequest, cdp_pool: SyncPool, cdp_metrics: MetricsRecorder
) -> Iterator[SyncPage]:
    """A clean page on a pooled browser (see ``--cdp-isolation``)."""
    page, lease = cdp_pool.acquire_page(cdp_metrics, _isolation(request))
    try:
        yield page
    finally:
        cdp_pool.release_page(page, lease)


@pytest.fixture
def cdp_async_page(
    request: pytest.FixtureRequest, cdp_pool: SyncPool, cdp_metrics: MetricsRecorder
) -> Iterator[AsyncPage]:
    """``cdp_page`` for asyncio tests: the same page, with awaitable methods."""
    page, lease = cdp_pool.acquire_page(cdp_metrics, _isolation(request))
    try:
        yield AsyncPage(page._runner, lease.page)
    finally:
        cdp_pool.release_page(page, lease)


@pytest.fixture
def cdp_browser(cdp_pool: SyncPool, cdp_metrics: MetricsRecorder) -> Iterator[SyncBrowser]:
    """A browser leased from the pool; pages it opens close at teardown; replaced if it died."""
    browser = cdp_pool.acquire_browser(cdp_metrics)
    try:
        yield browser
    finally:
        cdp_pool.release_browser(browser)


@pytest.fixture(scope="session")
def cdp_site() -> Iterator[LocalSite]:
    """The built-in local test site on 127.0.0.1 (see :mod:`pytest_cdp_accept.site`)."""
    site = LocalSite()
    site.start()
    try:
        yield site
    finally:
        site.close()
