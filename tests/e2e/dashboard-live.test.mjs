// The dashboard is pushed to: against the real collector, an event posted while an experiment's
// page is open shows on it without a reload and without polling (the page follows /api/live), and
// the charts over time are drawn from the stored events.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector } from './lib/dashboard-collector.mjs';
import { launch, shopperAgent } from './lib/snippet-browser.mjs';

let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

/** Posts one batch to the collector as a shopper's browser would (a browser's User-Agent: not a bot). */
async function post(origin, events) {
  const response = await fetch(`${origin}/collect`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', 'user-agent': shopperAgent(browser) },
    body: JSON.stringify({ v: 1, sent_at: Date.now(), events }),
  });
  assert.equal(response.status, 200, await response.text());
}

function exposure(visitor, variant, ts) {
  return {
    id: `x-${visitor}-0123456789abcdef`, type: 'exposure', ts, visitor, session: `s-${visitor}`,
    experiment: 'hero-headline', variant, url: '/shop/',
  };
}

function purchase(visitor, ts, value) {
  return {
    id: `p-${visitor}-0123456789abcdef`, type: 'goal', goal: 'purchase', value, ts, visitor, session: `s-${visitor}`,
    url: '/shop/thank-you.html', experiments: { 'hero-headline': 'free-shipping' }, props: {},
  };
}

test('an event posted while the page is open appears on it, pushed, without a reload', async () => {
  const collector = await startCollector();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
    await collector.signIn(page, '/experiments/hero-headline');
    const visitors = page.locator('table.results-table[data-goal="purchase"] tr[data-variant="free-shipping"] .visitors');
    await visitors.waitFor();
    assert.equal(await visitors.textContent(), '0');
    await page.waitForFunction(() => document.getElementById('live-status')?.textContent.startsWith('live'));
    const navigations = [];
    page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) navigations.push(frame.url()); });

    const now = Date.now();
    await post(collector.origin, [exposure('v-live-1', 'free-shipping', now)]);
    await page.waitForFunction(() => document.querySelector(
      'table.results-table[data-goal="purchase"] tr[data-variant="free-shipping"] .visitors')?.textContent === '1');

    await post(collector.origin, [exposure('v-live-2', 'control', now + 1), purchase('v-live-1', now + 2, 49.9)]);
    await page.waitForFunction(() => document.querySelector(
      'table.results-table[data-goal="purchase"] tr[data-variant="free-shipping"] .conversions')?.textContent === '1');
    assert.equal(await page.locator('table.results-table[data-goal="purchase"] tr[data-variant="control"] .visitors').textContent(), '1');
    assert.deepEqual(navigations, [], 'the page was not reloaded');
    assert.match(await page.locator('#live-status').textContent(), /^live/, 'the page stayed on the live feed, not polling');

    // The charts over time come from the same stored events: two variants, one visitor each today.
    await page.locator('#over-time .visitors-over-time .bar').nth(1).waitFor();
    assert.equal(await page.locator('#over-time .lift-over-time').count(), 3, 'one lift chart per goal of hero-headline');
    assert.match(await page.locator('#over-time .visitors-over-time').textContent(), /free-shipping: 1/);
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await collector.close();
  }
});
