// The flicker probe (issue 3, item 8): over 20 first-visit loads at 40 ms emulated latency, no frame
// may show the original copy of a changed element visibly. rAF callbacks run right before each paint.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './lib/snippet-server.mjs';
import { launch } from './lib/snippet-browser.mjs';

const ORIGINAL = 'Welcome to the shop';
const VARIANT = 'Free shipping on every order';
const LOADS = 20;
let server, browser;

before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** One first visit of probe.html at 40 ms latency; returns the probe's frames. */
async function probe(path) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 40, downloadThroughput: -1, uploadThroughput: -1 });
  await page.goto(server.url + path);
  await page.waitForFunction((v) => document.querySelector('#hero h1')?.textContent === v, VARIANT, { timeout: 10000 });
  // Two more frames after the swap, so the probe saw the final state too.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const frames = await page.evaluate(() => window.frames_);
  await ctx.close();
  return frames;
}

test(`no frame shows the original copy over ${LOADS} loads at 40 ms latency`, async () => {
  let flickering = 0;
  for (let i = 0; i < LOADS; i++) {
    const frames = await probe('/probe.html');
    // The probe must have watched the element, or a pass would mean nothing.
    assert.ok(frames.length > 0, `load ${i}: the probe recorded no frame with the element`);
    assert.ok(frames.some((f) => f.text === VARIANT && f.visible), `load ${i}: the variant was never seen`);
    if (frames.some((f) => f.text === ORIGINAL && f.visible)) flickering++;
  }
  assert.equal(flickering, 0, `${flickering} of ${LOADS} loads flickered`);
});
