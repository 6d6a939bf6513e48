# A minimal collector: appends each batch to events.ndjson (one line per batch) and answers 200.
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

class Collector(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with open(os.environ.get('EVENTS_FILE', 'events.ndjson'), 'ab') as f:
            f.write(body.replace(b'\n', b' ') + b'\n')
        self.send_response(200)
        self.end_headers()

HTTPServer(('127.0.0.1', int(os.environ.get('PORT', '8092'))), Collector).serve_forever()
