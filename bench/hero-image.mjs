// A storefront whose largest paint is an image that is still arriving when the headline is revealed
// (BENCH_HERO_IMAGE=1: 115 KB of PNG under the headline): when does its last byte arrive, with no
// script, GrowthBook async and splitbeam's inline tag? Fresh context per load, the profile's
// network and CPU throttling, setups alternating. `node bench/hero-image.mjs [mobile|desktop] [rounds]`.
import { context, startPaintServer } from './lib/paint-server.mjs';
import { chooseSetups } from './lib/paint-setups.mjs';
import { launch, freshLoad, PROFILES } from './lib/browser.mjs';
import { median, ms, table } from './lib/stats.mjs';

process.env.BENCH_HERO_IMAGE = '1';
const profile = process.argv[2] === 'desktop' ? 'desktop' : 'mobile';
const rounds = Number(process.argv.find((a) => /^\d+$/.test(a)) || 6);
const ctx = context();
const { setups } = chooseSetups(ctx, 'none,gb-async,splitbeam-tag');
const server = await startPaintServer(ctx, setups);
const browser = await launch();
const results = Object.fromEntries(setups.map((s) => [s.id, []]));
try {
  for (let i = 0; i < rounds; i++) {
    for (const setup of i % 2 ? [...setups].reverse() : setups) {
      const load = await freshLoad(
        browser,
        async (page) => {
          await page.goto(`${server.url}/?setup=${setup.id}&probe=0`, { waitUntil: 'load', timeout: 30000 });
          // Long enough for the whole snippet to have been requested (1 s after the reveal at most).
          await page.waitForTimeout(2500);
          return page.evaluate(() => {
            const entries = performance.getEntriesByType('resource');
            const image = entries.find((e) => /\/hero\.png$/.test(e.name));
            const whole = entries.filter((e) => /splitbeam_(bg|full)\./.test(e.name)).map((e) => e.startTime);
            return { imageEnd: image ? image.responseEnd : null, wholeStart: whole.length ? Math.min(...whole) : null };
          });
        },
        profile,
      );
      results[setup.id].push(load);
      console.error(`  hero image (${profile}): ${setup.id} ${JSON.stringify(load)}`);
    }
  }
} finally {
  await browser.close();
  await server.close();
}
const none = median(results.none.map((r) => r.imageEnd));
const rows = setups.map((s) => {
  const end = median(results[s.id].map((r) => r.imageEnd));
  const whole = results[s.id].map((r) => r.wholeStart).filter((v) => v != null);
  return [s.label, String(results[s.id].length), ms(end), s.id === 'none' ? '—' : `${end - none >= 0 ? '+' : ''}${ms(end - none)}`, whole.length ? ms(median(whole)) : '—'];
});
console.log(`### A hero image still arriving at the reveal, ${PROFILES[profile].label}\n`);
console.log(table(['setup', 'loads', 'hero image: last byte (median)', 'vs no script', "splitbeam's whole snippet requested (median)"], rows));
