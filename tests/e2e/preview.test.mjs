// Drafts through signed preview links (issue 15), in real Chromium against the real collector:
// `splitbeam serve --site www/shop` fills the demo shop's pages with the inline tag; a link from
// `splitbeam preview-link` shows the draft in that tab (and on its next pages); the same page without
// it, a plain QA link or a tampered signature shows the original, and the draft's copy is in no
// public answer. Bounded: one collector, one browser, each wait at most 10 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, splitbeamBinary } from './lib/dashboard-collector.mjs';
import { launch, openPage, textOf } from './lib/snippet-browser.mjs';
import { freePort } from './lib/delivery-collector.mjs';

const ORIGINAL = 'New season: the autumn roasts are in';
const DRAFT_COPY = 'Preview only: the winter blend';
const RUNNING_COPY = 'Roasted on Monday, shipped by Wednesday';

const VIP_VISITOR = 'v_0123456789abcdef0123456789abcdef';
const VIP_COPY = 'Members: early access to the winter blend';

// A running experiment (to know the snippet has run), a running one for a saved group (shipped
// hashed), and a draft, all on the shop's home page.
const CONFIG = {
  version: 1,
  groups: { vip: [VIP_VISITOR] },
  experiments: [
    {
      key: 'vip-cta', status: 'running', pages: ['/shop/', '/shop/index.html'], audience: { id: { $inGroup: 'vip' } },
      variants: [{ key: 'control', weight: 0 }, { key: 'b', weight: 1, changes: [{ selector: '#hero .cta', text: VIP_COPY }] }],
    },
    {
      key: 'hero-sub', status: 'running', pages: ['/shop/', '/shop/index.html'],
      variants: [{ key: 'control', weight: 0 }, { key: 'b', weight: 1, changes: [{ selector: '#hero p', text: RUNNING_COPY }] }],
    },
    {
      key: 'winter-hero', status: 'draft', pages: ['/shop/', '/shop/index.html'],
      variants: [{ key: 'control' }, { key: 'winter', changes: [{ selector: '#hero h1', text: DRAFT_COPY }] }],
    },
  ],
};

let dir, child, origin, browser, config, db;


before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'splitbeam-preview-'));
  config = path.join(dir, 'experiments.json');
  db = path.join(dir, 'test.db');
  await writeFile(config, JSON.stringify(CONFIG, null, 2));
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  child = spawn(splitbeamBinary(), ['serve', '--config', config, '--db', db, '--port', String(port), '--host', '127.0.0.1',
    '--site', 'www/shop', '--dist', 'dist'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk) => { log = (log + chunk).slice(-4000); });
  for (let tries = 0; ; tries++) {
    if (child.exitCode !== null) throw new Error(`splitbeam serve exited with ${child.exitCode}: ${log}`);
    try {
      if ((await fetch(`${origin}/healthz`)).ok) break;
    } catch { /* not listening yet */ }
    if (tries > 150) throw new Error(`splitbeam serve did not answer /healthz: ${log}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  browser = await launch();
});

after(async () => {
  await browser?.close();
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

const previewLink = (url) =>
  execFileSync(splitbeamBinary(), ['preview-link', 'winter-hero', '--url', url, '--config', config, '--db', db, '--hours', '1'],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10000 }).trim();

const waitForText = (page, selector, text) =>
  page.waitForFunction(([s, t]) => document.querySelector(s)?.textContent === t, [selector, text], { timeout: 10000 });

test('a signed preview link shows the draft in that tab, also on its next page, and is never exposed', async () => {
  const link = previewLink(`${origin}/shop/`);
  assert.match(link, /\/shop\/\?splitbeam-preview=winter-hero\.\d+\.[A-Za-z0-9_-]+&splitbeam=winter-hero:winter$/);
  const { page, ctx, seen } = await openPage(browser);
  await page.goto(link);
  await waitForText(page, '#hero h1', DRAFT_COPY);
  await waitForText(page, '#hero p', RUNNING_COPY);
  // The next page of the tab, without the parameters: the token and the forced variant are kept.
  await page.goto(`${origin}/shop/index.html`);
  await waitForText(page, '#hero h1', DRAFT_COPY);
  const exposed = await page.evaluate(() => (window.dataLayer || []).map((e) => e.experiment_id));
  assert.ok(!exposed.includes('winter-hero'), JSON.stringify(exposed));
  assert.deepEqual(seen.uncaught, []);
  assert.deepEqual(seen.splitbeamErrors, []);
  await ctx.close();
});

test('without a valid signature the draft stays hidden: plain page, QA link, tampered token', async () => {
  const link = previewLink(`${origin}/shop/`);
  const tampered = link.replace(/(splitbeam-preview=[^&]*)([A-Za-z0-9_-])&/, (_, head, last) => `${head}${last === 'A' ? 'B' : 'A'}&`);
  assert.notEqual(tampered, link);
  for (const url of [`${origin}/shop/`, `${origin}/shop/?splitbeam=winter-hero:winter`]) {
    const { page, ctx, seen } = await openPage(browser);
    await page.goto(url);
    await waitForText(page, '#hero p', RUNNING_COPY);
    assert.equal(await textOf(page, '#hero h1'), ORIGINAL, url);
    assert.deepEqual(seen.uncaught, []);
    await ctx.close();
  }
  const { page, ctx, seen } = await openPage(browser);
  const refused = page.waitForResponse((r) => r.url().includes('/splitbeam.js?preview='), { timeout: 10000 });
  await page.goto(tampered);
  assert.equal((await refused).status(), 403);
  await page.waitForFunction(() => window.splitbeamTag && window.splitbeamTag.said, null, { timeout: 10000 });
  assert.equal(await textOf(page, '#hero h1'), ORIGINAL);
  assert.deepEqual(seen.uncaught, []);
  await ctx.close();
});

test('a saved group shipped hashed still picks its members in the browser', async () => {
  for (const [visitor, expected] of [[VIP_VISITOR, VIP_COPY], ['v_ffffffffffffffffffffffffffffffff', 'Shop the collection']]) {
    const { page, ctx, seen } = await openPage(browser);
    await ctx.addInitScript((id) => localStorage.setItem('splitbeam_visitor', id), visitor);
    await page.goto(`${origin}/shop/`);
    await waitForText(page, '#hero p', RUNNING_COPY);
    await waitForText(page, '#hero .cta', expected);
    assert.equal(await page.evaluate(() => localStorage.getItem('splitbeam_visitor')), visitor);
    assert.deepEqual(seen.uncaught, []);
    await ctx.close();
  }
});

test('no public answer holds the draft copy or a group member in clear', async () => {
  for (const p of ['/splitbeam.js', '/experiments.json', '/tag.html', '/shop/', '/shop/index.html']) {
    const response = await fetch(origin + p);
    assert.equal(response.status, 200, p);
    const body = await response.text();
    // The loader carries the compiled config as a string of one character per byte, with JavaScript's
    // \xXX escapes: read as the browser would.
    const baked = /"b":("(?:[^"\\]|\\.)*")/.exec(body);
    const decoded = baked ? JSON.parse(baked[1].replace(/\\(x([0-9a-f]{2})|.)/gi, (escape, _, hex) => (hex ? '\\u00' + hex : escape))) : '';
    for (const secret of [DRAFT_COPY, 'winter-hero', VIP_VISITOR]) assert.ok(!(body + decoded).includes(secret), `${p}: ${secret}`);
    if (p === '/splitbeam.js') assert.ok(decoded.includes(RUNNING_COPY), 'the decoding works');
  }
});
