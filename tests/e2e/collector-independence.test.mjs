// The shop never waits on the collector (issue 14): a page with the inline tag whose splitbeam.js
// lives on a collector that is down (503), refusing connections, or hung (accepts and never
// answers) paints at once, shows the original copy once the tag's timeout has passed, stays
// usable, and says so in one console line. A working collector on the same setup shows the variant.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bakedLoader, inlineTag } from './lib/compile.mjs';
import { launch, openPage, textOf, isVisible } from './lib/snippet-browser.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const config = path.join(root, 'tests/fixtures/snippet/experiments.json');
const page = fs.readFileSync(path.join(root, 'tests/fixtures/independence/index.html'), 'utf8');
const ORIGINAL = 'Welcome to the shop';
const VARIANT = 'Free shipping on every order';
const TIMEOUT_MS = 1000;

const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
const closeServer = (server) => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); });

let browser, shop, shopPort;
const collectors = {};

before(async () => {
  browser = await launch();
  // The collectors, each on its own origin.
  const working = http.createServer((req, res) => {
    const name = path.basename(new URL(req.url, 'http://x').pathname);
    // The modules are fetched cross-origin from the shop's page: CORS, as `splitbeam serve` sends it.
    res.setHeader('access-control-allow-origin', '*');
    if (name === 'splitbeam.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(bakedLoader(config));
    const file = path.join(root, 'dist', name);
    if (!fs.existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' }).end(fs.readFileSync(file));
  });
  const down = http.createServer((req, res) => res.writeHead(503, { 'retry-after': '60' }).end('overloaded'));
  const hungSockets = new Set();
  const hung = net.createServer((socket) => {
    hungSockets.add(socket); // accepted, read, never answered
    socket.on('close', () => hungSockets.delete(socket));
  });
  hung.closeAllConnections = () => hungSockets.forEach((s) => s.destroy());
  // Refusing: a port that was free a moment ago and has nothing listening.
  const probe = net.createServer();
  const refusingPort = await listen(probe);
  await closeServer(probe);
  collectors.working = { server: working, port: await listen(working) };
  collectors.down = { server: down, port: await listen(down) };
  collectors.hung = { server: hung, port: await listen(hung) };
  collectors.refusing = { port: refusingPort };

  shop = http.createServer((req, res) => {
    const which = new URL(req.url, 'http://x').searchParams.get('collector');
    if (!collectors[which]) return res.writeHead(404).end();
    const origin = `http://127.0.0.1:${collectors[which].port}`;
    const tag = inlineTag(config, `${origin}/splitbeam.js`, { collector: `${origin}/collect`, timeout: TIMEOUT_MS });
    res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'no-store' }).end(page.replace('__TAG__', () => tag));
  });
  shopPort = await listen(shop);
});

after(async () => {
  await browser?.close();
  for (const c of Object.values(collectors)) if (c.server) await closeServer(c.server);
  if (shop) await closeServer(shop);
});

/** Loads the shop page with its splitbeam.js on `which` collector; waits for the headline to show. */
async function visit(which) {
  const opened = await openPage(browser);
  // `commit`: a hung collector must not make the test wait for a load event that depends on it.
  await opened.page.goto(`http://127.0.0.1:${shopPort}/?collector=${which}`, { waitUntil: 'commit' });
  await opened.page.waitForFunction(() => window.headlineShownAt !== undefined, null, { timeout: 10000 });
  const times = await opened.page.evaluate(() => ({
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
    shown: window.headlineShownAt,
  }));
  return { ...opened, times };
}

for (const which of ['down', 'refusing', 'hung']) {
  test(`a collector that is ${which}: the page paints at once, shows the original after the timeout, stays usable, one console line`, async () => {
    const { page, ctx, seen, times } = await visit(which);
    assert.equal(await textOf(page, '#hero h1'), ORIGINAL);
    assert.equal(await isVisible(page, '#hero h1'), true);
    assert.equal(await isVisible(page, '#footer'), true);
    // Painted before the hidden headline came back: first paint did not wait for the collector.
    assert.ok(times.fcp !== undefined && times.fcp < times.shown, JSON.stringify(times));
    // Never hidden for much less than the timeout (it was hidden, then the timeout revealed it).
    assert.ok(times.shown >= TIMEOUT_MS - 50, JSON.stringify(times));
    await page.click('#add');
    assert.equal(await page.$eval('#add', (el) => el.dataset.clicks), '1', 'the page\'s own script still works');
    await page.waitForFunction(() => true);
    assert.equal(seen.splitbeamErrors.length, 1, JSON.stringify(seen.errors));
    assert.match(seen.splitbeamErrors[0], which === 'hung' ? /did not arrive within 1000 ms/ : /did not load/);
    assert.deepEqual(seen.uncaught, []);
    await ctx.close();
  });
}

test('the same page with a working collector shows the variant, never the original', async () => {
  const { page, ctx, seen, times } = await visit('working');
  assert.equal(await textOf(page, '#hero h1'), VARIANT, 'the first frame showing the headline shows the variant');
  assert.ok(times.shown < TIMEOUT_MS, JSON.stringify(times));
  assert.deepEqual(seen.splitbeamErrors, []);
  await ctx.close();
});
