"""Web Vitals and page weight, per navigation.

How a page is measured:

* **In the page.** ``vitals.js`` runs in an isolated world (``WORLD``) of every
  document the page loads, installed with ``Page.addScriptToEvaluateOnNewDocument``
  before any page script: one PerformanceObserver (``buffered: true``) on ``paint``,
  ``largest-contentful-paint``, ``layout-shift``, ``longtask``, ``event`` and
  ``first-input`` computes FCP, LCP, CLS, TBT and INP the way Google's web-vitals
  library and Lighthouse define them (the script's header says how). The page shares
  the document and its performance timeline with that world, not its JavaScript
  globals: it can neither see the observer nor break it.
* **Back to Python, off the navigation's path.** Nothing is sent while a page loads.
  The values are read with one ``Runtime.evaluate`` in the document's world when they
  are needed: when the page is released, when the test calls ``vitals()``, and as the
  page API navigates a page away from a measured document (:meth:`navigate_away`): the
  read is written just before ``Page.navigate`` and its reply awaited with the
  navigation's, so it adds no round trip (written after, DevTools would hold it until
  the next document commits, and the old one could no longer answer). After input to
  the document, a read first waits for the input's Event Timing entry (:meth:`settle`),
  so the interaction is in the figures. A document that goes away by itself (a link, a
  script) hands its final values over on ``pagehide``, through a binding
  (``Runtime.addBinding``, hence ``Runtime.enable``, which also gives each document's
  world its context id without a round trip).
* **Page weight** comes from the Network events the page has on anyway
  (``requestWillBeSent``, ``loadingFinished``): :class:`WeightMeter` counts each
  main-frame document's requests and their encoded (over the wire) bytes by type.

A document's figures are final when the main frame commits the next document
(navigating away) or when :meth:`VitalsCollector.finish` is called (release); then
they are handed to the collector's ``on_final`` callback once, as a
:class:`Vitals`. Documents at ``about:`` URLs (a new tab, the pool's parking page)
are not measured. A document that went away to another renderer process by itself
(a link to another site) before it was read keeps its weight only
(``Vitals.measured`` is False).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any, TypeVar

from ..errors import CDPAcceptError
from .connection import CDPSession

log = logging.getLogger("pytest_cdp_accept")
T = TypeVar("T")

WORLD = "__cdp_accept_vitals"
"""The isolated world's name (shared by every document of a page)."""
BINDING = "__cdpAcceptVitalsPush"
GLOBAL = "__cdpAcceptVitals"

TIMINGS = ("ttfb", "fcp", "lcp", "inp", "tbt", "dom_content_loaded", "load")
"""Vitals measured in ms from navigation start (inp and tbt: durations in ms)."""
WEIGHTS = ("requests", "transfer_kb", "js_kb", "css_kb", "image_kb", "font_kb")
METRICS = ("ttfb", "fcp", "lcp", "cls", "inp", "tbt", "dom_content_loaded", "load", *WEIGHTS)
"""Every metric a navigation records, in report order."""

KIB = 1024.0
PAINT_GRACE_MS = 200.0
"""How long a page gets to paint: a read that waits for a first paint waits this long at
most, and a navigation without one counts as never painted (``fcp.failed``) only when it
was shown this long after its load event."""
_TYPE_BUCKETS = {"Script": "js", "Stylesheet": "css", "Image": "image", "Font": "font"}
_MEASURED_SCHEMES = ("http:", "https:", "file:", "data:")
_WIRE_SCHEMES = ("http:", "https:")


def observer_source(*, push: bool = True) -> str:
    """The observer script, configured: it pushes through ``BINDING`` when ``push``."""
    source = resources.files(__package__).joinpath("vitals.js").read_text(encoding="utf-8")
    config = {"binding": BINDING if push else None, "global": GLOBAL, "paintMs": PAINT_GRACE_MS}
    return f"const CONFIG = {json.dumps(config)};\n{source}"


# -- page weight ------------------------------------------------------------------------


@dataclass(frozen=True)
class PageWeight:
    """What one document loaded over the wire (KiB = 1,024 bytes)."""

    requests: int = 0
    transfer_kb: float = 0.0
    js_kb: float = 0.0
    css_kb: float = 0.0
    image_kb: float = 0.0
    font_kb: float = 0.0


@dataclass
class _Tally:
    requests: int = 0
    bytes: float = 0.0
    by_type: dict[str, float] = field(default_factory=dict)

    def add(self, kind: str | None, size: float) -> None:
        self.bytes += size
        if kind is not None:
            self.by_type[kind] = self.by_type.get(kind, 0.0) + size

    def weight(self) -> PageWeight:
        kb = {kind: size / KIB for kind, size in self.by_type.items()}
        return PageWeight(
            self.requests,
            self.bytes / KIB,
            kb.get("js", 0.0),
            kb.get("css", 0.0),
            kb.get("image", 0.0),
            kb.get("font", 0.0),
        )


