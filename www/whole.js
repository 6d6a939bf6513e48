// The whole snippet's page side and its whole boundary with the wasm, without wasm-bindgen (as the
// first-paint module's, www/first.js): the Rust keeps every decision and asks the page through the
// imports below, named in src/ by `#[link(wasm_import_module = "splitbeam")]`; the page reaches it
// through its exports (`snippet`, the functions the loader maps `window.splitbeam` onto, and
// `page_event`/`fetch_settled` for the page's events). Numbers cross as they are; a string or
// byte run from the wasm as a pointer and a length, read here at once; one for the wasm in room
// from its `alloc`, a u32 length and the bytes, that the wasm frees (src/host.rs). A JavaScript
// value crosses as core's compiled value bytes (`encodeValue`). Each page call is a line or two
// here, where the same call through web-sys, js-sys and wasm-bindgen's glue cost several times the
// bytes (README, "Why the snippet has this shape").

import { instantiate } from './instantiate.js';

let wasm;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = () => new Uint8Array(wasm.memory.buffer);
const view = () => new DataView(wasm.memory.buffer);
const text = (at, len) => decoder.decode(bytes().subarray(at, at + len));
// The length-prefixed bytes at `at` (an export's answer), copied; undefined for 0.
const answer = (at) => (at ? bytes().slice(at + 4, at + 4 + view().getUint32(at, true)) : undefined);
// A string or bytes into room from the wasm's `alloc` (it frees them); 0 for null or undefined.
const give = (x) => {
  if (x == null) return 0;
  const b = typeof x == 'string' ? encoder.encode(x) : x;
  const at = wasm.alloc(4 + b.length);
  view().setUint32(at, b.length, true);
  bytes().set(b, at + 4);
  return at;
};
// Only a string crosses as text; anything else is "not given".
const str = (x) => (typeof x == 'string' ? give(x) : 0);
const attempt = (f) => {
  try {
    return f();
  } catch (_) {}
};

// ---- storage: localStorage and sessionStorage (src/storage.rs). Reaching either can throw (privacy
// modes, sandboxed frames) and writing can throw (quota): each call catches that and answers as if
// nothing were stored.

const area = (session) => (session ? sessionStorage : localStorage);

const storage = {
  // The value under the key, or 0.
  storage_get: (session, key, len) => give(attempt(() => area(session).getItem(text(key, len)))),
  // 1 when the write happened (0: full or blocked).
  storage_set: (session, key, keyLen, value, valueLen) => +!!attempt(() => (area(session).setItem(text(key, keyLen), text(value, valueLen)), 1)),
  storage_remove: (session, key, len) => attempt(() => area(session).removeItem(text(key, len))),
  // localStorage's keys that start with the prefix, one per line (a string crosses into the wasm for
  // far fewer bytes than a list of them); a key with a line break in it is none of ours.
  storage_keys: (prefix, len) => {
    prefix = text(prefix, len);
    return give(attempt(() => Object.keys(localStorage).filter((key) => key.startsWith(prefix) && key.indexOf('\n') < 0).join('\n')) || '');
  },
  // crypto.getRandomValues, or Math.random where there is no crypto (ids stay unique enough).
  // `JSON.parse` of a stored text, as value bytes; 0 when it is not JSON or nested too deep.
  json_value: (at, len) => give(attempt(() => encodeValue(JSON.parse(text(at, len)))[0])),
  random_fill: (at, len) => {
    const random = attempt(() => crypto.getRandomValues(new Uint8Array(len))) || new Uint8Array(len).map(() => Math.random() * 256);
    bytes().set(random, at);
  },
};

// ---- transport: how a batch leaves the page (src/transport.rs): `navigator.sendBeacon`, which survives
// the page going away, and `fetch` with `keepalive`, which tells the status and Retry-After.
// Bodies go as strings, so text/plain: no CORS preflight.

