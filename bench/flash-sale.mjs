// (issue 15) The flash-sale benchmark: the collector (`splitbeam serve`, SQLite) under load from wrk,
// side by side with nginx on the same machine as the ceiling, then a flash sale (200 connections for
// P s, 1,000 for P/2, 2,000 for P/3) while a Node client posts batches with known ids and checks
// that every acknowledged event is stored once, and another reads the results every 0.5 s.
// Everything on 127.0.0.1, bounded in time; the servers and the temp dir are removed at the end,
// also on failure or Ctrl-C. Prints Markdown tables and writes them into bench/results.md as the
// section "Flash sale" (replacing the previous one).
//
// Run: node bench/flash-sale.mjs   (needs `npm run build` for dist/ and
//   `cargo build --release -p splitbeam-collector`; wrk, nginx and sqlite3 from scripts/setup.sh)
// Env: FLASH_SECONDS (P, default 30), FLASH_PHASE_SECONDS (each side-by-side phase, default 5),
//   FLASH_BATCHES (accounting batches, default 2000), SPLITBEAM_BIN (default target/release/splitbeam).
//   --out FILE writes the section there instead of bench/results.md; --no-write prints only.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import zlib from 'node:zlib';
import { execFileSync, spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { benchDir } from './lib/configs.mjs';
import { table, percentile } from './lib/stats.mjs';
import { runWrk, wrkScripts, have, killWrk, nofileLimits } from './lib/wrk.mjs';
import { startCollector, startNginx, sqlite } from './lib/load-servers.mjs';
import { accountingBatches, runAccounting, startResultsReader, closeAgent } from './lib/accounting.mjs';

const root = path.resolve(benchDir, '..');
const { values: options } = parseArgs({
  options: {
    out: { type: 'string', default: path.join(benchDir, 'results.md') },
    'no-write': { type: 'boolean', default: false },
  },
});
const P = Number(process.env.FLASH_SECONDS) || 30;
const D = Number(process.env.FLASH_PHASE_SECONDS) || 5;
const BATCHES = Number(process.env.FLASH_BATCHES) || 2000;
const STAGES = [
  { connections: 200, seconds: P },
  { connections: 1000, seconds: Math.max(1, Math.round(P / 2)) },
  { connections: 2000, seconds: Math.max(1, Math.round(P / 3)) },
];
const POST_CONNECTIONS = 200;
const GET_CONNECTIONS = 200;
const PROBE_CONNECTIONS = 20; // the GET p99 alone and under POST load
const binary = process.env.SPLITBEAM_BIN || path.join(root, 'target/release/splitbeam');
const config = path.join(root, 'www/experiments.json');
const dist = path.join(root, 'dist');
const log = (line) => console.error(line);
/** The first line a command prints about its version (wrk -v exits 1; nginx -v writes to stderr). */
const version = (argv) => {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0].trim();
};
const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

// ---- prerequisites
const missing = [];
if (!have('wrk')) missing.push('wrk (bash scripts/setup.sh installs it)');
if (!fs.existsSync('/usr/sbin/nginx')) missing.push('/usr/sbin/nginx (bash scripts/setup.sh installs nginx-light)');
if (!have('sqlite3')) missing.push('sqlite3 (bash scripts/setup.sh installs it)');
if (!fs.existsSync(binary)) missing.push(`${path.relative(root, binary)} (cargo build --release -p splitbeam-collector)`);
if (!fs.existsSync(path.join(dist, 'splitbeam.js'))) missing.push('dist/splitbeam.js (npm run build)');
if (missing.length) {
  log(`flash-sale: missing ${missing.join('; ')}`);
  process.exit(1);
}

const experimentsConfig = JSON.parse(fs.readFileSync(config, 'utf8'));
const experiment = experimentsConfig.experiments[0];
const variants = experiment.variants.map((v) => v.key);

// ---- cleanup, on every way out
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'splitbeam-flash-'));
let collector = null;
let nginx = null;
let cleaning = null;
let interrupted = null;
/** Stops wrk and both servers and removes the temp dir; every caller waits for the same run. */
const cleanup = () =>
  (cleaning ??= (async () => {
    killWrk();
    await Promise.allSettled([collector?.stop(), nginx?.stop()]);
    closeAgent();
    fs.rmSync(tmp, { recursive: true, force: true });
  })());
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    interrupted = signal;
    log(`flash-sale: ${signal}, stopping`);
    cleanup().finally(() => process.exit(130));
  });
}
// A watchdog well past the planned time: the phases, the sale, start-up and the checks.
const planned = 8 * D + STAGES.reduce((s, x) => s + x.seconds, 0);
const watchdog = setTimeout(() => {
  log(`flash-sale: still running after ${planned + 150} s, giving up`);
  cleanup().finally(() => process.exit(1));
}, (planned + 150) * 1000);
watchdog.unref();

