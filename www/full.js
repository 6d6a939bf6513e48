// The whole snippet's glue as a classic script (dist/splitbeam_full.<hash>.js): the loader adds it
// once the page is revealed, and takes the module from here.
import init, * as snippet from 'splitbeam-glue';

window.splitbeamFull = { init, snippet };
