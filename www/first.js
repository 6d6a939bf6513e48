// The loader's side of the first-paint module (src/first_paint.rs): it reads what the decision
// needs from the page, hands it over as length-prefixed bytes, reads the answer's JSON back, and
// later writes what the answer says to store. No wasm-bindgen glue: this file is all of it.
import { instantiate } from './instantiate.js';

// core/src/identity.rs's keys (a test there checks these three lines).
const VISITOR = 'splitbeam_visitor';
const STICKY = 'splitbeam_sticky';
const FORCED = 'splitbeam_forced';
// Storage may be blocked (sandboxed frames, privacy modes), full, or hold anything.
const attempt = (f) => {
  try {
    return f();
  } catch (_) {}
};

let wasm;
// The compiled module and its imports: the whole snippet decides again (an SPA route change, new
// attributes) on a fresh instance of it (`redecide`), since this module's memory only grows.
let wasmModule;
let imports;
// One of each for every string: a TextDecoder made per call (twice per regular expression tested)
// took decide + apply from 5 to 19 ms with 50 experiments (`node bench/ab-builds.mjs`).
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = () => new Uint8Array(wasm.memory.buffer);
const text = (at, len) => decoder.decode(bytes().subarray(at, at + len));
// A string handed to the module: its u32 length, then its UTF-8, in room the module gives.
const give = (string) => {
  const utf8 = encoder.encode(string);
  const at = wasm.alloc(4 + utf8.length);
  new DataView(wasm.memory.buffer).setUint32(at, utf8.length, true);
  bytes().set(utf8, at + 4);
  return at;
};

// `response`: a fetch of the module (or its promise).
export const load = (response) => {
  imports = {
    // JavaScript itself, for the page rules and GrowthBook's conditions (src/first_paint.rs).
    splitbeam: {
      regex_test: (pattern, patternLen, at, len, ignoreCase) =>
        attempt(() => +new RegExp(text(pattern, patternLen), ignoreCase ? 'i' : '').test(text(at, len))) ?? 2,
      // Only the module with the condition engine asks for these. scripts/build.sh bundles this
      // file once per first-paint module and defines SPLITBEAM_CONDITIONS (false without the
      // engine: the minifier then drops these); loaded as it is (a test), it serves both. Written
      // out here, not as a constant: esbuild folds it only where it is used.
      ...((typeof SPLITBEAM_CONDITIONS == 'undefined' || SPLITBEAM_CONDITIONS) && {
        number: (at, len) => +text(at, len),
        string: (x) => give(String(x)),
        lower: (at, len) => give(text(at, len).toLowerCase()),
        // GrowthBook's paddedVersionString: versions compare as these strings.
        version: (at, len) => {
          const parts = text(at, len).replace(/(^v|\+.*$)/g, '').split(/[-.]/);
          if (parts.length == 3) parts.push('~');
          return give(parts.map((part) => (/^[0-9]+$/.test(part) ? part.padStart(5, ' ') : part)).join('-'));
        },
      }),
    },
  };
  return instantiate(response, imports).then((module) => {
    wasm = module.instance.exports;
    wasmModule = module.module;
  });
};

// `fields` (strings and byte arrays) as src/first_paint.rs's `decide` reads them; where its answer is.
const run = (fields, flags) => {
  fields = fields.map((field) => (typeof field == 'string' ? encoder.encode(field) : field));
  const size = fields.reduce((n, field) => n + 4 + field.length, 0);
  const input = wasm.alloc(size);
  // Views made once `alloc` has grown the memory (a growth detaches the earlier buffer).
  const view = new DataView(wasm.memory.buffer);
  const memory = bytes();
  let at = input;
  for (const field of fields) {
    view.setUint32(at, field.length, true);
    memory.set(field, at + 4);
    at += 4 + field.length;
  }
  return wasm.decide(input, size, Date.now(), flags);
};
const answerOf = (out) => bytes().subarray(out + 4, out + 4 + new DataView(wasm.memory.buffer).getUint32(out, true));

// The answer of splitbeam_core::first_paint::decide: [visitor id, new visitor, exposures, variants,
// persist, forced, log], or null when the compiled config cannot be read.
export const decide = (compiled, { consent, apply }) => {
  const local = attempt(() => localStorage);
  const session = attempt(() => sessionStorage);
  const sticky = [];
  const rows = attempt(() => JSON.parse(local.getItem(STICKY)));
  if (Array.isArray(rows))
    for (const row of rows) if (Array.isArray(row) && [0, 1, 2].every((i) => typeof row[i] == 'string')) sticky.push(row[0], row[1], row[2]);
  const fields = [
    compiled,
    location.href,
    location.search,
    attempt(() => local.getItem(VISITOR)) || '',
    attempt(() => session.getItem(FORCED)) || '',
    navigator.userAgent,
    navigator.language || '',
    crypto.getRandomValues(new Uint8Array(16)),
    '',
  ];
  const out = run(fields.concat(sticky), (apply ? 1 : 0) | (consent == 'required' ? 2 : 0));
  if (!out) return null;
  const answer = JSON.parse(decoder.decode(answerOf(out)));
  if (typeof answer[5] == 'string') attempt(() => session.setItem(FORCED, answer[5]));
  answer[6].forEach((line) => console.log('splitbeam: ' + line));
  return answer;
};

// The whole snippet's decisions for the current URL with the identity it holds (its visitor id and
// whether it is new, its QA overrides, the page's own attributes encoded, its sticky rows as one
// flat list): splitbeam_core::first_paint::decisions' bytes, or null. On a fresh instance, so
// that an SPA's thousandth route change costs what its first did.
export const redecide = (compiled, visitor, newVisitor, forced, custom, sticky) => {
  wasm = new WebAssembly.Instance(wasmModule, imports).exports;
  const fields = [compiled, location.href, '', visitor, forced, navigator.userAgent, navigator.language || '', new Uint8Array(16), custom];
  const out = run(fields.concat(sticky), 4 | (newVisitor ? 8 : 0));
  return out ? answerOf(out).slice() : null;
};

// What `decide` left to store, once the page is revealed (a fresh profile's first localStorage
// write took milliseconds before it) or left.
export const persist = (answer) => {
  const write = answer && answer[4];
  if (!write) return;
  answer[4] = 0;
  if (write[0]) attempt(() => localStorage.setItem(VISITOR, write[0]));
  attempt(() => localStorage.setItem(STICKY, JSON.stringify(write[1])));
};
