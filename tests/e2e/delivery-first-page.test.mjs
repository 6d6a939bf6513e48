// A beacon's `true` only means "queued by the browser". On a visitor's first page nothing has told
// us yet that the collector answers, so events that left only by beacon must be sent again by the
// next page; once the collector has answered, a beacon is trusted and not sent twice.
// Run: bash scripts/build.sh && node --test tests/e2e/delivery-first-page.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage } from './lib/snippet-browser.mjs';
import { startCollector, duplicateIds, eventually } from './lib/delivery-collector.mjs';
import { startPages, started } from './lib/delivery-server.mjs';
import { probeSends, recordedSends } from './lib/delivery-probe.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sorted = (ids) => [...new Set(ids)].sort();

/** A first-time visitor on index.html: a page view, an exposure, 3 purchases and a click goal. */
async function visitAndTrack(page, pagesUrl) {
  await page.goto(pagesUrl + '/index.html');
  await started(page);
  await page.evaluate(() => {
    for (let i = 0; i < 3; i++) splitbeam.track('purchase', { value: i });
  });
  await page.click('#stay');
}

/** A collector (`options` as startCollector's), the fixture pages and a fresh visitor's page whose
 * sends are recorded; `run` gets them, and everything is closed afterwards. */
async function withVisitor(options, run) {
  const collector = await startCollector(options);
  const pages = await startPages(collector.url);
  const { page, ctx } = await openPage(browser);
  try {
    await probeSends(page);
    await run({ collector, pages, page });
  } finally {
    await ctx.close();
    await pages.close();
    await collector.close();
  }
}

/** index.html, flushed, and its 2xx read by the page: the collector is known to answer. */
async function confirmedOnIndex(page, pagesUrl, collector) {
  await page.goto(pagesUrl + '/index.html');
  await started(page);
  await page.evaluate(() => splitbeam.flush());
  await eventually(() => collector.events().some((e) => e.type === 'pageview'), 5000);
  // The 2xx is read by the page, not only received by the collector: it remembers it for the site.
  const confirmed = () => page.evaluate(() => localStorage.getItem('splitbeam.confirmed'));
  assert.ok(await eventually(confirmed, 5000), 'the page never recorded the 2xx');
}

/** The ids index.html handed over, and how: every send of that page must be a queued beacon. */
async function firstPageBeacons(page) {
  const sends = (await recordedSends(page)).filter((s) => s.page === '/index.html');
  const fetched = sends.filter((s) => s.transport === 'fetch');
  assert.deepEqual(fetched, [], 'the first page sent by fetch: it stayed past the 2 s batch timer, so this test did not exercise the beacon path');
  assert.ok(sends.length > 0, 'the first page sent no beacon when it went away');
  assert.ok(sends.every((s) => s.queued), 'sendBeacon refused a batch (then a fetch, not trust, is the question)');
  return sorted(sends.flatMap((s) => s.ids));
}

test('first page, collector down, left within 2 s: the events that left only by beacon arrive from the next page', async () => {
  await withVisitor({ down: true }, async ({ collector, pages, page }) => {
    await visitAndTrack(page, pages.url);
    // Another site: the page hides, its events go by beacon to a port where nothing listens.
    await page.goto('about:blank');
    await collector.up();
    await page.goto(pages.url + '/next.html');
    await started(page);
    const tracked = await firstPageBeacons(page);
    assert.equal(tracked.length, 6, `page view, exposure, 3 purchases and add_to_cart: ${tracked}`);
    const arrived = () => sorted(collector.events().filter((e) => e.status < 300 && e.url === '/index.html').map((e) => e.id));
    await eventually(() => arrived().length >= tracked.length, 15000);
    assert.deepEqual(arrived(), tracked, 'the first page\'s events at the collector are not the ones it tracked');
    const types = collector.events().filter((e) => e.url === '/index.html').map((e) => e.goal || e.type).sort();
    assert.deepEqual(types, ['add_to_cart', 'exposure', 'pageview', 'purchase', 'purchase', 'purchase']);
    const resent = (await recordedSends(page)).filter((s) => s.page === '/next.html' && s.transport === 'fetch').flatMap((s) => s.ids);
    assert.deepEqual(sorted(resent.filter((id) => tracked.includes(id))), tracked, 'the second page did not resend them by fetch');
  });
});

