"""Journeys on the real Chromium: actions, auto-waiting, selectors, waits and reads.

The planted cases of issue 12 come first; each asserts what the page saw (its own
event log, with the page's clock for order), never an absolute time, except the
one bound the contract names (a never-matching selector fails within timeout + 1 s).
"""

from __future__ import annotations

import asyncio
import re
import struct
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_cdp_accept import (
    ActionError,
    ActionTimeoutError,
    Browser,
    CommandError,
    CommandTimeoutError,
    EvaluationError,
    NavigationTimeoutError,
    UsageError,
)
from pytest_cdp_accept.engine import launcher
from pytest_cdp_accept.engine.sync import AsyncPage, SyncPage, SyncPool
from pytest_cdp_accept.metrics import MetricsRecorder
from pytest_cdp_accept.site import LocalSite


@pytest.fixture
def recorder() -> MetricsRecorder:
    return MetricsRecorder()


@pytest.fixture
def page(pool: SyncPool, recorder: MetricsRecorder) -> Iterator[SyncPage]:
    page = pool.acquire_page(recorder)
    yield page
    pool.release_page(page)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


LOG = (
    "<script>window.log = []; const note = (what) => log.push([what, performance.now()]);</script>"
)


# -- planted cases ----------------------------------------------------------------------


def test_a_click_waits_for_an_overlay_to_go_and_then_lands(page: SyncPage) -> None:
    page.set_content(
        LOG
        + """
        <button id="go" onclick="note('button')">Go</button>
        <div class="modal-backdrop" onclick="note('overlay')"
             style="position:fixed; inset:0; background:rgba(0,0,0,.3)"></div>
        <script>
          setTimeout(() => { document.querySelector('.modal-backdrop').remove(); note('gone'); },
                     300);
        </script>
        """
    )
    page.click("#go")
    log = page.evaluate("log")
    assert [what for what, _ in log] == ["gone", "button"]  # never the overlay
    assert log[1][1] >= log[0][1]


def test_the_overlay_is_named_in_the_timeout_error(page: SyncPage) -> None:
    page.set_content(
        """
        <button id="go">Go</button> <button id="go2">Go</button>
        <div class="modal-backdrop" style="position:fixed; inset:0"></div>
        """
    )
    with pytest.raises(ActionTimeoutError) as caught:
        page.click("button", timeout=0.5)
    error = caught.value
    assert error.action == "click"
    assert error.selector == "button"
    assert "2 elements matched" in error.observation
    assert 'covered by <div class="modal-backdrop">' in error.observation
    assert "--cdp-action-timeout" in str(error)
    assert "click(timeout=...)" in str(error)


def test_a_button_that_never_becomes_enabled_says_not_enabled(page: SyncPage) -> None:
    page.set_content('<button id="save" disabled>Save</button>')
    with pytest.raises(ActionTimeoutError) as caught:
        page.click("#save", timeout=0.5)
    assert "not enabled" in str(caught.value)
    assert '<button id="save" disabled>Save</button>' in caught.value.observation
    assert "enabled" in caught.value.state


def test_a_selector_that_never_matches_fails_within_the_timeout_and_names_it(
    page: SyncPage,
) -> None:
    page.set_content("<p>nothing to click</p>")
    start = time.monotonic()
    with pytest.raises(ActionTimeoutError) as caught:
        page.click("#nowhere", timeout=1.0)
    assert time.monotonic() - start < 1.0 + 1.0  # the contract: within the timeout + 1 s
    assert "click('#nowhere')" in str(caught.value)
    assert caught.value.observation == "matched nothing"
    assert caught.value.timeout == 1.0


