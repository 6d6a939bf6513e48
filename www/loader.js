// splitbeam's loader (bundled with the first-paint module's boundary into dist/splitbeam.js, a classic
// script, added async by the inline tag or loaded on its own): fetches the first-paint module,
// decides with it, applies its variants (changes.js), reveals, then loads the whole snippet
// (delivery, goals, SPA, the API), which takes over. Calls made meanwhile wait in the queue. It never throws into the page.
import * as first from './first.js';
import { setVariants, variantOf } from './changes.js';
import { hide, hideFor } from './hide.js';

// `splitbeam snippet` / the collector replace the marker with {b: the compiled config (a string of
// one character per byte, which gzip compresses better than base64),
// h: the hide list}. (Written as a property read so the minifier keeps the marker.)
const BAKED = { c: '__SPLITBEAM_CONFIG__' }.c;

const say = (why, err) => console.error('splitbeam: ' + why + (err ? ': ' + ((err && err.message) || err) : ''));

try {
  const script = document.currentScript;
  const attr = (name) => (script && script.getAttribute('data-' + name)) || '';
  const base = (script && script.src) || location.href;
  const consent = attr('consent');
  const timeoutMs = +attr('timeout') || 1000;

  // The command queue: calls made before the wasm is ready wait here, in order.
  const queued = Array.isArray(window.splitbeam) ? window.splitbeam.slice() : [];
  // Commands the page queued before this script ran were made on this page, by now.
  queued.forEach((cmd) => Array.isArray(cmd) && (cmd.where = [location.pathname + location.search, Date.now()]));
  let ready = null;
  const call = (name, args) => {
    if (!ready) {
      const cmd = [name].concat(args);
      // Where and when: a goal held for the next page (below) keeps this page's URL and time.
      // (Not `at`: arrays have an `at` method, which a command from the page's own array would show.)
      cmd.where = [location.pathname + location.search, Date.now()];
      return void queued.push(cmd);
    }
    try {
      return ready[name].apply(null, args);
    } catch (err) {
      say(name + '() failed', err);
    }
  };
  const api = {};
  ['track', 'attributes', 'consent', 'on', 'flush'].forEach((name) => {
    api[name] = (...args) => call(name, args);
  });
  // The first-paint module's answer, once this page decided.
  let decided = null;
  api.variant = (key) => (ready ? call('variant', [key]) : variantOf(key));
  api.push = (cmd) => (Array.isArray(cmd) && typeof api[cmd[0]] == 'function' ? api[cmd[0]](...cmd.slice(1)) : say('unknown command', cmd && cmd[0]));
  window.splitbeam = api;
  window.splitbeamChanges = { set: setVariants };

  // What happens before the whole snippet has started (it loads after the reveal) would die with a
  // tab that closes that early: goals tracked or clicked, the page view, the exposures of the
  // variants shown. The loader holds them for the next page of this site (never where consent must
  // come first; not for a page kept in the back/forward cache, which resumes and sends them itself).
  const HELD = 'splitbeam_held';
  const KINDS = ['track', 'goal', 'view', 'exposure'];
  const here = () => location.pathname + location.search;
  // The page views before the whole snippet started: the landing URL, then SPA route changes.
  const views = [[here(), Date.now(), document.referrer, document.title]];
  const onRoute = () => {
    const last = views[views.length - 1];
    if (!ready && here() != last[0]) views.push([here(), Date.now(), last[0], document.title]);
  };
  ['pushState', 'replaceState'].forEach((name) => {
    const original = history[name];
    history[name] = function () {
      const result = original.apply(this, arguments);
      onRoute();
      return result;
    };
  });
  addEventListener('popstate', onRoute);
  let exposures = [];
  // Clicks before the whole snippet listens: replayed into it, or held as the click goals they reach.
  const clicks = [];
  addEventListener('click', (event) => ready || clicks.push([event.target, here(), Date.now()]), true);
  // Read only once the wasm has started: touching localStorage here would hold up the first paint
  // (1–6 ms measured on a fresh profile). Until then they stay stored, and a second early close adds to them.
  const readHeld = () => {
    try {
      const held = JSON.parse(localStorage.getItem(HELD) || '[]');
      return Array.isArray(held) ? held.filter((cmd) => Array.isArray(cmd) && KINDS.indexOf(cmd[0]) >= 0) : [];
    } catch (_) {
      return [];
    }
  };
  const takeHeld = () => {
    const held = readHeld();
    try {
      localStorage.removeItem(HELD);
    } catch (_) {}
    return held;
  };
  const reached = (element, selector) => {
    try {
      return !!(element && element.closest && element.closest(selector));
    } catch (_) {
      return false;
    }
  };
  addEventListener('pagehide', (event) => {
    try {
      if (ready || event.persisted || consent == 'required') return;
      // The visitor id and assignments this page decided with, if the page is left that early.
      first.persist(decided);
      const held = queued
        .filter((cmd) => Array.isArray(cmd) && cmd[0] == 'track')
        .map((cmd) => ['track', cmd[1], cmd[2]].concat(cmd.where || [here(), Date.now()]));
      for (const [element, url, ts] of clicks)
        for (const [goal, selector] of (BAKED && BAKED.g) || []) if (reached(element, selector)) held.push(['goal', goal, url, ts]);
      // The view and its exposures only once this page decided: before that nothing was shown.
      if (decided) held.push(...views.map((view) => ['view'].concat(view)), ...exposures.map(([e, v]) => ['exposure', e, v, views[0][0], views[0][1]]));
      // Read, not taken: if this write fails (quota, an odd prop), the earlier pages' records stay.
      if (held.length) localStorage.setItem(HELD, JSON.stringify(readHeld().concat(held).slice(-50)));
    } catch (_) {}
  });

  if (typeof BAKED != 'object') throw new Error('no compiled config (serve splitbeam.js from `splitbeam serve` or `splitbeam snippet`)');
  const compiled = Uint8Array.from(BAKED.b, (c) => c.charCodeAt(0));
  // The inline tag hid the elements and runs the timeout; on its own, this script does both.
  const tag = window.splitbeamTag;
  if (tag) tag.loaded = true;
  // With the tag, this script's hide list still covers what the tag's (pasted earlier) did not.
  // This page's hide list, once: hidden here, and the elements whose paint starts the whole snippet.
  const hidden = hideFor(BAKED.h);
  const style = tag ? tag.style : hide(hidden);
  const newer = tag && !tag.done ? hide(hidden) : null;
  if (tag) tag.newer = newer; // the tag's timeout removes it too
  const reveal = () => [style, newer].forEach((s) => s && s.remove());
  let timedOut = false;
  const timer = tag ? 0 : setTimeout(() => ((timedOut = true), reveal()), timeoutMs);
  const late = () => timedOut || (tag && tag.done);
  const options = {
    consent,
    collector: attr('collector'),
    respectDnt: !!script && script.hasAttribute('data-respect-dnt') && attr('respect-dnt') != 'false',
  };
  const url = (file) => new URL(file, base);

  // The whole snippet, once the page is revealed. It sets the page's variants through the same
  // applier (changes.js), so the variants applied here stay as they are when it takes over.
  const startFull = (applied, identity) => {
    const wasm = fetch(url(SPLITBEAM_FULL_WASM));
    const glue = document.createElement('script');
    glue.src = url(SPLITBEAM_FULL_JS);
    glue.onerror = () => say('the rest of splitbeam did not load (' + glue.src + '): no events are sent from this page');
    glue.onload = () =>
      window.splitbeamFull.init(wasm).then(
        () => {
          const full = window.splitbeamFull.snippet;
          // The views before this one (the current URL's is the whole snippet's own).
          const earlier = views.filter((view, i) => i < views.length - 1 || view[0] != here());
          // Held exposures go in before this page's own (the earliest counts); held views and goals
          // after the page's queued commands, below.
          const held = takeHeld();
          const early = held.filter((cmd) => cmd[0] == 'exposure');
          // `decide`: later views (SPA routes, new attributes) are decided by the first-paint module too.
          const decide = (...args) => first.redecide(compiled, ...args);
          full.start(compiled, Object.assign({ apply: applied, views: earlier, held: early, decide }, options, identity && { visitor: identity[0], newVisitor: identity[1] }));
          ready = full;
          // For tests and benchmarks that wait for the takeover (nothing in the page needs it).
          window.splitbeamFull.started = true;
          // The page's own commands and clicks first: a queued consent(true) must start delivery
          // before held records go.
          queued.forEach((cmd) => api.push(cmd));
          queued.length = 0;
          clicks.forEach(([element]) => full.click(element));
          clicks.length = 0;
          held.filter((cmd) => early.indexOf(cmd) < 0).forEach((cmd) => (cmd[0] == 'track' ? call('track_held', cmd.slice(1)) : call('replay_held', [cmd])));
        },
        (err) => say('the rest of splitbeam did not start: no events are sent from this page', err),
      );
    (document.head || document.documentElement).appendChild(glue);
  };

  // The in-page editor (its own file), only in a tab opened from the dashboard's "Edit on page"
  // (the link's code, then the token it kept for the tab); after the reveal, so never on the
  // critical path, and never fetched for any other visitor.
  const editor = () => {
    try {
      if (/[?&]splitbeam-editor=/.test(location.search) || sessionStorage.getItem('splitbeam_editor')) {
        const s = document.createElement('script');
        s.src = url('splitbeam-editor.js');
        document.head.appendChild(s);
      }
    } catch (_) {}
  };

  // The inline tag fetched the first-paint module alongside this script when it named this build's
  // (a tag pasted before an upgrade names an older one: then it is fetched here).
  const prefetched = tag && tag.first && tag.first.name == SPLITBEAM_FIRST_WASM && tag.first.response;
  first
    .load(prefetched || fetch(url(SPLITBEAM_FIRST_WASM)))
    .then(() => {
      clearTimeout(timer);
      if (tag) clearTimeout(tag.timer);
      const applied = !late();
      // One line per page: the tag has said so if this script itself came after the timeout.
      if (!applied && !(tag && tag.said)) say('ready after the ' + ((tag && tag.timeout) || timeoutMs) + ' ms timeout; this page view shows the original');
      const identity = first.decide(compiled, { consent, apply: applied });
      if (identity) setVariants(identity[3]);
      reveal();
      // No identity: the config could not be read; the rest could not either.
      if (!identity) return say('the compiled experiments config is damaged (rebuild it with `splitbeam snippet`)');
      decided = identity;
      exposures = identity[2] || [];
      // Once the revealed copy is on screen, not before: Lighthouse's LCP estimate counts every
      // request that ended before the observed LCP, and counted the whole snippet's 56 KB whenever
      // it did (about 600 ms more on its mobile profile). A painted frame is not enough: the LCP
      // is the frame's presentation, which came 10 ms after a request started from the painted
      // frame's next task. So: the browser's LCP entry for a revealed element (an entry at or after
      // the reveal can still be for an element painted in the frame before it, presented later);
      // one painted frame where there are no LCP entries; the timer for a hidden tab (no frames)
      // or a reveal that is not the page's largest paint. And after the page's own `load` (1 s
      // after the reveal at most): on a storefront whose largest paint is an image still arriving,
      // the whole snippet shared the phone's link with it and the image ended about 390 ms later
      // (`BENCH_HERO_IMAGE=1`, README "Why the snippet has this shape").
      let painted = false;
      let loaded = document.readyState == 'complete';
      let started = false;
      const go = () => painted && loaded && !started && ((started = true), startFull(applied, identity), editor());
      const revealedAt = performance.now();
      const revealed = (el) => hidden.some((s) => { try { return el.closest(s) || el.querySelector(s); } catch (_) {} });
      let lcp;
      const onPainted = () => painted || ((painted = true), lcp && lcp.disconnect(), first.persist(identity), go());
      const P = window.PerformanceObserver;
      if (!P || (P.supportedEntryTypes || []).indexOf('largest-contentful-paint') < 0) requestAnimationFrame(() => setTimeout(onPainted));
      else (lcp = new P((list) => list.getEntries().some((e) => e.startTime >= revealedAt && e.element && revealed(e.element)) && onPainted())).observe({ type: 'largest-contentful-paint', buffered: true });
      setTimeout(onPainted, 250);
      if (!loaded) {
        const onLoaded = () => ((loaded = true), go());
        addEventListener('load', onLoaded);
        setTimeout(onLoaded, 1000);
      }
    })
    .catch((err) => {
      say('not started, the page shows the original', err);
      reveal();
    });
} catch (err) {
  say('not started, the page shows the original', err);
}