test('after the collector answered a fetch, a beacon on leaving is trusted: the next page sends nothing again', async () => {
  await withVisitor({}, async ({ collector, pages, page }) => {
    await confirmedOnIndex(page, pages.url, collector);
    await page.evaluate(() => {
      for (let i = 0; i < 3; i++) splitbeam.track('purchase', { value: i });
    });
    await page.goto('about:blank');
    await page.goto(pages.url + '/next.html');
    await started(page);
    await eventually(() => collector.events().filter((e) => e.goal === 'purchase').length >= 3, 5000);
    await sleep(2500); // past the next page's 2 s batch timer: a resend would have left by now
    const beaconed = (await recordedSends(page)).filter((s) => s.page === '/index.html' && s.transport === 'beacon').flatMap((s) => s.ids);
    assert.equal(beaconed.length, 3, 'the purchases left by beacon');
    const sentAgain = (await recordedSends(page)).filter((s) => s.page === '/next.html').flatMap((s) => s.ids).filter((id) => beaconed.includes(id));
    assert.deepEqual(sentAgain, [], 'a trusted beacon\'s events were sent again');
    assert.deepEqual(duplicateIds(collector.events()), []);
  });
});

test('a 2xx on the previous page keeps a beacon trusted on the next, short page: nothing is sent twice', async () => {
  await withVisitor({}, async ({ collector, pages, page }) => {
    // Page 1 confirms the collector answers, and its outbox empties (no snapshot is left behind).
    await confirmedOnIndex(page, pages.url, collector);
    // Page 2 lives well under the 2 s batch timer: its purchases leave only by beacon.
    await page.goto(pages.url + '/next.html');
    await started(page);
    await page.evaluate(() => {
      for (let i = 0; i < 3; i++) splitbeam.track('purchase', { value: i });
    });
    await page.goto(pages.url + '/index.html');
    await started(page);
    await eventually(() => collector.events().filter((e) => e.goal === 'purchase').length >= 3, 5000);
    await sleep(2500); // past page 3's batch timer: a resend would have left by now
    const sends = await recordedSends(page);
    const beaconed = sends.filter((s) => s.page === '/next.html' && s.transport === 'beacon').flatMap((s) => s.ids);
    assert.ok(beaconed.length >= 3, `page 2 left by beacon (${beaconed.length} ids)`);
    const page3 = sends.slice(sends.findLastIndex((s) => s.page === '/next.html') + 1);
    const sentAgain = page3.flatMap((s) => s.ids).filter((id) => beaconed.includes(id));
    assert.deepEqual(sentAgain, [], 'page 2 came seconds after a 2xx, yet its beacon was not trusted');
  });
});

test('a failed fetch withdraws the site-wide confirmation: the next page does not trust its beacon on old news', async () => {
  let failing = false;
  await withVisitor({ answer: () => (failing ? { status: 503 } : { status: 204 }) }, async ({ collector, pages, page }) => {
    await confirmedOnIndex(page, pages.url, collector);
    failing = true;
    await page.evaluate(() => {
      splitbeam.track('purchase', { value: 1 });
      splitbeam.flush();
    });
    await eventually(() => collector.batches.some((b) => b.status === 503), 5000);
    const withdrawn = async () => (await page.evaluate(() => localStorage.getItem('splitbeam.confirmed'))) === null;
    assert.ok(await eventually(withdrawn, 5000), 'the 503 did not withdraw the confirmation');
  });
});