@pytest.mark.parametrize("how", ["css-animation", "script"])
def test_a_click_waits_for_a_moving_element_to_stop_and_lands(page: SyncPage, how: str) -> None:
    # It slides from x=0 to x=300 over 400 ms; clicked while moving, a click at its
    # first position would miss it and hit #under.
    move = {
        "css-animation": """
          <style>
            @keyframes slide { from { left: 0 } to { left: 300px } }
            #target { animation: slide 400ms linear forwards; }
          </style>
          <script>
            document.addEventListener('animationend', () => note('stopped'));
          </script>""",
        "script": """
          <script>
            const t0 = performance.now();
            const step = () => {
              const x = Math.min(300, (performance.now() - t0) * 0.75);
              document.querySelector('#target').style.left = x + 'px';
              if (x < 300) requestAnimationFrame(step); else note('stopped');
            };
            requestAnimationFrame(step);
          </script>""",
    }[how]
    page.set_content(
        LOG
        + """
        <div id="under" onclick="note('under')"
             style="position:absolute; left:0; top:0; width:600px; height:100px"></div>
        <button id="target" onclick="note('target')"
                style="position:absolute; left:0; top:20px; width:80px; height:40px">Go</button>
        """
        + move
    )
    page.click("#target")
    log = [what for what, _ in page.evaluate("log")]
    if how == "css-animation":
        assert log == ["stopped", "target"], log
    else:
        # A script moves the element between frames of its own; on a loaded machine a
        # late frame can show the same box twice before the script's last step, and the
        # click then lands while it still moves, as Playwright's would. It must land on it.
        assert "target" in log, log
        assert "under" not in log, log


ANIMATED_ELSEWHERE = {
    # An indeterminate progress bar: a layout property animated forever, away from the
    # button (Swagger UI's copy-link icon does the same to `width` for 0.5 s on hover).
    "layout-elsewhere": """
        <style>
          @keyframes grow { from { width: 10px; margin-left: 0 }
                            to { width: 200px; margin-left: 50px } }
          #bar { height: 4px; background: #36c; animation: grow 700ms linear infinite alternate; }
        </style>
        <div id="bar"></div>""",
    # A call-to-action that pulses forever: paint-only properties animated on the
    # button itself, its box never changes.
    "paint-on-itself": """
        <style>
          @keyframes pulse { from { opacity: .6; box-shadow: 0 0 0 0 #36c }
                             to { opacity: 1; box-shadow: 0 0 0 8px #36c } }
          #target { animation: pulse 700ms linear infinite alternate; }
        </style>""",
}


@pytest.mark.parametrize("how", list(ANIMATED_ELSEWHERE))
def test_a_click_lands_on_a_still_button_while_an_animation_that_does_not_move_it_runs(
    page: SyncPage, how: str
) -> None:
    # The button keeps the same box over every frame: stable, as Playwright judges it.
    # The animation never ends, so a click that waited for it would time out.
    page.set_content(
        LOG
        + ANIMATED_ELSEWHERE[how]
        + """<button id="target" onclick="note('target')" style="margin: 40px">Go</button>"""
    )
    page.click("#target", timeout=5)
    assert [what for what, _ in page.evaluate("log")] == ["target"]
    running = "document.getAnimations().filter(a => a.playState === 'running').length"
    assert page.evaluate(running) == 1  # and it is still running


def test_typing_sends_one_keydown_per_key(page: SyncPage) -> None:
    page.set_content(
        """<input id="name" onkeydown="window.keys = (window.keys || 0) + 1;
                                       (window.seen = window.seen || []).push(event.key)">"""
    )
    page.type("#name", "Hello, you!")
    assert page.evaluate("window.keys") == len("Hello, you!")
    assert page.evaluate("document.querySelector('#name').value") == "Hello, you!"
    assert "".join(page.evaluate("window.seen")) == "Hello, you!"
    page.type("#name", " Again", delay=5)
    assert page.evaluate("document.querySelector('#name').value") == "Hello, you! Again"


def test_a_link_that_navigates_gives_its_status_and_a_navigation_sample(
    page: SyncPage, site: LocalSite, recorder: MetricsRecorder
) -> None:
    page.goto(site.url("/app"))
    before = len(recorder.samples("navigation"))
    with page.expect_navigation() as nav:
        with pytest.raises(UsageError, match="known once the"):
            _ = nav.status
        page.click("#nav-done")
    assert nav.status == 200
    assert nav.url == site.url("/app/done")
    assert nav.ok
    assert not nav.same_document
    assert nav.timing["responseEnd"] > 0  # the Navigation Timing entry, as goto gives
    navigations = recorder.samples("navigation")
    assert len(navigations) == before + 1
    assert navigations[-1] == nav.elapsed_ms
    assert page.url == site.url("/app/done")
    assert page.text("h1") == "All done"


