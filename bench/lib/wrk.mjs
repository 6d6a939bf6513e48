// Runs wrk (bench/wrk/*.lua print one WRK_JSON line from done()) as a child process with its
// open-files limit raised for the connections it opens, and bounded in time.
import { spawn, execFileSync } from 'node:child_process';
import path from 'node:path';
import { benchDir } from './configs.mjs';

/** wrk processes still running: killed by killWrk() when the bench is interrupted. */
const running = new Set();
export const killWrk = () => running.forEach((child) => child.kill('SIGKILL'));

export const wrkScripts = {
  collect: path.join(benchDir, 'wrk/collect.lua'),
  get: path.join(benchDir, 'wrk/get.lua'),
};

/** Whether `command` is on PATH. */
export function have(command) {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch (_) {
    return false;
  }
}

/** This process's open-files limits, as a child inherits them: { soft, hard } (numbers or Infinity). */
export function nofileLimits() {
  const read = (flag) => {
    const text = execFileSync('sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' }).trim();
    return text === 'unlimited' ? Infinity : Number(text);
  };
  return { soft: read('-Sn'), hard: read('-Hn') };
}

/**
 * The command that runs `argv` with at least `want` open files: as it is when the inherited limit
 * suffices, else through `prlimit --nofile` (raises the hard limit too when run as root), else
 * through `sh -c 'ulimit -n'` up to the hard limit. Returns { argv, limit, how, short } where
 * `short` says the limit stayed below `want`.
 */
export function withNofile(argv, want) {
  const { soft, hard } = nofileLimits();
  if (soft >= want) return { argv, limit: soft, want, how: 'inherited', short: false };
  if (have('prlimit')) {
    try {
      // Probe: can prlimit give a child this limit?
      execFileSync('prlimit', [`--nofile=${want}:${Math.max(want, hard === Infinity ? want : hard)}`, '--', 'true'], { stdio: 'ignore' });
      return { argv: ['prlimit', `--nofile=${want}:${Math.max(want, hard === Infinity ? want : hard)}`, '--', ...argv], limit: want, want, how: 'prlimit', short: false };
    } catch (_) {
      /* not permitted: fall through */
    }
  }
  const limit = Math.min(want, hard);
  return {
    argv: ['sh', '-c', `ulimit -n ${limit} 2>/dev/null; exec "$@"`, 'sh', ...argv],
    limit,
    want,
    how: 'sh ulimit -n',
    short: limit < want,
  };
}

/**
 * Runs wrk for `seconds` with `connections` on `url` with the script `script` (+ `args` after --).
 * Resolves { ...WRK_JSON fields, rps, connections, seconds, nofile } or rejects with wrk's stderr.
 * Killed if it overruns its time by 20 s.
 */
export function runWrk({ url, script, args = [], connections, seconds, threads = 2, timeoutSeconds = 5, label = 'wrk' }) {
  threads = Math.min(threads, connections);
  const argv = ['wrk', '-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--timeout', `${timeoutSeconds}s`, '-s', script, url];
  if (args.length) argv.push('--', ...args);
  // wrk's connections, plus its own files and some room.
  const nofile = withNofile(argv, connections + 256);
  return new Promise((resolve, reject) => {
    const child = spawn(nofile.argv[0], nofile.argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 20) * 1000);
    child.on('error', (e) => {
      clearTimeout(killer);
      running.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      running.delete(child);
      const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '));
      if (!line) {
        reject(new Error(`${label}: wrk exited ${code ?? signal} without a summary: ${(err || out).trim().slice(0, 400)}`));
        return;
      }
      const r = JSON.parse(line.slice('WRK_JSON '.length));
      r.rps = r.requests / (r.duration_us / 1e6);
      r.connections = connections;
      r.seconds = r.duration_us / 1e6;
      r.nofile = nofile;
      r.socketErrors = r.connect + r.read + r.write + r.timeout;
      resolve(r);
    });
  });
}
