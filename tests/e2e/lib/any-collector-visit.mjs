// One visit of two pages against a collector, as a shopper makes it: page view, exposure, three
// purchases and a click goal, then the next page and one more purchase. Waits (with a deadline)
// until every event has arrived and nothing is queued in localStorage, then reports counts.
import { openPage } from './snippet-browser.mjs';
import { eventually } from './delivery-collector.mjs';
import { started } from './delivery-server.mjs';

/** Chromium's own console lines about a request (not the page's code): CORS blocks, failed loads, 4xx/5xx. */
export const isBrowserNetworkLine = (text) => /CORS policy|Failed to load resource/.test(text);

const outboxKeys = (page) => page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('splitbeam.outbox.')));

/** The events the visit makes, by type (the ids are random: counted by kind and value). */
export function complete(events) {
  const distinct = [...new Map(events.map((e) => [e.id, e])).values()];
  const purchases = distinct.filter((e) => e.type === 'goal' && e.goal === 'purchase').map((e) => e.value).sort();
  return (
    distinct.length === 9 &&
    distinct.filter((e) => e.type === 'pageview').length === 2 &&
    distinct.filter((e) => e.type === 'exposure').length === 1 &&
    distinct.filter((e) => e.type === 'goal' && e.goal === 'add_to_cart').length === 2 &&
    JSON.stringify(purchases) === '[0,1,2,9]'
  );
}

/** `quickLeave`: the first page is left before its first timed batch (2 s), so its events go by beacon. */
export async function visit(browser, collector, shop, { deadlineMs = 60000, quickLeave = false } = {}) {
  const { page, ctx } = await openPage(browser);
  const lines = [];
  // Lines are labelled by the document that printed them: the index moves when the main frame
  // commits a new document, so a line the first page prints while it is being left stays its own.
  let pageIndex = -1;
  let documentPath = null;
  page.on('framenavigated', (frame) => {
    if (frame !== page.mainFrame()) return;
    const path = new URL(frame.url()).pathname;
    if (path !== documentPath) [documentPath, pageIndex] = [path, pageIndex + 1];
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') lines.push({ type: msg.type(), text: msg.text(), url: msg.location().url || '', page: pageIndex });
  });
  page.on('pageerror', (err) => lines.push({ type: 'uncaught', text: String(err), page: pageIndex }));
  try {
    await page.goto(shop + '/index.html');
    await started(page);
    await page.evaluate(() => [0, 1, 2].forEach((value) => splitbeam.track('purchase', { value })));
    await page.click('#stay');
    // The first timed batch (2 s) meets the collector while the page lives.
    if (!quickLeave) await eventually(() => collector.read().bodies.length > 0, 15000);
    await Promise.all([page.waitForURL('**/next.html'), page.click('#leave')]);
    await started(page);
    await page.evaluate(() => splitbeam.track('purchase', { value: 9 }));
    const done = await eventually(async () => complete(collector.read().events) && (await outboxKeys(page)).length === 0, deadlineMs, 200);
    // A duplicate still on its way would arrive within this (a 2 s batch timer, a 1 s backoff).
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const { bodies, events } = collector.read();
    const sends = new Map();
    for (const e of events) sends.set(e.id, (sends.get(e.id) || 0) + 1);
    return {
      done,
      complete: complete(events),
      bodies,
      events,
      maxSends: Math.max(0, ...sends.values()),
      totalSends: events.length,
      distinct: sends.size,
      queued: await outboxKeys(page),
      lines,
      warnings: lines.filter((l) => l.type === 'warning' && l.text.startsWith('splitbeam:')),
      pageErrors: lines.filter((l) => !isBrowserNetworkLine(l.text) && !(l.type === 'warning' && l.text.startsWith('splitbeam: the collector '))),
      // The shop's test server has no favicon: Chromium's 404 for it is not about delivery.
      networkLines: lines.filter((l) => isBrowserNetworkLine(l.text) && !l.url.endsWith('/favicon.ico')),
    };
  } finally {
    await ctx.close();
  }
}
