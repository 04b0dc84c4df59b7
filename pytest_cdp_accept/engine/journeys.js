// The in-page half of journeys (pytest_cdp_accept/engine/actions.py is the other).
//
// Evaluated once per document in an isolated world ("utility world"): it shares the
// page's DOM but none of its JavaScript, so page scripts that redefine builtins cannot
// break it and cannot see it. One call, `__cdpAccept.run(spec)`, resolves a selector,
// waits inside the page until the element is ready for the action (or the deadline
// passes), and answers with what the Python side needs: a point to send input to, a
// value, or the last thing it observed.
//
// Waiting is driven by the page itself: a MutationObserver wakes a waiter in the
// microtask after a DOM change, requestAnimationFrame re-checks once per frame (styles,
// animations, layout), and a 100 ms timer backs both up. No polling from Python.
//
// Answers (plain JSON):
//   {ok: true, ...}                         done; op-specific fields
//   {timeout: true, observation: "..."}     the deadline passed; what was seen last
//   {error: "selector" | "action", message}  cannot succeed by waiting
"use strict";
(() => {
  if (globalThis.__cdpAccept) return globalThis.__cdpAccept;

  const BACKSTOP_MS = 100;
  const DEFAULT_FRAME_MS = 1000 / 60;
  // Animated properties that move nothing else on the page (no layout).
  const PAINT_ONLY = new Set(
    [
      "offset", "easing", "composite", "computedOffset", "transform", "translate",
      "rotate", "scale", "opacity", "color", "background-color", "background-position",
      "background-image", "border-color", "border-top-color", "border-right-color",
      "border-bottom-color", "border-left-color", "outline-color", "outline-offset",
      "box-shadow", "text-shadow", "filter", "backdrop-filter", "clip-path", "fill",
      "stroke", "visibility", "stroke-dashoffset", "mask-position", "z-index",
    ].map(norm)
  );
  const TEXT_SKIP = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "HEAD"]);
  const FILL_TYPES = new Set(["", "text", "email", "number", "password", "search", "tel", "url"]);
  const SET_VALUE_TYPES = new Set(["color", "date", "time", "datetime-local", "month", "range", "week"]);

  function norm(name) {
    return name.replace(/-/g, "").toLowerCase();
  }

  function now() {
    return performance.now();
  }

  // -- the change tracker: is the page quiet enough to call a box stable? ----------------

  const tracker = {
    installedAt: now(),
    lastChange: now(),
    frameMs: DEFAULT_FRAME_MS,
    waiters: new Set(),
    change() {
      this.lastChange = now();
      for (const wake of this.waiters) wake();
    },
    // No change for two frame intervals (and watched for that long): the box of every
    // element is the same as in the last two frames, unless an animation moves it.
    quiet() {
      const t = now();
      const span = 2 * this.frameMs + 1;
      return t - this.lastChange >= span && t - this.installedAt >= span;
    },
  };
  new MutationObserver(() => tracker.change()).observe(document, {
    childList: true,
    subtree: true,
    attributes: true,
    characterData: true,
  });
  const changeEvents = [
    "scroll", "load", "resize", "animationstart", "animationend", "animationcancel",
    "transitionrun", "transitionend", "transitioncancel", "toggle",
  ];
  let listening = null;
  // (Re)adds the event listeners: document.open() (Page.setDocumentContent) drops the
  // window's listeners but keeps this world and its MutationObserver.
  function listen() {
    if (listening) listening.abort();
    listening = new AbortController();
    const options = { capture: true, passive: true, signal: listening.signal };
    for (const type of changeEvents) window.addEventListener(type, () => tracker.change(), options);
    if (document.fonts) {
      document.fonts.addEventListener("loadingdone", () => tracker.change(), { signal: listening.signal });
    }
  }
  listen();

  // Paint-only properties that still move the element they run on (or its children).
  const MOVES_ITS_OWN = new Set(["transform", "translate", "rotate", "scale"].map(norm));

  // The running animations that bear on whether `element` is still. `own`: one on it or
  // an ancestor that moves it (a pulse of opacity or box-shadow leaves its box alone);
  // the element waits for it to end. `any`: `own`, else one on it or an ancestor, else
  // one that animates a layout property anywhere (a progress bar's width); it can move
  // the element without a DOM change, so the quiet fast path cannot vouch for the box,
  // and the box over consecutive frames decides, as for Playwright.
  function runningAnimations(element) {
    let any = null;
    if (!document.getAnimations) return { own: null, any };
    for (const animation of document.getAnimations()) {
      if (animation.playState !== "running") continue;
      const effect = animation.effect;
      const target = effect && effect.target;
      if (!target) continue;
      const keys = [];
      for (const frame of effect.getKeyframes()) keys.push(...Object.keys(frame).map(norm));
      const layout = keys.some((key) => !PAINT_ONLY.has(key));
      if (target.contains(element)) {
        if (layout || keys.some((key) => MOVES_ITS_OWN.has(key))) return { own: animation, any: animation };
        any = animation;
      } else if (layout && !any) {
        any = animation;
      }
    }
    return { own: null, any };
  }

  // Why `element` is not stable yet, naming the animation that moves it.
  function movingText(own) {
    if (!own) return "it is moving (its box changed between animation frames)";
    const name = own.animationName || own.transitionProperty;
    return `it is animated (${name || "an animation"} is running)`;
  }

  // -- selectors -----------------------------------------------------------------------

  class SelectorError extends Error {}
  class ActionError extends Error {}

  function elementText(element, cache) {
    let text = cache.get(element);
    if (text !== undefined) return text;
    text = "";
    if (!TEXT_SKIP.has(element.nodeName)) {
      if (
        element.nodeName === "INPUT" &&
        ["button", "submit", "reset"].includes(element.type)
      ) {
        text = element.value;
      } else {
        for (let child = element.firstChild; child; child = child.nextSibling) {
          if (child.nodeType === Node.TEXT_NODE) text += child.nodeValue;
          else if (child.nodeType === Node.ELEMENT_NODE) text += elementText(child, cache);
        }
      }
    }
    text = text.replace(/\s+/g, " ");
    cache.set(element, text);
    return text;
  }

  function textMatcher(part) {
    if (part.regex) {
      let re;
      try {
        re = new RegExp(part.regex, part.flags);
      } catch (e) {
        throw new SelectorError(`invalid regular expression /${part.regex}/: ${e.message}`);
      }
      return { prunes: false, test: (text) => re.test(text.trim()) };
    }
    const wanted = part.text.replace(/\s+/g, " ").trim();
    if (part.exact) return { prunes: false, test: (text) => text.trim() === wanted };
    const lower = wanted.toLowerCase();
    return { prunes: true, test: (text) => text.toLowerCase().includes(lower) };
  }

  // The innermost elements whose text matches: an element counts when its text matches
  // and none of its child elements' does on its own.
  function queryText(root, part, out) {
    const matcher = textMatcher(part);
    const cache = new Map();
    const visit = (element) => {
      if (TEXT_SKIP.has(element.nodeName)) return false;
      const matches = matcher.test(elementText(element, cache));
      if (!matches && matcher.prunes) return false;
      let childMatched = false;
      for (let child = element.firstElementChild; child; child = child.nextElementSibling) {
        if (visit(child)) childMatched = true;
      }
      if (matches && !childMatched) out.push(element);
      return matches || childMatched;
    };
    if (root.nodeType === Node.ELEMENT_NODE) visit(root);
    else if (root.documentElement) visit(root.documentElement);
  }

  function queryCss(root, css, out) {
    let found;
    try {
      found = root.querySelectorAll(css);
    } catch (e) {
      throw new SelectorError(`invalid CSS selector ${JSON.stringify(css)}: ${e.message}`);
    }
    for (const element of found) out.push(element);
  }

  function queryXpath(root, xpath, out) {
    // In a chain, "//x" means "below the element matched so far".
    const expression =
      root.nodeType === Node.ELEMENT_NODE && xpath.startsWith("/") ? "." + xpath : xpath;
    let result;
    try {
      result = document.evaluate(expression, root, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE);
    } catch (e) {
      throw new SelectorError(`invalid XPath ${JSON.stringify(xpath)}: ${e.message}`);
    }
    for (let i = 0; i < result.snapshotLength; i++) {
      const node = result.snapshotItem(i);
      if (node.nodeType === Node.ELEMENT_NODE) out.push(node);
    }
  }

  function queryAll(parts) {
    let roots = [document];
    for (const part of parts) {
      const found = [];
      for (const root of roots) {
        if (part.engine === "css") queryCss(root, part.css, found);
        else if (part.engine === "xpath") queryXpath(root, part.xpath, found);
        else queryText(root, part, found);
      }
      roots = roots.length > 1 ? inDocumentOrder(found) : unique(found);
      if (!roots.length) return roots;
    }
    return roots;
  }

  function unique(elements) {
    return [...new Set(elements)];
  }

  function inDocumentOrder(elements) {
    return unique(elements).sort((a, b) =>
      a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1
    );
  }

  // -- element states ------------------------------------------------------------------

  function isVisible(element) {
    if (!element.isConnected) return false;
    const style = getComputedStyle(element);
    if (style.display === "contents") {
      for (let child = element.firstChild; child; child = child.nextSibling) {
        if (child.nodeType === Node.ELEMENT_NODE && isVisible(child)) return true;
        if (child.nodeType === Node.TEXT_NODE && textNodeVisible(child)) return true;
      }
      return false;
    }
    if (!element.checkVisibility({ visibilityProperty: true })) return false;
    const rect = element.getBoundingClientRect();
    return rect.width > 0 && rect.height > 0;
  }

  function textNodeVisible(node) {
    const range = document.createRange();
    range.selectNode(node);
    const rect = range.getBoundingClientRect();
    return rect.width > 0 && rect.height > 0;
  }

  function whyHidden(element) {
    if (!element.isConnected) return "it is detached";
    const style = getComputedStyle(element);
    if (style.visibility === "hidden" || style.visibility === "collapse") {
      return "it has visibility: " + style.visibility;
    }
    if (!element.checkVisibility({ visibilityProperty: true })) {
      return "it is not rendered (display: none on it or an ancestor)";
    }
    return "its box is empty";
  }

  // The control an element stands for: a <span> inside a <button> is the button, a
  // <label> is its control.
  function control(element) {
    if (element.matches("input, textarea, select, button") || element.isContentEditable) {
      return element;
    }
    const closest = element.closest(
      "button, [role=button], [role=checkbox], [role=radio], [role=switch], a, [role=link]"
    );
    if (closest) return closest;
    const label = element.closest("label");
    if (label && label.control) return label.control;
    return element;
  }

  function isEnabled(element) {
    const target = control(element);
    if (target.matches(":disabled")) return false;
    const aria = target.closest("[aria-disabled]");
    return !(aria && aria.getAttribute("aria-disabled") === "true");
  }

  function editableProblem(element) {
    const target = control(element);
    if (target.nodeName === "INPUT") {
      const type = target.type.toLowerCase();
      if (!FILL_TYPES.has(type) && !SET_VALUE_TYPES.has(type)) {
        throw new ActionError(`${describe(target)} is an <input type=${type}>: it takes no text`);
      }
    } else if (target.nodeName !== "TEXTAREA" && !target.isContentEditable) {
      throw new ActionError(
        `${describe(target)} is not an <input>, <textarea> or contenteditable element`
      );
    }
    if (target.readOnly || target.getAttribute("aria-readonly") === "true") {
      return "is read-only";
    }
    return null;
  }

  function checkedState(element) {
    const target = control(element);
    if (target.nodeName === "INPUT" && ["checkbox", "radio"].includes(target.type)) {
      return target.checked;
    }
    const role = target.getAttribute("role");
    if (["checkbox", "radio", "switch"].includes(role)) {
      return target.getAttribute("aria-checked") === "true";
    }
    throw new ActionError(`${describe(target)} is not a checkbox, radio button or switch`);
  }

  // -- geometry ------------------------------------------------------------------------

  function sameRect(a, b) {
    return a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
  }

  function firstBox(element) {
    for (const rect of element.getClientRects()) {
      if (rect.width > 0 && rect.height > 0) return rect;
    }
    return element.getBoundingClientRect();
  }

  function visibleArea(rect) {
    const left = Math.max(rect.left, 0);
    const top = Math.max(rect.top, 0);
    const right = Math.min(rect.right, innerWidth);
    const bottom = Math.min(rect.bottom, innerHeight);
    if (right - left < 1 || bottom - top < 1) return null;
    return { left, top, right, bottom };
  }

  function inViewport(rect) {
    return rect.left >= 0 && rect.top >= 0 && rect.right <= innerWidth && rect.bottom <= innerHeight;
  }

  // Scroll the element into view when it is not wholly inside it (the centre of a box
  // larger than the viewport counts), then the centre of its visible part.
  function aimAt(element) {
    let rect = firstBox(element);
    const centreInside =
      rect.left + rect.width / 2 >= 0 &&
      rect.top + rect.height / 2 >= 0 &&
      rect.left + rect.width / 2 <= innerWidth &&
      rect.top + rect.height / 2 <= innerHeight;
    if (!inViewport(rect) && !centreInside) {
      element.scrollIntoView({ block: "center", inline: "center", behavior: "instant" });
      rect = firstBox(element);
    }
    const area = visibleArea(rect);
    if (!area) return null;
    return {
      x: Math.round(((area.left + area.right) / 2) * 100) / 100,
      y: Math.round(((area.top + area.bottom) / 2) * 100) / 100,
    };
  }

  // What is under the point, through open shadow roots.
  function hitAt(x, y) {
    let hit = document.elementFromPoint(x, y);
    while (hit && hit.shadowRoot) {
      const inner = hit.shadowRoot.elementFromPoint(x, y);
      if (!inner || inner === hit) break;
      hit = inner;
    }
    return hit;
  }

  function composedParent(node) {
    if (node.assignedSlot) return node.assignedSlot;
    if (node.parentElement) return node.parentElement;
    const root = node.getRootNode();
    return root && root.host ? root.host : null;
  }

  // Null when the point hits the element or something inside it; else what covers it:
  // the outermost element of the covering subtree that is not an ancestor of the target.
  function coveredBy(element, x, y) {
    const hit = hitAt(x, y);
    if (!hit) return null;
    const chain = [];
    for (let node = hit; node; node = composedParent(node)) {
      if (node === element) return null;
      chain.push(node);
    }
    let cover = hit;
    for (const node of chain) {
      if (node.contains(element) || node === document.documentElement || node === document.body) {
        break;
      }
      cover = node;
    }
    return cover;
  }

  // -- descriptions for error messages -------------------------------------------------

  function describe(element) {
    if (!element || !element.tagName) return String(element);
    const tag = element.tagName.toLowerCase();
    let out = "<" + tag;
    for (const name of ["id", "class", "name", "type", "role", "href", "aria-label", "disabled"]) {
      if (!element.hasAttribute(name)) continue;
      let value = element.getAttribute(name);
      if (value.length > 40) value = value.slice(0, 37) + "...";
      out += value === "" ? ` ${name}` : ` ${name}="${value}"`;
    }
    out += ">";
    let text = (element.textContent || "").replace(/\s+/g, " ").trim();
    if (text && !["SCRIPT", "STYLE"].includes(element.nodeName)) {
      if (text.length > 30) text = text.slice(0, 27) + "...";
      out += `${text}</${tag}>`;
    }
    return out;
  }

  function matchedText(count) {
    if (count === 0) return "matched nothing";
    return count === 1 ? "1 element matched" : `${count} elements matched`;
  }

  // -- waiting -------------------------------------------------------------------------

  // Calls `attempt(frames)` now and again on every DOM change, animation frame and
  // backstop tick until it returns an answer or the deadline passes. `frames` counts the
  // animation frames seen since the wait began. Errors thrown by `attempt` end the wait.
  function waitUntil(deadline, attempt, observe) {
    let frames = 0;
    const first = run(attempt, frames, observe);
    if (first) return first;
    return new Promise((resolve) => {
      let done = false;
      let rafId = 0;
      let queued = false;
      const finish = (answer) => {
        if (done) return;
        done = true;
        tracker.waiters.delete(wake);
        cancelAnimationFrame(rafId);
        clearInterval(backstop);
        clearTimeout(timer);
        resolve(answer);
      };
      const check = () => {
        if (done) return;
        const answer = run(attempt, frames, observe);
        if (answer) finish(answer);
        else if (now() >= deadline) finish({ timeout: true, observation: observe.last });
      };
      const wake = () => {
        if (queued || done) return;
        queued = true;
        queueMicrotask(() => {
          queued = false;
          check();
        });
      };
      const onFrame = (timestamp) => {
        if (done) return;
        if (observe.lastFrame) {
          const interval = timestamp - observe.lastFrame;
          if (interval > 4 && interval < 200) tracker.frameMs = interval;
        }
        observe.lastFrame = timestamp;
        observe.lastFrameAt = now();
        frames += 1;
        check();
        rafId = requestAnimationFrame(onFrame);
      };
      tracker.waiters.add(wake);
      rafId = requestAnimationFrame(onFrame);
      // Where no frame comes (a page Chromium does not render), each backstop tick
      // stands in for one, so that a box can still be found stable.
      const began = now();
      const backstop = setInterval(() => {
        if (now() - (observe.lastFrameAt || began) > 2 * BACKSTOP_MS) frames += 1;
        check();
      }, BACKSTOP_MS);
      const timer = setTimeout(
        () => finish(run(attempt, frames, observe) || { timeout: true, observation: observe.last }),
        Math.max(0, deadline - now())
      );
    });
  }

  // Every error ends the wait with an answer: one thrown in a frame callback would
  // otherwise leave the promise, and the caller, waiting.
  function run(attempt, frames, observe) {
    try {
      return attempt(frames);
    } catch (e) {
      return failure(e);
    }
  }

  function failure(e) {
    if (e instanceof SelectorError) return { error: "selector", message: e.message };
    if (e instanceof ActionError) return { error: "action", message: e.message };
    return { error: "script", message: `the injected script failed: ${e && e.stack ? e.stack : e}` };
  }

  // The first visible match, or null with the observation set.
  function firstVisible(spec, observe) {
    const matches = queryAll(spec.selector);
    for (const element of matches) {
      if (isVisible(element)) return { element, count: matches.length };
    }
    if (!matches.length) observe.last = "matched nothing";
    else if (matches.length === 1) {
      observe.last = `1 element matched, ${describe(matches[0])}, but ${whyHidden(matches[0])}`;
    } else observe.last = `${matches.length} elements matched, none is visible`;
    return null;
  }

  // Waits until the first visible match passes `states` (in order: enabled, editable,
  // stable, hit) and returns {element, point}. `stable` uses the tracker's fast path when
  // the page is quiet, else compares the box over consecutive animation frames.
  function actionable(spec, states, onReady) {
    const observe = { last: "nothing checked yet", lastFrame: 0 };
    let sample = null;
    return waitUntil(
      spec.deadline,
      (frames) => {
        const found = firstVisible(spec, observe);
        if (!found) {
          sample = null;
          return null;
        }
        const { element, count } = found;
        // Descriptions are built only for an observation: a ready element needs none.
        const who = () =>
          count === 1
            ? `1 element matched: ${describe(element)}`
            : `${matchedText(count)}, the first visible is ${describe(element)}`;
        if (states.includes("enabled") && !isEnabled(element)) {
          observe.last = `${who()} and it is not enabled`;
          return null;
        }
        if (states.includes("editable")) {
          const problem = editableProblem(element);
          if (problem) {
            observe.last = `${who()} and it ${problem}`;
            return null;
          }
        }
        if (states.includes("stable")) {
          const { own, any } = runningAnimations(element);
          let stable = !any && tracker.quiet();
          if (!stable) {
            const rect = element.getBoundingClientRect();
            if (sample && sample.element === element && frames > sample.frames) {
              stable = !own && sameRect(sample.rect, rect);
            }
            if (!stable) {
              if (!sample || sample.element !== element || frames > sample.frames) {
                sample = { element, rect, frames };
              }
              observe.last = `${who()} and ${movingText(own)}`;
              return null;
            }
          }
        }
        let point = null;
        if (states.includes("point")) {
          point = aimAt(element);
          if (!point) {
            observe.last = `${who()} and it cannot be scrolled into view`;
            return null;
          }
          if (states.includes("hit")) {
            const cover = coveredBy(element, point.x, point.y);
            if (cover) {
              observe.last = `${who()} and it is covered by ${describe(cover)} at (${Math.round(point.x)}, ${Math.round(point.y)})`;
              return null;
            }
          }
        }
        return onReady(element, point, observe);
      },
      observe
    );
  }

  // -- the operations ------------------------------------------------------------------

  const ops = {
    pointer(spec) {
      const states = spec.hover ? ["stable", "point", "hit"] : ["enabled", "stable", "point", "hit"];
      return actionable(spec, states, (element, point) => {
        if (spec.check !== undefined && spec.check !== null) {
          if (checkedState(element) === spec.check) return { ok: true, done: true };
        }
        return { ok: true, x: point.x, y: point.y };
      });
    },
    checked(spec) {
      return actionable(spec, [], (element) => ({ ok: true, value: checkedState(element) }));
    },
    fill(spec) {
      return actionable(spec, ["enabled", "editable"], (element) => {
        const target = control(element);
        if (target.nodeName === "INPUT" && SET_VALUE_TYPES.has(target.type.toLowerCase())) {
          // No keyboard input exists for these: set the value, then the events typing
          // into the native picker would fire.
          target.focus();
          target.value = spec.text.trim();
          if (target.value !== spec.text.trim()) {
            throw new ActionError(`${describe(target)} does not take the value ${JSON.stringify(spec.text)}`);
          }
          target.dispatchEvent(new Event("input", { bubbles: true, composed: true }));
          target.dispatchEvent(new Event("change", { bubbles: true }));
          return { ok: true, done: true };
        }
        if (target.nodeName === "INPUT" && target.type === "number" && Number.isNaN(Number(spec.text.trim()))) {
          throw new ActionError(`${describe(target)} is an <input type=number>: ${JSON.stringify(spec.text)} is not a number`);
        }
        focusOn(target);
        selectAll(target);
        return { ok: true };
      });
    },
    type(spec) {
      return actionable(spec, ["enabled", "editable"], (element) => {
        const target = control(element);
        const wasFocused = document.activeElement === target;
        focusOn(target);
        if (!wasFocused) caretToEnd(target);
        return { ok: true };
      });
    },
    focus(spec) {
      return actionable(spec, [], (element) => {
        focusOn(control(element));
        return { ok: true };
      });
    },
    scroll(spec) {
      return actionable(spec, ["stable", "point"], () => ({ ok: true }));
    },
    select(spec) {
      return actionable(spec, ["enabled"], (element, point, seen) => {
        const select = control(element);
        if (select.nodeName !== "SELECT") {
          throw new ActionError(`${describe(select)} is not a <select> element`);
        }
        const options = [...select.options];
        const chosen = [];
        for (const wanted of spec.values) {
          const option = options.find(
            (o) => o.value === wanted || o.label.replace(/\s+/g, " ").trim() === wanted.trim()
          );
          if (!option) {
            seen.last = `${describe(select)} has no option with the value or label ${JSON.stringify(wanted)} (it has ${options.length}: ${options.slice(0, 5).map((o) => JSON.stringify(o.value)).join(", ")}${options.length > 5 ? ", ..." : ""})`;
            return null;
          }
          if (option.disabled) {
            seen.last = `the option ${JSON.stringify(wanted)} of ${describe(select)} is not enabled`;
            return null;
          }
          chosen.push(option);
        }
        if (chosen.length > 1 && !select.multiple) {
          throw new ActionError(`${describe(select)} is not a <select multiple>: choose one value`);
        }
        focusOn(select);
        for (const option of options) option.selected = chosen.includes(option);
        select.dispatchEvent(new Event("input", { bubbles: true, composed: true }));
        select.dispatchEvent(new Event("change", { bubbles: true }));
        return { ok: true, value: chosen.map((o) => o.value) };
      });
    },
    rect(spec) {
      return actionable(spec, ["stable", "point"], (element) => {
        const rect = element.getBoundingClientRect();
        return {
          ok: true,
          x: rect.x + scrollX,
          y: rect.y + scrollY,
          width: rect.width,
          height: rect.height,
        };
      });
    },
    wait(spec) {
      const observe = { last: "nothing checked yet" };
      return waitUntil(
        spec.deadline,
        () => {
          const matches = queryAll(spec.selector);
          const visible = matches.filter(isVisible);
          observe.last = matches.length
            ? `${matchedText(matches.length)}, ${visible.length} visible`
            : "matched nothing";
          const ok = {
            attached: matches.length > 0,
            detached: matches.length === 0,
            visible: visible.length > 0,
            hidden: visible.length === 0,
          }[spec.state];
          return ok ? { ok: true, value: matches.length } : null;
        },
        observe
      );
    },
    read(spec) {
      const observe = { last: "nothing checked yet" };
      return waitUntil(
        spec.deadline,
        () => {
          const matches = queryAll(spec.selector);
          if (!matches.length) {
            observe.last = "matched nothing";
            return null;
          }
          const element = matches.find(isVisible) || matches[0];
          if (spec.attribute !== undefined && spec.attribute !== null) {
            return { ok: true, value: element.getAttribute(spec.attribute) };
          }
          const value = isVisible(element) ? element.innerText : element.textContent;
          return { ok: true, value: value === undefined || value === null ? "" : value };
        },
        observe
      );
    },
    loaded(spec) {
      listen();
      tracker.change();
      if (document.readyState === "complete") return { ok: true };
      return new Promise((resolve) => {
        const timer = setTimeout(
          () => resolve({ timeout: true, observation: `the document is ${document.readyState}` }),
          Math.max(0, spec.deadline - now())
        );
        window.addEventListener("load", () => {
          clearTimeout(timer);
          resolve({ ok: true });
        }, { once: true });
      });
    },
    count(spec) {
      return { ok: true, value: queryAll(spec.selector).length };
    },
    visible(spec) {
      return { ok: true, value: queryAll(spec.selector).some(isVisible) };
    },
  };

  function focusOn(element) {
    if (document.activeElement !== element) element.focus();
  }

  function selectAll(element) {
    if (element.nodeName === "INPUT" || element.nodeName === "TEXTAREA") {
      element.select();
      return;
    }
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function caretToEnd(element) {
    if (element.nodeName === "INPUT" || element.nodeName === "TEXTAREA") {
      try {
        const end = element.value.length;
        element.setSelectionRange(end, end);
      } catch (e) {
        // email and number inputs have no selection API; the caret stays where focus put it
      }
      return;
    }
    const range = document.createRange();
    range.selectNodeContents(element);
    range.collapse(false);
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  const api = {
    run(spec) {
      const op = ops[spec.op];
      if (!op) return { error: "action", message: `unknown operation ${spec.op}` };
      spec.deadline = now() + spec.timeout;
      try {
        return op(spec);
      } catch (e) {
        return failure(e);
      }
    },
    tracker,
  };
  globalThis.__cdpAccept = api;
  return api;
})();
