// The Web Vitals observer. It runs in an isolated world of every document a page loads
// (Page.addScriptToEvaluateOnNewDocument with a worldName), before any page script:
// the page can neither see nor change it, since it shares the document and its
// performance timeline but none of the page's JavaScript globals.
// Python prepends `const CONFIG = {binding, global};`.
//
// Definitions (Google's web-vitals library and Chromium's performance entries):
//   fcp   the `first-contentful-paint` paint entry
//   lcp   the last `largest-contentful-paint` candidate before the first trusted keydown
//         or click (Chromium stops emitting candidates after input as well)
//   cls   the largest session window of `layout-shift` entries without recent input;
//         a window ends after a gap of 1 s or once it spans 5 s
//   inp   Event Timing (`event` entries >= 16 ms, and `first-input`): the longest
//         interaction (by interactionId), or with 50 interactions or more the one at
//         index floor(interactions / 50) of the longest first (the 98th percentile as
//         web-vitals estimates it from the ten longest it keeps)
//   tbt   the sum over `longtask` entries of their time beyond 50 ms, each task clipped
//         to [fcp, now] (Lighthouse's clipping, "now" in place of its TTI)
//   ttfb, dom_content_loaded, load: the navigation entry's responseStart,
//         domContentLoadedEventStart and loadEventStart
// All times are milliseconds from navigation start.
//
// It costs the page as little as it can at document start (one PerformanceObserver, four
// listeners) and sends nothing while the page loads: Python reads the values when it
// needs them (`read`), and the document hands its final values over on pagehide.
(() => {
  'use strict';
  // Main frame only (same-process iframes run it too); about:blank is not measured.
  if (window.top !== window || location.protocol === 'about:') return;

  const MAX_INTERACTIONS = 10;
  const MAX_LONG_TASKS = 1000;
  const BLOCKING = 50;

  // -- the definitions, as pure functions over plain values (tests call them) --------

  // One layout shift into the session-window state {cls, session, first, last}.
  const addShift = (s, startTime, value, hadRecentInput) => {
    if (hadRecentInput) return s;
    let { session, first } = s;
    if (session && startTime - s.last < 1000 && startTime - first < 5000) {
      session += value;
    } else {
      session = value;
      first = startTime;
    }
    return { cls: Math.max(s.cls, session), session, first, last: startTime };
  };

  // One Event Timing entry into a Map interactionId -> longest duration (ten kept).
  const addInteraction = (map, id, duration) => {
    if (!id) return map;
    const known = map.get(id);
    if (known !== undefined) {
      if (duration > known) map.set(id, duration);
      return map;
    }
    map.set(id, duration);
    if (map.size > MAX_INTERACTIONS) {
      let shortest = null;
      for (const [key, value] of map) {
        if (shortest === null || value < map.get(shortest)) shortest = key;
      }
      map.delete(shortest);
    }
    return map;
  };

  // INP from the kept durations and the page's interaction count.
  const inpOf = (durations, count, firstInput) => {
    const longest = Array.from(durations).sort((a, b) => b - a);
    if (!longest.length) return count && firstInput !== null ? firstInput : null;
    return longest[Math.min(longest.length - 1, Math.floor(count / 50))];
  };

  // TBT of [start, duration] tasks, each clipped to [fcp, end].
  const tbtOf = (tasks, fcp, end) => {
    if (fcp === null) return null;
    let total = 0;
    for (const [start, duration] of tasks) {
      const clipped = Math.min(start + duration, end) - Math.max(start, fcp);
      if (clipped > BLOCKING) total += clipped - BLOCKING;
    }
    return total;
  };

  // -- observing ------------------------------------------------------------------------

  const binding = CONFIG.binding ? globalThis[CONFIG.binding] : undefined;
  if (binding) {
    try {
      delete globalThis[CONFIG.binding]; // a private reference is all this world needs
    } catch (e) {}
  }

  const state = {
    id: Math.random().toString(36).slice(2) + Date.now().toString(36),
    fcp: null,
    lcp: null,
    lcpFinal: false,
    shifts: { cls: 0, session: 0, first: -1, last: -1 },
    longTasks: [],
    interactions: new Map(),
    firstInput: null,
    lastInput: -1, // timeStamp of the last trusted pointerup / keyup
    lastInputDone: -1, // when the task that handled it was over
    lastEntry: -1, // startTime of the latest Event Timing entry
    handedOver: false, // Python read the values as it navigates away: no pagehide message
  };

  const take = (entries) => {
    for (const e of entries) {
      switch (e.entryType) {
        case 'paint':
          if (e.name === 'first-contentful-paint' && state.fcp === null) state.fcp = e.startTime;
          break;
        case 'largest-contentful-paint':
          if (!state.lcpFinal) state.lcp = e.startTime;
          break;
        case 'layout-shift':
          state.shifts = addShift(state.shifts, e.startTime, e.value, e.hadRecentInput);
          break;
        case 'longtask':
          if (state.longTasks.length < MAX_LONG_TASKS) state.longTasks.push([e.startTime, e.duration]);
          break;
        case 'first-input':
          if (state.firstInput === null) state.firstInput = e.duration;
        // falls through: a first-input entry is an Event Timing entry too
        case 'event':
          state.lastEntry = Math.max(state.lastEntry, e.startTime);
          addInteraction(state.interactions, e.interactionId, e.duration);
          break;
      }
    }
  };

  let observer = null;
  try {
    observer = new PerformanceObserver((list) => take(list.getEntries()));
    const supported = PerformanceObserver.supportedEntryTypes;
    for (const type of ['paint', 'largest-contentful-paint', 'layout-shift', 'longtask', 'first-input']) {
      if (supported.includes(type)) observer.observe({ type, buffered: true });
    }
    if (supported.includes('event')) observer.observe({ type: 'event', buffered: true, durationThreshold: 16 });
  } catch (e) {}

  const finaliseLCP = (event) => {
    if (event.isTrusted) state.lcpFinal = true;
  };
  addEventListener('keydown', finaliseLCP, { capture: true, once: true });
  addEventListener('click', finaliseLCP, { capture: true, once: true });

  // An interaction's Event Timing entry (startTime = its events' timeStamp) comes once the
  // frame after its handlers is presented, and only if it lasted 16 ms or more.
  const inputSeen = (event) => {
    if (!event.isTrusted) return;
    state.lastInput = Math.max(state.lastInput, event.timeStamp);
    state.lastInputDone = -1;
    setTimeout(() => {
      state.lastInputDone = performance.now();
    }, 0);
  };
  addEventListener('pointerup', inputSeen, { capture: true, passive: true });
  addEventListener('keyup', inputSeen, { capture: true, passive: true });

  const values = () => {
    if (observer) take(observer.takeRecords());
    const now = performance.now();
    const nav = performance.getEntriesByType('navigation')[0];
    const after = (v) => (nav && v > 0 ? v : null);
    const count = performance.interactionCount || 0;
    return {
      id: state.id,
      url: location.href,
      at: now,
      fcp: state.fcp,
      lcp: state.lcp,
      cls: state.shifts.cls,
      tbt: tbtOf(state.longTasks, state.fcp, now),
      inp: inpOf(state.interactions.values(), count, state.firstInput),
      interactions: count,
      ttfb: nav ? Math.max(nav.responseStart, 0) : null,
      dom_content_loaded: after(nav && nav.domContentLoadedEventStart),
      load: after(nav && nav.loadEventStart),
    };
  };

  // The last word of a document that goes away in this renderer. (When the next document
  // commits in another process, the session has moved before this runs: Python reads the
  // values before it navigates instead.)
  if (binding) {
    addEventListener(
      'pagehide',
      () => {
        if (state.handedOver) return;
        try {
          binding(JSON.stringify(Object.assign(values(), { final: true })));
        } catch (e) {}
      },
      { capture: true }
    );
  }

  // What Python reads: the values now, or once what is due has come:
  // `input`: the Event Timing entry of the last input (an input with none 60 ms after its
  //   handlers ran was shorter than 16 ms: no entry comes);
  // `paint`: on a visible page that has not painted yet, its first contentful paint,
  //   for at most MAX_PAINT_MS, checked every frame (the entry comes a frame or two
  //   after the load event of a small page; a page that paints nothing stays without
  //   it).
  // `handOver` (Python reads as the page API navigates away): once the values are
  // taken with an FCP, the document sends nothing on pagehide; until then (a wait still
  // running, no paint yet) its pagehide message stays the last word.
  const MAX_PAINT_MS = CONFIG.paintMs;
  const read = (options) => {
    const started = performance.now();
    const inputDue = () => {
      const done = state.lastInputDone;
      return (
        options.input &&
        state.lastInput > state.lastEntry &&
        !(done >= 0 && performance.now() - done > 60)
      );
    };
    const paintDue = () =>
      options.paint &&
      state.fcp === null &&
      document.visibilityState === 'visible' &&
      performance.now() - started < MAX_PAINT_MS;
    const snap = () => {
      if (options.handOver && (state.fcp !== null || document.visibilityState !== 'visible')) {
        state.handedOver = true;
      }
      return Object.assign(values(), { final: false });
    };
    if (observer) take(observer.takeRecords());
    if (!inputDue() && !paintDue()) return snap();
    return new Promise((resolve) => {
      const check = () => {
        if (observer) take(observer.takeRecords());
        if (inputDue()) {
          setTimeout(check, 10);
        } else if (paintDue()) {
          // The next frame, or 50 ms if frames do not come.
          let called = false;
          const next = () => {
            if (called) return;
            called = true;
            setTimeout(check, 0);
          };
          requestAnimationFrame(next);
          setTimeout(next, 50);
        } else {
          resolve(snap());
        }
      };
      check();
    });
  };

  globalThis[CONFIG.global] = {
    read: (options) => {
      const result = read(options);
      return result instanceof Promise ? result.then(JSON.stringify) : JSON.stringify(result);
    },
    algorithms: { addShift, addInteraction, inpOf, tbtOf },
  };
})();