def test_an_spa_route_change_by_push_state_is_a_navigation(
    page: SyncPage, site: LocalSite, recorder: MetricsRecorder
) -> None:
    page.goto(site.url("/app"))
    with page.expect_navigation() as nav:
        page.click("text=New item")
    assert nav.same_document
    assert nav.status is None
    assert nav.url == site.url("/app/new")
    assert page.url == site.url("/app/new")
    assert recorder.samples("navigation")[-1] == nav.elapsed_ms
    assert page.evaluate("location.pathname") == "/app/new"


def test_a_screenshot_is_a_png_of_the_viewport(page: SyncPage, site: LocalSite) -> None:
    page.goto(site.url("/"))
    width, height = page.evaluate("[innerWidth, innerHeight]")
    assert png_size(page.screenshot()) == (width, height)
    page.set_viewport(640, 480)
    assert page.evaluate("[innerWidth, innerHeight]") == [640, 480]
    assert png_size(page.screenshot()) == (640, 480)
    # The whole document: its scrollable size (the scrollbar's column is not content).
    full = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    assert full[1] > 480, "precondition: the page is taller than the viewport"
    assert png_size(page.screenshot(full_page=True)) == tuple(full)


# -- auto-waiting, errors, recovery of the page -------------------------------------------


def test_a_malformed_selector_is_a_usage_error_at_once(page: SyncPage) -> None:
    page.set_content("<p>x</p>")
    for bad in ("div[", "text=", "xpath=//*[", "role=button", "a >> >> b", 'text="open'):
        start = time.monotonic()
        with pytest.raises(UsageError, match=r"selector|xpath|quote|text="):
            page.click(bad, timeout=5)
        assert time.monotonic() - start < 2.5, f"{bad!r} waited for its timeout"


def test_the_page_is_usable_after_a_timeout(page: SyncPage, recorder: MetricsRecorder) -> None:
    page.set_content('<button id="ok" onclick="window.clicked = true">OK</button>')
    with pytest.raises(ActionTimeoutError):
        page.click("#missing", timeout=0.3)
    with pytest.raises(ActionTimeoutError):
        page.wait_for_function("false", timeout=0.3)
    page.click("#ok")
    assert page.evaluate("window.clicked") is True
    # The in-page waits ended with their deadlines: nothing keeps running.
    assert page.evaluate("1 + 1") == 2
    assert len(recorder.samples("action")) == 1  # failed actions record nothing


def test_waiting_for_an_element_that_appears_later(page: SyncPage) -> None:
    page.set_content(
        """<script>
          setTimeout(() => {
            const b = document.createElement('button');
            b.id = 'late'; b.textContent = 'Late';
            b.onclick = () => window.clicked = true;
            document.body.append(b);
          }, 150);
        </script>"""
    )
    page.click("#late")
    assert page.evaluate("window.clicked") is True


def test_a_hidden_first_match_is_skipped_for_the_first_visible(page: SyncPage) -> None:
    page.set_content(
        """
        <button class="b" style="display:none" onclick="window.hit='hidden'">A</button>
        <button class="b" style="visibility:hidden" onclick="window.hit='invisible'">B</button>
        <button class="b" onclick="window.hit='visible'">C</button>
        """
    )
    assert page.count(".b") == 3
    page.click(".b")
    assert page.evaluate("window.hit") == "visible"
    with pytest.raises(ActionTimeoutError, match="2 elements matched, none is visible"):
        page.click(".b[style]", timeout=0.3)


def test_an_element_below_the_fold_is_scrolled_into_view_and_clicked(page: SyncPage) -> None:
    page.set_content(
        """<div style="height:3000px"></div>
           <button id="far" onclick="window.hit = true">Far</button>"""
    )
    page.click("#far")
    assert page.evaluate("window.hit") is True
    assert page.evaluate("scrollY") > 0


