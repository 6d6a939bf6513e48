// The flash-sale benchmark's two servers on 127.0.0.1, each its own child process, stopped by
// close() (SIGTERM, then SIGKILL after 5 s): the collector (`splitbeam serve`, fresh SQLite
// database) and nginx as the ceiling (`return 200` on POST /collect, `gzip_static on` for
// /splitbeam.js). Both get an open-files limit that fits the connections the bench opens.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { withNofile } from './wrk.mjs';

/** A child process with stdout/stderr kept in `logFile`; stop() ends it (and waits). */
function child(argv, logFile) {
  const log = fs.openSync(logFile, 'a');
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', log] });
  let exited = null;
  const exit = new Promise((resolve) => proc.on('exit', (code, signal) => resolve((exited = code ?? signal))));
  let out = '';
  proc.stdout.on('data', (d) => {
    out += d;
    fs.appendFileSync(logFile, d);
  });
  return {
    proc,
    output: () => out,
    exited: () => exited,
    async stop() {
      if (exited === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exit;
        clearTimeout(timer);
      }
      fs.closeSync(log);
    },
  };
}

async function waitFor(what, check, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`${what}: not ready after ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/**
 * `splitbeam serve` with a fresh database in `dir`, the per-client rate limit off (the load comes
 * from one address), on a free port. Returns { url, db, admin (headers that sign a request in),
 * nofile, stop, log }.
 */
export async function startCollector({ binary, config, dist, dir, nofile = 8192, extraArgs = [] }) {
  const db = path.join(dir, 'flash.db');
  const logFile = path.join(dir, 'collector.log');
  const argv = [binary, 'serve', '--config', config, '--dist', dist, '--db', db, '--host', '127.0.0.1', '--port', '0', '--rate-limit', '0', ...extraArgs];
  const limit = withNofile(argv, nofile);
  const c = child(limit.argv, logFile);
  const port = await waitFor('splitbeam serve', () => {
    if (c.exited() !== null) throw new Error(`splitbeam serve exited (${c.exited()}): ${fs.readFileSync(logFile, 'utf8').slice(-800)}`);
    const m = c.output().match(/collector\s+http:\/\/[^:\s]+:(\d+)\/collect/);
    return m && Number(m[1]);
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('splitbeam serve /healthz', async () => (await fetch(`${url}/healthz`).catch(() => null))?.ok);
  // The results API and /metrics are for admins: the token `serve` created next to the database.
  const admin = { authorization: `Bearer ${fs.readFileSync(`${db}.admin-token`, 'utf8').trim()}` };
  return { url, db, admin, nofile: limit, log: logFile, stop: () => c.stop() };
}

/**
 * nginx with `root` (holding splitbeam.js and splitbeam.js.gz) on a free port: the ceiling.
 * Returns { url, nofile, stop }.
 */
export async function startNginx({ dir, root, connections = 4096 }) {
  const port = await freePort();
  const prefix = path.join(dir, 'nginx');
  fs.mkdirSync(path.join(prefix, 'logs'), { recursive: true });
  // Workers run as an unprivileged user when the master is root: they must read the root.
  for (const d of [dir, prefix, root]) fs.chmodSync(d, 0o755);
  for (const f of fs.readdirSync(root)) fs.chmodSync(path.join(root, f), 0o644);
  const conf = path.join(prefix, 'nginx.conf');
  fs.writeFileSync(
    conf,
    [
      'daemon off;',
      'worker_processes auto;',
      `worker_rlimit_nofile ${connections * 2 + 256};`,
      `pid ${prefix}/nginx.pid;`,
      `error_log ${prefix}/logs/error.log;`,
      `events { worker_connections ${connections}; }`,
      'http {',
      '  access_log off;',
      '  sendfile on;',
      '  tcp_nopush on;',
      // As many requests per connection as the collector allows (nginx's default closes after 1,000).
      '  keepalive_requests 10000000;',
      '  open_file_cache max=64;',
      '  types { text/javascript js; application/json json; }',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${prefix}/${t};`),
      '  server {',
      `    listen 127.0.0.1:${port} reuseport;`,
      `    root ${root};`,
      // The ceiling for POST /collect: answer without storing anything (nginx reads and discards the body).
      '    location = /collect { default_type application/json; return 200 \'{"stored":2,"duplicates":0}\'; }',
      // The same bytes the collector sends, gzip -9 precompressed.
      "    location = /splitbeam.js { gzip_static on; add_header Cache-Control 'public, max-age=0, stale-while-revalidate=86400'; }",
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const argv = ['/usr/sbin/nginx', '-p', prefix + '/', '-c', conf];
  const limit = withNofile(argv, connections * 2 + 256);
  const c = child(limit.argv, path.join(prefix, 'logs/stdout.log'));
  const url = `http://127.0.0.1:${port}`;
  await waitFor('nginx', async () => {
    if (c.exited() !== null) throw new Error(`nginx exited (${c.exited()}): ${fs.readFileSync(path.join(prefix, 'logs/error.log'), 'utf8').slice(-800)}`);
    return (await fetch(`${url}/splitbeam.js`).catch(() => null))?.ok;
  });
  return { url, nofile: limit, stop: () => c.stop() };
}

/** The SQLite CLI's answer to `sql` on `db`, as rows of strings (tab-separated columns). */
export function sqlite(db, sql) {
  const out = execFileSync('sqlite3', ['-readonly', '-separator', '\t', db, sql], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return out.split('\n').filter((l) => l.length).map((l) => l.split('\t'));
}
