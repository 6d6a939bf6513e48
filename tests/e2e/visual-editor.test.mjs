// The in-page visual editor (issue 11, part 3), end to end against the real collector and the
// demo shop in Chromium: from an experiments.json with no experiments, a copywriter signs in,
// creates a headline experiment in the dashboard's form, clicks "Edit on page", picks the
// headline on the shop's page, types the new copy, switches before/after, saves (a draft, with a
// QA link that shows it), and starts it. Then a fresh visitor sees the new copy in every painted
// frame (the original never), buys, and the dashboard counts their exposure and purchase.
// A second test covers the advanced controls (attribute, class, style, hide, move), a selector
// the server refuses (shown with its path) and a save over a hand edit (refused).
// No JSON is typed; every wait is for a state of the page, never a duration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, startCollector } from './lib/dashboard-collector.mjs';
import { launch, shopperAgent } from './lib/snippet-browser.mjs';

const ORIGINAL = 'New season: the autumn roasts are in';
const NEW_COPY = 'Free shipping on every order, this week only';
/** Fresh visitors tried until one is assigned the variant (50 %: 16 tries miss with p = 1.5e-5). */
const MAX_VISITORS = 16;

const missing = [
  ['target/release/splitbeam', 'target/debug/splitbeam'].some((p) => existsSync(path.join(ROOT, p))) ? null : 'splitbeam is not built',
  existsSync(path.join(ROOT, 'dist/splitbeam-editor.js')) ? null : 'dist/ is not built (npm run build)',
].find(Boolean);

async function experimentInFile(file, key) {
  return JSON.parse(await readFile(file, 'utf8')).experiments.find((e) => e.key === key);
}

/**
 * The collector's answer to the batch holding `needle`. Waited for before the visitor leaves the
 * page: a batch left to the page's exit goes by sendBeacon, and such a batch was filed as a bot's
 * (seemingly sent with headless Chromium's own User-Agent, not the context's shopper one).
 * (A closed page rejects it; that is nobody's concern.)
 */
function sent(page, needle) {
  const answer = page.waitForResponse((r) => r.url().endsWith('/collect') && (r.request().postData() || '').includes(needle), { timeout: 30000 });
  answer.catch(() => {});
  return answer;
}

