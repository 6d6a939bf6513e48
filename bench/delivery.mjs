// (issue 4 item 8) Main-thread cost of delivery: per `splitbeam.track()` call (stamping, encoding,
// queueing, persisting the outbox, and the fetch every 20 events) and per flush (fetch on
// `splitbeam.flush()`, sendBeacon on hide), timed with performance.now() in headless Chromium
// against a recording collector on 127.0.0.1. Run: bash scripts/build.sh && node bench/delivery.mjs
import { launch } from '../tests/e2e/lib/snippet-browser.mjs';
import { startCollector } from '../tests/e2e/lib/delivery-collector.mjs';
import { startPages, started } from '../tests/e2e/lib/delivery-server.mjs';

const LOADS = Number(process.env.LOADS) || 5;
const TRACKS = 400; // per load, in blocks of 20 (one batch each)
const FLUSHES = 20; // per load, each after 20 tracked events

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const us = (ms) => (ms * 1000).toFixed(1).padStart(9);

const collector = await startCollector();
const pages = await startPages(collector.url);
const browser = await launch();
const samples = { track: [], flushFetch: [], flushBeacon: [] };
try {
  for (let load = 0; load < LOADS; load++) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(pages.url + '/index.html');
    await started(page);
    const timings = await page.evaluate(
      async ({ TRACKS, FLUSHES }) => {
        const out = { track: [], flushFetch: [], flushBeacon: [] };
        const pause = () => new Promise((resolve) => setTimeout(resolve, 30)); // answers arrive, as on a real page
        // performance.now() is coarsened to 100 µs here: time blocks of 20 calls, report per call.
        for (let block = 0; block < TRACKS / 20; block++) {
          const t0 = performance.now();
          for (let i = 0; i < 20; i++) splitbeam.track('purchase', { value: i + 0.5, currency: 'EUR', sku: 'SKU-' + i });
          out.track.push((performance.now() - t0) / 20);
          await pause();
        }
        for (let f = 0; f < FLUSHES; f++) {
          for (let i = 0; i < 19; i++) splitbeam.track('view_item', { sku: 'SKU-' + i });
          const t0 = performance.now();
          splitbeam.flush();
          out.flushFetch.push(performance.now() - t0);
          await pause();
        }
        // The hide path: document.hidden reads true, then visibilitychange → sendBeacon.
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
        for (let f = 0; f < FLUSHES; f++) {
          for (let i = 0; i < 19; i++) splitbeam.track('view_item', { sku: 'SKU-' + i });
          const t0 = performance.now();
          document.dispatchEvent(new Event('visibilitychange'));
          out.flushBeacon.push(performance.now() - t0);
          await pause();
        }
        return out;
      },
      { TRACKS, FLUSHES },
    );
    for (const key of Object.keys(samples)) samples[key].push(...timings[key]);
    await ctx.close();
  }
  console.log(`delivery main-thread cost, ${LOADS} page loads, Chromium ${browser.version()} (µs)`);
  console.log('operation                          n   median      p95      max');
  const row = (name, xs) => console.log(`${name.padEnd(28)} ${String(xs.length).padStart(6)} ${us(percentile(xs, 50))} ${us(percentile(xs, 95))} ${us(Math.max(...xs))}`);
  row('track() per call (x20 blocks)', samples.track);
  row('flush() 19-20 events, fetch', samples.flushFetch);
  row('hide flush 19 events, beacon', samples.flushBeacon);
  console.log(`collector received ${collector.events().length} events in ${collector.batches.length} batches`);
} finally {
  await browser.close();
  await pages.close();
  await collector.close();
}
