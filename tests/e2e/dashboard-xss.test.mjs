// Markup in what the dashboard shows never runs (issue 11): an experiments.json whose experiment
// name and goal event name are HTML and script (keys cannot be: `validate` allows letters, digits,
// '-', '_', '.'), and events with such props and URLs, posted to the real collector (`splitbeam serve`); a signed-in admin opens the list and the experiment page in
// Chromium, then its editor and history. No dialog opens, no injected element exists, the text is shown as written, and the
// pages carry the strict CSP (no inline script) that would block a handler if one got through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ADMIN_TOKEN, ROOT, startCollector } from './lib/dashboard-collector.mjs';
import { launch } from './lib/snippet-browser.mjs';

const NAME = '<img src=x onerror="alert(1)"><script>alert(2)</script>"\'&amp;';
const EVENT = '<svg onload=alert(3)>';

const CONFIG = {
  version: 1,
  experiments: [{
    key: 'hostile',
    name: NAME,
    status: 'running',
    variants: [{ key: 'control', weight: 50 }, { key: 'b', weight: 50 }],
    goals: [{ key: 'purchase', event: EVENT, value: 'value' }],
    funnel: ['purchase'],
  }],
};

function batch(visitor, variant, ts) {
  const common = { visitor, session: `s-${visitor}`, url: '/<script>alert(4)</script>' };
  return JSON.stringify({
    v: 1,
    sent_at: ts,
    events: [
      { id: `e-${visitor}`, type: 'exposure', ts, experiment: 'hostile', variant, ...common },
      { id: `g-${visitor}`, type: 'goal', goal: 'purchase', value: 10, ts: ts + 1, props: { note: '<img src=y onerror=alert(5)>' }, ...common },
    ],
  });
}

/** Elements the hostile strings would create if parsed as HTML, and any inline event handler. */
function injected(page) {
  return page.evaluate(() => ({
    elements: document.querySelectorAll('main img, main script').length,
    handlers: [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.startsWith('on'))).length,
  }));
}

const binaryMissing = !['target/release/splitbeam', 'target/debug/splitbeam'].some((p) => existsSync(path.join(ROOT, p)));

test('HTML and script in names, goals and event props never execute in the dashboard', { skip: binaryMissing && 'splitbeam is not built' }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'splitbeam-xss-'));
  const config = path.join(dir, 'experiments.json');
  await writeFile(config, JSON.stringify(CONFIG));
  const collector = await startCollector({ config, site: null, dist: path.join(dir, 'no-dist') });
  const { origin } = collector;
  const browser = await launch();
  try {
    const now = Date.now();
    for (const [i, variant] of ['control', 'b', 'b'].entries()) {
      const response = await fetch(`${origin}/collect`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: batch(`v${i}`, variant, now + i) });
      assert.equal(response.status, 200, await response.text());
    }

    const page = await browser.newPage();
    const dialogs = [];
    page.on('dialog', async (dialog) => { dialogs.push(dialog.message()); await dialog.dismiss(); });
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // A CSP violation is a console error: it would mean markup reached the DOM and tried to run.
    page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });

    await page.goto(`${origin}/`);
    await page.waitForURL((url) => url.pathname === '/signin');
    await page.locator('#token').fill(ADMIN_TOKEN);
    const [listResponse] = await Promise.all([page.waitForResponse(`${origin}/`), page.locator('button[type=submit]').click()]);
    const csp = listResponse.headers()['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);

    const row = page.locator('tr[data-experiment="hostile"]');
    await row.waitFor();
    assert.equal(await row.locator('.experiment-name').textContent(), NAME);
    assert.equal(await row.locator('.visitors').textContent(), '3');
    assert.deepEqual(await injected(page), { elements: 0, handlers: 0 }, 'list page');

    await row.locator('.experiment-name').click();
    await page.waitForURL(`${origin}/experiments/hostile`);
    await page.locator('table.results-table').first().waitFor();
    assert.equal(await page.locator('h1').textContent(), NAME);

    const conversions = await page.locator('table.results-table[data-goal="purchase"] .conversions').allTextContents();
    assert.deepEqual(conversions, ['1', '2'], 'the hostile events were counted and shown');
    // The charts over time name the same variants and goals: drawn before the page is inspected.
    await page.locator('#over-time .lift-over-time').first().waitFor();
    await page.locator('#over-time .visitors-over-time .bar').first().waitFor();
    assert.deepEqual(await injected(page), { elements: 0, handlers: 0 }, 'experiment page');

    // The editor shows them in its fields, and its history shows a diff of them, as text.
    await page.locator('#edit-experiment').click();
    await page.waitForURL(`${origin}/experiments/hostile/edit`);
    await page.locator('form.experiment-form').waitFor();
    assert.equal(await page.locator('h1').textContent(), NAME);
    assert.equal(await page.locator('input[name="name"]').inputValue(), NAME);
    assert.equal(await page.locator('input[name="goals[0].target"]').inputValue(), EVENT);
    await page.locator('input[name="name"]').fill(`${NAME}${EVENT}`);
    await page.locator('#save').click();
    await page.locator('#history tr[data-change] .diff-after').first().waitFor();
    assert.equal(await page.locator('h1').textContent(), `${NAME}${EVENT}`);
    assert.deepEqual(await injected(page), { elements: 0, handlers: 0 }, 'editor page');
    assert.deepEqual(dialogs, []);
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await browser.close();
    await collector.close();
    await rm(dir, { recursive: true, force: true });
  }
});
