// (issue 15) The GET /splitbeam.js p99 alone and while POST /collect runs, for one or more collector
// binaries alternated in the same minutes (so that the machine's noise hits each), next to nginx.
// The flash-sale bench's probe (20 GET connections; 200 POST connections; wrk -t2 each), repeated,
// plus controls: the GETs while the same POSTs go to nginx (no POST work in the collector; wrk as
// fast as nginx answers, about 3x the collector's rate), the same while they are paced to the rate
// the collector answered (bench/wrk/collect-paced.lua: the load generator's share at that rate),
// and POST /collect alone (req/s, and CPU per request from /proc/<pid>/task/*/stat, by thread). The
// async workers' CPU share and run-queue wait per time slice (schedstat) under GET + POST.
// `@VAR=VALUE` sets environment variables for one collector (experimental builds' knobs).
//
// Run: node bench/get-p99.mjs [--rounds N] [--seconds D] NAME=BINARY[@VAR=VALUE...] ...
//   (default: one binary, target/release/splitbeam). Needs dist/ (npm run build), wrk and nginx.
// Everything on 127.0.0.1, bounded in time; servers and the temp dir are removed at the end.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { benchDir } from './lib/configs.mjs';
import { runWrk, wrkScripts, killWrk } from './lib/wrk.mjs';
import { startCollector, startNginx } from './lib/load-servers.mjs';

const root = path.resolve(benchDir, '..');
const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '5' } },
});
const ROUNDS = Math.min(20, Math.max(1, Number(options.rounds) || 3));
const D = Math.min(60, Math.max(1, Number(options.seconds) || 5));
const binaries = (positionals.length ? positionals : [`main=${path.join(root, 'target/release/splitbeam')}`]).map((p) => {
  // NAME=BINARY[@VAR=VALUE...]: environment variables for that collector.
  const [spec, ...vars] = p.split('@');
  const [name, bin] = spec.includes('=') ? spec.split(/=(.*)/s) : [path.basename(spec), spec];
  return { name, bin: path.resolve(bin), env: Object.fromEntries(vars.map((v) => v.split(/=(.*)/s))) };
});
const config = path.join(root, 'www/experiments.json');
const dist = path.join(root, 'dist');
const experiment = JSON.parse(fs.readFileSync(config, 'utf8')).experiments[0];
const variants = experiment.variants.map((v) => v.key);
const log = (line) => console.error(line);
const load = () => os.loadavg()[0].toFixed(2);
const ms = (us) => (us / 1000).toFixed(2);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'splitbeam-getp99-'));
let collector = null;
let nginx = null;
const cleanup = async () => {
  killWrk();
  await Promise.allSettled([collector?.stop(), nginx?.stop()]);
  fs.rmSync(tmp, { recursive: true, force: true });
};
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => cleanup().finally(() => process.exit(130)));
const watchdog = setTimeout(() => {
  log('get-p99: overran its time, giving up');
  cleanup().finally(() => process.exit(1));
}, (ROUNDS * (binaries.length * (6 * D + 20) + 3 * D + 10) + 120) * 1000);
watchdog.unref();

let runs = 0;
const post = (url, seconds) =>
  runWrk({ url: `${url}/collect`, script: wrkScripts.collect, args: [`g${++runs}`, experiment.key, ...variants], connections: 200, seconds });
// POSTs paced to about `rate` req/s on 200 connections (wrk's delay() before each request).
const paced = (url, seconds, rate) => {
  process.env.WRK_DELAY_MS = String(Math.max(0, Math.round(200_000 / rate - 1)));
  const run = runWrk({ url: `${url}/collect`, script: path.join(benchDir, 'wrk/collect-paced.lua'), args: [`g${++runs}`, experiment.key, ...variants], connections: 200, seconds });
  delete process.env.WRK_DELAY_MS;
  return run;
};
const get = (url, seconds) => runWrk({ url: `${url}/splitbeam.js`, script: wrkScripts.get, connections: 20, seconds });
const ok2xx = (r) => r.s2xx ?? r.requests - r.status;

/** CPU ticks (utime + stime) of each thread of `pid`, summed by thread name. */
function cpuByThread(pid) {
  const out = {};
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch (_) {
      continue; // the thread ended
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const key = name.startsWith('tokio-rt-worker') ? 'workers' : name;
    out[key] = (out[key] ?? 0) + ticks;
  }
  return out;
}
/** Run-queue wait and time slices of the collector's async workers (/proc/<pid>/task/<tid>/schedstat, ns). */
function workerSched(pid) {
  let wait = 0;
  let slices = 0;
  let run = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      if (!fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').startsWith('tokio-rt-worker')) continue;
      const [r, w, n] = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      run += r;
      wait += w;
      slices += n;
    } catch (_) {
      /* the thread ended */
    }
  }
  return { run, wait, slices };
}
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