def test_checkboxes_selects_and_their_events(page: SyncPage) -> None:
    page.set_content(
        """
        <label><input id="agree" type="checkbox" onchange="window.changes=(window.changes||0)+1">
          I agree</label>
        <select id="size" onchange="window.size = this.value">
          <option value="s">Small</option><option value="m">Medium</option>
        </select>
        <select id="many" multiple><option>a</option><option>b</option><option>c</option></select>
        """
    )
    page.check("#agree")
    page.check("#agree")  # already checked: no click
    assert page.evaluate("[document.querySelector('#agree').checked, window.changes]") == [True, 1]
    page.uncheck("text=I agree")
    assert page.evaluate("document.querySelector('#agree').checked") is False
    assert page.select_option("#size", "Medium") == ["m"]
    assert page.evaluate("window.size") == "m"
    assert page.select_option("#many", ["a", "c"]) == ["a", "c"]
    with pytest.raises(ActionTimeoutError, match='no option with the value or label "xl"'):
        page.select_option("#size", "xl", timeout=0.3)
    with pytest.raises(ActionError, match="not a <select>"):
        page.select_option("#agree", "x", timeout=0.3)
    with pytest.raises(ActionError, match="not a checkbox"):
        page.check("#size", timeout=0.3)


def test_fill_replaces_the_value_with_trusted_input_and_change_on_blur(page: SyncPage) -> None:
    page.set_content(
        """
        <input id="name" value="old">
        <button id="next">Next</button>
        <script>
          window.seen = [];
          const input = document.querySelector('#name');
          for (const type of ['beforeinput', 'input', 'change', 'keydown']) {
            input.addEventListener(type, (e) => seen.push(type + ':' + e.isTrusted));
          }
        </script>
        """
    )
    page.fill("#name", "Ada Lovelace")
    assert page.evaluate("document.querySelector('#name').value") == "Ada Lovelace"
    assert page.evaluate("seen") == ["beforeinput:true", "input:true"]
    page.click("#next")  # focus leaves the field: change fires, as after a user's typing
    assert page.evaluate("seen")[-1] == "change:true"
    page.fill("#name", "")
    assert page.evaluate("document.querySelector('#name').value") == ""
    page.set_content('<input id="ro" readonly><div id="plain">x</div>')
    with pytest.raises(ActionTimeoutError, match="read-only"):
        page.fill("#ro", "x", timeout=0.3)
    with pytest.raises(ActionError, match="not an <input>"):
        page.fill("#plain", "x", timeout=0.3)


def test_press_key_combinations_and_real_mouse_details(page: SyncPage) -> None:
    page.set_content(
        """
        <input id="field" value="select me">
        <button id="b" style="width:120px;height:40px">B</button>
        <script>
          window.seen = [];
          const b = document.querySelector('#b');
          for (const type of ['mouseover', 'mousedown', 'mouseup', 'click', 'dblclick',
                              'contextmenu', 'auxclick']) {
            b.addEventListener(type, (e) => seen.push(
              [type, e.button, e.detail, e.shiftKey, e.isTrusted].join(':')));
          }
        </script>
        """
    )
    page.press("#field", "Control+A")
    page.press("Backspace")
    assert page.evaluate("document.querySelector('#field').value") == ""
    page.press("Shift+a")
    page.press("B")
    assert page.evaluate("document.querySelector('#field').value") == "AB"

    page.hover("#b")
    assert page.evaluate("seen") == ["mouseover:0:0:false:true"]
    page.evaluate("seen.length = 0")
    page.click("#b", modifiers=["Shift"])
    assert page.evaluate("seen") == [
        "mousedown:0:1:true:true",
        "mouseup:0:1:true:true",
        "click:0:1:true:true",
    ]
    page.evaluate("seen.length = 0")
    page.dblclick("#b")
    assert page.evaluate("seen")[-1] == "dblclick:0:2:false:true"
    page.evaluate("seen.length = 0")
    page.click("#b", button="right")
    assert any(seen.startswith("contextmenu:2:") for seen in page.evaluate("seen"))
    with pytest.raises(UsageError, match="unknown key"):
        page.press("Contrl+A")
    with pytest.raises(UsageError, match="modifier"):
        page.click("#b", modifiers=["Hyper"])


