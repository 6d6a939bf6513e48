// Headless Debian Chromium for the benchmark, and one fresh-context page load under a network and
// CPU profile: a first-time visitor (empty cache, no cookies, no localStorage) on every load.
import { chromium } from 'playwright-core';

/** Desktop, and Lighthouse's mobile profile (150 ms RTT, 1.6 Mbit/s down, 750 kbit/s up, 4x CPU). */
export const PROFILES = {
  desktop: { label: 'desktop (40 ms, 1.5 MB/s)', latency: 40, down: 1.5e6, up: 1.5e6, cpu: 1 },
  mobile: { label: "mobile (Lighthouse's: 150 ms RTT, 1.6 Mbit/s down, 750 kbit/s up, 4x CPU slowdown)", latency: 150, down: 1.6e6 / 8, up: 750e3 / 8, cpu: 4 },
};
export const LATENCY_MS = PROFILES.desktop.latency;

export const launch = () =>
  chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });

/** Opens a fresh context under `profile` (a PROFILES key); `run(page)` does the load(s). Always closed. */
export async function freshLoad(browser, run, profile = 'desktop') {
  const { latency, down, up, cpu } = PROFILES[profile];
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency, downloadThroughput: down, uploadThroughput: up });
    if (cpu > 1) await cdp.send('Emulation.setCPUThrottlingRate', { rate: cpu });
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
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))).catch(() => {});
}
