// Renames the wasm's imports, exports and import module to one- or two-letter names, and the
// wasm-bindgen glue to match. wasm-bindgen names each import `__wbg_<method>_<16 hex digits>`: the
// hashes do not compress, and every name ships twice (in the wasm and in the glue's import object).
// Usage: node scripts/minify-wasm-names.mjs <in.wasm> <glue.js> <out.wasm> <out-glue.js>
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
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
if (importModules.length !== 1) fail(`expected one import module, got ${importModules}`);

let glue = readFileSync(glueIn, 'utf8');
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// A function of a `#[wasm_bindgen(module = "/www/...")]` file that needs no adapter is imported by
// the wasm straight from that file, which the glue hands over as a namespace of its own
// (`"./snippets/.../x.js": importN`). binaryen's renaming puts every import in the one module, so
// each such function joins the glue's own import object under its new name.
const glueModule = './' + path.basename(glueIn, '.js') + '_bg.js';
const direct = mapping.imports.filter(([mod]) => mod !== glueModule);
for (const mod of new Set(direct.map(([m]) => m))) {
  const entry = new RegExp(`\\n\\s*"${escape(mod)}": (import\\d+),`);
  const found = glue.match(entry);
  if (!found) fail(`the import module ${mod} not found in the glue`);
  glue = glue.replace(entry, '');
  const members = direct.filter(([m]) => m === mod).map(([, from, to]) => `${to}: ${found[1]}.${from},`);
  glue = glue.replace(/const import0 = \{/, (open) => `${open}\n        ${members.join(' ')}`);
}
mapping.imports = mapping.imports.filter(([mod]) => mod === glueModule);
const oldModules = [glueModule];

// One pass per kind with a map, so that a new name equal to an old one cannot chain two renames.
const importNames = new Map(mapping.imports.map(([, from, to]) => [from, to]));
const renamedImports = new Set();
glue = glue.replace(/(?<![\w$.])([A-Za-z_$][\w$]*)(?=\s*:)/g, (token, name) => {
  if (!importNames.has(name)) return token;
  renamedImports.add(name);
  return importNames.get(name);
});
const missing = [...importNames.keys()].filter((name) => !renamedImports.has(name));
if (missing.length) fail(`imports not found in the glue: ${missing.join(', ')}`);
// Exports are only reached as `wasm.name`.
const exportNames = new Map(mapping.exports.map(([from, to]) => [from, to]));
glue = glue.replace(/\bwasm\.([A-Za-z_$][\w$]*)/g, (token, name) => (exportNames.has(name) ? `wasm.${exportNames.get(name)}` : token));
const moduleKey = new RegExp(`(["'])${escape(oldModules[0])}\\1(?=\\s*:)`, 'g');
if (!moduleKey.test(glue)) fail('the import module not found in the glue');
glue = glue.replace(moduleKey, () => JSON.stringify(importModules[0]));

// Every `wasm.x` the glue calls must be an export.
const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
for (const [, name] of glue.matchAll(/\bwasm\.([A-Za-z_$][\w$]*)/g)) {
  if (!exported.has(name)) fail(`the glue calls wasm.${name}, which the module does not export`);
}
// And the glue's import object must satisfy the module: instantiate them together (a missing or
// misnamed import fails here; the wasm's start function needs no page).
const probe = path.join(path.dirname(glueOut), '.link-check.mjs');
writeFileSync(probe, glue);
try {
  const { initSync } = await import(pathToFileURL(probe).href);
  try {
    initSync({ module });
  } catch (err) {
    fail(`the renamed glue does not instantiate the wasm: ${err && err.message}`);
  }
} finally {
  rmSync(probe, { force: true });
}
writeFileSync(glueOut, glue);
// short → original export names, next to the glue: the start-up benchmark names the calls it times.
writeFileSync(path.join(path.dirname(glueOut), path.basename(glueOut, '.js') + '.export-names.json'), JSON.stringify(Object.fromEntries(mapping.exports.map(([from, to]) => [to, from]))));
