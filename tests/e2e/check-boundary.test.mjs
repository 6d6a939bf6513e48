// The build's boundary check (scripts/check-boundary.mjs): it reads a module's function imports
// right, passes the JavaScript the build ships, and fails, naming the import, when one side takes
// another number of arguments. Plain Node, on the first-paint module `bash scripts/build.sh` left in
// target/splitbeam-glue/.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const script = path.join(root, 'scripts/check-boundary.mjs');
const audienceModule = path.join(root, 'target/splitbeam-glue/first_audience.wasm');
const check = (...args) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });

/** A module importing env.one(i32) and env.three(i32, i64, f64) -> i32, and a memory, by hand. */
function handMadeModule() {
  const section = (id, body) => [id, body.length, ...body];
  const name = (s) => [s.length, ...Buffer.from(s)];
  const types = section(1, [2, 0x60, 1, 0x7f, 0, 0x60, 3, 0x7f, 0x7e, 0x7c, 1, 0x7f]);
  const imports = section(2, [3, ...name('env'), ...name('mem'), 2, 0, 1, ...name('env'), ...name('one'), 0, 0, ...name('env'), ...name('three'), 0, 1]);
  return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...types, ...imports]);
}

test('reads each function import with its number of parameters, past the other kinds', async () => {
  const { functionImports } = await import(pathToFileURL(script).href);
  const bytes = handMadeModule();
  // The engine agrees the bytes are a module with those imports.
  assert.deepEqual(WebAssembly.Module.imports(new WebAssembly.Module(bytes)).map((i) => i.name), ['mem', 'one', 'three']);
  assert.deepEqual(functionImports(bytes), [
    ['env', 'one', 1],
    ['env', 'three', 3],
  ]);
});

test('the first-paint JavaScript passes against its audience module', () => {
  const run = check(audienceModule, path.join(root, 'www/first.js'));
  assert.equal(run.status, 0, run.stderr);
});

test('an import that takes one argument fewer than the module passes fails the check, by name', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'splitbeam-boundary-'));
  copyFileSync(path.join(root, 'www/instantiate.js'), path.join(dir, 'instantiate.js'));
  const first = readFileSync(path.join(root, 'www/first.js'), 'utf8');
  const dropped = first.replace('regex_test: (pattern, patternLen, at, len, ignoreCase) =>', 'regex_test: (pattern, patternLen, at, len) =>');
  assert.notEqual(dropped, first, 'www/first.js still declares regex_test as this test expects');
  writeFileSync(path.join(dir, 'first.js'), dropped);
  const run = check(audienceModule, path.join(dir, 'first.js'));
  assert.equal(run.status, 1);
  assert.match(run.stderr, /splitbeam\.regex_test: the wasm passes 5, .* takes 4/);
});