// ---- helpers
const fmtInt = (n) => (n == null ? '—' : Math.round(n).toLocaleString('en-US'));
const fmtMs = (us) => (us == null ? '—' : us >= 100_000 ? `${(us / 1000).toFixed(0)} ms` : `${(us / 1000).toFixed(2)} ms`);
const ratio = (a, b) => (a == null || b == null || b === 0 ? '—' : `${(a / b).toFixed(2)}x`);

/** The raw body of GET `url` (no automatic decompression) and its headers. */
const rawGet = (url, headers = {}) =>
  new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });

// Events in the database, read from the file (WAL: a reader does not block the writer). Not the
// collector's splitbeam_events_ingested_total: that counts in the request handler after the commit,
// so a batch whose client hung up while it waited in the writer's queue (every request in flight
// when wrk exits) is stored but never counted there. Events are never deleted, so the largest rowid
// is the number of rows.
const eventsStored = async () => Number(sqlite(collector.db, 'SELECT COALESCE(MAX(rowid), 0) FROM events')[0][0]);

let runs = 0;
const post = (url, connections, seconds, prefix = `r${++runs}`) =>
  runWrk({ url: `${url}/collect`, script: wrkScripts.collect, args: [prefix, experiment.key, ...variants], connections, seconds, label: `POST ${url}` });
const get = (url, connections, seconds) =>
  runWrk({ url: `${url}/splitbeam.js`, script: wrkScripts.get, connections, seconds, label: `GET ${url}` });
const ok2xx = (r) => r.s2xx ?? r.requests - r.status;
const nofileNotes = new Set();
const noteNofile = (who, r) => {
  const n = r.nofile;
  if (n.short) nofileNotes.add(`${who}: open-files limit ${n.limit} (could not raise it to ${r.connections + 256}; connections beyond it fail)`);
};

