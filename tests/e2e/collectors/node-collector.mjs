// A minimal collector: appends each batch to events.ndjson (one line per batch) and answers 204.
import http from 'node:http';
import fs from 'node:fs';

const file = process.env.EVENTS_FILE || 'events.ndjson';
http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    if (req.method === 'POST') fs.appendFileSync(file, body.replaceAll('\n', ' ') + '\n');
    res.writeHead(204, { 'Access-Control-Allow-Origin': '*' }).end();
  });
}).listen(Number(process.env.PORT) || 8091, '127.0.0.1');
