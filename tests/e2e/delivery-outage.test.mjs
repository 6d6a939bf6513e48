// The collector refuses connections for the first 30 s (nothing listens on its port), then comes
// up: every event of the visit arrives, none twice (by id), across a page load in between.
// Bounded: the outage is 30 s (SPLITBEAM_OUTAGE_MS to change it), the wait after it 120 s at most
// (the backoff ceiling after ~30 s of failures is 64 s). Run: node --test tests/e2e/delivery-outage.test.mjs
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, openPage } from './lib/snippet-browser.mjs';
import { startCollector, duplicateIds, eventually } from './lib/delivery-collector.mjs';
import { startPages, started, storedFailures } from './lib/delivery-server.mjs';

const OUTAGE_MS = Number(process.env.SPLITBEAM_OUTAGE_MS) || 30000;
let browser;
after(async () => {
  await browser?.close();
});

test(`collector refusing connections for ${OUTAGE_MS / 1000} s, then up: every event arrives, none twice`, { timeout: OUTAGE_MS + 150000 }, async () => {
  browser = await launch();
  const collector = await startCollector({ down: true });
  const pages = await startPages(collector.url);
  const { page, ctx } = await openPage(browser);
  try {
    const outageEnds = Date.now() + OUTAGE_MS;
    await page.goto(pages.url + '/index.html');
    await started(page);
    await page.evaluate(() => {
      for (let i = 0; i < 5; i++) splitbeam.track('purchase', { value: i });
    });
    assert.ok(await eventually(async () => (await storedFailures(page)) >= 1, 10000), 'no failed attempt while the collector was down');
    // Leave while the collector is down: the next page load must resend what this one could not.
    await Promise.all([page.waitForURL('**/next.html'), page.click('#leave')]);
    await started(page);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, outageEnds - Date.now())));
    assert.equal(collector.batches.length, 0);
    await collector.up();
    const expected = (events) =>
      events.filter((e) => e.type === 'goal' && e.goal === 'purchase').length >= 5 &&
      events.filter((e) => e.type === 'goal' && e.goal === 'add_to_cart').length >= 1 &&
      events.filter((e) => e.type === 'pageview').length >= 2 &&
      events.filter((e) => e.type === 'exposure').length >= 1;
    assert.ok(await eventually(() => expected(collector.events()), 120000, 250), `not everything arrived: ${JSON.stringify(collector.events().map((e) => e.type + ':' + (e.goal || e.url)))}`);
    await new Promise((resolve) => setTimeout(resolve, 3000)); // a duplicate would have arrived by now
    const events = collector.events();
    assert.deepEqual(duplicateIds(events), []);
    assert.deepEqual(events.filter((e) => e.goal === 'purchase').map((e) => e.value).sort(), [0, 1, 2, 3, 4]);
    assert.deepEqual(events.filter((e) => e.type === 'pageview').map((e) => e.url).sort(), ['/index.html', '/next.html']);
  } finally {
    await ctx.close();
    await pages.close();
    await collector.close();
  }
});