// What became of a fetch, as far as the page can tell: `fetch_settled(id, reply, status, retryAfter)`
// gets one of these once (the numbers src/transport.rs reads back).
const STATUS = 0; // a readable answer: its status, and Retry-After if exposed
const UNREADABLE = 1; // the readable fetch failed but a no-cors probe right after it was answered
const OPAQUE = 2; // a no-cors fetch resolved: an answer came, nothing more is known
const FAILED = 3; // nothing answered (offline, DNS, refused, or the probe failed too)

const send = (url, body, blind) =>
  fetch(url, { method: 'POST', body, keepalive: true, credentials: 'omit', mode: blind ? 'no-cors' : 'cors' });

const transport = {
  // 0 when the browser refused the beacon (quota, size, no API).
  send_beacon: (url, urlLen, body, bodyLen) => +!!attempt(() => navigator.sendBeacon(text(url, urlLen), text(body, bodyLen))),
  // POSTs the body, with `mode: "no-cors"` when `blind`. In Chromium a CORS failure and a refused
  // connection both reject a readable fetch with a TypeError, while a no-cors request resolves
  // (opaque) whenever the server answered at all: so after a failed readable fetch, an empty batch
  // goes with no-cors to tell an unreadable collector from a down one. Empty, so that the events are
  // never sent twice by it (collectors see `"events":[]`). tests/e2e/any-collector and
  // delivery-outage exercise both.
  post: (url, urlLen, body, bodyLen, blind, id) => {
    url = text(url, urlLen);
    body = text(body, bodyLen);
    const done = (reply, status, retryAfter) => wasm.fetch_settled(id, reply, status, give(retryAfter));
    const settle = (response) => {
      // A Response has a `type`; a rejection's TypeError has none.
      const type = response && response.type;
      if (type == 'opaque' || type == 'opaqueredirect') done(OPAQUE, 0);
      else if (type) done(STATUS, response.status, response.headers.get('retry-after'));
      else if (blind || !navigator.onLine) done(FAILED, 0);
      else {
        const probe = '{"v":1,"sent_at":' + Date.now() + ',"events":[]}';
        send(url, probe, true).then(() => done(UNREADABLE, 0), () => done(FAILED, 0));
      }
    };
    try {
      send(url, body, blind).then(settle, settle);
    } catch (_) {
      done(FAILED, 0);
    }
  },
};

// ---- the page's facts and actions (src/page.rs): the URL's parts, the referrer and title, the
// navigator's flags, the clock, console lines and a split-URL redirect.

// One console line, at a level: 0 log, 1 warning, 2 error.
const say = (level, line) => console[level == 0 ? 'log' : level == 1 ? 'warn' : 'error'](line);

const page = {
  // The URL's parts and the document's facts, by number (src/page.rs names them).
  page_text: (part) =>
    give(
      part == 0
        ? location.href
        : part == 1
          ? location.pathname + location.search
          : part == 2
            ? location.origin
            : part == 3
              ? location.search
              : part == 4
                ? document.referrer
                : document.title,
    ),
  // The navigator's flags, by number: an automated browser (a crawler running JavaScript, a test
  // harness), online, and Do-Not-Track or Global Privacy Control (`navigator.doNotTrack` is null in
  // Chromium when unset).
  page_flag: (which) => {
    const n = navigator;
    return +(which == 0 ? !!n.webdriver : which == 1 ? n.onLine !== false : n.doNotTrack == '1' || n.globalPrivacyControl === true);
  },
  now_ms: () => Date.now(),
  // JavaScript's Number→String: no float printer in the wasm.
  number_text: (n) => give(String(n)),
  say_line: (level, line, len) => say(level, text(line, len)),
  // Replaces this page with the URL (a split-URL variant); 0 when the browser refused.
  navigate_to: (url, len) => +!!attempt(() => (location.replace(text(url, len)), 1)),
  // An attribute of the loader's script element (`<script data-collector=...>`), if there is one.
  script_attribute_of: (name, len) => {
    name = text(name, len);
    const script = document.querySelector('script[data-collector]');
    return give(script && script.getAttribute(name));
  },
  // Page patterns of `pageview` goals, on the page's own RegExp: 1 a match, 0 none, 2 a pattern the browser refuses.
  regex_test: (pattern, patternLen, at, len, ignoreCase) => {
    try {
      return +new RegExp(text(pattern, patternLen), ignoreCase ? 'i' : '').test(text(at, len));
    } catch (_) {
      return 2;
    }
  },
};

