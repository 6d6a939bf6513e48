// The snippet in real Chromium (issue 3, item 7): variants applied, sticky, forced, SPA routes,
// a page that fights back, and every failure leaving the page intact with one console line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/snippet-server.mjs';
import { launch, openPage, textOf, isVisible } from './lib/snippet-browser.mjs';

const VARIANT = 'Free shipping on every order';
const ORIGINAL = 'Welcome to the shop';
let server, brokenWasm, browser;

before(async () => {
  server = await startServer();
  brokenWasm = await startServer({ missingWasm: true });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
  await brokenWasm?.close();
});

/** Opens `path` in a new page (a new visitor unless `context` is given), up to its load event. */
async function load(path, context, base = server.url) {
  const opened = await openPage(browser, context);
  await opened.page.goto(base + path);
  return opened;
}

const waitForText = (page, selector, text) => page.waitForFunction(([s, t]) => document.querySelector(s)?.textContent === t, [selector, text], { timeout: 10000 });

test('the variant is applied: text, attribute and class', async () => {
  const { page, ctx, seen } = await load('/');
  await waitForText(page, '#hero h1', VARIANT);
  assert.equal(await page.$eval('.cta', (el) => el.getAttribute('data-variant')), 'b');
  assert.equal(await page.$eval('.cta', (el) => el.classList.contains('cta--big')), true);
  assert.equal(await isVisible(page, '#hero h1'), true);
  assert.deepEqual(seen.uncaught, []);
  assert.deepEqual(seen.splitbeamErrors, []);
  await ctx.close();
});

test('the inline tag from `splitbeam tag` hides, loads splitbeam.js async and applies the variant', async () => {
  const { page, ctx, seen } = await load('/tagged.html');
  await waitForText(page, '#hero h1', VARIANT);
  assert.equal(await page.evaluate(() => document.querySelector('script[src="/splitbeam.js"]').async), true);
  assert.equal(await isVisible(page, '#hero h1'), true);
  assert.deepEqual(seen.uncaught, []);
  assert.deepEqual(seen.splitbeamErrors, []);
  await ctx.close();
});

test('each exposure is pushed to window.dataLayer as experiment_viewed', async () => {
  const { page, ctx } = await load('/');
  await waitForText(page, '#hero h1', VARIANT);
  // The whole snippet pushes it once it has started, after the reveal's frame.
  await page.waitForFunction(() => (window.dataLayer || []).some((e) => e.event === 'experiment_viewed'), null, { timeout: 10000 });
  const pushed = await page.evaluate(() => window.dataLayer.filter((e) => e.event === 'experiment_viewed'));
  assert.ok(pushed.some((e) => e.experiment_id === 'hero' && e.variation_id === 'free-shipping'), JSON.stringify(pushed));
  assert.ok(!pushed.some((e) => e.experiment_id === 'qa'), 'a draft is never exposed');
  await ctx.close();
});

test('the same visitor sees the same variant after a reload', async () => {
  const context = await browser.newContext();
  const first = await load('/', context);
  await first.page.waitForFunction(() => window.splitbeam.variant('split'));
  const variant = await first.page.evaluate(() => window.splitbeam.variant('split'));
  const text = await textOf(first.page, '#split');
  // Stored once the revealed frame is painted (nothing is written before the reveal).
  await first.page.waitForFunction(() => localStorage.getItem('splitbeam_visitor'), null, { timeout: 10000 });
  const visitor = await first.page.evaluate(() => localStorage.getItem('splitbeam_visitor'));
  assert.match(visitor, /^v_[0-9a-f]{32}$/);
  await first.page.reload();
  await first.page.waitForFunction(() => window.splitbeam.variant && window.splitbeam.variant('split'));
  assert.equal(await first.page.evaluate(() => window.splitbeam.variant('split')), variant);
  assert.equal(await textOf(first.page, '#split'), text);
  assert.equal(await first.page.evaluate(() => localStorage.getItem('splitbeam_visitor')), visitor);
  await context.close();
});

test('a QA link forces a variant and is not exposed; a draft is not in the public snippet, so it cannot force one', async () => {
  const { page, ctx } = await load('/?splitbeam=qa:forced,hero:control');
  // `split` is not forced: once its exposure is pushed, the whole snippet has decided everything.
  await page.waitForFunction(() => (window.dataLayer || []).some((e) => e.experiment_id === 'split'), null, { timeout: 10000 });
  assert.equal(await textOf(page, '#hero h1'), ORIGINAL, 'hero forced to control');
  assert.equal(await textOf(page, '#qa'), 'Original QA copy', 'drafts show only through a signed preview link (tests/e2e/preview.test.mjs)');
  const exposed = await page.evaluate(() => window.dataLayer.map((e) => e.experiment_id));
  assert.ok(!exposed.includes('qa') && !exposed.includes('hero'), JSON.stringify(exposed));
  await ctx.close();
});

test('a single-page app route change applies the new route\'s variant and reverts it on leaving', async () => {
  const { page, ctx, seen } = await load('/spa/home');
  assert.equal(await textOf(page, '#title'), 'Cart', 'not on the cart route: untouched');
  await page.evaluate(() => window.navigate('/spa/cart'));
  await waitForText(page, '#title', 'Your bag');
  await page.evaluate(() => window.navigate('/spa/home'));
  await waitForText(page, '#title', 'Home');
  await page.evaluate(() => history.back());
  await waitForText(page, '#title', 'Your bag');
  assert.deepEqual(seen.uncaught, []);
  await ctx.close();
});