class WeightMeter:
    """Requests and bytes of each main-frame document, from ``Network`` events.

    A request belongs to the main-frame document whose loader started it; requests
    of other loaders (iframes, workers) go to the main document current when they
    started. Bytes are ``loadingFinished.encodedDataLength`` (headers and body as
    received), and each redirect hop counts as a request with its response's bytes;
    a request that fails counts, with no bytes. Only http(s) requests are on the wire:
    ``data:`` and ``blob:`` URLs are not counted. Pure: fed event parameters, no I/O.
    """

    MAX_DOCUMENTS = 16

    def __init__(self, frame_id: str) -> None:
        self.frame_id = frame_id
        self.current = ""
        self._tallies: dict[str, _Tally] = {}
        self._requests: dict[str, tuple[_Tally, str | None]] = {}

    def __repr__(self) -> str:
        return f"<WeightMeter documents={len(self._tallies)} in flight={len(self._requests)}>"

    def on_request(self, params: dict[str, Any]) -> None:
        request_id = str(params.get("requestId", ""))
        redirect = params.get("redirectResponse")
        if redirect is not None:
            previous = self._requests.pop(request_id, None)
            if previous is not None:
                previous[0].add(previous[1], float(redirect.get("encodedDataLength") or 0))
        loader = str(params.get("loaderId", ""))
        if params.get("type") == "Document" and params.get("frameId") == self.frame_id:
            if loader not in self._tallies:
                self._tallies[loader] = _Tally()
                while len(self._tallies) > self.MAX_DOCUMENTS:
                    del self._tallies[next(iter(self._tallies))]
            self.current = loader
        url = str((params.get("request") or {}).get("url", ""))
        if not url.startswith(_WIRE_SCHEMES):
            return
        tally = self._tallies.get(loader) or self._tallies.get(self.current)
        if tally is None:
            return
        tally.requests += 1
        self._requests[request_id] = (tally, _TYPE_BUCKETS.get(str(params.get("type", ""))))

    def on_finished(self, params: dict[str, Any]) -> None:
        entry = self._requests.pop(str(params.get("requestId", "")), None)
        if entry is not None:
            entry[0].add(entry[1], float(params.get("encodedDataLength") or 0))

    def on_failed(self, params: dict[str, Any]) -> None:
        self._requests.pop(str(params.get("requestId", "")), None)

    def weight(self, loader: str) -> PageWeight:
        tally = self._tallies.get(loader)
        return tally.weight() if tally is not None else PageWeight()

    def forget(self, loader: str) -> None:
        tally = self._tallies.pop(loader, None)
        if tally is not None:
            self._requests = {k: v for k, v in self._requests.items() if v[0] is not tally}


# -- the values of one navigation ---------------------------------------------------------


@dataclass(frozen=True)
class Vitals:
    """The Web Vitals and weight of one navigation (one document).

    Times in ms from navigation start, ``inp`` and ``tbt`` durations in ms, ``cls``
    unitless, weights in KiB. ``None``: not measured (yet): no contentful paint for
    ``fcp``/``lcp``, no interaction for ``inp``, ``load`` still pending.
    """

    url: str
    ttfb: float | None = None
    fcp: float | None = None
    lcp: float | None = None
    cls: float = 0.0
    inp: float | None = None
    tbt: float | None = None
    dom_content_loaded: float | None = None
    load: float | None = None
    requests: int = 0
    transfer_kb: float = 0.0
    js_kb: float = 0.0
    css_kb: float = 0.0
    image_kb: float = 0.0
    font_kb: float = 0.0
    interactions: int = 0
    """Interactions the page counted (``performance.interactionCount``)."""
    observed_ms: float = 0.0
    """When the figures were read, in ms from navigation start."""
    throttle: str | None = None
    """The throttling profile the navigation ran under (None: unthrottled)."""
    measured: bool = True
    """False when the page's observer never reported (the document went away first)."""

    @property
    def painted(self) -> bool:
        """Whether the page painted anything contentful (it has an FCP)."""
        return self.fcp is not None

    @property
    def blank(self) -> bool:
        """Whether it never painted though shown ``PAINT_GRACE_MS`` past its load event
        (a failed attempt of fcp and lcp); one left sooner is neither painted nor blank."""
        return not self.painted and self.observed_ms - (self.load or 0.0) >= PAINT_GRACE_MS

    def metrics(self) -> dict[str, float]:
        """The figures by metric name; unmeasured ones are left out."""
        values = asdict(self)
        return {
            name: float(values[name])
            for name in METRICS
            if values[name] is not None and (self.measured or name in WEIGHTS)
        }

    @classmethod
    def from_values(
        cls,
        url: str,
        values: dict[str, Any] | None,
        weight: PageWeight,
        throttle: str | None = None,
    ) -> Vitals:
        """From the observer's values (None if it never reported) and the page weight."""
        data = values or {}

        def number(name: str) -> float | None:
            value = data.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value) if math.isfinite(value) else None
            return None

        return cls(
            url=str(data.get("url") or url),
            ttfb=number("ttfb"),
            fcp=number("fcp"),
            lcp=number("lcp"),
            cls=number("cls") or 0.0,
            inp=number("inp"),
            tbt=number("tbt"),
            dom_content_loaded=number("dom_content_loaded"),
            load=number("load"),
            requests=weight.requests,
            transfer_kb=weight.transfer_kb,
            js_kb=weight.js_kb,
            css_kb=weight.css_kb,
            image_kb=weight.image_kb,
            font_kb=weight.font_kb,
            interactions=int(number("interactions") or 0),
            observed_ms=number("at") or 0.0,
            throttle=throttle,
            measured=values is not None,
        )