const rows = [];
try {
  log(`get-p99: ${ROUNDS} rounds of ${D} s phases; ${binaries.map((b) => b.name).join(', ')}; load ${load()}`);
  // nginx serves the collector's own snippet bytes (gzip -9), as in bench/flash-sale.mjs.
  const www = path.join(tmp, 'www');
  fs.mkdirSync(www);
  fs.mkdirSync(path.join(tmp, 'c0'));
  collector = await startCollector({ binary: binaries[0].bin, config, dist, dir: path.join(tmp, 'c0'), nofile: 8192 });
  const bytes = await new Promise((resolve, reject) =>
    http.get(`${collector.url}/splitbeam.js`, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
    }).on('error', reject),
  );
  await collector.stop();
  collector = null;
  fs.writeFileSync(path.join(www, 'splitbeam.js'), bytes);
  execFileSync('gzip', ['-9', '-n', '-k', path.join(www, 'splitbeam.js')]);
  nginx = await startNginx({ dir: tmp, root: www, connections: 4096 });

  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so that neither binary always runs first.
    const order = round % 2 ? [...binaries].reverse() : binaries;
    for (const b of order) {
      const dir = path.join(tmp, `r${round}-${b.name}`);
      fs.mkdirSync(dir);
      for (const [k, v] of Object.entries(b.env)) process.env[k] = v;
      collector = await startCollector({ binary: b.bin, config, dist, dir, nofile: 8192 });
      for (const k of Object.keys(b.env)) delete process.env[k];
      const pid = Number(execFileSync('pgrep', ['-f', '--', `--db ${path.join(dir, 'flash.db')}`], { encoding: 'utf8' }).trim().split('\n')[0]);
      const l0 = load();
      await get(collector.url, 1); // warm-up
      const alone = await get(collector.url, D);
      const s0 = workerSched(pid);
      const [loaded, loadPost] = await Promise.all([get(collector.url, D), post(collector.url, D)]);
      const s1 = workerSched(pid);
      // The workers' average wait for a CPU each time they became runnable, and their CPU share.
      const sched = { waitUs: (s1.wait - s0.wait) / 1000 / Math.max(1, s1.slices - s0.slices), busy: (s1.run - s0.run) / 1e9 / loaded.seconds };
      // Controls: the same POSTs to nginx (no POST work here; wrk as fast as nginx answers), and
      // paced to the rate the collector just answered (the generator's share at that rate).
      const [genOnly] = await Promise.all([get(collector.url, D), post(nginx.url, D)]);
      const [pacedGet, pacedPost] = await Promise.all([get(collector.url, D), paced(nginx.url, D, ok2xx(loadPost) / loadPost.seconds)]);
      const before = cpuByThread(pid);
      const p = await post(collector.url, D);
      const after = cpuByThread(pid);
      const cpu = Object.fromEntries(Object.keys(after).map((k) => [k, ((after[k] - (before[k] ?? 0)) * TICK_US) / p.requests]));
      const total = Object.values(cpu).reduce((s, v) => s + v, 0);
      await collector.stop();
      collector = null;
      const row = {
        round, name: b.name, load: l0, alone: alone.p99_us, loaded: loaded.p99_us, genOnly: genOnly.p99_us, pacedGet: pacedGet.p99_us, pacedRate: ok2xx(pacedPost) / pacedPost.seconds,
        postUnderGet: ok2xx(loadPost) / loadPost.seconds, sched, post: ok2xx(p) / p.seconds, postP99: p.p99_us, cpu, total,
      };
      rows.push(row);
      log(`${b.name} r${round} load ${l0}: GET p99 alone ${ms(row.alone)} ms, under POST ${ms(row.loaded)} ms (${(row.loaded / row.alone).toFixed(2)}x; POST ${Math.round(row.postUnderGet)} req/s; workers ${sched.busy.toFixed(2)} CPUs, ${sched.waitUs.toFixed(0)} µs run-queue wait per slice), POSTs to nginx ${ms(row.genOnly)} ms, paced to ${Math.round(row.pacedRate)} req/s ${ms(row.pacedGet)} ms; POST alone ${Math.round(row.post)} req/s p99 ${ms(row.postP99)} ms, CPU ${total.toFixed(1)} µs/req (${Object.entries(cpu).filter(([, v]) => v >= 0.5).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')})`);
    }
    const l0 = load();
    const alone = await get(nginx.url, D);
    const [loaded] = await Promise.all([get(nginx.url, D), post(nginx.url, D)]);
    rows.push({ round, name: 'nginx', load: l0, alone: alone.p99_us, loaded: loaded.p99_us });
    log(`nginx r${round} load ${l0}: GET p99 alone ${ms(alone.p99_us)} ms, under POST ${ms(loaded.p99_us)} ms (${(loaded.p99_us / alone.p99_us).toFixed(2)}x)`);
  }
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  console.log(`| binary | GET p99 alone (ms) | under POST (ms) | ratio | POSTs to nginx (ms) | paced POSTs to nginx (ms) | POST req/s alone | CPU µs/req | load |`);
  console.log(`| --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
  for (const name of [...binaries.map((b) => b.name), 'nginx']) {
    const rs = rows.filter((r) => r.name === name);
    const list = (f, fmt) => rs.map((r) => fmt(f(r))).join(' / ');
    const nginxRow = name === 'nginx';
    console.log(
      `| ${name} | ${list((r) => r.alone, ms)} | ${list((r) => r.loaded, ms)} | ${list((r) => r.loaded / r.alone, (x) => x.toFixed(2))} (median ${median(rs.map((r) => r.loaded / r.alone)).toFixed(2)}) | ` +
        `${nginxRow ? '—' : list((r) => r.genOnly, ms)} | ${nginxRow ? '—' : list((r) => r.pacedGet, ms)} | ${nginxRow ? '—' : list((r) => r.post, Math.round)} | ${nginxRow ? '—' : list((r) => r.total, (x) => x.toFixed(1))} | ${list((r) => r.load, String)} |`,
    );
  }
} finally {
  await cleanup();
}
