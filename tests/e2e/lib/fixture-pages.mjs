// A page server for one test file's fixtures on 127.0.0.1: `route(pathname)` answers what the test
// serves itself ([content type, body], or nothing), every other path is a file of dist/ (404 if
// none). Nothing is cached by the browser, so each load gets what the test serves now.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../dist');

/** Starts the server. Returns { url, close }. */
export async function startFixturePages(route) {
  const server = http.createServer((req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    const send = (type, body) => res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    const own = route(p);
    if (own) return send(...own);
    const file = path.join(dist, path.basename(p));
    if (!fs.existsSync(file)) return res.writeHead(404).end();
    send(file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', fs.readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}
