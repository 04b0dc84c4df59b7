"""Planted pages for the Web Vitals: pages whose vitals are known in advance.

Each page makes one vital happen at a known time or size, measured from
navigation start (``performance.now()`` in the page), so a test can check that
what the plugin reads is what the page did. The built-in site serves them under
``/vitals/``; :func:`route` answers a path and its query parameters, and knows
nothing of HTTP otherwise.

``/vitals/text?ms=300``
    A blank page whose first (and only) text is inserted ``ms`` after navigation
    start: its FCP is that time plus the next frame.
``/vitals/hero?ms=800``
    A small heading (painted at once: FCP) and a 600x300 image, loaded and
    decoded in the background and inserted ``ms`` after navigation start: the
    LCP is the image's paint, just after ``ms``.
``/vitals/shift?score=0.25&at=500``
    A block filling the viewport's width that moves down ``at`` ms after it
    first painted, by ``score`` x the viewport's larger side, while the union of
    where it was and where it is covers the whole viewport: one layout shift of
    impact fraction 1 and distance fraction ``score`` (0 < score <= 0.5). The page
    sets ``window.plantedShift`` to the score it planted (after rounding the
    distance to whole pixels) and ``window.plantedShiftDone``.
``/vitals/longtask?ms=300``
    A page that, 50 ms after its first contentful paint, runs one task that busy-
    waits ``ms``: its Total Blocking Time is ``ms - 50``. ``window.plantedBusyDone``
    is set when the task is over.
``/vitals/input?block=250``
    Two large buttons: ``#slow``, whose click handler busy-waits ``block`` ms, and
    ``#fast``, whose handler only changes its text. Both update the page, so a
    frame is painted after each interaction.
``/vitals/weight?kb=300``
    A page of about ``kb`` KiB, in a known split: a script (40 %), a stylesheet
    (15 %), an image (30 %), a web font (13 %; bytes a font decoder rejects, which
    Chromium still downloads) and the HTML itself (the rest, at least 2 KiB).
    ``window.plantedWeight`` lists the body size of each part in bytes.
``/vitals/image.png?w=600&h=300&kb=0``
    A valid PNG of one colour, ``w`` x ``h`` pixels, padded with an ancillary
    chunk to ``kb`` KiB, and to 0.2 bits per pixel at least (Chromium ignores
    images of less than 0.05 bits per pixel for LCP).
``/vitals/asset.js?kb=N``, ``/vitals/asset.css?kb=N``, ``/vitals/asset.font?kb=N``
    A script, stylesheet or font body of exactly ``N`` KiB.

Every page links ``data:,`` as its icon (no favicon request).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

PREFIX = "/vitals/"
MAX_MS = 60_000
MAX_KB = 65_536
MAX_SIDE = 4_000


@dataclass(frozen=True)
class Planted:
    """A planted page's answer."""

    content_type: str
    body: bytes


class PlantedParameterError(ValueError):
    """A query parameter of a planted page is out of range."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f"bad value for parameter {name!r}: {value!r} (expected {expected})\n")
        self.name = name


_HTML = "text/html; charset=utf-8"
_JS = "application/javascript"
_CSS = "text/css"
_PNG = "image/png"
_FONT = "font/woff2"

WEIGHT_SPLIT = (("js", 0.40), ("css", 0.15), ("image", 0.30), ("font", 0.13))
"""Shares of ``/vitals/weight``'s bytes; the HTML document takes the rest."""


def route(path: str, params: dict[str, list[str]]) -> Planted | None:
    """The planted page at ``path`` (``/vitals/...``), or None if there is none."""
    if not path.startswith(PREFIX):
        return None
    name = path[len(PREFIX) :]
    if name == "text":
        return Planted(_HTML, text_page(_int(params, "ms", 300, 0, MAX_MS)))
    if name == "hero":
        return Planted(_HTML, hero_page(_int(params, "ms", 800, 0, MAX_MS)))
    if name == "shift":
        score = _float(params, "score", 0.25, 0.0, 0.5)
        if score <= 0:
            raise PlantedParameterError("score", str(score), "a number > 0 and <= 0.5")
        return Planted(_HTML, shift_page(score, _int(params, "at", 500, 0, MAX_MS)))
    if name == "longtask":
        return Planted(_HTML, longtask_page(_int(params, "ms", 300, 0, MAX_MS)))
    if name == "input":
        return Planted(_HTML, input_page(_int(params, "block", 250, 0, MAX_MS)))
    if name == "weight":
        return Planted(_HTML, weight_page(_int(params, "kb", 300, 16, MAX_KB)))
    if name == "image.png":
        width = _int(params, "w", 600, 1, MAX_SIDE)
        height = _int(params, "h", 300, 1, MAX_SIDE)
        return Planted(_PNG, png(width, height, _int(params, "kb", 0, 0, MAX_KB) * 1024))
    if name in ("asset.js", "asset.css", "asset.font"):
        size = _int(params, "kb", 10, 0, MAX_KB) * 1024
        kind = name.rpartition(".")[2]
        return Planted({"js": _JS, "css": _CSS, "font": _FONT}[kind], filler(kind, size))
    return None


