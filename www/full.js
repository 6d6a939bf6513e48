// The whole snippet's page side as a classic script (dist/splitbeam_full.<hash>.js): the loader adds
// it once the page is revealed, instantiates the module with `init` and starts it through `snippet`
// (www/loader.js).
import { init, snippet } from './whole.js';

window.splitbeamFull = { init, snippet };