# -- the collector on a page's session ----------------------------------------------------


@dataclass
class _Document:
    loader: str
    url: str
    script_id: str | None = None
    """The observer's id for its document: a check that values read are this one's."""
    context_id: int | None = None
    values: dict[str, Any] | None = None
    done: bool = False
    skip: bool = False
    """Its navigation failed: not measured."""
    input: bool = False
    """Input was dispatched to it since a read last waited for an input's entry."""


class VitalsCollector:
    """Measures every main-frame document of one page session.

    ``on_final(vitals)`` is called once per measured document, when it is final.
    :meth:`install` must run before the page navigates (it adds the observer for the
    documents to come).
    """

    def __init__(
        self,
        session: CDPSession,
        frame_id: str,
        on_final: Callable[[Vitals], None] | None = None,
    ) -> None:
        self.session = session
        self.frame_id = frame_id
        self.on_final = on_final
        self.throttle: str | None = None
        self.meter = WeightMeter(frame_id)
        self.current: _Document | None = None
        self._failed: set[str] = set()  # loaders of failed navigations not committed yet
        self._offs = [
            session.on("Network.requestWillBeSent", self.meter.on_request),
            session.on("Network.loadingFinished", self.meter.on_finished),
            session.on("Network.loadingFailed", self.meter.on_failed),
            session.on("Page.frameNavigated", self._on_frame_navigated),
            session.on("Runtime.executionContextCreated", self._on_context),
            session.on("Runtime.bindingCalled", self._on_binding),
        ]

    def __repr__(self) -> str:
        url = self.current.url if self.current else None
        return f"<VitalsCollector current={url} throttle={self.throttle}>"

    def install_commands(self) -> list[tuple[str, dict[str, Any]]]:
        """The commands that install the observer, in order (send them together)."""
        return [
            ("Runtime.enable", {}),
            ("Runtime.addBinding", {"name": BINDING, "executionContextName": WORLD}),
            (
                "Page.addScriptToEvaluateOnNewDocument",
                {"source": observer_source(push=True), "worldName": WORLD},
            ),
        ]

    async def install(self) -> None:
        # Written back to back, in order: the binding must exist before the script's world.
        await self.session.send_batch(self.install_commands())

    def close(self) -> None:
        for off in self._offs:
            off()
        self._offs.clear()

    # -- events -------------------------------------------------------------------------

    def _on_frame_navigated(self, params: dict[str, Any]) -> None:
        frame = params.get("frame") or {}
        if frame.get("id") != self.frame_id or frame.get("parentId"):
            return
        loader = str(frame.get("loaderId", ""))
        if self.current is not None and self.current.loader == loader:
            return
        previous, self.current = self.current, _Document(loader, str(frame.get("url", "")))
        if loader in self._failed:
            self._failed.discard(loader)
            self.current.skip = True
        if previous is not None:
            self._finalise(previous)

    def _on_context(self, params: dict[str, Any]) -> None:
        context = params.get("context") or {}
        aux = context.get("auxData") or {}
        if context.get("name") == WORLD and aux.get("frameId") == self.frame_id and self.current:
            self.current.context_id = context.get("id")

    def _on_binding(self, params: dict[str, Any]) -> None:
        if params.get("name") != BINDING:
            return
        try:
            values = json.loads(params.get("payload") or "")
        except ValueError:
            return
        # pagehide runs as the next document commits, before its frameNavigated: the
        # message is the current document's.
        document = self.current
        if document is not None and isinstance(values, dict):
            self._take(document, values)
            if document.values is values:
                self._finalise(document)

    # -- reading and finishing ------------------------------------------------------------

    def _finalise(self, document: _Document) -> None:
        if document.done:
            return
        document.done = True
        weight = self.meter.weight(document.loader)
        self.meter.forget(document.loader)
        measured = document.url.startswith(_MEASURED_SCHEMES) and not document.skip
        if not measured or self.on_final is None:
            return
        try:
            self.on_final(Vitals.from_values(document.url, document.values, weight, self.throttle))
        except Exception:  # a recorder's failure must not break the page's event flow
            log.exception("recording vitals of %s failed", document.url)

    async def read(self, *, settle: bool = True) -> Vitals | None:
        """The current document's values now (None on an ``about:`` page)."""
        document = self.current
        if document is None or not document.url.startswith(_MEASURED_SCHEMES):
            return None
        await self._pull(document, for_input=settle, paint=settle)
        return Vitals.from_values(
            document.url, document.values, self.meter.weight(document.loader), self.throttle
        )

    def note_input(self) -> None:
        """The page API dispatched input to the current document."""
        if self.current is not None:
            self.current.input = True

    async def before_navigate(self) -> None:
        """Read the current document's values before something may navigate it away
        (an ``expect_navigation`` block). The navigation may not come, so the values are
        not handed over: the document's pagehide still sends its last ones."""
        document = self._leaving()
        if document is not None:
            await self._pull(document, for_input=True, paint=True)

    async def settle(self) -> None:
        """After input to the current document: wait until the input's Event Timing
        entry is in its figures (the page API calls this before it navigates away)."""
        document = self._leaving()
        if document is not None and document.input:
            await self._pull(document, for_input=True)

    async def navigate_away(self, navigation: Coroutine[Any, Any, T]) -> T:
        """Run ``navigation`` (the page API's ``Page.navigate`` and its wait) with the
        current document's values read on the way out, and handed over.

        The read is a task started before the navigation's task: its command is on the
        wire before ``Page.navigate``, the old document answers it at once, and its
        reply is awaited once the navigation is done.
        """
        document = self._leaving()
        if document is None:
            return await navigation
        read = asyncio.ensure_future(self._pull(document, for_input=True, hand_over=True))
        navigating = asyncio.ensure_future(navigation)  # runs after ``read`` has written
        try:
            return await navigating
        except asyncio.CancelledError:
            read.cancel()
            raise
        finally:
            await asyncio.wait([read])

    def _leaving(self) -> _Document | None:
        """The current document, if it is measured and not final yet."""
        document = self.current
        if (
            document is not None
            and not document.done
            and not document.skip
            and document.url.startswith(_MEASURED_SCHEMES)
        ):
            return document
        return None

    def skip(self, loader: str) -> None:
        """The navigation of ``loader`` failed: its document (committed or to come) is
        not measured."""
        if self.current is not None and self.current.loader == loader:
            self.current.skip = True
        else:
            self._failed = {*list(self._failed)[-7:], loader}

    async def finish(self, *, paint: bool = False) -> None:
        """Read the current document's values and hand them over as final (release);
        ``paint``: wait up to ``PAINT_GRACE_MS`` for a first paint still due."""
        document = self.current
        if document is None or document.done:
            return
        if document.url.startswith(_MEASURED_SCHEMES) and not document.skip:
            await self._pull(document, for_input=True, paint=paint)
        self._finalise(document)

    async def _pull(
        self, document: _Document, *, for_input: bool, paint: bool = False, hand_over: bool = False
    ) -> None:
        """Read ``document``'s values; waiting for the last input's Event Timing entry
        (``for_input``), for the first paint of a visible page (``paint``, up to
        ``PAINT_GRACE_MS``);
        ``hand_over``: its pagehide then sends nothing, once it has painted."""
        if document.context_id is None:
            return
        if for_input:
            document.input = False
        args = json.dumps({"input": for_input, "paint": paint, "handOver": hand_over})
        with contextlib.suppress(CDPAcceptError, ValueError):
            reply = await self.session.send(
                "Runtime.evaluate",
                {
                    "expression": f"globalThis.{GLOBAL}.read({args})",
                    "contextId": document.context_id,
                    "returnByValue": True,
                    "awaitPromise": True,
                },
                timeout=5,
            )
            value = (reply.get("result") or {}).get("value")
            if isinstance(value, str) and not reply.get("exceptionDetails"):
                self._take(document, json.loads(value))

    def _take(self, document: _Document, values: Any) -> None:
        if not isinstance(values, dict) or document.done:
            return
        script_id = str(values.get("id", ""))
        if document.script_id not in (None, script_id):
            return  # another document's world (context ids are reused across processes)
        document.script_id = script_id
        document.values = values


__all__ = [
    "METRICS",
    "WEIGHTS",
    "PageWeight",
    "Vitals",
    "VitalsCollector",
    "WeightMeter",
    "observer_source",
]
