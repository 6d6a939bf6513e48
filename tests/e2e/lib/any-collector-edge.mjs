// A collector on 127.0.0.1 with one odd behaviour at a time, as third-party endpoints have them:
// a given status (201, 202, 204, 413 above a size, 200 with an HTML page), a 307 to another path,
// a first answer slower than the snippet waits, CORS headers or none. With `pages`, it also
// serves the delivery fixture pages, so the collector is on the shop's own origin.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fixtures } from './delivery-server.mjs';
import { bakedLoader } from './compile.mjs';

const dist = path.resolve(fixtures, '../../../dist');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm' };

/**
 * Options: `cors` (send Access-Control-Allow-Origin), `status` (default 204), `html` (a 200 HTML
 * error page), `redirect` (307 from /collect to /stored), `maxBytes` (413 above), `slowFirstMs`
 * (the first batch is answered that late), `pages` (serve the shop too), `errorNth` (the n-th readable
 * fetch, 0-based, gets a 503 without CORS headers, as nginx's `add_header` without `always` does;
 * beacons and no-cors requests are not counted: a trusted beacon's fate is never known).
 */
export async function startEdge({ errorNth = -1, cors = true, status = 204, html = false, redirect = false, maxBytes = Infinity, slowFirstMs = 0, pages = false } = {}) {
  const bodies = [];
  const answers = [];
  let readableFetches = 0;
  let collectorUrl = '';
  const headers = cors ? { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'retry-after' } : {};
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (req.method === 'GET' && pages) {
      const p = url.pathname === '/' ? '/index.html' : url.pathname;
      if (p === '/splitbeam.js') {
        const loader = bakedLoader(path.join(fixtures, 'experiments.json'));
        return res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' }).end(loader);
      }
      const file = p.startsWith('/splitbeam') ? path.join(dist, path.basename(p)) : path.join(fixtures, path.normalize(p));
      if (!fs.existsSync(file)) return res.writeHead(404).end();
      let body = fs.readFileSync(file);
      if (file.endsWith('.html')) body = body.toString('utf8').replaceAll('__COLLECTOR__', collectorUrl);
      return res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' }).end(body);
    }
    if (req.method !== 'POST') return res.writeHead(404, headers).end();
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (redirect && url.pathname === '/collect') {
        bodies.push({ refused: 307 });
        answers.push(307);
        return res.writeHead(307, { ...headers, location: '/stored' }).end();
      }
      const readableFetch = req.headers['sec-fetch-mode'] === 'cors';
      if (readableFetch && readableFetches++ === errorNth) {
        bodies.push({ refused: 503 });
        answers.push(503);
        return res.writeHead(503).end();
      }
      if (text.length > maxBytes) {
        bodies.push({ refused: 413 });
        answers.push(413);
        return res.writeHead(413, headers).end();
      }
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        body = { text };
      }
      const first = bodies.filter((b) => (b.events || []).length).length === 0 && (body.events || []).length > 0;
      bodies.push(body);
      const answer = () => {
        answers.push(html ? 200 : status);
        if (html) return res.writeHead(200, { ...headers, 'content-type': 'text/html' }).end('<!doctype html><h1>Error</h1><p>Something went wrong.</p>');
        res.writeHead(status, headers).end();
      };
      if (first && slowFirstMs) setTimeout(answer, slowFirstMs);
      else answer();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  collectorUrl = `${origin}/collect`;
  return {
    url: collectorUrl,
    origin,
    answers,
    read: () => ({ bodies, events: bodies.flatMap((b) => b.events || []) }),
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
