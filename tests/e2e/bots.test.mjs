// Crawlers and automated browsers against the real collector (`target/release/splitbeam serve`):
// each is shown the page as a shopper is (the variant it is assigned, applied), its events are
// stored, and the results count only the shopper, with "2 bot visitors excluded".
// Run: cargo build --release -p splitbeam-collector && node --test tests/e2e/bots.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, openPage, shopperAgent } from './lib/snippet-browser.mjs';
import { freePort, eventually } from './lib/delivery-collector.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BINARY = path.join(ROOT, 'target/release/splitbeam');
const GOOGLEBOT = 'Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const HEADLINE = { control: 'Welcome', treatment: 'Free shipping today' };

/** One visit: the page, its variant applied, a click goal, delivered. Returns the variant. */
async function visit(browser, origin, context) {
  const { page, seen } = await openPage(browser, context);
  await page.goto(origin + '/shop/collector.html');
  await page.waitForFunction(() => window.splitbeam.variant('delivery'), null, { timeout: 10000 });
  const variant = await page.evaluate(() => splitbeam.variant('delivery'));
  assert.equal(await page.textContent('#headline'), HEADLINE[variant], `a ${variant} visitor was not shown its variant`);
  await new Promise((resolve) => setTimeout(resolve, 20)); // the click comes after the exposure's millisecond
  await page.click('#stay');
  await page.evaluate(() => splitbeam.flush());
  assert.deepEqual(seen.uncaught, []);
  return variant;
}

test('a Googlebot and an automated browser see the variant but are kept out of results', { skip: !existsSync(BINARY) && 'target/release/splitbeam is not built' }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'splitbeam-bots-'));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const child = spawn(BINARY, ['serve', '--config', 'tests/fixtures/delivery/experiments.json', '--db', path.join(dir, 'test.db'),
    '--port', String(port), '--host', '127.0.0.1', '--dist', 'dist', '--site', 'tests/fixtures/delivery'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk) => { log = (log + chunk).slice(-4000); });
  const shopperBrowser = await launch();
  const automatedBrowser = await launch({ automated: true });
  try {
    const healthy = await eventually(async () => {
      try { return (await fetch(origin + '/healthz')).ok; } catch { return false; }
    }, 15000);
    assert.ok(healthy, `splitbeam serve did not answer /healthz: ${log}`);
    // The results API is for admins: the token `serve` created next to its database, as a bearer.
    const admin = { authorization: `Bearer ${(await readFile(path.join(dir, 'test.db.admin-token'), 'utf8')).trim()}` };

    const shopper = await visit(shopperBrowser, origin);
    await visit(shopperBrowser, origin, await shopperBrowser.newContext({ userAgent: GOOGLEBOT }));
    // navigator.webdriver is true here; the User-Agent is a shopper's, so only the snippet's mark tells.
    await visit(automatedBrowser, origin, await automatedBrowser.newContext({ userAgent: shopperAgent(automatedBrowser) }));

    const results = async () => (await fetch(origin + '/api/experiments/delivery/results', { headers: admin })).json();
    const clicksOf = (r) => r.variants.reduce((sum, v) => sum + (v.goals.add_to_cart?.conversions || 0), 0);
    const settled = await eventually(async () => {
      const r = await results();
      const exposed = r.variants.reduce((sum, v) => sum + v.visitors, 0);
      return exposed >= 1 && r.bot_visitors_excluded >= 2 && clicksOf(r) >= 1 && r;
    }, 15000, 250);
    assert.ok(settled, `the shopper and the two excluded bots never all showed: ${JSON.stringify(await results())}\n${log}`);
    // Both bots' events are delivered by now; give a wrongly counted one time to land anyway.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const r = await results();
    assert.equal(r.bot_visitors_excluded, 2);
    assert.deepEqual(r.variants.map((v) => [v.key, v.visitors]).filter(([, n]) => n > 0), [[shopper, 1]]);
    assert.equal(clicksOf(r), 1, "only the shopper's click counts");
    const metrics = await (await fetch(origin + '/metrics', { headers: admin })).text();
    assert.match(metrics, /splitbeam_events_from_bots_total [1-9]/);
  } finally {
    await shopperBrowser.close();
    await automatedBrowser.close();
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
    await rm(dir, { recursive: true, force: true });
  }
});