const started = Date.now();
const loadStart = loadavg();
let markdown;
try {
  log(`== flash sale: load average ${loadStart} at the start; P = ${P} s, side-by-side phases ${D} s each`);
  collector = await startCollector({ binary, config, dist, dir: tmp, nofile: 8192 });
  log(`collector ${collector.url} (open files: ${collector.nofile.limit}, ${collector.nofile.how})`);

  // The snippet's bytes, once, as nginx will serve them: splitbeam.js and its gzip -9 .gz.
  const wwwRoot = path.join(tmp, 'www');
  fs.mkdirSync(wwwRoot);
  const snippet = await rawGet(`${collector.url}/splitbeam.js`);
  if (snippet.status !== 200) throw new Error(`GET /splitbeam.js: ${snippet.status} ${snippet.body.toString().slice(0, 200)}`);
  fs.writeFileSync(path.join(wwwRoot, 'splitbeam.js'), snippet.body);
  execFileSync('gzip', ['-9', '-n', '-k', path.join(wwwRoot, 'splitbeam.js')]);
  nginx = await startNginx({ dir: tmp, root: wwwRoot, connections: 4096 });
  log(`nginx ${nginx.url} (open files: ${nginx.nofile.limit}, ${nginx.nofile.how})`);
  for (const [who, server] of [['splitbeam serve', collector], ['nginx', nginx]]) {
    if (server.nofile.short) nofileNotes.add(`${who}: open-files limit ${server.nofile.limit} (wanted ${server.nofile.want}; could not raise it)`);
  }

  // Both answer Accept-Encoding: gzip with gzip of the same bytes.
  const gz = {};
  for (const [name, server] of [['splitbeam', collector], ['nginx', nginx]]) {
    const res = await rawGet(`${server.url}/splitbeam.js`, { 'accept-encoding': 'gzip' });
    const body = res.headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(res.body) : res.body;
    if (res.status !== 200 || res.headers['content-encoding'] !== 'gzip' || !body.equals(snippet.body)) {
      throw new Error(`${name} GET /splitbeam.js with gzip: ${res.status}, content-encoding ${res.headers['content-encoding']}, ${body.equals(snippet.body) ? 'same' : 'different'} bytes`);
    }
    gz[name] = res.body.length;
  }
  log(`/splitbeam.js: ${snippet.body.length} B, gzip ${gz.splitbeam} B from splitbeam, ${gz.nginx} B from nginx (gzip -9)`);

  // ---- side by side
  const side = {};
  for (const [name, server] of [['splitbeam', collector], ['nginx', nginx]]) {
    log(`== POST /collect, ${POST_CONNECTIONS} connections, ${D} s: ${name}`);
    const before = name === 'splitbeam' ? await eventsStored() : null;
    const p = await post(server.url, POST_CONNECTIONS, D);
    noteNofile('wrk', p);
    p.events = name === 'splitbeam' ? ((await eventsStored()) - before) / p.seconds : (ok2xx(p) * 2) / p.seconds;
    log(`   ${fmtInt(ok2xx(p) / p.seconds)} req/s (2xx), p50 ${fmtMs(p.p50_us)}, p99 ${fmtMs(p.p99_us)}, 503 ${p.s503}, 429 ${p.s429}, other ${p.sother}, socket errors ${p.socketErrors}`);
    log(`== GET /splitbeam.js (gzip), ${GET_CONNECTIONS} connections, ${D} s: ${name}`);
    const g = await get(server.url, GET_CONNECTIONS, D);
    log(`   ${fmtInt(g.rps)} req/s, p50 ${fmtMs(g.p50_us)}, p99 ${fmtMs(g.p99_us)}, non-2xx ${g.status}, socket errors ${g.socketErrors}`);
    log(`== GET /splitbeam.js alone, ${PROBE_CONNECTIONS} connections, ${D} s: ${name}`);
    const alone = await get(server.url, PROBE_CONNECTIONS, D);
    log(`   p99 ${fmtMs(alone.p99_us)}`);
    log(`== GET /splitbeam.js ${PROBE_CONNECTIONS} connections + POST /collect ${POST_CONNECTIONS} connections at once, ${D} s: ${name}`);
    const [loaded, loadPost] = await Promise.all([get(server.url, PROBE_CONNECTIONS, D), post(server.url, POST_CONNECTIONS, D)]);
    log(`   GET p99 ${fmtMs(loaded.p99_us)}; POST ${fmtInt(ok2xx(loadPost) / loadPost.seconds)} req/s (2xx)`);
    side[name] = { post: p, get: g, alone, loaded, loadPost };
  }

  // ---- the flash sale
  const saleSeconds = STAGES.reduce((s, x) => s + x.seconds, 0);
  log(`== flash sale: ${STAGES.map((s) => `${s.connections} connections for ${s.seconds} s`).join(', then ')}; ` +
    `${BATCHES} accounting batches, 20 in flight; results read every 0.5 s`);
  const accountingPrefix = `acct${Date.now().toString(36)}`;
  const batches = accountingBatches({ prefix: accountingPrefix, count: BATCHES, experiment: experiment.key, variants });
  const reader = startResultsReader(`${collector.url}/api/experiments/${experiment.key}/results`, 500, collector.admin);
  const saleStart = Date.now();
  // Paced over the sale, so that every stage gets its share.
  const accounting = runAccounting({ url: collector.url, batches, inFlight: 20, seconds: saleSeconds, deadline: saleStart + (saleSeconds + 30) * 1000 });
  const stages = [];
  let afterSale = 0;
  for (const [i, stage] of STAGES.entries()) {
    const before = await eventsStored();
    const r = await post(collector.url, stage.connections, stage.seconds, `f${i}`);
    noteNofile('wrk', r);
    afterSale = await eventsStored();
    r.events = (afterSale - before) / r.seconds;
    log(`   ${stage.connections} connections: ${fmtInt(ok2xx(r) / r.seconds)} req/s (2xx), p99 ${fmtMs(r.p99_us)}, 503 ${r.s503}, 429 ${r.s429}, other ${r.sother}, socket errors ${r.socketErrors} (connect ${r.connect}, read ${r.read}, write ${r.write}, timeout ${r.timeout})`);
    stages.push(r);
  }
  const acct = await accounting;
  const reads = await reader.stop();
  log(`   accounting: ${acct.acked}/${BATCHES} acked in ${acct.seconds.toFixed(1)} s; 503 ${acct.refused503}, 429 ${acct.refused429}, network errors ${acct.networkErrors}`);

  // ---- the checks: results against a recount of the raw events, acked ids against the database.
  // wrk stops with requests in flight (up to 2,000): their batches may still be committed after it
  // exits. Wait until the events table has not grown for 1 s (at most 20 s).
  const quiet = Date.now();
  let last = await eventsStored();
  let still = 0;
  while (still < 4 && Date.now() - quiet < 20000) {
    await new Promise((r) => setTimeout(r, 250));
    const now = await eventsStored();
    still = now === last ? still + 1 : 0;
    last = now;
  }
  const settled = { seconds: (Date.now() - quiet) / 1000, events: last - afterSale };
  log(`   writes settled ${settled.seconds.toFixed(1)} s after the sale; ${settled.events} events were committed after wrk's last stage exited`);
  const results = await (await fetch(`${collector.url}/api/experiments/${experiment.key}/results`, { headers: collector.admin })).json();
  await collector.stop();
  const dbRows = sqlite(collector.db, 'SELECT COUNT(*), COUNT(DISTINCT id) FROM events');
  const [totalRows, distinctIds] = dbRows[0].map(Number);
  const stored = new Map(
    sqlite(collector.db, `SELECT id, COUNT(*) FROM events WHERE id >= '${accountingPrefix}-' AND id < '${accountingPrefix}.' GROUP BY id`).map(([id, n]) => [id, Number(n)]),
  );
  const recount = new Map(
    sqlite(
      collector.db,
      `SELECT variant, COUNT(*) FROM (SELECT visitor, variant, MIN(ts) FROM events WHERE type = 'exposure' AND experiment = '${experiment.key}' AND counted = 1 AND bot = 0 GROUP BY visitor) GROUP BY variant`,
    ).map(([v, n]) => [v, Number(n)]),
  );
  // The store's own running totals, read after the collector stopped (no race with late writes).
  const totals = new Map(sqlite(collector.db, `SELECT variant, visitors FROM variant_totals WHERE experiment = '${experiment.key}'`).map(([v, n]) => [v, Number(n)]));
  const totalsMismatch = [...new Set([...totals.keys(), ...recount.keys()])].filter((v) => (totals.get(v) ?? 0) !== (recount.get(v) ?? 0));
  const acked = acct.records.filter((r) => r.acked);
  const lostBatches = acked.filter((r) => r.ids.some((id) => !stored.has(id)));
  const lostEvents = acked.reduce((n, r) => n + r.ids.filter((id) => !stored.has(id)).length, 0);
  const twice = [...stored.values()].filter((n) => n > 1).length + (totalRows - distinctIds);
  const visitorMismatch = results.variants.filter((v) => v.visitors !== (recount.get(v.key) ?? 0));
  const refused = acct.records.filter((r) => r.statuses.some((s) => s === 503 || s === 429) || r.errors > 0);
  const refusedStored = refused.filter((r) => r.acked && r.ids.every((id) => stored.has(id)));
  const notAcked = acct.records.filter((r) => !r.acked);
  const ms = (v) => (v == null ? '—' : `${v.toFixed(1)} ms`);

  // ---- tables
  const s = side.splitbeam;
  const n = side.nginx;
  const per = (r) => ok2xx(r) / r.seconds;
  const non2xx = (r) => `${fmtInt(r.s503)} / ${fmtInt(r.s429)} / ${fmtInt(r.sother)}; socket errors ${fmtInt(r.socketErrors)}`;
  const sideTable = table(
    ['route', 'splitbeam', 'nginx', 'ratio'],
    [
      [`POST /collect, 1–3-event batches, ${POST_CONNECTIONS} connections: req/s (2xx)`, fmtInt(per(s.post)), fmtInt(per(n.post)), ratio(per(s.post), per(n.post))],
      ['POST /collect: events/s (splitbeam: stored; nginx: in 2xx batches)', fmtInt(s.post.events), fmtInt(n.post.events), ratio(s.post.events, n.post.events)],
      ['POST /collect: p50 latency', fmtMs(s.post.p50_us), fmtMs(n.post.p50_us), ratio(s.post.p50_us, n.post.p50_us)],
      ['POST /collect: p99 latency', fmtMs(s.post.p99_us), fmtMs(n.post.p99_us), ratio(s.post.p99_us, n.post.p99_us)],
      ['POST /collect: 503 / 429 / other non-2xx', non2xx(s.post), non2xx(n.post), '—'],
      [`GET /splitbeam.js, Accept-Encoding: gzip (nginx: gzip_static, same bytes), ${GET_CONNECTIONS} connections: req/s`, fmtInt(s.get.rps), fmtInt(n.get.rps), ratio(s.get.rps, n.get.rps)],
      ['GET /splitbeam.js: p50 latency', fmtMs(s.get.p50_us), fmtMs(n.get.p50_us), ratio(s.get.p50_us, n.get.p50_us)],
      ['GET /splitbeam.js: p99 latency', fmtMs(s.get.p99_us), fmtMs(n.get.p99_us), ratio(s.get.p99_us, n.get.p99_us)],
      [`GET /splitbeam.js p99, ${PROBE_CONNECTIONS} connections alone`, fmtMs(s.alone.p99_us), fmtMs(n.alone.p99_us), ratio(s.alone.p99_us, n.alone.p99_us)],
      [`GET /splitbeam.js p99, ${PROBE_CONNECTIONS} connections while POST /collect runs on ${POST_CONNECTIONS}`, fmtMs(s.loaded.p99_us), fmtMs(n.loaded.p99_us), ratio(s.loaded.p99_us, n.loaded.p99_us)],
      ['GET p99 under POST load ÷ alone (target ≤ 2x)', ratio(s.loaded.p99_us, s.alone.p99_us), ratio(n.loaded.p99_us, n.alone.p99_us), '—'],
      ['POST /collect req/s (2xx) during that', fmtInt(per(s.loadPost)), fmtInt(per(n.loadPost)), ratio(per(s.loadPost), per(n.loadPost))],
    ],
  );
  const stageTable = table(
    ['stage', 'connections', 'seconds', 'req/s (2xx)', 'events stored/s', 'p50', 'p99', 'max', '503', '429', 'other non-2xx', 'socket errors (connect/read/write/timeout)'],
    stages.map((r, i) => [
      String(i + 1),
      fmtInt(r.connections),
      r.seconds.toFixed(1),
      fmtInt(per(r)),
      fmtInt(r.events),
      fmtMs(r.p50_us),
      fmtMs(r.p99_us),
      fmtMs(r.max_us),
      fmtInt(r.s503),
      fmtInt(r.s429),
      fmtInt(r.sother),
      `${r.connect}/${r.read}/${r.write}/${r.timeout}`,
    ]),
  );
  const acctTable = table(
    ['batches', 'acked', '503 answers', '429 answers', 'other non-2xx', 'network errors', 'batches retried', 'lost (acked, an id missing)', 'doubled (an id stored twice / results ≠ recount)', 'refused batches stored after retry', 'never acked'],
    [
      [
        fmtInt(BATCHES),
        fmtInt(acct.acked),
        fmtInt(acct.refused503),
        fmtInt(acct.refused429),
        fmtInt(acct.other),
        fmtInt(acct.networkErrors),
        fmtInt(acct.retried),
        `${lostBatches.length} batches (${lostEvents} events)`,
        `ids stored twice: ${twice}; results ≠ recount: ${visitorMismatch.length ? visitorMismatch.map((v) => `${v.key} ${fmtInt(v.visitors)} vs ${fmtInt(recount.get(v.key) ?? 0)}`).join(', ') : 'none'}; stored totals ≠ recount: ${totalsMismatch.length ? totalsMismatch.map((v) => `${v} ${fmtInt(totals.get(v) ?? 0)} vs ${fmtInt(recount.get(v) ?? 0)}`).join(', ') : 'none'}`,
        `${refusedStored.length} of ${refused.length}`,
        fmtInt(notAcked.length),
      ],
    ],
  );
  const readTable = table(
    ['results reads', 'p50', 'p99', 'max', 'failed'],
    [[fmtInt(reads.times.length), ms(percentile(reads.times, 50)), ms(percentile(reads.times, 99)), ms(Math.max(...reads.times)), `${reads.failures.length}${reads.failures.length ? ` (${[...new Set(reads.failures)].slice(0, 3).join(', ')})` : ''}`]],
  );
  const visitorsLine = results.variants.map((v) => `${v.key} ${fmtInt(v.visitors)} (stored totals ${fmtInt(totals.get(v.key) ?? 0)}, recount ${fmtInt(recount.get(v.key) ?? 0)})`).join(', ');
  const soft = nofileLimits().soft;
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), wrk, nginx and the collector on the same machine, other processes may have been running; load average ${loadStart} at the start, ${loadavg()} at the end; node ${process.version}; ${version(['wrk', '-v']).replace(/ Copyright.*/, '')}, ${version(['/usr/sbin/nginx', '-v']).replace('nginx version: ', '')}`;
  // Say so when the machine was busy before the bench began (at the end, its own load counts too).
  const busy = Number(loadStart.split(' ')[0]) > os.cpus().length
    ? ` **The machine was busy** (1-minute load average ${loadStart.split(' ')[0]} at the start, above its ${os.cpus().length} cores: other work was running), so these figures are lower and noisier than an idle machine's.`
    : '';
  const nofileLine = nofileNotes.size
    ? `Open files: ${[...nofileNotes].join('; ')}.`
    : `Open files: every process had enough (this shell's soft limit ${soft}; the collector ${collector.nofile.limit} (${collector.nofile.how}), nginx ${nginx.nofile.limit} (${nginx.nofile.how}), wrk at least its connections + 256).`;
  markdown = [
    '### Flash sale (`node bench/flash-sale.mjs`)',
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine}. P = ${P} s, side-by-side phases ${D} s each, ${((Date.now() - started) / 1000).toFixed(0)} s in all.${busy}`,
    '',
    `#### Side by side: \`splitbeam serve\` (SQLite, \`--rate-limit 0\`) and nginx as the ceiling (ratio = splitbeam ÷ nginx)`,
    '',
    sideTable,
    '',
    `wrk with 2 threads, bench/wrk/collect.lua (a visitor's three batches: exposure + pageview + goal, a pageview, pageview + purchase; ids unique per request from a per-thread counter) and bench/wrk/get.lua. nginx answers POST /collect with \`return 200\` and a 27-byte body, and /splitbeam.js from the collector's own bytes (${fmtInt(snippet.body.length)} B) with \`gzip_static on\` (gzip -9: ${fmtInt(gz.nginx)} B; the collector sent ${fmtInt(gz.splitbeam)} B). Latencies are wrk's (from each request's send to its answer on a busy connection, so not corrected for coordinated omission). nginx's events/s is its 2xx answers × 2 events per batch: nothing is stored.`,
    '',
    `#### The sale: ${STAGES.map((x) => `${fmtInt(x.connections)} connections for ${x.seconds} s`).join(', then ')} (POST /collect, wrk)`,
    '',
    stageTable,
    '',
    `Meanwhile, the accounting client (Node, 20 batches in flight, paced evenly over the planned sale, each 503/429 retried after its Retry-After, a network error after 1 s):`,
    '',
    acctTable,
    '',
    `And a client reading \`/api/experiments/${experiment.key}/results\` every 0.5 s during the sale:`,
    '',
    readTable,
    '',
    `The database afterwards (read with the sqlite3 CLI once the collector had stopped): ${fmtInt(totalRows)} events, ${fmtInt(distinctIds)} distinct ids. Visitors of ${experiment.key} in the results API: ${visitorsLine}; the recount takes each counted, non-bot exposure's visitor once, with the variant of their earliest exposure; the results were read once the events table had not grown for 1 s (${fmtInt(settled.events)} events were committed after wrk's last stage exited, in ${settled.seconds.toFixed(1)} s: the batches of requests in flight when it stopped, and any accounting batches still going). "Events stored/s" is the growth of the events table (its largest rowid, read with sqlite3) over the phase or stage (the accounting client's events included). ${nofileLine}`,
  ].join('\n');
} catch (e) {
  await cleanup();
  // Interrupted: the signal handler exits once everything is stopped.
  if (interrupted) await new Promise(() => {});
  throw e;
} finally {
  await cleanup();
}

console.log(markdown);
if (!options['no-write']) {
  // Replace this section in results.md (or append it): from its heading to the next heading of its level or above.
  const file = options.out;
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const lines = text.split('\n');
  const startLine = lines.findIndex((l) => l.startsWith('### Flash sale'));
  let body;
  if (startLine < 0) {
    body = `${text.replace(/\n*$/, '')}\n\n${markdown}\n`;
  } else {
    let end = lines.findIndex((l, i) => i > startLine && /^#{1,3} /.test(l));
    if (end < 0) end = lines.length;
    body = [...lines.slice(0, startLine), ...markdown.split('\n'), '', ...lines.slice(end)].join('\n').replace(/\n*$/, '\n');
  }
  fs.writeFileSync(file, body);
  log(`written to ${path.relative(process.cwd(), file)}`);
}
log(`flash-sale: load average ${loadavg()} at the end`);
