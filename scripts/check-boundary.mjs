// Checks a wasm module against the JavaScript that instantiates it: every function the module
// imports is there, and takes as many arguments as the module passes. The Rust side declares its
// imports in `extern "C"` blocks and the JavaScript side writes them again by hand, with no
// generated glue between them; a missing import fails instantiation, but an argument dropped or
// added on one side only would otherwise run and read the wrong values.
//
//   node scripts/check-boundary.mjs <module.wasm> www/first.js   a first-paint module (its `load`)
//   node scripts/check-boundary.mjs <module.wasm> <bundle.js>    the whole snippet's bundled glue
//
// (The arguments' types are not checked: every one of them is a number on both sides.)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const fail = (why) => {
  console.error(`check-boundary: ${why}`);
  process.exit(1);
};

/** The module's function imports: [module, name, number of parameters], from its type and import
 * sections (https://webassembly.github.io/spec/core/binary/modules.html). */
export function functionImports(bytes) {
  let at = 8; // magic and version
  const byte = () => bytes[at++];
  const u32 = () => {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      const b = byte();
      result |= (b & 0x7f) << shift;
      if (b < 0x80) return result >>> 0;
    }
  };
  const name = () => {
    const len = u32();
    at += len;
    return new TextDecoder().decode(bytes.subarray(at - len, at));
  };
  const params = [];
  const imports = [];
  while (at < bytes.length) {
    const id = byte();
    const size = u32();
    const end = at + size;
    if (id === 1) {
      for (let n = u32(); n > 0; n--) {
        if (byte() !== 0x60) throw new Error('a type that is not a function type (this reader knows only those)');
        const count = u32();
        at += count; // parameter types, one byte each for numbers
        params.push(count);
        const results = u32();
        at += results;
      }
    } else if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        const module = name();
        const field = name();
        const kind = byte();
        if (kind === 0) imports.push([module, field, params[u32()]]);
        else if (kind === 1) (byte(), byte() & 1 ? (u32(), u32()) : u32()); // table: reftype, limits
        else if (kind === 2) byte() & 1 ? (u32(), u32()) : u32(); // memory: limits
        else if (kind === 3) at += 2; // global: type, mutability
      }
      return imports;
    }
    at = end;
  }
  return imports;
}

// Run as a script (the test imports `functionImports` alone).
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const [wasmFile, glue] = process.argv.slice(2);
  if (!wasmFile || !glue) fail('usage: check-boundary.mjs <module.wasm> www/first.js | <bundle.js>');
  const bytes = readFileSync(wasmFile);
  // The JavaScript side's own instantiation, with the imports object it builds captured on the way.
  let given;
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = (source, imports) => {
    given = imports;
    return instantiate(source, imports);
  };
  const response = { ok: true, headers: { get: () => 'application/octet-stream' }, arrayBuffer: async () => bytes };
  if (path.basename(glue) === 'first.js') {
    const { load } = await import(pathToFileURL(path.resolve(glue)).href);
    await load(response).catch((err) => fail(`${glue} does not instantiate ${wasmFile}: ${err && err.message}`));
  } else {
    // The bundle as a page runs it, then its `init` with the module's bytes.
    globalThis.window = globalThis;
    new Function(readFileSync(glue, 'utf8'))();
    await window.splitbeamFull.init(response).catch((err) => fail(`${glue} does not instantiate ${wasmFile}: ${err && err.message}`));
  }
  let imported;
  try {
    imported = functionImports(bytes);
  } catch (err) {
    fail(`${wasmFile}: ${err.message}`);
  }
  const wrong = imported
    .filter(([module, name, count]) => given?.[module]?.[name]?.length !== count)
    .map(([module, name, count]) => `${module}.${name}: the wasm passes ${count}, ${glue} takes ${given?.[module]?.[name]?.length}`);
  if (wrong.length) fail(`arguments that do not line up:\n  ${wrong.join('\n  ')}`);
}
