"""Long work on the terminal: the stability loops (stress, recovery, leaks) run the
test body in a loop of their own and report progress while they do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..metrics import NULL_LOOP_EVENTS, LoopEvents, LoopRequest, MetricsRecorder

if TYPE_CHECKING:
    from ..engine.sync import SyncPage, SyncPool

Write = Callable[[str], None]


class Progress:
    """Progress lines of one process: ``write`` prints a line, or is None when this
    process does not print them (an xdist worker: the controller prints)."""

    def __init__(self, write: Write | None) -> None:
        self.write = write

    def __repr__(self) -> str:
        return f"<Progress {'on' if self.write else 'off'}>"

    def for_test(self, name: str) -> Write | None:
        """A writer of ``name``'s progress lines, indented under its test line."""
        write = self.write
        if write is None:
            return None
        return lambda text: write(f"    {name}: {text}")

    def run_loop(
        self,
        name: str,
        request: LoopRequest,
        body: Callable[[SyncPage], object],
        pool: SyncPool,
        page: SyncPage,
        recorder: MetricsRecorder,
        factor: float,
        events: LoopEvents = NULL_LOOP_EVENTS,
    ) -> list[str]:
        """Run the loop ``request`` asks for on test ``name``'s body; the lines that
        explain its outcome (see :func:`~pytest_cdp_accept.engine.stability.run_loop`)."""
        from ..engine import stability

        return stability.run_loop(
            request, body, pool, page, recorder, self.for_test(name), factor, events
        )
