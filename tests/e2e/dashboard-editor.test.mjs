// The experiment lifecycle in the dashboard (issue 11, part 2), against the real collector
// (`splitbeam serve`) in Chromium: from an experiments.json with no experiments, a signed-in
// person creates an experiment in the form (no JSON typed), starts it, sees the validation message
// next to a bad weight, saves a good one, reverts it from the history; an edit of the file by hand
// shows up in the open form, and a save over it is refused rather than lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, startCollector } from './lib/dashboard-collector.mjs';
import { launch } from './lib/snippet-browser.mjs';

const binaryMissing = !['target/release/splitbeam', 'target/debug/splitbeam'].some((p) => existsSync(path.join(ROOT, p)));

async function experimentInFile(file, key) {
  const config = JSON.parse(await readFile(file, 'utf8'));
  return config.experiments.find((e) => e.key === key);
}

test('a copywriter creates, starts, fixes and reverts an experiment in the dashboard', { skip: binaryMissing && 'splitbeam is not built' }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'splitbeam-editor-'));
  const config = path.join(dir, 'experiments.json');
  await writeFile(config, '{\n  "version": 1,\n  "experiments": []\n}\n');
  const collector = await startCollector({ config, site: null, dist: path.join(dir, 'no-dist') });
  const { origin } = collector;
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // 4xx answers (a refused save) are logged by Chromium as "Failed to load resource"; anything else is a fault.
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) errors.push(message.text());
    });

    // Create: the "New experiment" link, the form, "Create draft".
    await collector.signIn(page, '/');
    await page.locator('a[href="/new-experiment"]').click();
    await page.waitForURL(`${origin}/new-experiment`);
    await page.locator('input[name="key"]').fill('hero-test');
    await page.locator('input[name="name"]').fill('Hero: free shipping');
    await page.locator('input[name="variants[1].changes[0].selector"]').fill('#hero h1');
    await page.locator('input[name="variants[1].changes[0].value"]').fill('Free shipping on every order');
    await Promise.all([page.waitForURL(`${origin}/experiments/hero-test/edit`), page.locator('#save').click()]);
    await page.locator('.lifecycle .badge--draft').waitFor();
    const created = await experimentInFile(config, 'hero-test');
    assert.equal(created.status, 'draft');
    assert.deepEqual(created.variants[1].changes, [{ selector: '#hero h1', text: 'Free shipping on every order' }]);

    // Start: live at once, in what shops load.
    await page.locator('#start').click();
    await page.locator('.lifecycle .badge--running').waitFor();
    assert.equal((await experimentInFile(config, 'hero-test')).status, 'running');
    const published = await (await fetch(`${origin}/experiments.json`)).json();
    assert.equal(published.experiments.find((e) => e.key === 'hero-test')?.status, 'running', 'the started experiment is live');

    // A bad weight: the server's message next to that field; nothing written.
    await page.locator('input[name="variants[1].weight"]').fill('-5');
    await page.locator('#save').click();
    const problem = page.locator('[data-field="variants[1].weight"] .field-problem');
    await problem.waitFor();
    assert.match(await problem.textContent(), /negative/);
    assert.equal((await experimentInFile(config, 'hero-test')).variants[1].weight, 50, 'a refused save writes nothing');

    // A good weight saves; the history lists it, and Revert puts the old weight back.
    await page.locator('input[name="variants[1].weight"]').fill('20');
    await page.locator('#save').click();
    const newestAction = (action) => page.locator('#history tr[data-change]').first().locator('td:nth-child(2) strong', { hasText: new RegExp(`^${action}$`) });
    await newestAction('edit').waitFor();
    assert.equal((await experimentInFile(config, 'hero-test')).variants[1].weight, 20);
    assert.equal(await page.locator('[data-field="variants[1].weight"] .field-problem').count(), 0, 'the message went with the fix');
    const actions = await page.locator('#history tr[data-change] td:nth-child(2) strong').allTextContents();
    assert.deepEqual(actions, ['edit', 'start', 'create']);
    await page.locator('#history tr[data-change]').first().locator('[data-revert]').click();
    await newestAction('revert').waitFor();
    assert.equal(await page.locator('input[name="variants[1].weight"]').inputValue(), '50');
    const reverted = await experimentInFile(config, 'hero-test');
    assert.equal(reverted.variants[1].weight, 50);
    assert.equal(reverted.status, 'running', 'the revert undid the weight only');

    // A hand edit of the file shows up in the untouched form…
    const byHand = (await readFile(config, 'utf8')).replace('"Hero: free shipping"', '"Hero: edited by hand"');
    await writeFile(config, byHand);
    await page.locator('h1', { hasText: 'Hero: edited by hand' }).waitFor();
    // …and a save made against the version before another hand edit is refused, not applied over it.
    await page.locator('input[name="name"]').fill('Mine');
    const second = byHand.replace('"Hero: edited by hand"', '"Hero: edited by hand again"');
    await writeFile(config, second);
    await page.locator('#save').click();
    await page.locator('#load-current').waitFor();
    assert.equal(await readFile(config, 'utf8'), second, 'the hand edit stays');

    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await browser.close();
    await collector.close();
    await rm(dir, { recursive: true, force: true });
  }
});
