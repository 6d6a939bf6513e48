// Everything the whole snippet asks of the page, beyond the changes (www/changes.js): its Rust side
// names these functions with `#[wasm_bindgen(module = "/www/whole.js")]` (src/storage.rs,
// transport.rs, page.rs, page_events.rs, api.rs). Each is a line or two of JavaScript where the
// same call through web-sys and js-sys, with its error handling, costs the wasm several times the
// bytes (README, "Why the snippet has this shape"). One file, not one per module: the web layer's
// test runner hangs now and then on a page that imports several (wasm-bindgen-test-runner 0.2.130).

// ---- storage: localStorage and sessionStorage (src/storage.rs). Reaching either can throw (privacy
// modes, sandboxed frames) and writing can throw (quota): each call catches that and answers as if
// nothing were stored.

const area = (session) => (session ? sessionStorage : localStorage);

// The value under `key`, or undefined.
export function storageGet(session, key) {
  try {
    const value = area(session).getItem(key);
    return value == null ? undefined : value;
  } catch (_) {}
}

// Whether the write happened (false: full or blocked).
export function storageSet(session, key, value) {
  try {
    area(session).setItem(key, value);
    return true;
  } catch (_) {
    return false;
  }
}

export function storageRemove(session, key) {
  try {
    area(session).removeItem(key);
  } catch (_) {}
}

// localStorage's keys that start with `prefix`, one per line (a string crosses into the wasm for
// far fewer bytes than an array of them); a key with a line break in it is none of ours.
export function storageKeys(prefix) {
  try {
    return Object.keys(localStorage)
      .filter((key) => key.startsWith(prefix) && key.indexOf('\n') < 0)
      .join('\n');
  } catch (_) {
    return '';
  }
}

// ---- transport: how a batch leaves the page (src/transport.rs): `navigator.sendBeacon`, which survives
// the page going away, and `fetch` with `keepalive`, which tells the status and Retry-After.
// Bodies go as strings, so text/plain: no CORS preflight.

// `false` when the browser refused the beacon (quota, size, no API).
export function beacon(url, body) {
  try {
    return navigator.sendBeacon(url, body);
  } catch (_) {
    return false;
  }
}

// What became of a fetch, as far as the page can tell; `done(reply, status, retryAfter)` gets one
// of these once (the numbers src/transport.rs reads back).
const STATUS = 0; // a readable answer: its status, and Retry-After if exposed
const UNREADABLE = 1; // the readable fetch failed but a no-cors probe right after it was answered
const OPAQUE = 2; // a no-cors fetch resolved: an answer came, nothing more is known
const FAILED = 3; // nothing answered (offline, DNS, refused, or the probe failed too)

const send = (url, body, blind) =>
  fetch(url, { method: 'POST', body, keepalive: true, credentials: 'omit', mode: blind ? 'no-cors' : 'cors' });

