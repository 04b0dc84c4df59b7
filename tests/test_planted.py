"""The planted vitals pages: routes, parameters and bodies (no browser)."""

from __future__ import annotations

import struct
import zlib

import pytest

from pytest_cdp_accept import planted


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    found, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        found.append((kind, body))
        at += 12 + length
    assert at == len(data)
    return found


def test_png_is_valid_and_padded_to_its_size() -> None:
    data = planted.png(600, 300, 90 * 1024)
    assert len(data) == 90 * 1024
    parsed = chunks(data)
    assert [k for k, _ in parsed] == [b"IHDR", b"IDAT", b"paDd", b"IEND"]
    width, height = struct.unpack(">II", parsed[0][1][:8])
    assert (width, height) == (600, 300)
    pixels = zlib.decompress(parsed[1][1])
    assert len(pixels) == 300 * (1 + 600 * 3)


def test_png_carries_enough_bits_per_pixel_for_lcp() -> None:
    data = planted.png(600, 300)
    assert len(data) * 8 / (600 * 300) >= 0.2


def test_weight_page_parts_add_up() -> None:
    parts = planted.weight_parts(300)
    assert sum(parts.values()) == 300 * 1024
    assert parts["js"] == 120 * 1024
    assert parts["image"] == 90 * 1024
    page = planted.route("/vitals/weight", {"kb": ["300"]})
    assert page is not None
    assert len(page.body) == parts["html"]
    for kind, share in (("js", "asset.js"), ("css", "asset.css"), ("font", "asset.font")):
        kb = parts[kind] // 1024
        assert f"/vitals/{share}?kb={kb}".encode() in page.body
        asset = planted.route(f"/vitals/{share}", {"kb": [str(kb)]})
        assert asset is not None
        assert len(asset.body) == parts[kind]


@pytest.mark.parametrize(
    ("path", "content_type", "needle"),
    [
        ("/vitals/text", "text/html", b"at(300,"),
        ("/vitals/hero", "text/html", b"at(800,"),
        ("/vitals/shift", "text/html", b"0.25 * Math.max(W, H)"),
        ("/vitals/longtask", "text/html", b"busy(300)"),
        ("/vitals/input", "text/html", b"busy(250)"),
        ("/vitals/asset.js", "application/javascript", b"/*planted filler"),
        ("/vitals/asset.css", "text/css", b"/*planted filler"),
        ("/vitals/image.png", "image/png", b"IHDR"),
    ],
)
def test_defaults(path: str, content_type: str, needle: bytes) -> None:
    page = planted.route(path, {})
    assert page is not None
    assert page.content_type.startswith(content_type)
    assert needle in page.body


def test_parameters_reach_the_page() -> None:
    page = planted.route("/vitals/text", {"ms": ["10", "450"]})  # the last value wins
    assert page is not None
    assert b"at(450," in page.body
    shift = planted.route("/vitals/shift", {"score": ["0.1"], "at": ["200"]})
    assert shift is not None
    assert b"0.1 * Math.max" in shift.body
    assert b"}, 200));" in shift.body


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/vitals/text", {"ms": ["-1"]}, "ms"),
        ("/vitals/text", {"ms": ["soon"]}, "ms"),
        ("/vitals/shift", {"score": ["0"]}, "score"),
        ("/vitals/shift", {"score": ["0.6"]}, "score"),
        ("/vitals/shift", {"score": ["nan"]}, "score"),
        ("/vitals/weight", {"kb": ["1"]}, "kb"),
        ("/vitals/image.png", {"w": ["0"]}, "w"),
    ],
)
def test_bad_parameters_name_themselves(path: str, params: dict[str, list[str]], name: str) -> None:
    with pytest.raises(planted.PlantedParameterError) as info:
        planted.route(path, params)
    assert info.value.name == name
    assert f"parameter {name!r}" in str(info.value)


def test_unknown_paths_are_not_planted() -> None:
    assert planted.route("/vitals/nope", {}) is None
    assert planted.route("/other", {}) is None