def test_every_action_records_an_action_sample_waits_and_reads_do_not(
    page: SyncPage, site: LocalSite, recorder: MetricsRecorder
) -> None:
    page.goto(site.url("/app"))
    page.wait_for_selector("#items")
    page.count("li.item")
    page.text("#status")
    page.is_visible("#more")
    assert recorder.samples("action") == []
    page.click("text=New item")
    page.fill("#title", "Ship it")
    page.type("#notes", "fast")
    page.check("#urgent")
    page.select_option("#priority", "high")
    page.hover("#add")
    page.focus("#title")
    page.press("#title", "End")
    page.scroll_into_view("#add")
    page.click("#add")
    samples = recorder.samples("action")
    assert len(samples) == 10
    assert all(ms > 0 for ms in samples)


def test_the_app_journey(page: SyncPage, site: LocalSite) -> None:
    page.goto(site.url("/app"))
    page.click("text=New item")
    page.fill("#title", "Ship it")
    page.check("#urgent")
    page.click("text=Add item")
    page.wait_for_selector("#status >> text=Saved")
    assert page.url == site.url("/app")
    assert page.text("#items li:last-child .title") == "Ship it (urgent)"
    page.click("li.item >> text=Delete")
    page.wait_for_selector("dialog#confirm")
    assert page.text("#confirm-title") == "Buy milk"
    page.click("#confirm-delete")
    page.wait_for_selector("dialog#confirm", state="hidden")
    assert page.count("li.item") == 2
    page.type("#filter", "ship")
    assert page.count("li.item") == 2
    page.wait_for_selector("text=Write report", state="hidden")
    assert page.is_visible("text=Ship it") is True
    assert page.evaluate("appEvents")[:2] == ["input:Ship it", "change:Ship it"]


def test_the_next_action_after_a_link_click_runs_in_the_new_document(
    page: SyncPage, site: LocalSite
) -> None:
    # The link's navigation starts after the click returns: the read must not answer
    # from the document being left.
    page.set_content(f'<h1>old</h1><a id="go" href="{site.url("/slow?ms=300")}">slow</a>')
    page.click("#go")
    assert page.text("h1") == "slow"
    assert page.url == site.url("/slow?ms=300")


# -- selectors ------------------------------------------------------------------------------


def test_selector_engines_and_chaining(page: SyncPage) -> None:
    page.set_content(
        """
        <div class="opblock opblock-get">
          <span>GET /posts</span>
          <button class="try">Try it out</button>
          <button class="run"><span>Execute</span></button>
        </div>
        <div class="opblock opblock-post">
          <span>POST /posts</span>
          <button class="try">Try   it
             out</button>
          <button class="run"><span>Execute</span></button>
        </div>
        <p>Try it out later</p>
        <script>
          document.querySelectorAll('button').forEach((b, i) =>
            b.addEventListener('click', () =>
              window.hit = b.closest('.opblock').className + ' ' + b.className));
        </script>
        """
    )
    assert page.count("text=Try it out") == 3  # substring, case-insensitive, innermost
    assert page.count("text=try IT out") == 3
    assert page.count('text="Try it out"') == 2  # exact (whitespace normalised)
    assert page.count("'Try it out'") == 2
    assert page.count("text=/^try it out$/i") == 2
    assert page.count("text=Execute") == 2  # the <span>s, not their buttons too
    assert page.count("xpath=//button[@class='run']") == 2
    assert page.count("//div[contains(@class, 'opblock')]") == 2
    assert page.count(".opblock-post >> text=Execute") == 1
    assert page.count(".opblock-post >> xpath=//button") == 2  # "//" below the match
    assert page.count(".opblock >> .try") == 2
    assert page.count("#nothing >> text=Execute") == 0
    page.click(".opblock-post >> text=Execute")
    assert page.evaluate("window.hit") == "opblock opblock-post run"
    page.click('text="Try it out"')
    assert page.evaluate("window.hit") == "opblock opblock-get try"
    assert page.attribute(".opblock-post", "class") == "opblock opblock-post"
    assert page.attribute(".opblock-post", "data-missing") is None
    assert page.text(".opblock-get >> .try") == "Try it out"


