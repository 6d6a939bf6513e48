// Serves the delivery fixture pages (tests/fixtures/delivery, with `__COLLECTOR__` replaced by the
// test collector's URL) and the built snippet from dist/, on 127.0.0.1: another origin than the
// collector's, as on a real storefront.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bakedLoader } from './compile.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const fixtures = path.join(root, 'tests/fixtures/delivery');
const dist = path.join(root, 'dist');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm' };

export async function startPages(collectorUrl) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    let p = url.pathname === '/' ? '/index.html' : url.pathname;
    if (p === '/splitbeam.js') {
      const loader = bakedLoader(path.join(fixtures, 'experiments.json'));
      return res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-store' }).end(loader);
    }
    const file = p.startsWith('/splitbeam') ? path.join(dist, path.basename(p)) : path.join(fixtures, path.normalize(p));
    if (!file.startsWith(root) || !fs.existsSync(file)) return res.writeHead(404).end('not found');
    let body = fs.readFileSync(file);
    if (file.endsWith('.html')) body = body.toString('utf8').replaceAll('__COLLECTOR__', collectorUrl);
    res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' }).end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

/** Resolves once the whole snippet on `page` has started (the delivery experiment has a variant, and
 * the loader has handed over: calls and a page left from then on are the whole snippet's). */
export const started = (page) =>
  page.waitForFunction(() => window.splitbeam && window.splitbeam.variant && window.splitbeam.variant('delivery') && window.splitbeamFull && window.splitbeamFull.started, null, { timeout: 10000 });

/** The failure count in the page's stored outbox snapshots (0 when none). */
export const storedFailures = (page) =>
  page.evaluate(() =>
    Object.keys(localStorage)
      .filter((k) => k.startsWith('splitbeam.outbox.'))
      .map((k) => (JSON.parse(localStorage.getItem(k)) || {}).failures || 0)
      .reduce((a, b) => Math.max(a, b), 0),
  );
