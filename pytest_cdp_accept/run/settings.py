"""Every setting of the plugin in one table: option, ini key, type, help.

``pytest_addoption`` registers :data:`SETTINGS` in a loop, and :class:`Settings`
reads them back with one precedence: the command line beats the ini file,
which beats the default the code applies. An option's dest is its ini key and
every option and ini default is None, so a setting left out of the command
line always falls back to the ini file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..engine.farm_endpoint import FarmEndpoint, parse_header
from ..engine.options import ISOLATION_MODES, PoolOptions, check_isolation
from ..errors import UsageError

if TYPE_CHECKING:
    from ..engine.throttle import ThrottleProfile

Kind = Literal["text", "int", "float", "flag", "lines"]


@dataclass(frozen=True)
class Setting:
    """One setting; ``name`` is both its ini key and its option's dest."""

    name: str
    help: str
    kind: Kind = "text"
    flag: str | None = None
    """The command-line option; None for a setting only the ini file holds."""
    ini: bool = True
    """False for a setting only the command line holds."""
    choices: tuple[str, ...] = ()
    metavar: str | None = None
    ini_help: str | None = None
    """The ini key's help, where it reads differently from the option's."""
    pool_field: str | None = None
    """The :class:`~pytest_cdp_accept.engine.options.PoolOptions` field it sets."""

    def option_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``parser.addoption`` for this setting."""
        kwargs: dict[str, Any] = {
            "dest": self.name,
            "default": None,
            "help": self.help.replace("%", "%%"),  # argparse formats help with %
        }
        if self.kind in ("int", "float"):
            kwargs["type"] = int if self.kind == "int" else float
        elif self.kind == "flag":
            kwargs.update(action="store_const", const=True)
        elif self.kind == "lines":
            kwargs["action"] = "append"
        if self.choices:
            kwargs["choices"] = self.choices
        if self.metavar:
            kwargs["metavar"] = self.metavar
        return kwargs

    def ini_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``parser.addini`` (numbers are read as text, converted here
        with the option's rules, so both spellings fail alike)."""
        return {
            "help": self.ini_help or self.help,
            "type": "linelist" if self.kind == "lines" else "string",
            "default": None,
        }


def _pool(name: str, help: str, kind: Kind, field: str, flag: str, **extra: Any) -> Setting:
    return Setting(name, help, kind, flag=flag, pool_field=field, **extra)


