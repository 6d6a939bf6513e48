// Serves the demo storefront (www/shop) under /shop/ like the collector does, with a stand-in
// /splitbeam.js that records `splitbeam.track` calls, so the shop's own contract is testable alone.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const SHOP_DIR = fileURLToPath(new URL('../../../www/shop/', import.meta.url));
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

// The real snippet's API shape: an object with track(), and push() for queued commands.
const RECORDING_SNIPPET = `
window.__tracked = [];
window.splitbeam = {
  track: function (goal, props) { window.__tracked.push([goal, props]); },
  push: function (command) { this[command[0]].apply(this, command.slice(1)); }
};`;

export async function startShopServer() {
  const server = createServer(async (request, response) => {
    const { pathname } = new URL(request.url, 'http://127.0.0.1');
    if (pathname === '/splitbeam.js') {
      response.writeHead(200, { 'content-type': TYPES['.js'] }).end(RECORDING_SNIPPET);
      return;
    }
    const match = /^\/shop\/([a-z-]*\.(?:html|js|css))?$/.exec(pathname);
    if (!match) {
      response.writeHead(404).end('not found');
      return;
    }
    const file = match[1] || 'index.html';
    try {
      let body = await readFile(path.join(SHOP_DIR, file));
      // Where `splitbeam serve` puts the inline tag, the stand-in snippet.
      if (file.endsWith('.html')) body = body.toString('utf8').replace('<!--#splitbeam-->', '<script src="/splitbeam.js" data-collector="/collect"></script>');
      response.writeHead(200, { 'content-type': TYPES[path.extname(file)] }).end(body);
    } catch {
      response.writeHead(404).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
