// Short names for the whole snippet's boundary: every name crossing it (the wasm's imports, its
// exports and its import module) ships twice, in the wasm and in www/whole.js, and the readable
// snake_case names cost about 400 B gzip of the two.
//
//   node scripts/minify-wasm-names.mjs rename <module.wasm> <mangle-cache.json>
//     renames them in the wasm (binaryen picks the short names), writes esbuild's mangle cache
//     (original → short) and `<module>.export-names.json` (short → original, for the start-up
//     benchmark's call timing), and prints the `--mangle-props` pattern that names exactly them;
//     esbuild then renames the same properties in the bundle.
//   node scripts/minify-wasm-names.mjs check <bundle.js> <mangle-cache.json>
//     fails if an original name is left in the bundle (an export still called by its original name
//     would throw later). scripts/check-boundary.mjs then instantiates the wasm with the bundle.
//
// Every boundary name is snake_case with an underscore, or one no other property of whole.js
// carries (alloc, memory, post, timer, redecide): the pattern names them one by one, so that the
// API's own properties (`track`, `variant`, `flush`) and dataLayer's fields keep their names.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const fail = (why) => {
  console.error(`minify-wasm-names: ${why}`);
  process.exit(1);
};
const features = ['--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext', '--enable-mutable-globals'];
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const [mode, ...rest] = process.argv.slice(2);

if (mode === 'rename' && rest.length === 2) {
  const [wasmFile, cacheFile] = rest;
  // binaryen prints the mapping as JSON: {imports: [[module, name, short]], exports: [[name, short]]}.
  const mapping = JSON.parse(execFileSync('node_modules/.bin/wasm-opt', ['--minify-imports-and-exports-and-modules', ...features, wasmFile, '-o', wasmFile], { encoding: 'utf8' }));
  const modules = new Set(mapping.imports.map(([module]) => module));
  if (modules.size !== 1) fail(`expected one import module, got ${[...modules]}`);
  const module = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(wasmFile)))[0].module;
  const cache = { [[...modules][0]]: module };
  for (const [, name, short] of mapping.imports) cache[name] = short;
  for (const [name, short] of mapping.exports) cache[name] = short;
  writeFileSync(cacheFile, JSON.stringify(cache));
  const exportNames = Object.fromEntries(mapping.exports.map(([name, short]) => [short, name]));
  writeFileSync(path.join(path.dirname(wasmFile), path.basename(wasmFile, '.wasm') + '.export-names.json'), JSON.stringify(exportNames));
  console.log(`^(${Object.keys(cache).map(escape).join('|')})$`);
} else if (mode === 'check' && rest.length === 2) {
  const [bundleFile, cacheFile] = rest;
  const bundle = readFileSync(bundleFile, 'utf8');
  const cache = JSON.parse(readFileSync(cacheFile, 'utf8'));
  // The import module's original name also appears in the bundle's strings ("splitbeam: …").
  const moduleName = Object.keys(cache)[0];
  const left = Object.keys(cache).filter((name) => name !== moduleName && new RegExp(`(?<![\\w$])${escape(name)}(?![\\w$])`).test(bundle));
  if (left.length) fail(`names the bundle still uses unshortened: ${left.join(', ')}`);
} else {
  fail('usage: minify-wasm-names.mjs rename <module.wasm> <mangle-cache.json> | check <bundle.js> <mangle-cache.json>');
}
