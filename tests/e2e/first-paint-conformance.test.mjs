// GrowthBook's evalCondition vectors through the first-paint module as Chromium runs it: the
// module's condition engine asks the page's JavaScript for Number(string), String(number),
// toLowerCase and GrowthBook's version padding (www/first.js), so the browser build must pass the vectors core passes natively
// (core/tests/conformance.rs). The module is built with the test-only `conformance-probe` feature,
// which adds an `eval_condition` export to the same code; www/first.js loads it as it loads the
// real module.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { launch } from './lib/snippet-browser.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const vectors = path.resolve(root, '../shared/conformance/growthbook-cases.json');
const targetDir = path.join(root, 'target/probe');
const wasmPath = path.join(targetDir, 'wasm32-unknown-unknown/wasm/splitbeam.wasm');
const ORIGIN = 'http://probe.test';

let browser;
before(async () => {
  if (!fs.existsSync(vectors)) return;
  const build = spawnSync(
    'cargo',
    ['build', '--profile', 'wasm', '--target', 'wasm32-unknown-unknown', '--target-dir', targetDir, '-p', 'splitbeam', '--no-default-features', '--features', 'conformance-probe'],
    { cwd: root, encoding: 'utf8' },
  );
  if (build.status !== 0) throw new Error('building the conformance probe failed:\n' + build.stderr);
  browser = await launch();
});
after(() => browser?.close());

/** A page at ORIGIN with the probe loaded by www/first.js and `window.evalCondition(condition,
 * attributes, groups)` answering 1, 0 or 2 (unreadable). `broken`: `[import name, source of a
 * function that takes the loader's import and returns a wrong one]`, to show the module uses it. */
async function probePage(broken) {
  const page = await browser.newPage();
  await page.route(`${ORIGIN}/**`, (route) => {
    const { pathname } = new URL(route.request().url());
    // www/first.js as it is, and the file it imports.
    if (pathname === '/first.js' || pathname === '/instantiate.js') return route.fulfill({ contentType: 'text/javascript', body: fs.readFileSync(path.join(root, 'www', pathname)) });
    if (pathname === '/probe.wasm') return route.fulfill({ contentType: 'application/wasm', body: fs.readFileSync(wasmPath) });
    return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>probe</title>' });
  });
  await page.goto(`${ORIGIN}/`);
  await page.evaluate(async (broken) => {
    // The loader keeps the instance to itself: take the exports as it instantiates them.
    let exports;
    const streaming = WebAssembly.instantiateStreaming;
    WebAssembly.instantiateStreaming = (source, imports) => {
      if (broken) imports.splitbeam[broken[0]] = new Function('return ' + broken[1])()(imports.splitbeam[broken[0]]);
      return streaming.call(WebAssembly, source, imports).then((result) => ((exports = result.instance.exports), result));
    };
    const first = await import('/first.js');
    await first.load(fetch('/probe.wasm'));
    const encoder = new TextEncoder();
    window.evalCondition = (...values) => {
      const fields = values.map((value) => encoder.encode(JSON.stringify(value)));
      const size = fields.reduce((n, field) => n + 4 + field.length, 0);
      let at = exports.alloc(size);
      const input = at;
      for (const field of fields) {
        new DataView(exports.memory.buffer).setUint32(at, field.length, true);
        new Uint8Array(exports.memory.buffer).set(field, at + 4);
        at += 4 + field.length;
      }
      return exports.eval_condition(input, size);
    };
  }, broken && [broken[0], String(broken[1])]);
  return page;
}

test("GrowthBook's evalCondition vectors pass in the first-paint module with the browser's coercions", async (t) => {
  if (!browser) return t.skip(`no ${vectors}`);
  const cases = JSON.parse(fs.readFileSync(vectors, 'utf8')).evalCondition;
  assert.ok(cases.length > 100, `expected GrowthBook's evalCondition vectors, found ${cases.length}`);
  const page = await probePage();
  const results = await page.evaluate(
    (cases) => cases.map(([name, condition, attributes, expected, groups]) => ({ name, expected, got: window.evalCondition(condition, attributes, groups || {}) })),
    cases,
  );
  const unreadable = results.filter((r) => r.got === 2).map((r) => r.name);
  assert.deepEqual(unreadable, [], 'cases the probe could not read');
  const failures = results.filter((r) => (r.got === 1) !== r.expected).map((r) => `${r.name}: expected ${r.expected}`);
  assert.deepEqual(failures, [], `${failures.length} of ${results.length} cases fail in the browser`);
  await page.close();
});

// GrowthBook's vectors hold few numbers printed as strings: each coercion is checked here with a
// wrong stand-in for the loader's import, which must change the answer.
const COERCIONS = [
  // "10" > 5 only through Number("10").
  ['number', [{ n: { $gt: 5 } }, { n: '10' }], () => () => NaN],
  // `value + "" === "10"` for the number 10.
  ['string', [{ n: '10' }, { n: 10 }], (string) => (x) => string(-x)],
  // "APFEL" is lowered by the page ("apfel" is already lower case ASCII and stays in the module).
  ['lower', [{ s: { $ini: ['APFEL'] } }, { s: 'apfel' }], (lower) => (at) => lower(at, 0)],
  // "1.10.0" > "1.9.0" only once both are padded ("    1-   10-    0-~" > "    1-    9-    0-~").
  ['version', [{ v: { $vgt: '1.9.0' } }, { v: '1.10.0' }], (version) => (at) => version(at, 0)],
];

for (const [name, [condition, attributes], wrong] of COERCIONS) {
  test(`the first-paint module takes ${name}() from the page: a wrong one changes the answer`, async (t) => {
    if (!browser) return t.skip(`no ${vectors}`);
    const answer = async (broken) => {
      const page = await probePage(broken);
      const got = await page.evaluate(([c, a]) => window.evalCondition(c, a, {}), [condition, attributes]);
      await page.close();
      return got;
    };
    assert.equal(await answer(), 1, `${JSON.stringify(condition)} holds for ${JSON.stringify(attributes)}`);
    assert.equal(await answer([name, wrong]), 0, `with a wrong ${name}() it does not: the module does not do it itself`);
  });
}