# -- waits and reads ------------------------------------------------------------------------


def test_wait_for_selector_states(page: SyncPage) -> None:
    # Each change is scheduled just before the wait that expects it, so a slow machine
    # can never skip a state between two waits.
    page.set_content('<div id="box" style="display:none">box</div>')
    box = "document.querySelector('#box')"
    assert page.wait_for_selector("#box", state="attached") == 1
    page.evaluate(f"setTimeout(() => {box}.style.display = 'block', 100); 1")
    page.wait_for_selector("#box")
    assert page.is_visible("#box")
    page.evaluate(f"setTimeout(() => {box}.style.display = 'none', 100); 1")
    page.wait_for_selector("#box", state="hidden")
    assert not page.is_visible("#box")
    page.evaluate(f"setTimeout(() => {box}.remove(), 100); 1")
    assert page.wait_for_selector("#box", state="detached") == 0
    with pytest.raises(ActionTimeoutError, match="matched nothing"):
        page.wait_for_selector("#box", timeout=0.3)
    with pytest.raises(UsageError, match="state='gone'"):
        page.wait_for_selector("#box", state="gone")  # type: ignore[arg-type]


def test_wait_for_function_polls_in_the_page(page: SyncPage) -> None:
    page.set_content("<script>setTimeout(() => window.ready = {n: 3}, 120)</script>")
    assert page.wait_for_function("window.ready") == {"n": 3}
    page.set_content("<script>setTimeout(() => window.count = 5, 120)</script>")
    assert page.wait_for_function("() => window.count > 4 && window.count", polling=20) == 5
    assert page.wait_for_function("async () => 7") == 7
    with pytest.raises(ActionTimeoutError, match=r"last value: 0"):
        page.wait_for_function("window.zero = 0", timeout=0.3)
    with pytest.raises(EvaluationError, match="boom"):
        page.wait_for_function("(() => { throw new Error('boom') })()")
    with pytest.raises(UsageError, match="polling"):
        page.wait_for_function("1", polling=-5)


def test_wait_for_url(page: SyncPage, site: LocalSite) -> None:
    page.goto(site.url("/app"))
    assert page.wait_for_url("**/app") == site.url("/app")  # already there
    page.evaluate("setTimeout(() => history.pushState({}, '', '/app/new'), 50); 1")
    assert page.wait_for_url(re.compile(r"/app/new$")) == site.url("/app/new")
    page.evaluate("setTimeout(() => location.href = '/app/done', 50); 1")
    assert page.wait_for_url(lambda url: url.endswith("/done")) == site.url("/app/done")
    assert page.evaluate("document.readyState") == "complete"
    with pytest.raises(ActionTimeoutError, match="the URL is"):
        page.wait_for_url("**/never", timeout=0.3)


def test_expect_navigation_that_never_comes(page: SyncPage, site: LocalSite) -> None:
    page.goto(site.url("/app"))
    with (
        pytest.raises(NavigationTimeoutError, match="no navigation"),
        page.expect_navigation(timeout=0.5),
    ):
        page.click("#more")
    # The body's own error wins over the wait.
    with pytest.raises(ActionTimeoutError), page.expect_navigation():
        page.click("#nope", timeout=0.2)


def test_element_screenshot(page: SyncPage) -> None:
    page.set_content(
        '<div style="height:2000px"></div>'
        '<div id="box" style="width:120px; height:30px; background:red"></div>'
    )
    assert png_size(page.screenshot(selector="#box")) == (120, 30)
    with pytest.raises(UsageError, match="not both"):
        page.screenshot(selector="#box", full_page=True)


