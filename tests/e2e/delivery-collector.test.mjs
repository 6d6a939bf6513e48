// The snippet against the real collector (`target/release/splitbeam serve`), when it is built:
// a page view, a goal click, and the results API counts the visitor and the conversion.
// Run: cargo build --release -p splitbeam-collector && node --test tests/e2e/delivery-collector.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, openPage } from './lib/snippet-browser.mjs';
import { freePort, eventually } from './lib/delivery-collector.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BINARY = path.join(ROOT, 'target/release/splitbeam');

test('against splitbeam serve: the results API counts the visitor and the goal conversion', { skip: !existsSync(BINARY) && 'target/release/splitbeam is not built' }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'splitbeam-delivery-'));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const child = spawn(BINARY, ['serve', '--config', 'tests/fixtures/delivery/experiments.json', '--db', path.join(dir, 'test.db'),
    '--port', String(port), '--host', '127.0.0.1', '--dist', 'dist', '--site', 'tests/fixtures/delivery'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk) => { log = (log + chunk).slice(-4000); });
  const browser = await launch();
  try {
    const healthy = await eventually(async () => {
      try { return (await fetch(origin + '/healthz')).ok; } catch { return false; }
    }, 15000);
    assert.ok(healthy, `splitbeam serve did not answer /healthz: ${log}`);
    // The results API is for admins: the token `serve` created next to its database, as a bearer.
    const admin = { authorization: `Bearer ${(await readFile(path.join(dir, 'test.db.admin-token'), 'utf8')).trim()}` };
    const { page } = await openPage(browser);
    await page.goto(origin + '/shop/collector.html');
    await page.waitForFunction(() => window.splitbeam.variant('delivery'), null, { timeout: 10000 });
    const variant = await page.evaluate(() => splitbeam.variant('delivery'));
    await new Promise((resolve) => setTimeout(resolve, 20)); // the click comes after the exposure's millisecond
    await page.click('#stay');
    await page.evaluate(() => splitbeam.flush());
    const results = async () => (await fetch(origin + '/api/experiments/delivery/results', { headers: admin })).json();
    const counted = await eventually(async () => {
      const r = await results();
      const row = r.variants.find((v) => v.key === variant);
      return row && row.visitors === 1 && row.goals.add_to_cart && row.goals.add_to_cart.conversions === 1 && r;
    }, 15000, 250);
    assert.ok(counted, `results never counted the visitor and the click: ${JSON.stringify(await results())}\n${log}`);
    const total = counted.variants.reduce((sum, v) => sum + v.visitors, 0);
    assert.equal(total, 1);
  } finally {
    await browser.close();
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
    await rm(dir, { recursive: true, force: true });
  }
});
