// Headless Debian Chromium for the benchmark, and one fresh-context page load at 40 ms emulated
// latency: a first-time visitor (empty cache, no cookies, no localStorage) on every load.
import { chromium } from 'playwright-core';

export const LATENCY_MS = 40;
// "Generous" throughput: 100 Mbit/s down, 50 up (bytes per second), so that latency dominates.
const DOWN = 100e6 / 8;
const UP = 50e6 / 8;

export const launch = () =>
  chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });

/** Opens a fresh context with latency emulated; `run(page)` does the load. The context is always closed. */
export async function freshLoad(browser, run) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: LATENCY_MS, downloadThroughput: DOWN, uploadThroughput: UP });
    return await run(page);
  } finally {
    await context.close();
  }
}

/** Waits until the probe saw the load settle (copy changed if `changes`, page fully shown), then two more frames. */
export async function settle(page, changes, variantText, timeoutMs = 8000) {
  try {
    await page.waitForFunction(
      ([changes, variantText]) => {
        const frames = window.__probe.frames;
        const pageShown = frames.some((f) => f.pageShown);
        return pageShown && (!changes || frames.some((f) => f.text === variantText && f.heroShown));
      },
      [changes, variantText],
      { timeout: timeoutMs },
    );
  } catch (_) {
    // Did not settle in time: the frames tell what happened (counted as "variant never shown").
  }
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}
