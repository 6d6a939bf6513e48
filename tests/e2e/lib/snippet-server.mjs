// A static server for the snippet's end-to-end tests, on 127.0.0.1 and a random port: the fixture
// pages, dist/ (the built snippet) and a baked splitbeam.js, with switches for the failure cases.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bakedLoader, inlineTag } from './compile.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const fixtures = path.join(root, 'tests/fixtures/snippet');
const dist = path.join(root, 'dist');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm' };

const config = path.join(fixtures, 'experiments.json');

/** Starts the server. `options.missingWasm`: the wasm answers 404; `options.wasmType`: the wasm's
 * content type (a host that does not know `.wasm`). Returns { url, close }.
 * `/splitbeam.js` (also under `/baked/`) has the fixture config compiled in, `/damaged/splitbeam.js`
 * a corrupt one; `tagged.html` starts with the inline tag `splitbeam tag` prints. */
export async function startServer(options = {}) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const send = (status, type, body, headers = {}) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
      res.end(body);
    };
    try {
      let p = url.pathname;
      if (p.endsWith('.wasm') && options.missingWasm) return send(404, 'text/plain', 'not found');
      if (p === '/splitbeam.js' || p === '/baked/splitbeam.js') return send(200, types['.js'], bakedLoader(config));
      if (p === '/damaged/splitbeam.js') return send(200, types['.js'], bakedLoader(config).replace(/"b":"SB(\\x[0-9a-f]{2})/, '"b":"SB$1\\x7f\\x7f\\x7f\\x7f'));
      if (p === '/tagged.html') {
        const page = fs.readFileSync(path.join(fixtures, 'tagged.html'), 'utf8');
        return send(200, types['.html'], page.replace('__TAG__', () => inlineTag(config, '/splitbeam.js', options.tag || {})));
      }
      p = p.replace(/^\/(baked|damaged)\//, '/');
      if (p === '/') p = '/index.html';
      if (p.startsWith('/spa/')) p = '/spa.html';
      const file = p.startsWith('/splitbeam') ? path.join(dist, path.basename(p)) : path.join(fixtures, path.normalize(p));
      if (!file.startsWith(root) || !fs.existsSync(file)) return send(404, 'text/plain', 'not found');
      const headers = {};
      if (p === '/csp.html') headers['content-security-policy'] = "script-src 'self' 'wasm-unsafe-eval'";
      const type = (file.endsWith('.wasm') && options.wasmType) || types[path.extname(file)] || 'application/octet-stream';
      send(200, type, fs.readFileSync(file), headers);
    } catch (err) {
      send(500, 'text/plain', String(err));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