// POSTs `body`, with `mode: "no-cors"` when `blind`. In Chromium a CORS failure and a refused
// connection both reject a readable fetch with a TypeError, while a no-cors request resolves
// (opaque) whenever the server answered at all: so after a failed readable fetch, an empty batch
// goes with no-cors to tell an unreadable collector from a down one. Empty, so that the events are
// never sent twice by it (collectors see `"events":[]`). tests/e2e/any-collector and
// delivery-outage exercise both.
export function post(url, body, blind, done) {
  const settle = (response) => {
    // A Response has a `type`; a rejection's TypeError has none.
    const type = response && response.type;
    if (type == 'opaque' || type == 'opaqueredirect') done(OPAQUE, 0);
    else if (type) done(STATUS, response.status, response.headers.get('retry-after') || undefined);
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
}

// ---- the page's facts and actions (src/page.rs): the URL's parts, the referrer and title, the
// navigator's flags, console lines and a split-URL redirect.

// The URL's parts and the document's facts, by number (src/page.rs names them).
export function pageText(part) {
  switch (part) {
    case 0:
      return location.href;
    case 1:
      return location.pathname + location.search;
    case 2:
      return location.origin;
    case 3:
      return location.search;
    case 4:
      return document.referrer;
    default:
      return document.title;
  }
}

// The navigator's flags, by number: an automated browser (a crawler running JavaScript, a test
// harness), online, and Do-Not-Track or Global Privacy Control (`navigator.doNotTrack` is null in
// Chromium when unset).
export function pageFlag(which) {
  const n = navigator;
  return which == 0 ? !!n.webdriver : which == 1 ? n.onLine !== false : n.doNotTrack == '1' || n.globalPrivacyControl === true;
}

// One console line, at a level: 0 log, 1 warning, 2 error.
export function say(level, line) {
  console[level == 0 ? 'log' : level == 1 ? 'warn' : 'error'](line);
}

// Replaces this page with `url` (a split-URL variant); false when the browser refused.
export function navigate(url) {
  try {
    location.replace(url);
    return true;
  } catch (_) {
    return false;
  }
}

// An attribute of the loader's script element (`<script data-collector=...>`), if there is one.
export function scriptAttribute(name) {
  const script = document.querySelector('script[data-collector]');
  const value = script && script.getAttribute(name);
  return value == null ? undefined : value;
}

// ---- the page's events (src/page_events.rs), each handed to one Rust function, `handler(kind, value)`:
// one closure in the wasm instead of one per event, and no event-object reads.

// A timer set by `timer` ran out: value is its id.
const TIMER = 0;

export function timer(handler, ms, id) {
  setTimeout(handler, ms, TIMER, id);
}

// For delivery: the page going away, coming back from the back/forward cache (value: persisted),
// going online, another tab releasing a lease (value: the storage key), hidden or shown (value:
// hidden). Returns why it cannot, if it cannot.
export function listenLifecycle(handler) {
  try {
    addEventListener('pagehide', () => handler(1));
    addEventListener('pageshow', (event) => handler(2, event.persisted === true));
    addEventListener('online', () => handler(3));
    addEventListener('storage', (event) => event.key && event.newValue == null && handler(4, event.key));
    document.addEventListener('visibilitychange', () => handler(5, document.hidden));
  } catch (err) {
    return String((err && err.message) || err);
  }
}


// Route changes of a single-page app (`history.pushState`/`replaceState`, after the page's own
// call, whose result and exceptions stay its own; `popstate`), and every click in the document,
// capture phase so that a page that stops propagation still counts and it runs before a link
// navigates (value: the clicked element; a click on text inside a link targets the text node).
// Returns why it cannot, if it cannot (for the one console line).
export function watchPage(handler) {
  for (const name of ['pushState', 'replaceState']) {
    const original = history[name];
    if (typeof original != 'function') return 'history.' + name + ' is not a function';
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
}

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
export function announce(experiment, variant, visitor, url) {
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
}

// `splitbeam.on('exposure', callback)`: also replays the exposures that already happened.
export function on(name, listener) {
  if (name != 'exposure') return complain('on(): unknown event "' + name + '" (only "exposure")');
  listeners.push(listener);
  seen.slice().forEach((event) => tell(listener, event));
}

// ---- deciding and changing later views (src/redecide.rs, src/page_changes.rs)

// Asks the first-paint module again, through the loader's `decide` (www/first.js `redecide`):
// `sticky` is the JSON of the rows flat, `[experiment, variant, fingerprint, …]`. The answer's
// bytes, or undefined when it could not answer.
export function decide(decider, visitor, newVisitor, forced, custom, sticky) {
  try {
    return decider(visitor, newVisitor, forced, custom, JSON.parse(sticky)) || undefined;
  } catch (_) {}
}

// Makes `list` (the JSON of `[[experiment, variant, [change, …]], …]`) the variants on the page,
// through the loader's applier (www/changes.js): one line per variant it reverted, or undefined
// without the applier (a page that loaded the whole snippet on its own).
export function setVariants(list) {
  try {
    return window.splitbeamChanges
      .set(JSON.parse(list))
      .map(([experiment, variant]) => experiment + ': reverted ' + variant)
      .join('\n');
  } catch (_) {}
}