/** Records, before every paint, the headline's text and whether it is visible. */
function frameProbe() {
  window.frames_ = [];
  const tick = () => {
    const el = document.querySelector('#hero h1');
    if (el) {
      const style = getComputedStyle(el);
      window.frames_.push({ text: el.textContent, visible: style.visibility !== 'hidden' && style.display !== 'none' });
    }
    if (window.frames_.length < 2000) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

test('a copywriter makes a headline test on the page and starts it; a visitor sees it without flicker and is counted', { skip: missing }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'splitbeam-visual-'));
  const config = path.join(dir, 'experiments.json');
  await writeFile(config, '{\n  "version": 1,\n  "experiments": []\n}\n');
  const collector = await startCollector({ config, site: 'www/shop', dist: 'dist' });
  const { origin } = collector;
  const browser = await launch();
  try {
    const copywriter = await browser.newContext({ viewport: { width: 1280, height: 900 }, userAgent: shopperAgent(browser) });
    const dashboard = await copywriter.newPage();
    const errors = [];
    const watch = (page) => {
      page.on('pageerror', (error) => errors.push(`${page.url()}: ${error.message}`));
      page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && errors.push(`${page.url()}: ${m.text()}`));
    };
    watch(dashboard);

    // Sign in, create the experiment in the form: a key, a name, the shop's home page, no change yet.
    await collector.signIn(dashboard, '/');
    await dashboard.locator('a[href="/new-experiment"]').click();
    await dashboard.waitForURL(`${origin}/new-experiment`);
    await dashboard.locator('input[name="key"]').fill('headline');
    await dashboard.locator('input[name="name"]').fill('Home headline: free shipping');
    await dashboard.locator('textarea[name="pages"]').fill('/shop/\n/shop/index.html');
    await dashboard.locator('[data-field="variants[1].changes[0]"] button', { hasText: 'Remove' }).click();
    await Promise.all([dashboard.waitForURL(`${origin}/experiments/headline/edit`), dashboard.locator('#save').click()]);
    await dashboard.locator('.lifecycle .badge--draft').waitFor();

    // "Edit on page": the shop's page opens in a new tab with the editor.
    assert.equal(await dashboard.locator('#edit-page-url').inputValue(), `${origin}/shop/`);
    const [shop] = await Promise.all([copywriter.waitForEvent('page'), dashboard.locator('#edit-on-page').click()]);
    watch(shop);
    const status = shop.locator('splitbeam-editor #sb-status');
    await status.waitFor();
    await shop.waitForFunction(() => document.querySelector('splitbeam-editor')?.shadowRoot?.querySelector('#sb-status')?.textContent === 'draft');
    assert.ok(!shop.url().includes('splitbeam-editor='), 'the one-time code is taken out of the address bar');

    // Pick the headline: the proposed selector is the short, stable path, unique, with no warning.
    const headline = shop.locator('#hero h1');
    await headline.click();
    const selector = shop.locator('splitbeam-editor #sb-selector');
    await selector.waitFor();
    assert.equal(await selector.inputValue(), '#hero h1');
    assert.equal(await shop.locator('splitbeam-editor #sb-matches').textContent(), 'Matches exactly this element.');
    assert.equal(await shop.locator('splitbeam-editor #sb-warnings').count(), 0);

    // Type the new copy in place.
    await shop.keyboard.press('ControlOrMeta+A');
    await shop.keyboard.type(NEW_COPY);
    await shop.locator('splitbeam-editor #sb-changes li', { hasText: NEW_COPY }).waitFor();
    assert.equal(await headline.textContent(), NEW_COPY);

    // Before/after for this variant.
    await shop.locator('splitbeam-editor #sb-before').click();
    await shop.waitForFunction((t) => document.querySelector('#hero h1').textContent === t, ORIGINAL);
    await shop.locator('splitbeam-editor #sb-after').click();
    await shop.waitForFunction((t) => document.querySelector('#hero h1').textContent === t, NEW_COPY);

    // Save: a draft with the change in experiments.json's own format, and a QA link.
    await shop.locator('splitbeam-editor #sb-save').click();
    await shop.locator('splitbeam-editor #sb-preview').waitFor();
    assert.match(await shop.locator('splitbeam-editor #sb-message').textContent(), /^Saved\. Still a draft/);
    const saved = await experimentInFile(config, 'headline');
    assert.equal(saved.status, 'draft');
    assert.deepEqual(saved.variants[1].changes, [{ selector: '#hero h1', text: NEW_COPY }]);
    assert.deepEqual(saved.variants[0].changes, undefined, 'control is untouched');

    // The QA link shows the draft to a visitor (a fresh browser, not signed in).
    const qaUrl = await shop.locator('splitbeam-editor #sb-preview').getAttribute('href');
    const qa = await browser.newContext({ userAgent: shopperAgent(browser) });
    const qaPage = await qa.newPage();
    await qaPage.goto(qaUrl);
    await qaPage.waitForFunction((t) => document.querySelector('#hero h1')?.textContent === t, NEW_COPY);
    assert.equal(await qaPage.locator('splitbeam-editor').count(), 0, 'a visitor never gets the editor');
    await qa.close();

    // Start.
    await shop.locator('splitbeam-editor #sb-start').click();
    await shop.waitForFunction(() => document.querySelector('splitbeam-editor')?.shadowRoot?.querySelector('#sb-status')?.textContent === 'running');
    assert.equal((await experimentInFile(config, 'headline')).status, 'running');

    // A fresh visitor in the variant: the new copy in every painted frame, never the original.
    let visitor = null;
    const editorRequests = [];
    for (let i = 0; i < MAX_VISITORS && !visitor; i++) {
      const ctx = await browser.newContext({ userAgent: shopperAgent(browser) });
      await ctx.addInitScript(frameProbe);
      const page = await ctx.newPage();
      page.on('request', (r) => r.url().includes('splitbeam-editor') && editorRequests.push(r.url()));
      const exposureSent = sent(page, '"type":"exposure"');
      await page.goto(`${origin}/shop/`);
      await page.waitForFunction(() => typeof window.splitbeam?.variant === 'function' && window.splitbeam.variant('headline') !== null);
      if ((await page.evaluate(() => window.splitbeam.variant('headline'))) === 'variant') visitor = { ctx, page, exposureSent };
      else await ctx.close();
    }
    assert.ok(visitor, `none of ${MAX_VISITORS} visitors was assigned the variant`);
    const { page: shopper, ctx: shopperContext, exposureSent } = visitor;
    watch(shopper);
    await shopper.waitForFunction((t) => document.querySelector('#hero h1').textContent === t, NEW_COPY);
    await shopper.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const frames = await shopper.evaluate(() => window.frames_);
    assert.ok(frames.some((f) => f.visible && f.text === NEW_COPY), 'the new copy was painted');
    assert.deepEqual(frames.filter((f) => f.visible && f.text === ORIGINAL), [], 'no frame showed the original headline');
    assert.deepEqual(editorRequests, [], 'visitors never fetch the editor');
    assert.equal(await shopper.locator('splitbeam-editor').count(), 0);

    await Promise.all([exposureSent, shopper.evaluate(() => window.splitbeam.flush())]);

    // They buy: a product, the cart, checkout, the order.
    await Promise.all([shopper.waitForURL(/product\.html/), shopper.locator('#featured a').first().click()]);
    await shopper.locator('.add-to-cart').click();
    await shopper.goto(`${origin}/shop/checkout.html`);
    const purchaseSent = sent(shopper, '"goal":"purchase"');
    await Promise.all([shopper.waitForURL(/thank-you\.html/), shopper.locator('.place-order').click()]);
    await shopper.waitForFunction(() => typeof window.splitbeam?.flush === 'function');
    await Promise.all([purchaseSent, shopper.evaluate(() => window.splitbeam.flush())]);

    // The copywriter reads the results: the visitor's exposure and purchase in the variant's row.
    await dashboard.goto(`${origin}/experiments/headline`);
    const row = dashboard.locator('table.results-table[data-goal="purchase"] tr[data-variant="variant"]');
    await row.locator('.conversions', { hasText: /^1$/ }).waitFor();
    assert.equal(await row.locator('.visitors').textContent(), '1');
    await shopperContext.close();

    // Back in the copywriter's tab, now that the test runs: the tab is a QA session in control
    // (the editor link said so), so Before is the original page, not a variant it was assigned.
    await shop.reload();
    await shop.waitForFunction(() => document.querySelector('splitbeam-editor')?.shadowRoot?.querySelector('#sb-status')?.textContent === 'running');
    assert.equal(await shop.evaluate(() => sessionStorage.getItem('splitbeam_forced')), 'headline:control', 'the QA override the link set (README: storage)');
    await shop.locator('splitbeam-editor #sb-before').click();
    await shop.waitForFunction((t) => document.querySelector('#hero h1').textContent === t, ORIGINAL);
    await shop.locator('splitbeam-editor #sb-after').click();
    await shop.waitForFunction((t) => document.querySelector('#hero h1').textContent === t, NEW_COPY);

    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await collector.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** Markup in an experiment name is text in the editor's panel, never markup. */
const NAME_WITH_MARKUP = 'CTA <img src=x onerror="window.__xss = 1">';

test('advanced changes on the page, a refused selector shown with its path, and a save over a hand edit refused', { skip: missing }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'splitbeam-visual-'));
  const config = path.join(dir, 'experiments.json');
  const fixture = {
    version: 1,
    experiments: [{ key: 'cta', name: NAME_WITH_MARKUP, status: 'draft', pages: ['/shop/'], variants: [{ key: 'control', weight: 50 }, { key: 'big', weight: 50 }], goals: [{ key: 'purchase', event: 'purchase' }] }],
  };
  await writeFile(config, JSON.stringify(fixture, null, 2));
  const collector = await startCollector({ config, site: 'www/shop', dist: 'dist' });
  const { origin } = collector;
  const browser = await launch();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, userAgent: shopperAgent(browser) });
    const dashboard = await context.newPage();
    await collector.signIn(dashboard, '/experiments/cta/edit');
    const [shop] = await Promise.all([context.waitForEvent('page'), dashboard.locator('#edit-on-page').click()]);
    const panel = (selector) => shop.locator(`splitbeam-editor ${selector}`);
    const dialogs = [];
    shop.on('dialog', (dialog) => dialogs.push(dialog.message()) && dialog.dismiss());
    await panel('#sb-status').waitFor();
    assert.equal(await panel('header strong').textContent(), NAME_WITH_MARKUP);
    assert.equal(await panel('img').count(), 0);

    // Picking a link selects it and does not follow it.
    await shop.locator('#hero .cta').click();
    await panel('#sb-selector').waitFor();
    assert.equal(await panel('#sb-selector').inputValue(), '#hero a.cta');
    assert.equal(new URL(shop.url()).pathname, '/shop/', 'the click was kept from the page');

    // Attribute, class, style: shown on the page at once, listed as one change.
    await panel('summary').click();
    await panel('#sb-attr-name').fill('data-variant');
    await panel('#sb-attr-value').fill('b');
    await panel('#sb-attr-set').click();
    await panel('#sb-add-class').fill('cta--big');
    await panel('#sb-add-class-set').click();
    await panel('#sb-style').fill('color: rgb(200, 0, 0)');
    await panel('#sb-style-set').click();
    await shop.waitForFunction(() => {
      const cta = document.querySelector('#hero .cta');
      return cta.dataset.variant === 'b' && cta.classList.contains('cta--big') && getComputedStyle(cta).color === 'rgb(200, 0, 0)';
    });

    // Hide the paragraph, then move the headline after the link.
    await shop.locator('#hero p').click();
    await panel('#sb-hide').check();
    await shop.waitForFunction(() => getComputedStyle(document.querySelector('#hero p')).display === 'none');
    await shop.locator('#hero h1').click();
    await panel('#sb-move-where').selectOption('after');
    await panel('#sb-move-to').fill('#hero a.cta');
    await panel('#sb-move-set').click();
    await shop.waitForFunction(() => document.querySelector('#hero .cta').nextElementSibling === document.querySelector('#hero h1'));

    // Before puts the page back as it was; After shows the variant again.
    await panel('#sb-before').click();
    await shop.waitForFunction(() => {
      const cta = document.querySelector('#hero .cta');
      return !cta.classList.contains('cta--big') && !cta.hasAttribute('data-variant') && getComputedStyle(document.querySelector('#hero p')).display !== 'none'
        && document.querySelector('#hero').firstElementChild === document.querySelector('#hero h1');
    });
    await panel('#sb-after').click();
    await shop.waitForFunction(() => document.querySelector('#hero .cta').classList.contains('cta--big'));

    await panel('#sb-save').click();
    await panel('#sb-preview').waitFor();
    const saved = JSON.parse(await readFile(config, 'utf8')).experiments[0].variants[1].changes;
    assert.deepEqual(saved, [
      { selector: '#hero a.cta', attr: { 'data-variant': 'b' }, addClass: 'cta--big', style: 'color: rgb(200, 0, 0)' },
      { selector: '#hero p', remove: true },
      { selector: '#hero h1', move: { after: '#hero a.cta' } },
    ]);

    // A selector edited into an invalid one: warned at once, refused on save with its path.
    await shop.locator('#hero .cta').click();
    await panel('#sb-selector').fill('#hero a.cta[');
    await panel('#sb-selector').press('Enter');
    await panel('#sb-warnings', { hasText: 'not a valid CSS selector' }).waitFor();
    const before = await readFile(config, 'utf8');
    await panel('#sb-save').click();
    await panel('#sb-problems').waitFor();
    assert.match(await panel('#sb-problems').textContent(), /variants\[1\]\.changes\[0\]\.selector/);
    assert.equal(await readFile(config, 'utf8'), before, 'a refused save writes nothing');

    // Fixed, but the file was edited by hand meanwhile: refused, and the panel offers the current version.
    await panel('#sb-selector').fill('#hero a.cta');
    await panel('#sb-selector').press('Enter');
    const byHand = before.replace(/"name": "[^\n]*",/, '"name": "CTA, edited by hand",');
    assert.notEqual(byHand, before);
    await writeFile(config, byHand);
    await panel('#sb-save').click();
    await panel('#sb-reload').waitFor();
    assert.match(await readFile(config, 'utf8'), /CTA, edited by hand/);
    await panel('#sb-reload').click();
    await shop.waitForFunction(() => document.querySelector('splitbeam-editor').shadowRoot.querySelector('header strong').textContent === 'CTA, edited by hand');

    // The editor follows the copywriter to another page of the shop in this tab.
    await shop.goto(`${origin}/shop/products.html`);
    await panel('#sb-status').waitFor();
    assert.equal(await shop.evaluate(() => window.__xss), undefined);
    assert.deepEqual(dialogs, []);
  } finally {
    await browser.close();
    await collector.close();
    await rm(dir, { recursive: true, force: true });
  }
});
