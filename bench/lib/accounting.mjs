// The flash sale's two Node clients, beside wrk:
// - accounting: posts `batches` batches with known event ids, at most `inFlight` at a time, paced
//   over `seconds` so that it meets every stage of the sale; a 503 or 429 is retried after its
//   Retry-After (a network error after 1 s), until `deadline`. It records what the collector
//   answered, so that the database can be checked against it.
// - results reader: GET /api/experiments/<key>/results every 0.5 s, timing each read.
import http from 'node:http';

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One HTTP request on the keep-alive agent: { status, headers, body } (rejects on network errors). */
function request(url, { method = 'GET', body, timeoutMs = 30000, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const sent = body ? { ...headers, 'content-type': 'text/plain;charset=UTF-8', 'content-length': Buffer.byteLength(body) } : headers;
    const req = http.request(url, { method, agent, headers: sent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The accounting batches: batch i belongs to visitor floor(i/3) like wrk's (exposure + pageview +
 * goal, then a pageview, then pageview + purchase), ids `<prefix>-<i>-<e|p|g>`.
 */
export function accountingBatches({ prefix, count, experiment, variants }) {
  const batches = [];
  const now = Date.now();
  for (let i = 0; i < count; i++) {
    const v = Math.floor(i / 3);
    const visitor = `v_${prefix}_${v}`;
    const common = { visitor, session: `s_${visitor}`, url: '/shop/' };
    const step = i % 3;
    const ts = now + step;
    const events = [];
    if (step === 0) events.push({ id: `${prefix}-${i}-e`, type: 'exposure', ts, ...common, experiment, variant: variants[v % variants.length] });
    events.push({ id: `${prefix}-${i}-p`, type: 'pageview', ts, ...common });
    if (step === 0) events.push({ id: `${prefix}-${i}-g`, type: 'goal', goal: 'add_to_cart', ts, ...common });
    if (step === 2) events.push({ id: `${prefix}-${i}-g`, type: 'goal', goal: 'purchase', value: 49.9, ts, ...common });
    batches.push({ index: i, ids: events.map((e) => e.id), body: JSON.stringify({ v: 1, sent_at: ts, events }) });
  }
  return batches;
}

/**
 * Posts `batches` to `url`/collect. Returns per-batch records { ids, attempts, statuses: [...],
 * acked, stored, duplicates } and totals.
 */
export async function runAccounting({ url, batches, inFlight = 20, seconds, deadline }) {
  const start = Date.now();
  const gap = (seconds * 1000) / batches.length;
  const records = batches.map((b) => ({ index: b.index, ids: b.ids, attempts: 0, statuses: [], errors: 0, acked: false, stored: 0, duplicates: 0 }));
  let next = 0;
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= batches.length) return;
      // Paced: batch i starts no earlier than its slot in the sale.
      const slot = start + i * gap - Date.now();
      if (slot > 0) await sleep(slot);
      const r = records[i];
      while (!r.acked && Date.now() < deadline) {
        r.attempts++;
        let res;
        try {
          res = await request(`${url}/collect`, { method: 'POST', body: batches[i].body });
        } catch (_) {
          r.errors++;
          await sleep(1000);
          continue;
        }
        r.statuses.push(res.status);
        if (res.status >= 200 && res.status < 300) {
          r.acked = true;
          const answer = JSON.parse(res.body);
          r.stored = answer.stored;
          r.duplicates = answer.duplicates;
        } else if (res.status === 503 || res.status === 429) {
          const after = Number(res.headers['retry-after']);
          await sleep((Number.isFinite(after) && after >= 0 ? after : 1) * 1000);
        } else {
          // Anything else is a bug in the batch or the collector: not retried.
          break;
        }
      }
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker));
  const count = (status) => records.reduce((n, r) => n + r.statuses.filter((s) => s === status).length, 0);
  return {
    records,
    seconds: (Date.now() - start) / 1000,
    acked: records.filter((r) => r.acked).length,
    refused503: count(503),
    refused429: count(429),
    other: records.reduce((n, r) => n + r.statuses.filter((s) => s !== 503 && s !== 429 && (s < 200 || s >= 300)).length, 0),
    networkErrors: records.reduce((n, r) => n + r.errors, 0),
    retried: records.filter((r) => r.attempts > 1).length,
  };
}

/**
 * Reads `url` every `everyMs` (start to start; back to back when a read takes longer) until
 * stop(), sending `headers` (the admin's bearer token: the results API needs one).
 */
export function startResultsReader(url, everyMs = 500, headers = {}) {
  const times = [];
  const failures = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const res = await request(url, { timeoutMs: 30000, headers });
        if (res.status === 200) times.push(performance.now() - t0);
        else failures.push(res.status);
      } catch (e) {
        failures.push(e.message);
      }
      const wait = everyMs - (performance.now() - t0);
      if (wait > 0 && running) await sleep(wait);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return { times, failures };
    },
  };
}

export const closeAgent = () => agent.destroy();
