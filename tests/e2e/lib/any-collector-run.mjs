// Runs the README's collector recipes (tests/e2e/collectors/) as their own processes on 127.0.0.1,
// each on a free port, and reads back what they stored, as `{ bodies, events }`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, eventually } from './delivery-collector.mjs';

export const recipes = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../collectors');

const accepts = (port) =>
  new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('connect', () => resolve(socket.end() || true));
    socket.on('error', () => resolve(false));
  });

/** Starts `command args` with `env`, waits until `port` accepts connections; `stop()` ends it (by its pid). */
async function run(command, args, env, port, dir) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const up = await eventually(() => accepts(port), 10000, 50);
  if (!up) {
    child.kill();
    throw new Error(`${command} did not listen on ${port}: ${stderr}`);
  }
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.on('exit', resolve);
      child.kill('SIGTERM');
    });
  return { stop, stderr: () => stderr };
}

/** Each line of `file` is one batch's body (through `decode`); batches that are not JSON are kept as text. */
function readBatches(file, decode = (line) => line) {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      try {
        return JSON.parse(decode(line));
      } catch {
        return { text: line };
      }
    });
}

const collected = (file, decode) => () => {
  const bodies = readBatches(file, decode);
  return { bodies, events: bodies.flatMap((b) => b.events || []) };
};

/** nginx (Debian's nginx-light) with the recipe `conf` (nginx.conf or nginx-cors.conf), port swapped in. */
export async function startNginx(conf) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'splitbeam-nginx-'));
  fs.mkdirSync(path.join(dir, 'logs'));
  const recipe = fs.readFileSync(path.join(recipes, conf), 'utf8').replace('listen 8090;', `listen 127.0.0.1:${port};`);
  fs.writeFileSync(path.join(dir, 'collector.conf'), recipe);
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    [
      'daemon off;',
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/logs/error.log;`,
      'events { worker_connections 64; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
      `  include ${dir}/collector.conf;`,
      '}',
      '',
    ].join('\n'),
  );
  const proc = await run('/usr/sbin/nginx', ['-p', dir + '/', '-c', path.join(dir, 'nginx.conf')], {}, port, dir);
  // escape=json writes the body as the inside of a JSON string.
  const read = collected(path.join(dir, 'logs/splitbeam-events.log'), (line) => JSON.parse(`"${line}"`));
  return { url: `http://127.0.0.1:${port}/collect`, read, close: async () => { await proc.stop(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

/** The Node or Python recipe, writing to a temp file. */
export async function startScript(kind) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `splitbeam-${kind}-`));
  const file = path.join(dir, 'events.ndjson');
  const [command, script] = kind === 'node' ? [process.execPath, 'node-collector.mjs'] : ['python3', 'python-collector.py'];
  const proc = await run(command, [path.join(recipes, script)], { PORT: String(port), EVENTS_FILE: file }, port, dir);
  return { url: `http://127.0.0.1:${port}/collect`, read: collected(file), close: async () => { await proc.stop(); fs.rmSync(dir, { recursive: true, force: true }); } };
}
