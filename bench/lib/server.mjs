// The benchmark's storefront server, on 127.0.0.1 and a random port: one page in several setups
// (no script, splitbeam, GrowthBook's script tag with and without anti-flicker), gzip like a CDN.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { benchDir, fixtures, headlineConfig, fiftyConfig, growthbookPayload, productTiles } from './configs.mjs';

const root = path.resolve(benchDir, '..');
const dist = path.join(root, 'dist');
const growthbookBundle = path.join(root, 'node_modules/@growthbook/growthbook/dist/bundles/auto.min.js');
const CLIENT_KEY = 'sdk-bench';

/** The page setups, in table order. `tags(origin)` is what goes at the top of <head>, after the probe. */
export const SETUPS = {
  none: { label: 'no script', tags: () => '' },
  splitbeam: { label: 'splitbeam (baked config, blocking tag)', tags: () => '<script src="/splitbeam.js"></script>' },
  'gb-async': {
    label: 'GrowthBook auto.min.js async',
    tags: (origin) => `<script async data-client-key="${CLIENT_KEY}" data-api-host="${origin}" src="/growthbook/auto.min.js"></script>`,
  },
  'gb-antiflicker': {
    label: 'GrowthBook async + anti-flicker',
    tags: (origin) => `<script async data-client-key="${CLIENT_KEY}" data-api-host="${origin}" data-anti-flicker="true" src="/growthbook/auto.min.js"></script>`,
  },
  'gb-inline': {
    label: 'GrowthBook async, payload inline',
    tags: () =>
      `<script>window.growthbook_config = { payload: ${JSON.stringify(growthbookPayload())} };</script>` +
      '<script async src="/growthbook/auto.min.js"></script>',
  },
};

// The same substitution as collector/src/snippet.rs `render`: the loader keeps one marker string.
function bake(loader, config) {
  const text = JSON.stringify(config).replace(/</g, '\\u003c');
  return loader.replace('"__SPLITBEAM_CONFIG__"', () => text);
}

const read = (file) => fs.readFileSync(file);
const gzipped = new Map();
/** Gzip once per body (level 6, what CDNs and nginx use on the fly) so that serving costs nothing. */
function gzip(key, body) {
  if (!gzipped.has(key)) gzipped.set(key, zlib.gzipSync(body, { level: 6 }));
  return gzipped.get(key);
}

/** The wasm file the built loader fetches. */
const wasmName = (loader) => (loader.match(/splitbeam_bg\.[0-9a-f]{8,}\.wasm/) || ['splitbeam_bg.wasm'])[0];

/** Starts the server. Returns { url, close }. Files are read at start: rebuild, then restart. */
export async function startServer() {
  const loader = read(path.join(dist, 'splitbeam.js')).toString('utf8');
  if (!loader.includes('"__SPLITBEAM_CONFIG__"')) throw new Error('dist/splitbeam.js has no "__SPLITBEAM_CONFIG__" marker to bake the config into');
  const bodies = {
    '/splitbeam.js?config=1': ['text/javascript', Buffer.from(bake(loader, headlineConfig()))],
    '/splitbeam.js?config=50': ['text/javascript', Buffer.from(bake(loader, fiftyConfig()))],
    // The loader fetches the wasm by its content-hashed name (scripts/build.sh).
    [`/${wasmName(loader)}`]: ['application/wasm', read(path.join(dist, wasmName(loader)))],
    '/growthbook/auto.min.js': ['text/javascript', read(growthbookBundle)],
    [`/api/features/${CLIENT_KEY}`]: ['application/json', Buffer.from(JSON.stringify(growthbookPayload()))],
    '/shop.css': ['text/css', read(path.join(fixtures, 'shop.css'))],
  };
  const template = read(path.join(fixtures, 'storefront.html'))
    .toString('utf8')
    .replace('<!--products-->', productTiles());
  const probe = `<script>${read(path.join(fixtures, 'probe.js'))}</script>`;
  const exportNames = path.join(root, 'target/splitbeam-glue/export-names.json');
  const names = fs.existsSync(exportNames) ? read(exportNames).toString('utf8') : '{}';
  const wasmTiming = `<script>window.__wasmExportNames = ${names};${read(path.join(fixtures, 'wasm-timing.js'))}</script>`;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const send = (status, type, body, key) => {
      const headers = { 'content-type': type, 'cache-control': 'no-store' };
      if (/\bgzip\b/.test(req.headers['accept-encoding'] || '') && key) {
        body = gzip(key, body);
        headers['content-encoding'] = 'gzip';
      }
      res.writeHead(status, headers);
      res.end(body);
    };
    try {
      if (url.pathname === '/') {
        const setup = SETUPS[url.searchParams.get('setup') || 'none'];
        if (!setup) return send(404, 'text/plain', 'unknown setup');
        const config = url.searchParams.get('config') === '50' ? '50' : '1';
        let tags = setup.tags(`http://${req.headers.host}`).replace('/splitbeam.js', `/splitbeam.js?config=${config}`);
        if (url.searchParams.has('wasm-timing')) tags = wasmTiming + tags;
        const html = template.replace('<!--probe-->', probe).replace('<!--setup-->', tags);
        return send(200, 'text/html; charset=utf-8', Buffer.from(html), 'page ' + req.url);
      }
      const key = url.pathname === '/splitbeam.js' ? `/splitbeam.js?config=${url.searchParams.get('config') || '1'}` : url.pathname;
      const entry = bodies[key];
      if (!entry) return send(404, 'text/plain', 'not found');
      send(200, entry[0], entry[1], key);
    } catch (err) {
      send(500, 'text/plain', `bench server: ${err && err.message}`);
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}
