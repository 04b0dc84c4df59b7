"""The process's browser pool, from first use to the end of the run, and the app the
browsers are pointed at.

The engine is imported on first use only: a suite that never asks for a browser
never pays for importing it.
"""

from __future__ import annotations

import atexit
from typing import TYPE_CHECKING

from ..gate.report import Results

if TYPE_CHECKING:
    from ..engine.options import PoolOptions
    from ..engine.sync import SyncPool

APP_CHECK_HINT = (
    "Start it before the run or fix --cdp-base-url / ini cdp_base_url; pass "
    "--cdp-no-app-check if it comes up during the run."
)


class PoolKeeper:
    """One pool per process (per xdist worker): made on first use, closed once.

    Until it is closed, interpreter exit kills its browsers (an interrupted run
    leaves none behind); its launch and page counts go to ``results``.
    """

    def __init__(self, results: Results) -> None:
        self.results = results
        self._pool: SyncPool | None = None

    def __repr__(self) -> str:
        return f"<PoolKeeper {self._pool!r}>"

    def get(self, options: PoolOptions) -> SyncPool:
        """The process's pool, made with ``options`` on the first call."""
        from ..engine.sync import SyncPool

        if self._pool is None:
            self._pool = SyncPool(options)
            atexit.register(self._pool.pool.kill_now)
        return self._pool

    def state(self) -> dict[str, float] | None:
        """The pool's browsers, pages and leases now (from any thread); None before the
        first lease, after the close, or when the pool does not answer in time."""
        pool = self._pool
        state = None if pool is None else pool.state()
        if state is None:
            return None
        return {"browsers": state.browsers, "pages": state.pages, "leases": state.leases}

    def close(self) -> None:
        """Close the pool, if there is one; a second call does nothing."""
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        stats = pool.pool.stats
        self.results.count("browsers_launched", stats.browsers_launched)
        self.results.count("pages_opened", stats.pages_opened)
        if stats.farm_cuts:
            self.results.count("farm_sessions_cut", len(stats.farm_cuts))
        pool.close()
        atexit.unregister(pool.pool.kill_now)


def app_problem(url: str) -> str | None:
    """Why the app under test at ``url`` cannot be tested (None if it answers), in
    the words the run stops with before its first test."""
    from ..site import check_app

    problem = check_app(url)
    if problem is None:
        return None
    return f"cdp-accept: the app under test at {url} does not answer: {problem}. {APP_CHECK_HINT}"
