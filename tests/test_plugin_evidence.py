"""Evidence of failing tests through real pytest runs (pytester, subprocess mode)."""

from __future__ import annotations

import json
import struct
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from typing import Any

import pytest

from .conftest import run_pytest

SLOW_BROKEN = """
import time

import pytest

@pytest.mark.cdp_latency(navigation="p95<100ms")
def test_slow(cdp_page, cdp_site):
    for i in range(3):
        cdp_page.goto(cdp_site.url(f"/slow?ms=20&before={i}"))
    time.sleep(0.3)  # the faster navigations end well before the slowest one's window
    cdp_page.goto(cdp_site.url("/broken?ms=300"))
    cdp_page.goto(cdp_site.url("/slow?ms=20&after"))

@pytest.mark.cdp_latency(navigation="p95<5s")
def test_passes(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url("/broken?ms=10"))

def test_asserts(cdp_page, cdp_site):
    cdp_page.goto(cdp_site.url("/broken"))
    assert cdp_page.evaluate("document.title") == "not the title"
"""


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG whose chunks all check out and whose image inflates."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, image, size = 8, b"", (0, 0)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            image += body
        pos += 12 + length
    assert len(zlib.decompress(image)) >= size[0] * size[1] * 3
    return size


def trace_events(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    events = data["traceEvents"]
    assert isinstance(events, list)
    for event in events:  # the trace-event format's required fields
        assert isinstance(event["ph"], str), event
        assert isinstance(event["pid"], int), event
    return events


def folders(root: Path) -> dict[str, Path]:
    evidence = root / ".cdp-accept" / "evidence"
    return {p.name: p for p in evidence.iterdir()} if evidence.is_dir() else {}


def test_a_failed_threshold_keeps_screenshot_trace_and_console(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(SLOW_BROKEN)
    result = run_pytest(
        pytester, "--cdp-json=out.json", "--junitxml=junit.xml", "--cdp-html=html/out.html"
    )
    result.assert_outcomes(failed=2, passed=1)
    kept = folders(pytester.path)
    assert set(kept) == {
        "test_a_failed_threshold_keeps_screenshot_trace_and_console.py--test_slow",
        "test_a_failed_threshold_keeps_screenshot_trace_and_console.py--test_asserts",
    }  # the passing test leaves nothing
    slow = next(path for name, path in kept.items() if name.endswith("test_slow"))
    assert sorted(p.name for p in slow.iterdir()) == [
        "log.json",
        "page-1.png",
        "trace-navigation.json",
    ]
    width, height = png_size((slow / "page-1.png").read_bytes())
    assert width > 100
    assert height > 100

    events = trace_events(slow / "trace-navigation.json")
    sent = {e["args"]["data"]["url"] for e in events if e["name"] == "ResourceSendRequest"}
    assert any("/broken?ms=300" in url for url in sent), sent  # the slowest navigation
    assert not any("before=" in url for url in sent), sent  # not the earlier, faster ones
    names = {e["name"] for e in events}
    assert names & {"Paint", "PrePaint", "firstPaint", "firstContentfulPaint"}, sorted(names)

    log = json.loads((slow / "log.json").read_text())
    console = [entry["text"] for page in log for entry in page["console"]]
    assert "broken page: checkout failed {code: 42}" in console
    assert any("TypeError: broken page: bad state" in text for text in console)
    failed = [r for page in log for r in page["failed_requests"]]
    assert [(r["status"], r["resource_type"]) for r in failed] == [(404, "Image")]

    result.stdout.fnmatch_lines(
        [
            "*cdp-accept: 1 of 1 thresholds missed:*",
            "cdp-accept evidence: *test_slow",
            "  screenshot: *page-1.png",
            "  trace of the slowest navigation (* ms): *trace-navigation.json",
            "  log: *log.json",
            "  console.error: broken page: checkout failed {code: 42}*",
            "  exception: TypeError: broken page: bad state*",
            "  GET http://127.0.0.1:*/status/404?missing.png -> 404 after * ms (Image)",
        ]
    )
    # An assertion failure keeps the screenshot and the console, and no trace (it has
    # no latency threshold).
    asserts = next(path for name, path in kept.items() if name.endswith("test_asserts"))
    assert sorted(p.name for p in asserts.iterdir()) == ["log.json", "page-1.png"]
    result.stdout.fnmatch_lines(["*Captured cdp-accept evidence call*", "cdp-accept evidence: *"])

    report = json.loads((pytester.path / "out.json").read_text())
    by_test = {entry["test"].split("::")[1]: entry for entry in report["evidence"]}
    assert set(by_test) == {"test_slow", "test_asserts"}
    assert {f["what"] for f in by_test["test_slow"]["files"]} >= {"screenshot", "log"}

    cases = {c.get("name"): c for c in ET.parse(pytester.path / "junit.xml").iter("testcase")}
    out = cases["test_slow"].find("system-out")
    assert out is not None
    assert out.text is not None
    attached = [line for line in out.text.splitlines() if line.startswith("[[ATTACHMENT|")]
    assert sorted(Path(line[13:-2]).name for line in attached) == [
        "log.json",
        "page-1.png",
        "trace-navigation.json",
    ]
    assert all(Path(line[13:-2]).is_file() for line in attached)
    assert cases["test_passes"].find("system-out") is None

    # The HTML report links the files (relative to the page) and shows the screenshot.
    page = (pytester.path / "html" / "out.html").read_text()
    assert '<section id="evidence">' in page
    assert '<img class="shot" loading="lazy" alt="screenshot of ' in page
    assert 'src="data:image/png;base64,' in page
    folder = slow.relative_to(pytester.path).as_posix()
    assert f'<a href="../{folder}/trace-navigation.json">trace-navigation.json</a>' in page


def test_junit_logging_carries_the_attachments_in_the_captured_output(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(
        """
        def test_asserts(cdp_page, cdp_site):
            cdp_page.goto(cdp_site.url("/"))
            assert False
        """
    )
    result = run_pytest(pytester, "--junitxml=junit.xml", "-o", "junit_logging=system-out")
    result.assert_outcomes(failed=1)
    (case,) = ET.parse(pytester.path / "junit.xml").iter("testcase")
    outs = case.findall("system-out")
    assert len(outs) == 1
    assert "[[ATTACHMENT|" in (outs[0].text or "")
    assert "page-1.png]]" in (outs[0].text or "")


@pytest.mark.parametrize(("option", "kept"), [("off", False), ("always", True)])
def test_evidence_off_and_always(
    pytester: pytest.Pytester, isolated: Path, option: str, kept: bool
) -> None:
    pytester.makepyfile(SLOW_BROKEN)
    result = run_pytest(pytester, f"--cdp-evidence={option}")
    result.assert_outcomes(failed=2, passed=1)
    names = set(folders(pytester.path))
    assert any(name.endswith("test_passes") for name in names) is kept
    assert bool(names) is kept
    if not kept:
        assert "cdp-accept evidence" not in result.stdout.str()


def test_evidence_dir_from_the_ini_file(pytester: pytest.Pytester, isolated: Path) -> None:
    pytester.makeini("[pytest]\ncdp_evidence_dir = out/ev\n")
    pytester.makepyfile(
        """
        def test_asserts(cdp_page, cdp_site):
            cdp_page.goto(cdp_site.url("/"))
            assert False
        """
    )
    run_pytest(pytester).assert_outcomes(failed=1)
    (folder,) = (pytester.path / "out" / "ev").iterdir()
    assert (folder / "page-1.png").is_file()
    assert not (pytester.path / ".cdp-accept").exists()


def test_a_bad_evidence_mode_is_a_usage_error(pytester: pytest.Pytester, isolated: Path) -> None:
    pytester.makeini("[pytest]\ncdp_evidence = sometimes\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = run_pytest(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*cdp_evidence = 'sometimes': expected one of off, on-failure*"])


def test_stress_keeps_the_first_failing_run_of_each_error_group(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makepyfile(
        """
        import itertools
        import pytest

        counter = itertools.count()

        @pytest.mark.cdp_stress(runs=12, concurrency=2, success=">=95%")
        def test_stress(cdp_page, cdp_site):
            n = next(counter)
            cdp_page.goto(cdp_site.url("/broken"))
            if n % 3 == 1:
                raise ValueError("odd state")
            if n % 3 == 2:
                raise KeyError("missing")
        """
    )
    result = run_pytest(pytester)
    result.assert_outcomes(failed=1)
    (folder,) = folders(pytester.path).values()
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["group-1.json", "group-1.png", "group-2.json", "group-2.png"]
    groups = {json.loads((folder / n).read_text())["group"] for n in names if n.endswith("json")}
    assert groups == {"ValueError: odd state", "KeyError: 'missing'"}
    result.stdout.fnmatch_lines(["cdp-accept evidence: *", "  group 1 (*): *group-1.png"])


def test_traces_are_capped_per_process_and_memory_gated_tests_are_not_traced(
    pytester: pytest.Pytester, isolated: Path
) -> None:
    pytester.makeconftest(
        """
        import pytest_cdp_accept.run.evidence as evidence

        evidence.TRACED_FAILURES = 1
        """
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.cdp_memory(js_heap="<1GB")
        @pytest.mark.cdp_latency(navigation="p95<1ms")
        def test_a_memory(cdp_page, cdp_site):
            cdp_page.goto(cdp_site.url("/slow?ms=30"))

        @pytest.mark.cdp_latency(navigation="p95<1ms")
        def test_b_first(cdp_page, cdp_site):
            cdp_page.goto(cdp_site.url("/slow?ms=30"))

        @pytest.mark.cdp_latency(navigation="p95<1ms")
        def test_c_second(cdp_page, cdp_site):
            cdp_page.goto(cdp_site.url("/slow?ms=30"))
        """
    )
    result = run_pytest(pytester, "-p", "no:randomly")
    result.assert_outcomes(failed=3)
    kept = {name.rpartition("--")[2]: path for name, path in folders(pytester.path).items()}
    # The memory-gated test runs first and is not traced, so the cap is still free.
    assert sorted(p.name for p in kept["test_a_memory"].iterdir()) == ["page-1.png"]
    assert sorted(p.name for p in kept["test_b_first"].iterdir()) == [
        "page-1.png",
        "trace-navigation.json",
    ]
    assert sorted(p.name for p in kept["test_c_second"].iterdir()) == ["page-1.png"]
    text = result.stdout.str()
    assert "  (no trace: this process kept the traces of 1 failing tests already)" in text
    assert "  (no trace: tests with cdp_memory gates are not recorded)" in text
