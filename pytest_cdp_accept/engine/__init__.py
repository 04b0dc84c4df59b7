"""The engine: drives Chromium over CDP and measures what happens.

``protocol`` (network-free CDP core) -> ``connection`` (websockets transport)
-> ``browser`` (Browser and Page, asyncio) -> ``launcher`` / ``pool`` (local
processes, pooled browsers and pages) -> ``sync`` (blocking and async facades
on the core's own loop thread); ``fleet``, ``stability`` and ``probe`` build
the fleet, the loops under load and the per-test measurements on top. Nothing
here imports :mod:`pytest_cdp_accept.gate`; samples leave through the recorder
interface of :mod:`pytest_cdp_accept.metrics`.
"""
