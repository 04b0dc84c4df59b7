"""Selectors of the journey API, parsed before anything is sent to the page.

Grammar (Playwright's, the part of it people use most)::

    selector  := part ( ">>" part )*
    part      := "css=" CSS | "xpath=" XPATH | "text=" TEXT
               | "//..." | "..." (XPath)  |  '"..."' | "'...'" (exact text)  |  CSS

``text=`` bodies: ``"quoted"`` or ``'quoted'`` is an exact, case-sensitive match of the
element's whitespace-normalised text; ``/re/flags`` a JavaScript regular expression;
anything else a case-insensitive substring. Each part after a ``>>`` is searched
inside the elements the parts before it matched.

A malformed selector is a :class:`~pytest_cdp_accept.errors.UsageError` here, with no
round trip; CSS and XPath syntax that only the browser can judge comes back from the
page as the same error, at once.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from ..errors import UsageError

ENGINES = ("css", "text", "xpath")
_ENGINE_PREFIX = re.compile(r"^([a-zA-Z][\w-]*)\s*=")
_REGEX = re.compile(r"^/(.*)/([dgimsuvy]*)$", re.DOTALL)


def parse_selector(selector: str) -> list[dict[str, Any]]:
    """The parts of ``selector`` as the injected script takes them (JSON-ready)."""
    if not isinstance(selector, str):
        raise UsageError(f"a selector is a string, got {type(selector).__name__}: {selector!r}")
    return [dict(part) for part in _parse(selector)]


@functools.lru_cache(maxsize=512)
def _parse(selector: str) -> tuple[tuple[tuple[str, Any], ...], ...]:
    if not selector.strip():
        raise UsageError("empty selector: pass a CSS selector, text=..., or xpath=...")
    parts = []
    for raw in _split_chain(selector):
        text = raw.strip()
        if not text:
            raise UsageError(f"selector {selector!r}: an empty part around '>>'")
        parts.append(tuple(_parse_part(selector, text).items()))
    return tuple(parts)


def _split_chain(selector: str) -> list[str]:
    """Split on ``>>`` outside quotes."""
    parts: list[str] = []
    start = 0
    quote = ""
    i = 0
    while i < len(selector):
        char = selector[i]
        if quote:
            if char == "\\":
                i += 2
                continue
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif selector.startswith(">>", i):
            parts.append(selector[start:i])
            i += 2
            start = i
            continue
        i += 1
    if quote:
        raise UsageError(f"selector {selector!r}: unterminated {quote}quote{quote}")
    parts.append(selector[start:])
    return parts


def _parse_part(selector: str, part: str) -> dict[str, Any]:
    match = _ENGINE_PREFIX.match(part)
    if match:
        engine = match.group(1).lower()
        body = part[match.end() :].strip()
        if engine not in ENGINES:
            raise UsageError(
                f"selector {selector!r}: unknown selector engine {match.group(1)!r} "
                f"(use css=, text= or xpath=, or a plain CSS selector)"
            )
        if not body:
            raise UsageError(f"selector {selector!r}: {engine}= needs something after the '='")
    elif part.startswith(("//", "..", "(//")):
        engine, body = "xpath", part
    elif part[0] in "\"'":
        engine, body = "text", part
    else:
        engine, body = "css", part
    if engine == "css":
        return {"engine": "css", "css": body}
    if engine == "xpath":
        return {"engine": "xpath", "xpath": body}
    return _text_part(selector, body)


def _text_part(selector: str, body: str) -> dict[str, Any]:
    if len(body) >= 2 and body[0] in "\"'" and body[-1] == body[0]:
        text = _unquote(selector, body)
        return {"engine": "text", "text": text, "exact": True}
    if body[0] in "\"'":
        raise UsageError(f"selector {selector!r}: unterminated {body[0]}quote{body[0]}")
    regex = _REGEX.match(body)
    if regex and regex.group(1):
        return {"engine": "text", "regex": regex.group(1), "flags": regex.group(2)}
    normalised = " ".join(body.split())
    if not normalised:
        raise UsageError(f"selector {selector!r}: text= needs some text")
    return {"engine": "text", "text": normalised, "exact": False}


def _unquote(selector: str, body: str) -> str:
    quote, inner = body[0], body[1:-1]
    if quote == "'":  # JSON knows only double quotes
        inner = inner.replace('\\"', '"').replace('"', '\\"').replace("\\'", "'")
    try:
        value = json.loads(f'"{inner}"')
    except ValueError:
        raise UsageError(f"selector {selector!r}: bad escape in the quoted text") from None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"selector {selector!r}: the quoted text is empty")
    return value
