// A recording collector for the delivery tests, on 127.0.0.1: keeps every batch POSTed to
// /collect with the time it arrived, answers what the test scripts (200, 503 + Retry-After), and can
// go down (connections refused: nothing listens on the port) and come up again on the same port.
import http from 'node:http';
import net from 'node:net';

/** A free port on 127.0.0.1 (nothing listens on it afterwards: connections are refused). */
export async function freePort() {
  const probe = net.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * `answer(n)` gives the response to the n-th batch (0-based): `{ status, headers }`; default 204.
 * With `down: true` the port is reserved but refuses connections until `up()`.
 */
export async function startCollector({ answer = () => ({ status: 204 }), down = false } = {}) {
  const port = await freePort();
  const batches = [];
  const sockets = new Set();
  const cors = {
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'POST, OPTIONS',
    'access-control-allow-headers': 'content-type',
    'access-control-expose-headers': 'retry-after',
  };
  const server = http.createServer((req, res) => {
    if (req.method === 'OPTIONS') return res.writeHead(204, cors).end();
    if (req.method !== 'POST' || !req.url.startsWith('/collect')) return res.writeHead(404, cors).end();
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const receivedAt = Date.now();
      const text = Buffer.concat(chunks).toString('utf8');
      let body = null;
      try {
        body = JSON.parse(text);
      } catch { /* recorded as unreadable */ }
      const reply = answer(batches.length) || { status: 204 };
      batches.push({ receivedAt, text, body, status: reply.status, contentType: req.headers['content-type'] || '' });
      res.writeHead(reply.status, { ...cors, ...(reply.headers || {}) }).end();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const listening = () => server.listening;
  const up = () => (listening() ? Promise.resolve() : new Promise((resolve) => server.listen(port, '127.0.0.1', resolve)));
  const goDown = async () => {
    if (!listening()) return;
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  if (!down) await up();
  return {
    url: `http://127.0.0.1:${port}/collect`,
    batches,
    up,
    down: goDown,
    /** Every event of every batch, in arrival order, with its batch's arrival time and status. */
    events: () => batches.flatMap((b, batch) => ((b.body && b.body.events) || []).map((e) => ({ ...e, batch, receivedAt: b.receivedAt, status: b.status }))),
    close: goDown,
  };
}

/** Ids that arrived in more than one accepted batch (or twice in one). */
export function duplicateIds(events) {
  const seen = new Map();
  for (const e of events.filter((e) => e.status < 300)) seen.set(e.id, (seen.get(e.id) || 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
}

/** Polls `check` until it returns a truthy value or `ms` pass; returns the last value. */
export async function eventually(check, ms, step = 100) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, step));
  }
}
