// Audiences after the reveal: the whole snippet has no decision engine of its own. Every later
// decision (new attributes, an SPA route) is the first-paint module's, on a fresh instance of it
// (src/redecide.rs, www/first.js `redecide`), so the loaders of configs with and without audiences
// name the same whole snippet.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, openPage, textOf } from './lib/snippet-browser.mjs';
import { startCollector } from './lib/delivery-collector.mjs';
import { bakedLoader, inlineTag } from './lib/compile.mjs';
import { startFixturePages } from './lib/fixture-pages.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(root, 'tests/fixtures/audience');
const config = path.join(fixtures, 'experiments.json');
const withoutAudiences = path.join(root, 'tests/fixtures/snippet/experiments.json');
const ORIGINAL = 'Sale ends soon';
const PRO = 'Pro customers: free express shipping';

let browser, collector, pages;
before(async () => {
  browser = await launch();
  collector = await startCollector();
  pages = await startFixturePages((p) => {
    if (p === '/splitbeam.js') return ['text/javascript', bakedLoader(config)];
    if (p === '/index.html') {
      const tag = inlineTag(config, '/splitbeam.js', { collector: collector.url });
      return ['text/html', fs.readFileSync(path.join(fixtures, 'index.html'), 'utf8').replace('__TAG__', () => tag)];
    }
  });
});
after(async () => {
  await browser?.close();
  await pages?.close();
  await collector?.close();
});

/** A first visit to the fixture page, once the whole snippet has taken over. */
async function takenOver() {
  const opened = await openPage(browser);
  await opened.page.goto(pages.url + '/index.html');
  await opened.page.waitForFunction(() => window.splitbeamFull && window.splitbeamFull.started, null, { timeout: 10000 });
  return opened;
}

/** The page exposed the visitor to `pro-banner` once and logged no problem; then it is closed. */
async function exposedOnceAndClean({ page, ctx, seen }) {
  const exposed = await page.evaluate(() => (window.dataLayer || []).map((e) => e.experiment_id));
  assert.deepEqual(exposed, ['pro-banner']);
  assert.deepEqual(seen.uncaught, []);
  assert.deepEqual(seen.splitbeamErrors, []);
  await ctx.close();
}

/** The whole snippet's wasm a baked loader names. */
const wholeModule = (loader) => /splitbeam_bg\.[0-9a-f]{16}\.wasm/.exec(loader)?.[0];

test('an audience the page meets after the takeover (splitbeam.attributes) gets its variant from the whole snippet', async () => {
  const { page, ctx, seen } = await takenOver();
  assert.equal(await textOf(page, '#banner'), ORIGINAL, 'not in the audience yet');
  await page.evaluate(() => window.splitbeam.attributes({ plan: 'pro' }));
  await page.waitForFunction((t) => document.querySelector('#banner').textContent === t, PRO, { timeout: 10000 });
  await exposedOnceAndClean({ page, ctx, seen });
});

test('300 later decisions in one page, each on a fresh instance of the first-paint module; an assignment then sticks', async () => {
  const { page, ctx, seen } = await takenOver();
  await page.evaluate(() => {
    for (let i = 0; i < 300; i++) window.splitbeam.attributes({ plan: 'free', visit: i });
  });
  assert.equal(await textOf(page, '#banner'), ORIGINAL, 'outside the audience 300 times');
  await page.evaluate(() => window.splitbeam.attributes({ plan: 'pro' }));
  assert.equal(await textOf(page, '#banner'), PRO);
  // Bucketed once, the visitor keeps the variant (the sticky row the whole snippet holds goes with
  // every later decision), as GrowthBook's sticky bucketing does.
  await page.evaluate(() => window.splitbeam.attributes({ plan: 'free' }));
  assert.equal(await textOf(page, '#banner'), PRO);
  await exposedOnceAndClean({ page, ctx, seen });
});

test('both loaders name one whole snippet, which asks the first-paint module for every later decision', async () => {
  const withAudiences = wholeModule(bakedLoader(config));
  assert.ok(withAudiences, 'the loader names a whole snippet');
  assert.equal(wholeModule(bakedLoader(withoutAudiences)), withAudiences);

  // Without a fresh instance of the first-paint module, the whole snippet cannot decide the new
  // attributes: the page keeps what it shows, with one console line.
  const { page, ctx, seen } = await takenOver();
  await page.evaluate(() => {
    WebAssembly.Instance = function () {
      throw new Error('no instance in this test');
    };
  });
  await page.evaluate(() => window.splitbeam.attributes({ plan: 'pro' }));
  // Console messages reach the test asynchronously: wait for the line (5 s at most).
  for (let i = 0; i < 50 && !seen.splitbeamErrors.length; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await textOf(page, '#banner'), ORIGINAL);
  assert.equal(seen.splitbeamErrors.length, 1, seen.splitbeamErrors.join('\n'));
  assert.match(seen.splitbeamErrors[0], /cannot decide this view/);
  assert.deepEqual(seen.uncaught, []);
  await ctx.close();
});
