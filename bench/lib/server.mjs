// The benchmark's storefront server, on 127.0.0.1 and a random port: one page in several setups
// (no script, splitbeam's inline tag, its blocking script, GrowthBook's script with its payload
// inline, async and sync). Every file gzip -9, with the caching a real host gives it: content-hashed
// files immutable, splitbeam.js as `splitbeam serve` sends it, GrowthBook's versioned script as a
// CDN does, pages `no-cache`; revalidation answers 304 (the repeat view uses the HTTP cache).
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { benchDir, fixtures, fiftyConfig, growthbookPayload, productTiles } from './configs.mjs';
import { bakedLoader, inlineTag } from '../../tests/e2e/lib/compile.mjs';

const root = path.resolve(benchDir, '..');
// Another build's files (bench/ab-builds.mjs): its dist/ and its target/splitbeam-glue/ (export names).
const dist = process.env.SPLITBEAM_DIST || path.join(root, 'dist');
const glue = process.env.SPLITBEAM_GLUE || path.join(root, 'target/splitbeam-glue');
const growthbookBundle = path.join(root, 'node_modules/@growthbook/growthbook/dist/bundles/auto.min.js');
const gbInline = () => `<script>window.growthbook_config = { payload: ${JSON.stringify(growthbookPayload())} };</script>`;

/** The page setups, in table order. `tags(config)` is what goes at the top of <head>, after the probe. */
export const SETUPS = {
  none: { label: 'no script', tags: () => '' },
  splitbeam: { label: 'splitbeam: inline tag (recommended install)', tags: (config) => inlineTags[config] },
  'splitbeam-blocking': { label: 'splitbeam: blocking script tag', tags: (config) => `<script src="/splitbeam.js?config=${config}"></script>` },
  'gb-inline': { label: 'GrowthBook auto.min.js async, payload inline', tags: () => gbInline() + '<script async src="/growthbook/auto.min.js"></script>' },
  'gb-sync': { label: 'GrowthBook auto.min.js sync, payload inline', tags: () => gbInline() + '<script src="/growthbook/auto.min.js"></script>' },
};

/** The config files the setups use: the headline experiment, and 50 experiments with conditions. */
const configFiles = {
  1: path.join(fixtures, 'experiments.json'),
  50: (() => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'splitbeam-bench-')), 'fifty.json');
    fs.writeFileSync(file, JSON.stringify(fiftyConfig()));
    return file;
  })(),
};
const inlineTags = {};

const read = (file) => fs.readFileSync(file);
const gzipped = new Map();
/** Gzip -9 once per body (what a host serving precompressed files sends) so that serving costs nothing. */
function gzip(key, body) {
  if (!gzipped.has(key)) gzipped.set(key, zlib.gzipSync(body, { level: 9 }));
  return gzipped.get(key);
}

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Starts the server. Returns { url, close }. Files are read at start: rebuild, then restart. */
export async function startServer() {
  const bodies = {
    '/growthbook/auto.min.js': ['text/javascript', read(growthbookBundle), IMMUTABLE],
    '/shop.css': ['text/css', read(path.join(fixtures, 'shop.css')), 'no-cache'],
  };
  for (const [config, file] of Object.entries(configFiles)) {
    const loader = bakedLoader(file);
    // As `splitbeam serve` sends it (collector/src/server/assets.rs).
    bodies[`/splitbeam.js?config=${config}`] = ['text/javascript', Buffer.from(loader), 'public, max-age=0, stale-while-revalidate=86400'];
    inlineTags[config] = inlineTag(file, `/splitbeam.js?config=${config}`);
  }
  for (const name of fs.readdirSync(dist)) {
    if (/\.[0-9a-f]{16}\.(wasm|js)$/.test(name)) bodies[`/${name}`] = [name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', read(path.join(dist, name)), IMMUTABLE];
  }
  const template = read(path.join(fixtures, 'storefront.html'))
    .toString('utf8')
    .replace('<!--products-->', productTiles());
  const probe = `<script>${read(path.join(fixtures, 'probe.js'))}</script>`;
  // The build shortens export names; the timing wrapper gets each module's originals, in the order
  // the modules are instantiated (first paint, then the whole snippet).
  const names = (module) => {
    const file = path.join(glue, `${module}.export-names.json`);
    return fs.existsSync(file) ? read(file).toString('utf8') : '{}';
  };
  const wasmTiming = (config) => `<script>window.__wasmExportNames = [${names(config === '50' ? 'first_audience' : 'first')}, ${names('full')}];${read(path.join(fixtures, 'wasm-timing.js'))}</script>`;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const send = (status, type, body, key, caching = 'no-cache') => {
      const headers = { 'content-type': type, 'cache-control': caching };
      if (status === 200 && key) {
        const etag = `"${createHash('sha1').update(body).digest('hex').slice(0, 16)}"`;
        headers.etag = etag;
        if (req.headers['if-none-match'] === etag) return res.writeHead(304, headers).end();
        if (/\bgzip\b/.test(req.headers['accept-encoding'] || '')) {
          body = gzip(key, body);
          headers['content-encoding'] = 'gzip';
        }
      }
      res.writeHead(status, headers);
      res.end(body);
    };
    try {
      if (url.pathname === '/') {
        const setup = SETUPS[url.searchParams.get('setup') || 'none'];
        if (!setup) return send(404, 'text/plain', 'unknown setup');
        const config = url.searchParams.get('config') === '50' ? '50' : '1';
        let tags = setup.tags(config);
        // The timing wrapper goes first; a one-line script after the tags marks where they ended.
        if (url.searchParams.has('wasm-timing')) tags = wasmTiming(config) + tags + '<script>window.__wasmTiming.tagEnd = performance.now()</script>';
        const html = template.replace('<!--probe-->', probe).replace('<!--setup-->', tags);
        return send(200, 'text/html; charset=utf-8', Buffer.from(html), 'page ' + req.url);
      }
      const key = url.pathname === '/splitbeam.js' ? `/splitbeam.js?config=${url.searchParams.get('config') || '1'}` : url.pathname;
      const entry = bodies[key];
      if (!entry) return send(404, 'text/plain', 'not found');
      send(200, entry[0], entry[1], key, entry[2]);
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