def test_the_async_page_twin(pool: SyncPool, site: LocalSite) -> None:
    page = pool.acquire_page()
    twin = AsyncPage(page.runner, page.core)

    async def journey() -> Any:
        await twin.goto(site.url("/app"))
        async with twin.expect_navigation() as nav:
            await twin.click("text=New item")
        await twin.fill("#title", "async")
        await twin.click("#add")
        await twin.wait_for_selector("#status >> text=Saved")
        return nav.same_document, await twin.count("li.item"), await twin.text("#status")

    try:
        assert asyncio.run(journey()) == (True, 3, "Saved")
    finally:
        pool.release_page(page)


def test_the_async_core_page(pool: SyncPool, run: Any, site: LocalSite) -> None:
    page = pool.acquire_page()
    core = page.core

    async def journey() -> tuple[int, str]:
        await core.goto(site.url("/app"))
        async with core.expect_navigation() as nav:
            await core.click("text=Done")
        return nav.status or 0, await core.text("h1")

    try:
        assert run(journey()) == (200, "All done")
    finally:
        pool.release_page(page)


def test_send_batch_answers_in_order_and_leaves_nothing_pending(run: Any) -> None:
    async def batches() -> None:
        browser = await Browser.launch(launcher.find_browser())
        try:
            page = await browser.new_page()
            session, protocol = page.session, browser.connection._protocol

            def evaluate(expression: str, **extra: Any) -> tuple[str, dict[str, Any]]:
                params = {"expression": expression, "returnByValue": True, **extra}
                return "Runtime.evaluate", params

            results = await session.send_batch([evaluate("1 + 1"), evaluate("'x'")])
            assert [r["result"]["value"] for r in results] == [2, "x"]
            with pytest.raises(CommandError, match=r"No\.suchMethod"):
                await session.send_batch([evaluate("1"), ("No.suchMethod", {}), evaluate("2")])
            never = evaluate("new Promise(() => {})", awaitPromise=True)
            with pytest.raises(CommandTimeoutError, match=r"Runtime\.evaluate got no answer"):
                await session.send_batch([evaluate("1"), never], timeout=0.3)
            assert protocol.pending_count == 0
            assert not browser.connection._futures
        finally:
            await browser.close()

    run(batches())


TEN_FRAMES = """new Promise((resolve) => {
  let frames = 0;
  const frame = () => (++frames >= 10 ? resolve(true) : requestAnimationFrame(frame));
  requestAnimationFrame(frame);
})"""


def test_two_pages_of_one_lease_take_turns_at_full_frame_rate(
    pool: SyncPool, site: LocalSite
) -> None:
    # Two pages of one lease share a browser context. Were they tabs of one window, the
    # one behind would get about one animation frame a second (ten frames: ~10 s).
    browser = pool.acquire_browser()
    try:
        first, second = browser.new_page(), browser.new_page()
        for page in (first, second):
            page.goto(site.url("/app"))
        assert first.wait_for_function(TEN_FRAMES, timeout=3) is True
        first.click("text=New item")
        assert second.wait_for_function(TEN_FRAMES, timeout=3) is True
        second.click("text=Done")
        assert first.wait_for_function(TEN_FRAMES, timeout=3) is True
        assert first.url == site.url("/app/new")
    finally:
        pool.release_browser(browser)


def test_a_page_whose_main_thread_is_stuck_is_reported_as_not_answering(page: SyncPage) -> None:
    page.set_content('<button id="b" onclick="window.hit = true">B</button>')
    page.click("#b")  # the injected script is in place: what follows waits only on the page
    page.evaluate("setTimeout(() => { const t = Date.now(); while (Date.now() - t < 2500); }); 1")
    time.sleep(0.2)  # the loop has begun
    with pytest.raises(ActionTimeoutError, match="the page did not answer") as caught:
        page.click("#b", timeout=0.5)
    assert caught.value.timeout == 0.5
    page.wait_for_function("true", timeout=10)  # once the loop ends, the page answers again
    page.click("#b")
