// The whole snippet's glue as a classic script (dist/splitbeam_full.<hash>.js): the loader adds it
// once the page is revealed, and takes the module from here. The exports by name, not `* as`: the
// minifier then drops wasm-bindgen's `initSync` path, which the loader never takes (144 B gzip).
// Every function the loader calls on `snippet` is listed (www/loader.js: `start`, `click` and the API).
import init, { attributes, click, consent, flush, on, replay_held, start, track, track_held, variant } from 'splitbeam-glue';

window.splitbeamFull = { init, snippet: { attributes, click, consent, flush, on, replay_held, start, track, track_held, variant } };
