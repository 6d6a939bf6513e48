// The storefront server of bench/paint.mjs and bench/lighthouse.mjs, on 127.0.0.1 and a random port,
// serving like a real host: every file gzip-compressed (precompressed at level 9, Content-Encoding:
// gzip), content-hashed files (`splitbeam_bg.<hash>*.wasm`) `Cache-Control: public, max-age=31536000,
// immutable`, every other file `no-cache` with an ETag that a revalidation answers with 304.
// Pages: `/?setup=<id>` (bench/lib/paint-setups.mjs), `&probe=0` leaves the flicker probe out.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { benchDir, fixtures, growthbookPayload, productTiles } from './configs.mjs';

const root = path.resolve(benchDir, '..');
const dist = path.join(root, 'dist');
const growthbookBundle = path.join(root, 'node_modules/@growthbook/growthbook/dist/bundles/auto.min.js');
const IMMUTABLE = /^splitbeam_[a-z_]+\.[0-9a-f]{8,}\.(wasm|js)$/;

/** The collector binary: $SPLITBEAM_BIN, else $CARGO_TARGET_DIR/release/splitbeam, else target/release/splitbeam. */
function findBinary() {
  const candidates = [
    process.env.SPLITBEAM_BIN,
    process.env.CARGO_TARGET_DIR && path.join(process.env.CARGO_TARGET_DIR, 'release/splitbeam'),
    path.join(root, 'target/release/splitbeam'),
  ].filter(Boolean);
  return candidates.find((file) => fs.existsSync(file)) || null;
}

/** What the setups may use (see bench/lib/paint-setups.mjs). */
export function context() {
  const loaderFile = path.join(dist, 'splitbeam.js');
  if (!fs.existsSync(loaderFile)) throw new Error('dist/splitbeam.js is missing: run `bash scripts/build.sh` first');
  const splitbeamBin = findBinary();
  const results = new Map();
  const run = (args) => {
    if (!splitbeamBin) return null;
    const key = args.join('\0');
    if (!results.has(key)) {
      try {
        results.set(key, execFileSync(splitbeamBin, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 }));
      } catch (_) {
        results.set(key, null);
      }
    }
    return results.get(key);
  };
  return {
    root,
    dist,
    configFile: path.join(fixtures, 'experiments.json'),
    loader: fs.readFileSync(loaderFile, 'utf8'),
    splitbeamBin,
    growthbookPayload: growthbookPayload(),
    run,
  };
}

/** The loader with the config baked in, as a shop installs it: `splitbeam snippet experiments.json`. */
function snippet(ctx, notes) {
  const printed = ctx.run(['snippet', ctx.configFile, '--dist', ctx.dist]);
  if (printed != null) return printed;
  // The browser reads only the compiled config, which the CLI makes.
  throw new Error(ctx.splitbeamBin ? '`splitbeam snippet` failed' : 'no collector binary (cargo build --release -p splitbeam-collector)');
}

/** A `width`×`height` PNG of random pixels: it compresses by nothing, so its bytes stay what they are. */
function noisePng(width, height) {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(data.length + 12);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(zlib.crc32(body), data.length + 8);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const rows = Buffer.concat(Array.from({ length: height }, () => Buffer.concat([Buffer.from([0]), crypto.randomBytes(width * 3)])));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', zlib.deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

const etagOf = (body) => `"${crypto.createHash('sha256').update(body).digest('hex').slice(0, 20)}"`;

/** Starts the server for `setups`. Returns { url, close, stats, notes }. Files are read once, at start. */
export async function startPaintServer(ctx, setups) {
  const notes = [];
  const files = new Map(); // path -> { type, raw, gz, etag, cache }
  const add = (urlPath, type, body) => {
    const raw = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const name = urlPath.split('/').pop();
    files.set(urlPath, {
      type,
      raw,
      gz: zlib.gzipSync(raw, { level: 9 }),
      etag: etagOf(raw),
      cache: IMMUTABLE.test(name) ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
  };
  const types = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css', '.ts': 'text/plain' };
  for (const name of fs.readdirSync(ctx.dist)) {
    if (name.startsWith('.') || name === 'splitbeam.js') continue;
    add(`/${name}`, types[path.extname(name)] || 'application/octet-stream', fs.readFileSync(path.join(ctx.dist, name)));
  }
  add('/splitbeam.js', 'text/javascript', snippet(ctx, notes));
  add('/growthbook/auto.min.js', 'text/javascript', fs.readFileSync(growthbookBundle));
  add('/shop.css', 'text/css', fs.readFileSync(path.join(fixtures, 'shop.css')));
  for (const setup of setups) for (const [p, [type, body]] of Object.entries(setup.files?.(ctx) || {})) add(p, type, body);

  let template = fs.readFileSync(path.join(fixtures, 'storefront.html'), 'utf8').replace('<!--products-->', productTiles());
  // BENCH_HERO_IMAGE=1: a large hero image under the headline, the page's largest paint (a
  // storefront whose LCP element is an image that arrives after the headline is revealed).
  if (process.env.BENCH_HERO_IMAGE === '1') {
    add('/hero.png', 'image/png', noisePng(240, 160));
    template = template.replace('<section id="hero">', '<section id="hero"><img id="hero-image" src="/hero.png" width="720" height="480" alt="" style="display:block;max-width:100%;height:auto">');
  }
  const probe = `<script>${fs.readFileSync(path.join(fixtures, 'probe.js'), 'utf8')}</script>`;
  for (const setup of setups) {
    const head = setup.head(ctx);
    for (const withProbe of [true, false]) {
      const html = template.replace('<!--probe-->', withProbe ? probe : '').replace('<!--setup-->', () => head);
      add(`/?setup=${setup.id}${withProbe ? '' : '&probe=0'}`, 'text/html; charset=utf-8', html);
    }
  }

  const stats = { requests: 0, notModified: 0, byPath: {} };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    let key = url.pathname;
    if (key === '/') key = `/?setup=${url.searchParams.get('setup') || 'none'}${url.searchParams.get('probe') === '0' ? '&probe=0' : ''}`;
    const file = files.get(key);
    stats.requests++;
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
      return res.end('not found');
    }
    const count = (stats.byPath[key] ||= { ok: 0, notModified: 0 });
    const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] || '');
    const headers = { 'content-type': file.type, 'cache-control': file.cache, etag: file.etag, vary: 'Accept-Encoding' };
    if (req.headers['if-none-match'] === file.etag) {
      stats.notModified++;
      count.notModified++;
      res.writeHead(304, headers);
      return res.end();
    }
    count.ok++;
    if (gzip) headers['content-encoding'] = 'gzip';
    const body = gzip ? file.gz : file.raw;
    headers['content-length'] = body.length;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    notes,
    /** gzip -9 bytes of a served path (for the tables). */
    gzipBytes: (p) => files.get(p)?.gz.length ?? null,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}