test('a page that resets the changed text in a tight loop does not hang and ends showing the variant', async () => {
  const { page, ctx, seen } = await load('/fight.html');
  await page.waitForFunction(() => window.fightOver === true, null, { timeout: 10000 });
  await waitForText(page, '#hero h1', VARIANT);
  const resets = await page.evaluate(() => window.resets);
  // Unbounded, the two observers would ping-pong thousands of times; bounded, a few per second.
  assert.ok(resets >= 1, 'the page did fight back');
  assert.ok(resets < 30, `${resets} resets: re-applies are not bounded`);
  assert.deepEqual(seen.uncaught, []);
  await ctx.close();
});

test('a damaged compiled config leaves the page intact with one console error and no exception', async () => {
  const { page, ctx, seen } = await load('/damaged.html');
  await waitForErrors(page, seen, 1);
  await page.waitForFunction(() => !document.querySelector('style'));
  assert.equal(await textOf(page, '#hero h1'), ORIGINAL);
  assert.equal(await isVisible(page, '#hero h1'), true);
  assert.equal(seen.splitbeamErrors.length, 1, JSON.stringify(seen.errors));
  assert.match(seen.splitbeamErrors[0], /compiled experiments config is damaged/);
  assert.deepEqual(seen.uncaught, []);
  await ctx.close();
});

test('the wasm answering 404 leaves the page intact and visible', async () => {
  const { page, ctx, seen } = await load('/csp.html', undefined, brokenWasm.url);
  await waitForErrors(page, seen, 1);
  assert.equal(await textOf(page, '#hero h1'), ORIGINAL);
  assert.equal(await isVisible(page, '#hero h1'), true);
  assert.equal(seen.splitbeamErrors.length, 1, JSON.stringify(seen.errors));
  assert.deepEqual(seen.uncaught, []);
  await ctx.close();
});

test("a strict CSP (script-src 'self' 'wasm-unsafe-eval') lets the snippet work", async () => {
  const { page, ctx, seen } = await load('/csp.html');
  await waitForText(page, '#hero h1', VARIANT);
  assert.ok(!seen.errors.some((e) => /Content Security Policy/i.test(e)), JSON.stringify(seen.errors));
  assert.deepEqual(seen.uncaught, []);
  await ctx.close();
});

test('page rules written as a regular expression run on the browser\'s RegExp, case-insensitively', async () => {
  const { page, ctx, seen } = await load('/?regex-page');
  await waitForText(page, '#qa', 'Regex page copy');
  const other = await load('/?regex-pages');
  await waitForText(other.page, '#hero h1', VARIANT);
  assert.equal(await textOf(other.page, '#qa'), 'Original QA copy', 'the pattern ends with $');
  assert.deepEqual([...seen.splitbeamErrors, ...other.seen.splitbeamErrors], []);
  await ctx.close();
  await other.ctx.close();
});

test('?splitbeam-debug: the first-paint module says per experiment what it decided and why', async () => {
  const { page, ctx, seen } = await openPage(browser);
  // Only the first-paint module runs (the whole snippet, which says the same once it starts, is
  // held back; that is one error line).
  await ctx.route(/splitbeam_(bg|full)\./, (route) => route.abort());
  const lines = [];
  page.on('console', (msg) => msg.type() === 'log' && lines.push(msg.text()));
  await page.goto(server.url + '/?splitbeam-debug');
  await waitForText(page, '#hero h1', VARIANT);
  for (let i = 0; i < 50 && lines.length < 4; i++) await page.waitForEvent('console', { timeout: 10000 }).catch(() => {});
  const split = lines.find((line) => line.startsWith('splitbeam: split: '));
  assert.match(split || '', /^splitbeam: split: (a|b) \(assigned\)$/);
  assert.deepEqual(lines.filter((line) => line !== split), [
    'splitbeam: hero: free-shipping (assigned)',
    'splitbeam: regex-page: (none) (not-on-this-page)',
    'splitbeam: spa-cart: (none) (not-on-this-page)',
  ]);
  await waitForErrors(page, seen, 1);
  assert.equal(seen.splitbeamErrors.length, 1, JSON.stringify(seen.errors));
  await ctx.close();
});

test('a first-paint module served without application/wasm still decides (a shop\'s own host may not know .wasm)', async () => {
  const plain = await startServer({ wasmType: 'application/octet-stream' });
  try {
    const { page, ctx, seen } = await load('/', undefined, plain.url);
    await waitForText(page, '#hero h1', VARIANT);
    assert.deepEqual(seen.splitbeamErrors, []);
    assert.deepEqual(seen.uncaught, []);
    await ctx.close();
  } finally {
    await plain.close();
  }
});

/** Waits (event-driven, no fixed sleep) until `count` splitbeam console errors were seen. */
async function waitForErrors(page, seen, count) {
  for (let i = 0; i < 100 && seen.splitbeamErrors.length < count; i++) await page.waitForEvent('console', { timeout: 10000 }).catch(() => {});
}
