// Real collectors that are not ours, on 127.0.0.1 on another port (origin) than the shop unless
// said otherwise: the README's nginx, Node and Python recipes (tests/e2e/collectors/) and endpoints
// with odd answers. For each, one two-page visit: every event arrives; each at most twice where the
// answers are unreadable (no CORS headers), once per id where readable; the page logs nothing of
// its own but the one documented warning (unreadable only); nothing stays queued in localStorage.
// Bounded: each visit waits at most 60 s (the slow collector 90 s). Run:
// node --test --test-concurrency=1 tests/e2e/any-collector.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './lib/snippet-browser.mjs';
import { startPages } from './lib/delivery-server.mjs';
import fs from 'node:fs';
import path from 'node:path';
import { startNginx, startScript, recipes } from './lib/any-collector-run.mjs';
import { startEdge } from './lib/any-collector-edge.mjs';
import { visit } from './lib/any-collector-visit.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const measured = [];
after(() => {
  // What each kind of collector got, for the README's table.
  console.log(JSON.stringify(measured, null, 1));
});

/** `start()` gives a collector; `readable` says whether the page may read its answers. */
function collectorTest(name, start, { readable, sameOrigin = false, deadlineMs = 60000, quickLeave = false, corsErrors = false, maxSends = readable ? 1 : 2, check } = {}) {
  test(name, { timeout: deadlineMs + 60000 }, async () => {
    const collector = await start();
    const pages = sameOrigin ? null : await startPages(collector.url);
    try {
      const shop = sameOrigin ? collector.origin : pages.url;
      const r = await visit(browser, collector, shop, { deadlineMs, quickLeave });
      measured.push({ name, maxSends: r.maxSends, totalSends: r.totalSends, distinct: r.distinct, warnings: r.warnings.length, networkLines: r.networkLines.map((l) => `${l.page}:${l.text.slice(0, 150)}`) });
      const arrived = JSON.stringify(r.events.map((e) => `${e.type}:${e.goal || e.url}:${e.value ?? ''}`));
      assert.ok(r.complete, `not every event arrived (once each by id): ${arrived}`);
      assert.deepEqual(r.queued, [], 'events left queued in localStorage');
      assert.deepEqual(r.pageErrors, [], 'the page logged something of its own');
      if (readable) {
        assert.ok(r.maxSends <= maxSends, `an event arrived ${r.maxSends} times at a readable collector: ${arrived}`);
        assert.deepEqual(r.warnings, []);
        if (!corsErrors) assert.deepEqual(r.networkLines.filter((l) => /CORS/.test(l.text)), []);
      } else {
        assert.ok(r.maxSends <= maxSends, `an event arrived ${r.maxSends} times`);
        // One warning, on the page that found out; the next page remembers and says it once too.
        assert.ok(r.warnings.length >= 1 && r.warnings.length <= 2, JSON.stringify(r.warnings));
        assert.equal(new Set(r.warnings.map((w) => w.page)).size, r.warnings.length, 'more than one warning on a page');
        assert.match(r.warnings[0].text, /Access-Control-Allow-Origin: http:\/\/127\.0\.0\.1:\d+".*Access-Control-Expose-Headers: Retry-After/);
        // The browser's CORS errors come only from readable fetches until the page that found out:
        // later pages remember it and send no-cors from the start.
        assert.ok(r.networkLines.filter((l) => /CORS/.test(l.text)).every((l) => l.page <= r.warnings[0].page), JSON.stringify(r.networkLines));
      }
      await check?.(r, collector);
    } finally {
      await pages?.close();
      await collector.close();
    }
  });
}

test("the README's recipes are these files, verbatim", () => {
  const readme = fs.readFileSync(path.join(recipes, '../../../README.md'), 'utf8');
  for (const file of fs.readdirSync(recipes)) {
    assert.ok(readme.includes(fs.readFileSync(path.join(recipes, file), 'utf8')), `README lacks ${file} verbatim`);
  }
});

collectorTest('nginx logging bodies, no CORS headers: fire-and-forget, each event at most twice, one warning', () => startNginx('nginx.conf'), { readable: false });
collectorTest('nginx, no CORS headers, first page left within 2 s (its events go by an untrusted beacon): each at most twice', () => startNginx('nginx.conf'), {
  readable: false,
  quickLeave: true,
  check: (r) => assert.ok(r.maxSends === 2, `expected the beacon's events to go twice (beacon, then a fetch), got ${r.maxSends}`),
});
collectorTest('nginx logging bodies, with Access-Control-Allow-Origin: confirmed, each event once', () => startNginx('nginx-cors.conf'), { readable: true });
collectorTest('minimal Node http endpoint (Access-Control-Allow-Origin: *): confirmed, each event once', () => startScript('node'), { readable: true });
collectorTest('minimal Python http.server endpoint, no CORS headers: fire-and-forget, at most twice', () => startScript('python'), { readable: false });
collectorTest('201 answers: confirmed', () => startEdge({ status: 201 }), { readable: true });
collectorTest('202 answers: confirmed', () => startEdge({ status: 202 }), { readable: true });
collectorTest('204 answers without CORS headers: fire-and-forget', () => startEdge({ status: 204, cors: false }), { readable: false });
collectorTest('307 redirect to another path: followed, confirmed', () => startEdge({ redirect: true }), {
  readable: true,
  check: (r) => assert.ok(r.bodies.some((b) => b.refused === 307)),
});
collectorTest('200 with an HTML error page, no CORS headers: fire-and-forget', () => startEdge({ html: true, cors: false }), { readable: false });
collectorTest('200 with an HTML error page, with CORS headers: a 2xx, confirmed', () => startEdge({ html: true }), { readable: true });
collectorTest('413 above 1,000 bytes: batches are split until they fit, none dropped', () => startEdge({ maxBytes: 1000 }), {
  readable: true,
  check: (r) => assert.ok(r.bodies.some((b) => b.refused === 413), 'no batch was large enough to be refused'),
});
collectorTest('CORS headers on 2xx only, one 503 without them after a 2xx: retried, not presumed stored', () => startEdge({ errorNth: 1 }), {
  readable: true,
  corsErrors: true, // the browser's, for the 503 without headers
  check: (r) => assert.ok(r.bodies.some((b) => b.refused === 503)),
});
collectorTest('same origin as the shop (no CORS needed): confirmed', () => startEdge({ cors: false, pages: true }), { readable: true, sameOrigin: true });
collectorTest('first answer slower than the 30 s in-flight limit: resent (twice), once each by id', () => startEdge({ slowFirstMs: 35000 }), {
  readable: true,
  maxSends: 2,
  deadlineMs: 90000,
});
