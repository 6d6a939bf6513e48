// Audiences decided by the whole snippet (after the reveal): the loader of a config with an
// audience names the whole snippet built with the condition engine, the loader of a config without
// one the smaller build without it (scripts/build.sh builds both, as for the first-paint module).
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

/** The whole snippet's wasm a baked loader names. */
const wholeModule = (loader) => /splitbeam_bg\.[0-9a-f]{16}\.wasm/.exec(loader)?.[0];

test('an audience the page meets after the takeover (splitbeam.attributes) gets its variant from the whole snippet', async () => {
  const { page, ctx, seen } = await openPage(browser);
  await page.goto(pages.url + '/index.html');
  await page.waitForFunction(() => window.splitbeamFull && window.splitbeamFull.started, null, { timeout: 10000 });
  assert.equal(await textOf(page, '#banner'), ORIGINAL, 'not in the audience yet');
  await page.evaluate(() => window.splitbeam.attributes({ plan: 'pro' }));
  await page.waitForFunction((t) => document.querySelector('#banner').textContent === t, PRO, { timeout: 10000 });
  const exposed = await page.evaluate(() => (window.dataLayer || []).map((e) => e.experiment_id));
  assert.deepEqual(exposed, ['pro-banner']);
  assert.deepEqual(seen.uncaught, []);
  assert.deepEqual(seen.splitbeamErrors, []);
  await ctx.close();
});

test('a config without audiences names the smaller whole snippet, built without the condition engine', () => {
  const withEngine = wholeModule(bakedLoader(config));
  const without = wholeModule(bakedLoader(withoutAudiences));
  assert.ok(withEngine && without, 'both loaders name a whole snippet');
  assert.notEqual(without, withEngine);
  const size = (name) => fs.statSync(path.join(root, 'dist', name)).size;
  assert.ok(size(without) < size(withEngine), `${without} (${size(without)} B) < ${withEngine} (${size(withEngine)} B)`);
});