// ---- the page's events (src/page_events.rs), each handed to the wasm's `event(kind, number, text)`.

// The element clicked, while the wasm handles its click (src/goals.rs asks whether it is in a
// click goal's selector); not kept after, so a removed element is not held.
let clicked;
const handler = (kind, value) => {
  if (kind == 7) clicked = value;
  try {
    wasm.page_event(kind, +value || 0, str(value));
  } finally {
    clicked = undefined;
  }
};

const events = {
  // A timer ran out: kind 0, value its id.
  timer: (ms, id) => setTimeout(handler, ms, 0, id),
  // For delivery: the page going away, coming back from the back/forward cache (value: persisted),
  // going online, another tab releasing a lease (value: the storage key), hidden or shown (value:
  // hidden). Returns why it cannot, if it cannot.
  listen_to_lifecycle: () => {
    try {
      addEventListener('pagehide', () => handler(1));
      addEventListener('pageshow', (event) => handler(2, event.persisted === true));
      addEventListener('online', () => handler(3));
      addEventListener('storage', (event) => event.key && event.newValue == null && handler(4, event.key));
      document.addEventListener('visibilitychange', () => handler(5, document.hidden));
    } catch (err) {
      return give(String((err && err.message) || err));
    }
    return 0;
  },
  // Route changes of a single-page app (`history.pushState`/`replaceState`, after the page's own
  // call, whose result and exceptions stay its own; `popstate`), and every click in the document,
  // capture phase so that a page that stops propagation still counts and it runs before a link
  // navigates (value: the clicked element; a click on text inside a link targets the text node).
  // Returns why it cannot, if it cannot (for the one console line).
  watch_the_page: () => {
    for (const name of ['pushState', 'replaceState']) {
      const original = history[name];
      if (typeof original != 'function') return give('history.' + name + ' is not a function');
      history[name] = function () {
        const result = original.apply(this, arguments);
        handler(6);
        return result;
      };
    }
    addEventListener('popstate', () => handler(6));
    document.addEventListener(
      'click',
      (event) => {
        let target = event.target;
        if (target && target.nodeType != 1) target = target.parentElement;
        if (target) handler(7, target);
      },
      true,
    );
    return 0;
  },
  // 1 when the element clicked or an ancestor matches the selector (0 also for a selector
  // the browser refuses).
  clicked_closest: (selector, len) => +!!attempt(() => clicked.closest(text(selector, len))),
};

// ---- exposures as the page hears of them (src/api.rs): `splitbeam.on('exposure', callback)` listeners,
// the exposures so far (replayed to a listener added later), and `window.dataLayer`, where each also
// goes as GA4's `experiment_viewed`. A listener or dataLayer that throws costs one console line.

const listeners = [];
const seen = [];
const complain = (line) => say(2, 'splitbeam: ' + line);
const tell = (listener, event) => {
  try {
    listener(event);
  } catch (_) {
    complain('an exposure listener threw');
  }
};

// Called by the whole snippet with no state of its own borrowed: a listener may call the API.
const announce = (experiment, variant, visitor, url) => {
  const event = { type: 'exposure', ts: Date.now(), visitor, experiment, variant, url };
  seen.push(event);
  listeners.slice().forEach((listener) => tell(listener, event));
  let layer = window.dataLayer;
  if (layer == null) layer = window.dataLayer = [];
  // GTM replaces `push` with its own function: call whatever is there, as a method.
  if (typeof layer.push != 'function') return complain('window.dataLayer has no push(); exposure not sent to it');
  try {
    layer.push({ event: 'experiment_viewed', experiment_id: experiment, variation_id: variant });
  } catch (_) {
    complain('window.dataLayer.push threw');
  }
};

// `splitbeam.on('exposure', callback)`: also replays the exposures that already happened.
const on = (name, listener) => {
  if (name != 'exposure') return complain('on(): unknown event "' + name + '" (only "exposure")');
  listeners.push(listener);
  seen.slice().forEach((event) => tell(listener, event));
};

