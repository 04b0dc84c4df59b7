"""The conditions a test's pages run under: its throttling profile (a ``cdp_throttle``
marker, else ``--cdp-throttle`` / ini ``cdp_throttle``) and whether the Web Vitals
are measured at all (``--cdp-vitals``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..metrics import LOOP_PREFIXES, PAINT_METRICS, VITALS, failed_metric
from .settings import Settings, on_off

if TYPE_CHECKING:
    from ..engine.throttle import ThrottleProfile

Marker = tuple[str, Sequence[Any], Mapping[str, Any]]

VITALS_OFF = "not measured: the Web Vitals are off in this run (--cdp-vitals off / cdp_vitals)"


@dataclass(frozen=True)
class Marked:
    """A test's ``cdp_throttle`` marker: its profile (None for ``off``)."""

    profile: ThrottleProfile | None


class Conditions:
    """The run's throttling profile and vitals switch, and each test's marker."""

    def __init__(self, settings: Settings) -> None:
        self.run_throttle = settings.throttle()
        self.vitals = on_off(settings.text("cdp_vitals") or "on", "cdp_vitals")
        self.unmeasured: dict[str, str] = {}
        """Why a vitals gate has no samples, when the run switched them off."""
        if not self.vitals:
            names = [prefix + name for prefix in ("", *LOOP_PREFIXES) for name in VITALS]
            names += [failed_metric(p + n) for p in ("", *LOOP_PREFIXES) for n in PAINT_METRICS]
            self.unmeasured = dict.fromkeys(names, VITALS_OFF)

    def __repr__(self) -> str:
        name = None if self.run_throttle is None else self.run_throttle.name
        return f"<Conditions throttle={name} vitals={'on' if self.vitals else 'off'}>"

    def read_markers(
        self, nodeid: str, marks: Sequence[Marker]
    ) -> tuple[Marked | None, str | None]:
        """The test's closest ``cdp_throttle`` marker (None: it has none), or the usage
        error naming the test and what is wrong with it."""
        for name, args, kwargs in marks:
            if name != "cdp_throttle":
                continue
            from ..engine.throttle import throttle_from_marker

            try:
                return Marked(throttle_from_marker(tuple(args), kwargs)), None
            except UsageError as exc:
                return None, f"{nodeid}: cdp_throttle: {exc}"
        return None, None

    def throttle_of(self, marked: Marked | None) -> ThrottleProfile | None:
        """The profile a test's pages run under: its marker's, else the run's."""
        return self.run_throttle if marked is None else marked.profile