# -- parameters -----------------------------------------------------------------------


def _last(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _int(params: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    raw = _last(params, name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise PlantedParameterError(name, raw, f"an integer {low}..{high}")
    return int(raw)


def _float(
    params: dict[str, list[str]], name: str, default: float, low: float, high: float
) -> float:
    raw = _last(params, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise PlantedParameterError(name, raw, f"a number {low:g}..{high:g}")
    return value


# -- pages ----------------------------------------------------------------------------


def _page(title: str, body: str, *, head: str = "") -> bytes:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{title}</title>\n{head}</head>\n<body>\n{body}\n</body>\n</html>\n"
    ).encode()


# Runs `fn` when the page's clock reads `ms` (from navigation start).
_AT = "function at(ms, fn) { setTimeout(fn, Math.max(0, ms - performance.now())); }\n"
# Runs `fn` once the first contentful paint has happened.
_AFTER_FCP = (
    "function afterFCP(fn) {\n"
    "  new PerformanceObserver((list, obs) => {\n"
    "    if (list.getEntries().some((e) => e.name === 'first-contentful-paint')) {\n"
    "      obs.disconnect(); fn();\n"
    "    }\n"
    "  }).observe({type: 'paint', buffered: true});\n"
    "}\n"
)
_BUSY = (
    "function busy(ms) {\n"
    "  const end = performance.now() + ms;\n"
    "  while (performance.now() < end) {}\n"
    "}\n"
)


def text_page(ms: int) -> bytes:
    script = (
        f"<script>\n{_AT}at({ms}, () => {{\n"
        "  const p = document.createElement('p');\n"
        "  p.id = 'text';\n"
        "  p.textContent = 'The first text of this page.';\n"
        "  document.body.append(p);\n"
        "});\n</script>"
    )
    return _page("vitals: text", script)


def hero_page(ms: int) -> bytes:
    script = (
        f"<script>\n{_AT}"
        "const hero = new Image(600, 300);\n"
        "hero.id = 'hero';\n"
        "hero.alt = 'hero';\n"
        "hero.src = '/vitals/image.png?w=600&h=300';\n"
        "const ready = hero.decode().catch(() => {});\n"
        f"at({ms}, () => ready.then(() => document.body.append(hero)));\n"
        "</script>"
    )
    return _page("vitals: hero", '<h1 id="title">Hero</h1>\n' + script)


def shift_page(score: float, at_ms: int) -> bytes:
    style = (
        "<style>html, body { margin: 0; padding: 0; overflow: hidden; }\n"
        "#block { background: #4a7; color: #fff; font: 20px sans-serif; }</style>\n"
    )
    script = (
        f"<script>\n{_AFTER_FCP}"
        "const W = document.documentElement.clientWidth;\n"
        "const H = document.documentElement.clientHeight;\n"
        f"const d = Math.round({score!r} * Math.max(W, H));\n"
        "const block = document.getElementById('block');\n"
        "block.style.height = Math.max(1, H - d) + 'px';\n"
        "window.plantedShift = d < H ? d / Math.max(W, H) : null;\n"
        "afterFCP(() => setTimeout(() => {\n"
        "  const spacer = document.createElement('div');\n"
        "  spacer.style.height = d + 'px';\n"
        "  document.body.insertBefore(spacer, block);\n"
        "  requestAnimationFrame(() => setTimeout(() => { window.plantedShiftDone = true; }));\n"
        f"}}, {at_ms}));\n"
        "</script>"
    )
    return _page("vitals: shift", '<div id="block">A block that moves</div>\n' + script, head=style)


def longtask_page(ms: int) -> bytes:
    script = (
        f"<script>\n{_AFTER_FCP}{_BUSY}"
        f"afterFCP(() => setTimeout(() => {{ busy({ms}); window.plantedBusyDone = true; }}, 50));\n"
        "</script>"
    )
    return _page(
        "vitals: long task", "<p>A page with one long task after it painted.</p>\n" + script
    )


def input_page(block_ms: int) -> bytes:
    style = (
        "<style>button { position: absolute; left: 20px; width: 240px; height: 60px;"
        " font: 18px sans-serif; }\n#slow { top: 80px; }\n#fast { top: 180px; }</style>\n"
    )
    body = (
        "<p>Two buttons: one whose handler blocks, one that is cheap.</p>\n"
        '<button id="slow">slow</button>\n<button id="fast">fast</button>\n'
        f"<script>\n{_BUSY}let clicks = 0;\n"
        "document.getElementById('slow').addEventListener('click', (e) => {\n"
        f"  busy({block_ms});\n"
        "  e.target.textContent = 'slow ' + (++clicks);\n"
        "});\n"
        "document.getElementById('fast').addEventListener('click', (e) => {\n"
        "  e.target.textContent = 'fast ' + (++clicks);\n"
        "});\n</script>"
    )
    return _page("vitals: input", body, head=style)


def weight_parts(kb: int) -> dict[str, int]:
    """The body size in bytes of each part of ``/vitals/weight?kb=N`` (its split)."""
    total = kb * 1024
    parts = {name: int(total * share) // 1024 * 1024 for name, share in WEIGHT_SPLIT}
    parts["html"] = max(2048, total - sum(parts.values()))
    return parts


def weight_page(kb: int) -> bytes:
    parts = weight_parts(kb)
    k = {name: size // 1024 for name, size in parts.items()}
    head = (
        f'<link rel="stylesheet" href="/vitals/asset.css?kb={k["css"]}">\n'
        "<style>@font-face { font-family: planted; "
        f"src: url('/vitals/asset.font?kb={k['font']}') format('woff2'); }}\n"
        "#font { font-family: planted, sans-serif; }</style>\n"
    )
    body = (
        "<h1>A page of known weight</h1>\n"
        '<p id="font">Text in a web font.</p>\n'
        f'<img src="/vitals/image.png?w=200&h=100&kb={k["image"]}" width="200" height="100"'
        ' alt="padded">\n'
        f'<script src="/vitals/asset.js?kb={k["js"]}"></script>\n'
        f"<script>window.plantedWeight = {{js: {parts['js']}, css: {parts['css']}, "
        f"image: {parts['image']}, font: {parts['font']}, html: {parts['html']}}};</script>\n"
    )
    page = _page("vitals: weight", body, head=head)
    # Pad the document itself to its share, inside a comment.
    missing = parts["html"] - len(page) - len("<!---->\n")
    if missing > 0:
        page += b"<!--" + b"w" * missing + b"-->\n"
    return page


# -- bodies ---------------------------------------------------------------------------


def filler(kind: str, size: int) -> bytes:
    """A body of exactly ``size`` bytes that is valid for ``kind`` (js, css, font)."""
    if kind == "font" or size < 8:
        return (b"wOF2" + b"\0" * size)[:size]
    head, tail = (b"/*", b"*/")
    line = b"planted filler to give this resource a known weight. "
    fill = size - len(head) - len(tail)
    return head + (line * (fill // len(line) + 1))[:fill] + tail


def png(width: int, height: int, size: int = 0) -> bytes:
    """A PNG of one colour, ``width`` x ``height``, padded to ``size`` bytes if larger.

    It is padded to at least 0.2 bits per pixel in any case: Chromium does not take
    images under 0.05 (a solid colour compresses to almost nothing) for LCP candidates.
    """
    size = max(size, width * height // 40)
    row = b"\0" + b"\x44\x88\xcc" * width
    idat = zlib.compress(row * height, 9)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = [_chunk(b"IHDR", ihdr), _chunk(b"IDAT", idat)]
    end = _chunk(b"IEND", b"")
    signature = b"\x89PNG\r\n\x1a\n"
    current = len(signature) + sum(map(len, chunks)) + len(end)
    padding = size - current - 12  # 12: length, type and CRC of the padding chunk
    if padding >= 0:
        chunks.append(_chunk(b"paDd", b"\0" * padding))  # ancillary, private: ignored
    return signature + b"".join(chunks) + end


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


__all__ = ["Planted", "PlantedParameterError", "png", "route", "weight_parts"]
