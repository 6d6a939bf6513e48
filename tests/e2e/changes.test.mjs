// The page's changes (www/changes.js): the loader applies what the first-paint module decided, the
// whole snippet takes the same variants over without touching them and sets each route's variants
// through the same applier. Every change kind, its revert (the page exactly as it was), re-applying
// after the page overwrote a change, and the budget that keeps a page fighting back from hanging.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, openPage } from './lib/snippet-browser.mjs';
import { startCollector } from './lib/delivery-collector.mjs';
import { bakedLoader, inlineTag } from './lib/compile.mjs';
import { startFixturePages } from './lib/fixture-pages.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(root, 'tests/fixtures/changes');
const config = path.join(fixtures, 'experiments.json');
// The variant's changes as src/change_list.rs hands them to the loader.
const CHANGES = JSON.parse(fs.readFileSync(config, 'utf8')).experiments[0].variants[1].changes.map((change) => {
  const { move, ...rest } = change;
  const out = { ...rest, ...(change.attr && { attr: Object.entries(change.attr) }) };
  if (move) out.move = Object.entries(move)[0];
  return out;
});

const startPages = (collectorUrl) =>
  startFixturePages((p) => {
    if (p === '/splitbeam.js') return ['text/javascript', bakedLoader(config)];
    if (p === '/changes.js') return ['text/javascript', fs.readFileSync(path.join(root, 'www/changes.js'))];
    if (p === '/index.html') return ['text/html', fs.readFileSync(path.join(fixtures, 'index.html'), 'utf8').replace('__TAG__', () => inlineTag(config, '/splitbeam.js', { collector: collectorUrl }))];
    if (p === '/module.html') return ['text/html', fs.readFileSync(path.join(fixtures, 'module.html'))];
  });

let browser;
let collector;
let pages;
before(async () => {
  browser = await launch();
  collector = await startCollector();
  pages = await startPages(collector.url);
});
after(async () => {
  await browser?.close();
  await pages?.close();
  await collector?.close();
});

/** The page as the changes leave it: the box's markup and the page CSS the variant added. */
const snapshot = (page) =>
  page.evaluate(() => ({
    box: document.querySelector('#box').innerHTML,
    css: Array.from(document.querySelectorAll('style[data-splitbeam]')).map((s) => s.getAttribute('data-splitbeam') + ' ' + s.textContent),
  }));
const settled = (page) => page.waitForFunction(() => document.querySelectorAll('.tile').length === 2 && Array.from(document.querySelectorAll('.tile')).every((t) => t.textContent === 'Tile'), null, { timeout: 10000 });

/** Runs `check(page)` on the page that loads www/changes.js as a module (window.applier), then
 * asserts nothing was thrown into the page. */
async function onModulePage(check) {
  const { page, ctx, seen } = await openPage(browser);
  try {
    await page.goto(pages.url + '/module.html');
    await page.waitForFunction(() => window.ready === true);
    await check(page);
    assert.deepEqual(seen.uncaught, []);
  } finally {
    await ctx.close();
  }
}

test('every change kind from the first paint, and the whole snippet takes the page over without touching it', async () => {
  const firstOnly = await openPage(browser);
  const whole = await openPage(browser);
  try {
    // The whole snippet never arrives: what is on the page is the first paint's alone.
    await firstOnly.page.route('**/splitbeam_full.*.js', (route) => route.fulfill({ status: 404, body: 'gone' }));
    await firstOnly.page.goto(pages.url + '/index.html');
    await settled(firstOnly.page);
    const byLoader = await snapshot(firstOnly.page);

    // The whole snippet's wasm is held until the first paint's changes are on the page and watched.
    let letThrough;
    const held = new Promise((resolve) => (letThrough = resolve));
    await whole.page.route('**/splitbeam_bg.*.wasm', async (route) => {
      await held;
      await route.continue();
    });
    await whole.page.goto(pages.url + '/index.html');
    await settled(whole.page);
    await whole.page.evaluate(() => {
      window.touched = 0;
      new MutationObserver((records) => (window.touched += records.length)).observe(document.querySelector('#box'), { childList: true, subtree: true, attributes: true, characterData: true });
    });
    letThrough();
    await whole.page.waitForFunction(() => typeof window.splitbeam.flush === 'function' && window.splitbeamFull, null, { timeout: 10000 });
    const byWholeSnippet = await snapshot(whole.page);
    // Nothing reverted and applied again at the takeover.
    assert.equal(await whole.page.evaluate(() => window.touched), 0);

    // What every change kind did, so that an applier doing nothing cannot pass by matching another.
    assert.match(byLoader.box, /<h1 id="title">Free shipping on every order<\/h1>/);
    assert.match(byLoader.box, /<p id="intro"><em>New<\/em> season, <b>new<\/b> roasts<\/p>/);
    assert.match(byLoader.box, /<a id="cta" class="cta cta--big" title="Buy now" href="#" data-variant="changed">/);
    assert.match(byLoader.box, /<p id="price" style="color: blue;\s*font-weight: bold;?">/);
    assert.doesNotMatch(byLoader.box, /banner/);
    assert.match(byLoader.box, /<span id="anchor">A<\/span><span id="badge">New<\/span>/);
    assert.deepEqual(byLoader.css, ['every-kind #box { outline: 1px solid red }']);
    assert.deepEqual(byLoader, byWholeSnippet);
    assert.equal(firstOnly.seen.splitbeamErrors.length, 1, JSON.stringify(firstOnly.seen.splitbeamErrors));
    assert.deepEqual(whole.seen.splitbeamErrors, []);
    assert.deepEqual([...firstOnly.seen.uncaught, ...whole.seen.uncaught], []);
  } finally {
    await firstOnly.ctx.close();
    await whole.ctx.close();
  }
});

