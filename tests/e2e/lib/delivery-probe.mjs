// Records every batch the snippet hands to sendBeacon or fetch, in the page's sessionStorage:
// Playwright reports no request for a beacon sent while the page unloads, and sessionStorage
// outlives the page, so the next page of the same site (same tab) can read what left before.
const KEY = 'splitbeam-test.sends';

/**
 * Wraps `navigator.sendBeacon` and `window.fetch` on every page `page` loads from now on. Each
 * call to the collector is kept as `{ transport: 'beacon' | 'fetch', queued, page, ids }`:
 * `queued` is sendBeacon's return value (always true for fetch), `page` the sending page's path.
 */
export async function probeSends(page) {
  await page.addInitScript((key) => {
    const record = (transport, queued, body) => {
      let ids = [];
      try {
        ids = JSON.parse(body).events.map((e) => e.id);
      } catch { /* not a batch: recorded without ids */ }
      const sends = JSON.parse(sessionStorage.getItem(key) || '[]');
      sends.push({ transport, queued, page: location.pathname, ids });
      sessionStorage.setItem(key, JSON.stringify(sends));
    };
    const beacon = navigator.sendBeacon.bind(navigator);
    navigator.sendBeacon = (url, body) => {
      const queued = beacon(url, body);
      record('beacon', queued, body);
      return queued;
    };
    const fetch = window.fetch.bind(window);
    window.fetch = (url, init) => {
      if (init && typeof init.body === 'string') record('fetch', true, init.body);
      return fetch(url, init);
    };
  }, KEY);
}

/** What `probeSends` recorded in this tab, for the origin `page` is on now. */
export const recordedSends = (page) => page.evaluate((key) => JSON.parse(sessionStorage.getItem(key) || '[]'), KEY);
