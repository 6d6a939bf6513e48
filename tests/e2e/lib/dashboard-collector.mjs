// Runs the real `splitbeam` binary for the dashboard's end-to-end tests: `serve` on a free
// 127.0.0.1 port with a throwaway database, and `simulate` against it. Bounded in time; always stopped.
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './delivery-collector.mjs';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** $SPLITBEAM_BIN, else the release build (`npm test` builds it), else the debug build. */
export function splitbeamBinary() {
  const candidates = [process.env.SPLITBEAM_BIN, 'target/release/splitbeam', 'target/debug/splitbeam']
    .filter(Boolean).map((p) => path.resolve(ROOT, p));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`no splitbeam binary (tried ${candidates.join(', ')}); run: cargo build --release -p splitbeam-collector`);
  return found;
}

/** The admin token the tests' collector is started with (`--admin-token-file`). */
export const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef-0123456789abcdef';

/**
 * Starts `splitbeam serve` with the demo config and shop (or the given `config` file, `site` folder
 * or none, and `dist` folder); resolves once /healthz answers.
 * `signIn(page)` signs a Chromium page in through the sign-in form, as a person would.
 */
export async function startCollector({ config = 'www/experiments.json', site = 'www/shop', dist = 'dist' } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'splitbeam-dashboard-'));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const tokenFile = path.join(dir, 'admin-token');
  await writeFile(tokenFile, `${ADMIN_TOKEN}\n`, { mode: 0o600 });
  const child = spawn(splitbeamBinary(), [
    'serve', '--config', config, '--db', path.join(dir, 'test.db'),
    '--port', String(port), '--host', '127.0.0.1', ...(site ? ['--site', site] : []), '--dist', dist,
    '--admin-token-file', tokenFile,
  ], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk) => { log = (log + chunk).slice(-4000); });
  const deadline = Date.now() + 15000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`splitbeam serve exited with ${child.exitCode}: ${log}`);
    try {
      if ((await fetch(`${origin}/healthz`)).ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`splitbeam serve did not answer /healthz within 15 s: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    origin,
    /** Opens `path`, is sent to the sign-in page, types the token and lands back on `path`. */
    async signIn(page, wanted = '/') {
      await page.goto(`${origin}${wanted}`);
      await page.waitForURL((url) => url.pathname === '/signin');
      await page.locator('#token').fill(ADMIN_TOKEN);
      await Promise.all([page.waitForURL(`${origin}${wanted}`), page.locator('button[type=submit]').click()]);
    },
    async close() {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `splitbeam simulate` against `origin`; resolves to its standard output. */
export async function simulate(origin, ...args) {
  const { stdout } = await promisify(execFile)(splitbeamBinary(),
    ['simulate', '--collector', `${origin}/collect`, '--config', 'www/experiments.json', ...args],
    { cwd: ROOT, timeout: 60000 });
  return stdout;
}