const exposures = {
  announce_exposure: (experiment, experimentLen, variant, variantLen, visitor, visitorLen, url, urlLen) =>
    announce(text(experiment, experimentLen), text(variant, variantLen), text(visitor, visitorLen), text(url, urlLen)),
};

// ---- deciding and changing later views (src/redecide.rs, src/page_changes.rs)

// The loader's `decide` option: asks the first-paint module again (www/first.js `redecide`).
let decider;

const decisions = {
  // The decisions' bytes for the visitor id, whether it is new, the QA overrides, the page's own
  // attributes encoded and the sticky rows as the JSON of them flat, `[experiment, variant,
  // fingerprint, …]`; 0 when the first-paint module could not answer.
  redecide: (visitor, visitorLen, newVisitor, forced, forcedLen, custom, customLen, sticky, stickyLen) =>
    give(attempt(() => decider(text(visitor, visitorLen), !!newVisitor, text(forced, forcedLen), bytes().slice(custom, custom + customLen), JSON.parse(text(sticky, stickyLen))))),
  // Makes the list (the JSON of `[[experiment, variant, [change, …]], …]`) the variants on the page,
  // through the loader's applier (www/changes.js): one line per variant it reverted, or 0 without
  // the applier (a page that loaded the whole snippet on its own).
  set_variants_to: (list, len) => {
    list = text(list, len);
    return give(
      attempt(() =>
        window.splitbeamChanges
          .set(JSON.parse(list))
          .map(([experiment, variant]) => experiment + ': reverted ' + variant)
          .join('\n'),
      ),
    );
  },
};

// ---- JavaScript values as core's compiled value bytes (core/src/compiled.rs `Reader::value`:
// 0 null, 1 false, 2 true, 3 a float64 little-endian, 4 a string, 5 an array, 6 an object; counts
// and UTF-8 lengths as LEB128), read in two steps: the value as plain JSON data, then its bytes.
//
// Strictly (`props` false: `attributes()`, JSON.parse output): a function, symbol or bigint, or
// nesting deeper than 32 levels, throws, naming where it stood. As `track()` props: within bounds,
// never a throw, and `trimmed` says something was cut: non-JSON values, NaN and Infinity become
// null (in an object they are left out), at most 4 levels and 200 values (a cyclic or enormous
// object costs a bounded walk), strings cut to 1000 UTF-16 units, keys read with Reflect (a Proxy
// or a getter that throws costs the value, not the call).
export const encodeValue = (root, props) => {
  let values = 0;
  let trimmed = false;
  const cut = (s) => (props && s.length > 1000 ? ((trimmed = true), s.slice(0, 1000)) : s);
  const plain = (x, depth, path) => {
    const where = path || 'the value';
    if (!props && depth > 32) throw Error(where + ' is nested deeper than 32 levels');
    if (props && ++values > 200) return (trimmed = true), null;
    if (x == null || typeof x == 'boolean') return x == null ? null : x;
    if (typeof x == 'number') return props && !isFinite(x) ? ((trimmed = true), null) : x;
    if (typeof x == 'string') return cut(x);
    if (typeof x != 'object' || (props && depth >= 4)) {
      if (!props) throw Error(where + ' is a ' + typeof x + ', not a JSON value');
      return (trimmed = true), null;
    }
    if (Array.isArray(x)) {
      const len = props ? Math.min(x.length, 200) : x.length;
      trimmed = trimmed || len < x.length;
      const items = [];
      for (let i = 0; i < len; i++) items.push(plain(x[i], depth + 1, path + '[' + i + ']'));
      return items;
    }
    const entries = [];
    if (!props) {
      for (const [key, item] of Object.entries(x)) entries.push([key, plain(item, depth + 1, path ? path + '.' + key : key)]);
      return { entries };
    }
    const keys = attempt(() => Reflect.ownKeys(x));
    if (!keys) return (trimmed = true), null;
    for (const key of keys) {
      if (values >= 200) {
        trimmed = true;
        break;
      }
      // Symbols have no JSON form; non-enumerable keys are left out by JSON.stringify too.
      if (typeof key != 'string' || !attempt(() => Reflect.getOwnPropertyDescriptor(x, key).enumerable)) continue;
      let item;
      try {
        item = Reflect.get(x, key);
      } catch (_) {
        trimmed = true;
      }
      if (item !== undefined && typeof item != 'function') entries.push([cut(key), plain(item, depth + 1)]);
    }
    return { entries };
  };
  const value = plain(root, 0, '');
  const out = [];
  const uint = (n) => {
    for (; n > 127; n >>>= 7) out.push((n & 127) | 128);
    out.push(n);
  };
  const string = (s) => {
    const utf8 = encoder.encode(s);
    uint(utf8.length);
    for (const b of utf8) out.push(b);
  };
  const write = (x) => {
    if (x === null) out.push(0);
    else if (typeof x == 'boolean') out.push(x ? 2 : 1);
    else if (typeof x == 'number') {
      const f = new DataView(new ArrayBuffer(8));
      f.setFloat64(0, x, true);
      out.push(3);
      for (let i = 0; i < 8; i++) out.push(f.getUint8(i));
    } else if (typeof x == 'string') out.push(4), string(x);
    else if (Array.isArray(x)) out.push(5), uint(x.length), x.forEach(write);
    else out.push(6), uint(x.entries.length), x.entries.forEach(([key, item]) => (string(key), write(item)));
  };
  write(value);
  return [new Uint8Array(out), trimmed];
};