SETTINGS: tuple[Setting, ...] = (
    # -- the pool
    _pool(
        "cdp_browser",
        "browser executable (else env, PATH, Playwright)",
        "text",
        "executable",
        "--cdp-browser",
        metavar="PATH",
    ),
    _pool(
        "cdp_pool_size",
        "browsers per process (default 1)",
        "int",
        "size",
        "--cdp-pool-size",
        metavar="N",
    ),
    _pool(
        "cdp_isolation",
        "page isolation: reset (default) or context",
        "text",
        "isolation",
        "--cdp-isolation",
        choices=ISOLATION_MODES,
    ),
    _pool(
        "cdp_launch_timeout",
        "seconds to start a browser (30)",
        "float",
        "launch_timeout",
        "--cdp-launch-timeout",
        metavar="S",
    ),
    _pool(
        "cdp_command_timeout",
        "seconds per CDP command (30)",
        "float",
        "command_timeout",
        "--cdp-command-timeout",
        metavar="S",
    ),
    _pool(
        "cdp_navigation_timeout",
        "seconds per goto (30)",
        "float",
        "navigation_timeout",
        "--cdp-navigation-timeout",
        metavar="S",
    ),
    _pool(
        "cdp_action_timeout",
        "seconds an action (click, fill, wait_for_selector, ...) waits for its element (10)",
        "float",
        "action_timeout",
        "--cdp-action-timeout",
        metavar="S",
    ),
    _pool(
        "cdp_recycle_after",
        "replace a browser after N leases",
        "int",
        "recycle_after",
        "--cdp-recycle-after",
        metavar="N",
    ),
    _pool(
        "cdp_recycle_memory",
        "replace a browser above N MB PSS",
        "float",
        "recycle_memory_mb",
        "--cdp-recycle-memory",
        metavar="MB",
    ),
    _pool(
        "cdp_endpoints",
        "connect to a running browser (ws://... or http://host:port) instead of "
        "launching; repeatable",
        "lines",
        "endpoints",
        "--cdp-endpoint",
        metavar="URL",
        ini_help="browsers to connect to, one per line",
    ),
    # -- browser farms
    Setting(
        "cdp_farm",
        "a browser farm: every connection is a new browser (browserless and alike); "
        "ws://, wss://, http(s)://host:port with any path and query (?token=...)",
        flag="--cdp-farm",
        metavar="URL",
    ),
    Setting(
        "cdp_farm_headers",
        "a header for the farm or endpoint, NAME=VALUE (e.g. Authorization=Bearer ...); repeatable",
        "lines",
        flag="--cdp-farm-header",
        metavar="NAME=VALUE",
        ini_help="headers for the farm or endpoint, NAME=VALUE, one per line",
    ),
    Setting(
        "cdp_farm_switches",
        "send our launch switches to a farm that takes them (browserless launch=): on "
        "(default) or off",
        flag="--cdp-farm-switches",
        choices=("on", "off"),
    ),
    _pool(
        "cdp_browser_args",
        "extra browser switch for launched browsers; repeatable",
        "lines",
        "args",
        "--cdp-browser-arg",
        metavar="ARG",
        ini_help="extra browser switches, one per line",
    ),
    _pool(
        "cdp_vitals",
        "Web Vitals and page weight of every navigation: on (default) or off",
        "text",
        "vitals",
        "--cdp-vitals",
        choices=("on", "off"),
    ),
    Setting(
        "cdp_throttle",
        "throttling profile of every test's pages: mobile-slow-4g, fast-3g, slow-3g, desktop, "
        "off, or cpu=4,latency=150ms,down=1.6Mbps,up=750Kbps (a cdp_throttle marker wins)",
        flag="--cdp-throttle",
        metavar="PROFILE",
    ),
    # -- the app under test
    Setting(
        "cdp_base_url",
        "the app under test (default: the built-in site)",
        flag="--cdp-base-url",
        metavar="URL",
    ),
    Setting(
        "cdp_no_app_check",
        "do not check before the first test that --cdp-base-url answers (for an app "
        "that comes up during the run)",
        "flag",
        flag="--cdp-no-app-check",
        ini_help="skip the app check before the first test (true/false)",
    ),
    Setting(
        "cdp_site_host",
        "where the built-in site listens (default 127.0.0.1; 0.0.0.0 for a farm elsewhere)",
        flag="--cdp-site-host",
        metavar="HOST",
    ),
    Setting(
        "cdp_site_url",
        "the address a farm's browsers reach the built-in site at, e.g. "
        "http://host.docker.internal (with a port: the site listens on it)",
        flag="--cdp-site-url",
        metavar="URL",
    ),
    # -- judging
    Setting(
        "cdp_threshold_factor",
        "multiply every time threshold by this (slow runners), e.g. 1.5",
        "float",
        flag="--cdp-threshold-factor",
        metavar="F",
    ),
    Setting(
        "cdp_record_only",
        "measure and report, never fail a test or the run on a threshold",
        "flag",
        flag="--cdp-record-only",
        ini_help="measure and report only (true/false)",
    ),
    Setting(
        "cdp_preset",
        "session gates of a preset: 'acceptance' (the reference targets) or 'web-vitals' "
        "(Google's good limits at p75: LCP 2.5 s, INP 200 ms, CLS 0.1, FCP 1.8 s, TTFB 0.8 s)",
        flag="--cdp-preset",
        choices=("acceptance", "web-vitals"),
    ),
    Setting("cdp_gates", "session gates, one 'metric: threshold' per line, over the whole run"),
    # -- outputs and baselines
    Setting(
        "cdp_json",
        "write every sample and verdict as versioned JSON",
        flag="--cdp-json",
        metavar="PATH",
    ),
    Setting(
        "cdp_html",
        "write one self-contained HTML report with charts",
        flag="--cdp-html",
        metavar="PATH",
    ),
    Setting(
        "cdp_benchmark_json",
        "write latency metrics in pytest-benchmark's JSON format",
        flag="--cdp-benchmark-json",
        metavar="PATH",
    ),
    # -- monitoring (docs/monitoring.md)
    Setting(
        "cdp_openmetrics",
        "write every metric in the OpenMetrics text format at the end of the run "
        "(needs the [openmetrics] extra)",
        flag="--cdp-openmetrics",
        metavar="PATH",
    ),
    Setting(
        "cdp_metrics_port",
        "serve the metrics live on http://ADDR:PORT/metrics while the run lasts, for "
        "Prometheus (needs the [openmetrics] extra); 0 = off, the default",
        "int",
        flag="--cdp-metrics-port",
        metavar="PORT",
    ),
    Setting(
        "cdp_metrics_bind",
        "the address --cdp-metrics-port listens on (default 127.0.0.1; 0.0.0.0 for every "
        "interface)",
        flag="--cdp-metrics-bind",
        metavar="ADDR",
    ),
    Setting(
        "cdp_otlp_endpoint",
        "push the metrics to an OpenTelemetry collector over OTLP/HTTP, e.g. "
        "http://localhost:4318 (default: $OTEL_EXPORTER_OTLP_ENDPOINT; needs the [otel] extra)",
        flag="--cdp-otlp-endpoint",
        metavar="URL",
    ),
    Setting(
        "cdp_save",
        "save this run's metrics as baseline NAME",
        flag="--cdp-save",
        ini=False,
        metavar="NAME",
    ),
    Setting(
        "cdp_compare",
        "compare with baseline NAME (or 'latest'); with none yet, save one",
        flag="--cdp-compare",
        metavar="NAME",
    ),
    Setting(
        "cdp_compare_fail",
        "fail on a regression, e.g. 'navigation.p95:10%' or ':50ms'",
        "lines",
        flag="--cdp-compare-fail",
        metavar="RULE",
        ini_help="regression rules, one per line",
    ),
    Setting("cdp_baseline_dir", "where baselines live"),
    Setting(
        "cdp_compare_alpha",
        "significance level of the baseline comparison (Mann-Whitney U, one-sided; default 0.01)",
        "float",
        flag="--cdp-compare-alpha",
        metavar="A",
    ),
    # -- evidence of failures
    Setting(
        "cdp_evidence",
        "keep a screenshot, a trace and the console and network errors of failing tests "
        "(on-failure, the default), of every test (always) or none (off)",
        flag="--cdp-evidence",
        choices=("off", "on-failure", "always"),
    ),
    Setting(
        "cdp_evidence_dir",
        "where evidence is kept (default .cdp-accept/evidence/)",
        flag="--cdp-evidence-dir",
        metavar="DIR",
    ),
)
"""Every setting; the order is the order of ``pytest --help``."""

