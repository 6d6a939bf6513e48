// The two ways a batch of the whole snippet leaves the page (src/transport.rs is the Rust side):
// `navigator.sendBeacon`, which survives the page going away, and `fetch` with `keepalive`, which
// tells the status and Retry-After. Bodies go as strings, so text/plain: no CORS preflight. Here in
// JavaScript, not through web-sys, because each of those page calls costs the wasm far more bytes
// than the line it takes here (README, "Why the snippet has this shape").

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
