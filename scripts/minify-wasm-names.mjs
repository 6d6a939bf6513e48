// Renames the wasm's imports, exports and import module to one- or two-letter names, and the
// wasm-bindgen glue to match. wasm-bindgen names each import `__wbg_<method>_<16 hex digits>`: the
// hashes do not compress, and every name ships twice (in the wasm and in the glue's import object).
// Usage: node scripts/minify-wasm-names.mjs <in.wasm> <glue.js> <out.wasm> <out-glue.js>
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [wasmIn, glueIn, wasmOut, glueOut] = process.argv.slice(2);
if (!glueOut) {
  console.error('usage: minify-wasm-names.mjs <in.wasm> <glue.js> <out.wasm> <out-glue.js>');
  process.exit(2);
}
const fail = (why) => {
  console.error(`minify-wasm-names: ${why}`);
  process.exit(1);
};

// binaryen prints the mapping (old → new) as JSON on stdout.
const mapping = JSON.parse(
  execFileSync(
    'node_modules/.bin/wasm-opt',
    ['--minify-imports-and-exports-and-modules', '--enable-bulk-memory', '--enable-nontrapping-float-to-int',
      '--enable-sign-ext', '--enable-mutable-globals', wasmIn, '-o', wasmOut],
    { encoding: 'utf8' },
  ),
);

const module = new WebAssembly.Module(readFileSync(wasmOut));
const importModules = [...new Set(WebAssembly.Module.imports(module).map((i) => i.module))];
const oldModules = [...new Set(mapping.imports.map(([mod]) => mod))];
if (importModules.length !== 1 || oldModules.length !== 1) fail(`expected one import module, got ${importModules} (was ${oldModules})`);

let glue = readFileSync(glueIn, 'utf8');
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const replaceAll = (pattern, to, what) => {
  const before = glue;
  glue = glue.replace(pattern, to);
  if (glue === before) fail(`${what} not found in the glue`);
};

// Import object keys: `__wbg_x_<hash>: function(` (the hashed names occur nowhere else).
for (const [, from, to] of mapping.imports) replaceAll(new RegExp(`\\b${escape(from)}(?=\\s*:)`, 'g'), to, `import ${from}`);
// Exports are only reached as `wasm.name`.
for (const [from, to] of mapping.exports) {
  if (!new RegExp(`\\bwasm\\.${escape(from)}\\b`).test(glue)) continue; // exported but unused by the glue
  replaceAll(new RegExp(`\\bwasm\\.${escape(from)}\\b`, 'g'), `wasm.${to}`, `export ${from}`);
}
replaceAll(new RegExp(`(["'])${escape(oldModules[0])}\\1(?=\\s*:)`, 'g'), JSON.stringify(importModules[0]), 'the import module');

// Check both sides agree before anything ships: every import the wasm wants is a key of the glue's
// import object, and every `wasm.x` the glue calls is an export.
const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
for (const { name } of WebAssembly.Module.imports(module)) {
  if (!new RegExp(`[\\s{,]${escape(name)}\\s*:`).test(glue)) fail(`the glue provides no import "${name}"`);
}
for (const [, name] of glue.matchAll(/\bwasm\.([A-Za-z_$][\w$]*)/g)) {
  if (!exported.has(name)) fail(`the glue calls wasm.${name}, which the module does not export`);
}
writeFileSync(glueOut, glue);
// short → original export names, next to the glue: the start-up benchmark names the calls it times.
writeFileSync(path.join(path.dirname(glueOut), 'export-names.json'), JSON.stringify(Object.fromEntries(mapping.exports.map(([from, to]) => [to, from]))));