BY_NAME: Mapping[str, Setting] = {setting.name: setting for setting in SETTINGS}

OUTPUTS = ("cdp_json", "cdp_html", "cdp_benchmark_json")
EVIDENCE_MODES = ("off", "on-failure", "always")
"""The settings that name a report file to write."""


class Settings:
    """The settings of one run, typed: ``option(name)`` and ``ini(name)`` are
    ``config.getoption`` and ``config.getini`` (or anything answering alike).

    A bad value raises :class:`~pytest_cdp_accept.errors.UsageError` naming the
    setting and where to fix it.
    """

    def __init__(self, option: Callable[[str], Any], ini: Callable[[str], Any]) -> None:
        self._option = option
        self._ini = ini

    def raw(self, name: str) -> Any:
        """The value as given, the command line first; None when neither gives one."""
        setting = BY_NAME[name]
        value = self._option(name) if setting.flag else None
        if value is None and setting.ini:
            value = self._ini(name) or None
        return value

    def value(self, name: str) -> Any:
        """The value converted to the setting's kind (None when not given; a flag is
        False then, a list of lines empty)."""
        kind = BY_NAME[name].kind
        raw = self.raw(name)
        if kind == "flag":
            return str(raw).strip().lower() in ("1", "true", "yes", "on")
        if kind == "lines":
            return tuple(str(line) for line in raw or ())
        if raw is None or kind == "text":
            return raw if raw is None else str(raw)
        try:
            return int(raw) if kind == "int" else float(raw)
        except (TypeError, ValueError):
            raise UsageError(
                f"{name} = {raw!r} is not a valid {kind}; fix it in the command line or the "
                "ini file"
            ) from None

    def text(self, name: str) -> str | None:
        value = self.value(name)
        return None if value is None else str(value)

    def flag(self, name: str) -> bool:
        return bool(self.value(name))

    def lines(self, name: str) -> tuple[str, ...]:
        return tuple(self.value(name))

    # -- what the run needs, from the settings ---------------------------------------

    @property
    def factor(self) -> float:
        """``--cdp-threshold-factor``: 1 when not given."""
        factor = self.value("cdp_threshold_factor")
        if factor is not None and factor <= 0:
            raise UsageError(f"--cdp-threshold-factor {factor} must be > 0")
        return 1.0 if factor is None else float(factor)

    @property
    def evidence(self) -> str:
        """``--cdp-evidence``: ``on-failure`` when not given."""
        mode = self.text("cdp_evidence") or "on-failure"
        if mode not in EVIDENCE_MODES:
            raise UsageError(
                f"cdp_evidence = {mode!r}: expected one of {', '.join(EVIDENCE_MODES)}; fix it "
                "in the command line or the ini file"
            )
        return mode

    @property
    def alpha(self) -> float:
        """``--cdp-compare-alpha``: 0.01 when not given."""
        alpha = self.value("cdp_compare_alpha")
        if alpha is None:
            return 0.01
        if not 0.0 < alpha < 0.5:
            raise UsageError(
                f"--cdp-compare-alpha {alpha:g} must be between 0 and 0.5 (0.01 and 0.05 are usual)"
            )
        return float(alpha)

    def pool_options(self) -> PoolOptions:
        """The pool's options from every setting with a ``pool_field``."""
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            value = self.value(setting.name)
            if setting.pool_field is not None and value is not None and value != ():
                values[setting.pool_field] = value
        values.setdefault("size", max(1, len(values.get("endpoints", ()))))
        values["isolation"] = check_isolation(values.get("isolation", "reset"), "cdp_isolation =")
        values["vitals"] = on_off(values.get("vitals", "on"), "cdp_vitals")
        headers = tuple(parse_header(line) for line in self.lines("cdp_farm_headers"))
        farm = self.text("cdp_farm")
        if farm:
            values["farm"] = FarmEndpoint.parse(farm, headers)
        values["headers"] = headers
        switches = (self.text("cdp_farm_switches") or "on").strip().lower()
        if switches not in ("on", "off"):
            raise UsageError(f"cdp_farm_switches = {switches!r}: expected on or off")
        values["farm_switches"] = switches == "on"
        return PoolOptions(**values)

    def throttle(self) -> ThrottleProfile | None:
        """The run's throttling profile (``--cdp-throttle`` / ini ``cdp_throttle``)."""
        text = self.text("cdp_throttle")
        if text is None:
            return None
        from ..engine.throttle import parse_throttle

        try:
            return parse_throttle(text)
        except UsageError as exc:
            raise UsageError(f"--cdp-throttle / ini cdp_throttle: {exc}") from None


def on_off(value: object, name: str) -> bool:
    """An on/off setting as a bool; anything else is a UsageError naming the setting."""
    text = str(value).strip().lower()
    if text not in ("on", "off"):
        raise UsageError(f"{name} = {value!r}: expected on or off")
    return text == "on"