test('reverting a variant leaves the page exactly as it was, including what the page changed meanwhile', () =>
  onModulePage(async (page) => {
    const original = await snapshot(page);
    assert.deepEqual(await page.evaluate((changes) => window.applier.setVariants([['every-kind', 'changed', changes]]), CHANGES), []);
    assert.equal(await page.evaluate(() => window.applier.variantOf('every-kind')), 'changed');
    assert.equal(await page.evaluate(() => window.applier.variantOf('another')), null);
    const applied = await snapshot(page);
    assert.notDeepEqual(applied, original);
    // The page overwrites the changed title (a framework re-render): it gets the variant back.
    await page.evaluate(() => (document.querySelector('#title').textContent = 'Re-rendered'));
    await page.waitForFunction(() => document.querySelector('#title').textContent === 'Free shipping on every order', null, { timeout: 5000 });
    // Reverted (no variant wanted any more, as on another route): the title the page put there last
    // is the original now; everything else as before.
    assert.deepEqual(await page.evaluate(() => window.applier.setVariants([])), [['every-kind', 'changed']]);
    const released = await snapshot(page);
    assert.deepEqual(released, { ...original, box: original.box.replace('Old <b>title</b>', 'Re-rendered') });
    assert.equal(await page.evaluate(() => window.applier.variantOf('every-kind')), null);
    // No longer watched: a change by the page stays.
    await page.evaluate(() => (document.querySelector('#title').textContent = 'Page copy'));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await page.$eval('#title', (el) => el.textContent), 'Page copy');
  }));

test('a page that undoes a change whenever it sees it does not hang, and the variant ends on top', { timeout: 60000 }, () =>
  onModulePage(async (page) => {
    // The page's own observer puts its copy back each time the title changes, for 300 ms. Without
    // the applier's budget (3 re-applies per element per second) the two observers would take
    // turns forever in microtasks and the page would never run a task again.
    const resets = await page.evaluate(
      (changes) =>
        new Promise((resolve) => {
          let resets = 0;
          const title = document.querySelector('#title');
          const own = new MutationObserver(() => {
            if (title.textContent !== 'Page copy') {
              resets++;
              title.textContent = 'Page copy';
            }
          });
          own.observe(title, { childList: true, characterData: true, subtree: true });
          window.applier.setVariants([['every-kind', 'changed', changes]]);
          setTimeout(() => (own.disconnect(), resolve(resets)), 300);
        }),
      CHANGES,
    );
    assert.ok(resets >= 1 && resets <= 10, `the page undid the change ${resets} times in 300 ms`);
    // Once the page stops, the throttled element is retried and shows the variant.
    await page.waitForFunction(() => document.querySelector('#title').textContent === 'Free shipping on every order', null, { timeout: 5000 });
  }));

test('setting the variants of another route keeps the ones still wanted as they are and reverts the rest', () =>
  onModulePage(async (page) => {
    const title = [{ selector: '#title', text: 'Title variant' }];
    const intro = [{ selector: '#intro', text: 'Intro variant' }];
    await page.evaluate((title) => window.applier.setVariants([['title', 'b', title]]), title);
    const titleNode = await page.evaluateHandle(() => document.querySelector('#title').firstChild);
    const reverted = await page.evaluate(([title, intro]) => window.applier.setVariants([['title', 'b', title], ['intro', 'b', intro]]), [title, intro]);
    assert.deepEqual(reverted, []);
    assert.deepEqual(await page.evaluate(() => [document.querySelector('#title').textContent, document.querySelector('#intro').textContent]), ['Title variant', 'Intro variant']);
    // The title kept was not applied again: the very same text node is there.
    assert.equal(await page.evaluate((node) => document.querySelector('#title').firstChild === node, titleNode), true);
    // Another variant of the same experiment replaces it.
    const switched = await page.evaluate((intro) => window.applier.setVariants([['intro', 'c', [{ selector: '#intro', text: 'Intro c' }]]]), intro);
    assert.deepEqual(switched, [['title', 'b'], ['intro', 'b']]);
    assert.deepEqual(await page.evaluate(() => [document.querySelector('#title').innerHTML, document.querySelector('#intro').textContent]), ['Old <b>title</b>', 'Intro c']);
  }));

test('a change the DOM refuses (an attribute name the browser rejects) costs only itself, and throws nothing into the page', () =>
  onModulePage(async (page) => {
    const changes = [
      { selector: '#cta', attr: [['bad name', 'x'], ['title', 'Buy now']] },
      { selector: '#badge', move: ['before', 'html'] },
      { selector: '#title', text: 'Still applied' },
    ];
    const thrown = await page.evaluate((changes) => {
      try {
        window.applier.setVariants([['refused', 'b', changes]]);
        return null;
      } catch (err) {
        return String(err);
      }
    }, changes);
    assert.equal(thrown, null);
    assert.deepEqual(await page.evaluate(() => [document.querySelector('#title').textContent, document.querySelector('#cta').title, document.querySelector('#badge').parentElement.id]), ['Still applied', 'Buy now', 'box']);
    // Reverting takes back what was applied and skips what never was.
    await page.evaluate(() => window.applier.setVariants([]));
    assert.deepEqual(await page.evaluate(() => [document.querySelector('#title').innerHTML, document.querySelector('#cta').title]), ['Old <b>title</b>', 'Buy']);
  }));
