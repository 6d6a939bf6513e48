// A wasm module from `response` (a fetch of it, or its promise), instantiated with `imports`: the
// first-paint module (www/first.js) and the whole snippet (www/whole.js) load alike. Streaming
// compilation refuses a module served without `application/wasm` (a shop's own static host may):
// such bytes are compiled as they are.
export const instantiate = (response, imports) =>
  Promise.resolve(response).then((r) => {
    if (!r.ok) throw new Error(r.status + ' for ' + r.url);
    return /wasm/.test(r.headers.get('content-type'))
      ? WebAssembly.instantiateStreaming(r, imports)
      : r.arrayBuffer().then((b) => WebAssembly.instantiate(b, imports));
  });