// ---- the whole snippet: its module, and the functions the loader calls (www/loader.js: `start`,
// `click` and `window.splitbeam`'s methods).

const EMPTY_OBJECT = new Uint8Array([6, 0]);
// A value the loader holds (its views and held records): its bytes, or 0 when it is not JSON data.
const data = (x) => give(attempt(() => encodeValue(x)[0]));
// `splitbeam.track(goal, props)`, or a goal held from an earlier page (`url`, `ts`): the name only
// if it is a string of at most 1000 UTF-16 units, not only whitespace; the props' bytes only if
// they are an object (or nothing), with whether they were trimmed (src/api.rs refuses or warns).
const track = (goal, props, url, ts) => {
  const [read, trimmed] = props == null ? [EMPTY_OBJECT] : typeof props == 'object' && !Array.isArray(props) ? encodeValue(props, true) : [];
  wasm.track_goal(typeof goal == 'string' && goal.trim() && goal.length <= 1000 ? give(goal) : 0, give(read), +!!trimmed, str(url), typeof ts == 'number' ? ts : NaN);
};

// `response`: a fetch of the module (or its promise).
export const init = (response) =>
  instantiate(response, { splitbeam: Object.assign({}, storage, transport, page, events, exposures, decisions) }).then((module) => {
    wasm = module.instance.exports;
  });

export const snippet = {
  // The compiled config's bytes and the loader's options (src/snippet.rs `start`).
  start: (compiled, o) => {
    decider = typeof o.decide == 'function' ? o.decide : undefined;
    const flag = (x) => (typeof x == 'boolean' ? +x : 2);
    wasm.start_snippet(give(compiled), str(o.collector), flag(o.respectDnt), str(o.consent), str(o.visitor), +(o.newVisitor === true), +(o.apply !== false), data(o.views), data(o.held));
  },
  track: (goal, props) => track(goal, props),
  track_held: track,
  replay_held: (record) => wasm.replay_record(data(record)),
  // The variant key shown on this page, or null.
  variant: (experiment) => {
    const shown = answer(wasm.variant_shown(str(experiment)));
    return shown ? decoder.decode(shown) : null;
  },
  attributes: (custom) => {
    let read, why;
    try {
      read = encodeValue(custom)[0];
    } catch (err) {
      why = err.message;
    }
    wasm.add_attributes(give(read), str(why));
  },
  consent: (granted) => wasm.set_consent(+(granted === true)),
  flush: () => wasm.flush_events(),
  on,
  // A click the loader saw before this module started.
  click: (element) => handler(7, element),
};
