// A tiny static server for the dashboard tests: the same routes as collector/src/server/dashboard.rs
// (`/` and `/experiments/<key>` → index.html, `/dashboard/<file>` → the asset), read from www/dashboard on disk.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const DASHBOARD_DIR = fileURLToPath(new URL('../../../www/dashboard/', import.meta.url));
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

function fileFor(pathname) {
  if (pathname === '/' || /^\/experiments\/[^/]+\/?$/.test(pathname)) return 'index.html';
  const asset = /^\/dashboard\/([a-z0-9-]+\.(?:js|css|html))$/.exec(pathname);
  return asset ? asset[1] : null;
}

/** Starts the server on 127.0.0.1 with a free port; resolves to { origin, close }. */
export async function startDashboardServer() {
  const server = createServer(async (request, response) => {
    const file = fileFor(new URL(request.url, 'http://127.0.0.1').pathname);
    if (!file) {
      response.writeHead(404).end('not found');
      return;
    }
    try {
      const body = await readFile(path.join(DASHBOARD_DIR, file));
      response.writeHead(200, { 'content-type': TYPES[path.extname(file)] }).end(body);
    } catch (error) {
      response.writeHead(500).end(String(error));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
