// What a later decision costs once the whole snippet has taken over: every `splitbeam.attributes()`
// call (and every SPA route) is decided by a fresh instance of the first-paint module
// (src/redecide.rs, www/first.js `redecide`). The audience fixture's page (the module with the
// condition engine), `n` calls in one page, timed in the page, untraced, desktop CPU.
// `node bench/redecide.mjs [n]` (needs `npm run build`).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, openPage, textOf } from '../tests/e2e/lib/snippet-browser.mjs';
import { bakedLoader, inlineTag } from '../tests/e2e/lib/compile.mjs';
import { startFixturePages } from '../tests/e2e/lib/fixture-pages.mjs';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../tests/fixtures/audience');
const config = path.join(fixtures, 'experiments.json');
const n = Number(process.argv[2]) || 1000;

const pages = await startFixturePages((p) => {
  if (p === '/splitbeam.js') return ['text/javascript', bakedLoader(config)];
  if (p === '/index.html') return ['text/html', fs.readFileSync(path.join(fixtures, 'index.html'), 'utf8').replace('__TAG__', () => inlineTag(config, '/splitbeam.js', {}))];
});
const browser = await launch();
try {
  const { page, ctx, seen } = await openPage(browser);
  await page.goto(pages.url + '/index.html');
  await page.waitForFunction(() => window.splitbeamFull && window.splitbeamFull.started, null, { timeout: 10000 });
  const ms = await page.evaluate((n) => {
    const start = performance.now();
    for (let i = 0; i < n; i++) window.splitbeam.attributes({ plan: 'free', visit: i });
    return performance.now() - start;
  }, n);
  const errors = seen.splitbeamErrors.length + seen.uncaught.length;
  console.log(`| later decisions | total | each | banner afterwards | console errors |\n| --- | --- | --- | --- | --- |`);
  console.log(`| ${n} | ${ms.toFixed(0)} ms | ${(ms / n).toFixed(3)} ms | ${await textOf(page, '#banner')} | ${errors} |`);
  await ctx.close();
} finally {
  await browser.close();
  await pages.close();
}
