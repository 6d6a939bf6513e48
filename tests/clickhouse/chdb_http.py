#!/usr/bin/env python3
"""A small HTTP front over chdb (the ClickHouse engine in-process), speaking the part of ClickHouse's
HTTP interface splitbeam's ClickHouse store and its tests use:

- the SQL in the POST body, or in `?query=` with the body appended (an INSERT's rows);
- other URL parameters are settings, applied with SET before the statement (they stay set for later
  statements: one session serves every connection);
- `GET /ping` answers `Ok.\\n`;
- an error answers 500 (404 for an unknown path) with ClickHouse's own `Code: N. DB::Exception` text
  and the `X-ClickHouse-Exception-Code` header.

The answer is sent whole (no streaming). chdb's session is not thread-safe, so statements run one at a
time under a lock: concurrency is tested for correctness here, not for speed.

    chdb_http.py --path DIR --port PORT [--parent-pid PID]

With --parent-pid the front exits once that process is gone (a test run that did not stop it).
"""

import argparse
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from chdb import session as chdb_session

# URL parameters of ClickHouse's HTTP interface that are not settings.
NOT_SETTINGS = {"query", "database", "default_format", "user", "password", "query_id", "session_id",
                "session_timeout", "session_check", "compress", "decompress", "buffer_size", "wait_end_of_query"}
SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CODE = re.compile(r"Code: (\d+)\.")


class Engine:
    def __init__(self, path):
        self.session = chdb_session.Session(path)
        self.lock = threading.Lock()

    def run(self, settings, sql):
        """Runs one statement; returns its answer as bytes or raises chdb's error."""
        with self.lock:
            for name, value in settings:
                # Quoted: ClickHouse parses a setting's value from a string literal too.
                quoted = value.replace("\\", "\\\\").replace("'", "\\'")
                self.session.query(f"SET {name} = '{quoted}'")
            # ClickHouse's HTTP interface answers TabSeparated unless the query says FORMAT.
            result = self.session.query(sql, "TabSeparated")
            return result.bytes() if result is not None else b""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The headers and the body go out in two writes: with Nagle's algorithm the body then waits
    # for the client's delayed ACK, adding ~40 ms to every answer (a real server does not).
    disable_nagle_algorithm = True
    engine = None  # set in main

    def log_message(self, format, *args):  # quiet: tests read stderr only on failure
        pass

    def answer(self, status, body, code=None):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        if code is not None:
            self.send_header("X-ClickHouse-Exception-Code", str(code))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()  # the blank line after the last chunk
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def handle_query(self, body):
        url = urlsplit(self.path)
        if url.path in ("/ping", "/ping/"):
            return self.answer(200, b"Ok.\n")
        if url.path != "/":
            return self.answer(404, b"Code: 1000. DB::Exception: There is no handle " + url.path.encode() + b"\n", 1000)
        params = parse_qsl(url.query, keep_blank_values=True)
        query = "".join(v for k, v in params if k == "query")
        try:
            settings = []
            for name, value in params:
                if name in NOT_SETTINGS:
                    continue
                if not SETTING_NAME.match(name):
                    raise ValueError(f"Code: 115. DB::Exception: Unknown setting {name!r}. (UNKNOWN_SETTING)")
                settings.append((name, value))
            text = body.decode("utf-8")
            sql = f"{query}\n{text}" if query and text else (query or text)
            if not sql.strip():
                raise ValueError("Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)")
            out = self.engine.run(settings, sql)
        except Exception as e:  # chdb raises its errors with ClickHouse's own text
            message = str(e).strip()
            if not message.startswith("Code:"):
                message = f"Code: 1001. DB::Exception: {message}"
            match = CODE.search(message)
            return self.answer(500, (message + "\n").encode("utf-8", "replace"), match.group(1) if match else 1001)
        self.answer(200, out)

    def do_GET(self):
        self.handle_query(b"")

    def do_POST(self):
        self.handle_query(self.read_body())


def watch_parent(pid):
    """Exits the whole process once the parent is gone, so an aborted test run leaves nothing behind."""
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass
        time.sleep(0.5)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", required=True, help="directory holding the tables")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--parent-pid", type=int)
    args = parser.parse_args()
    os.makedirs(args.path, exist_ok=True)
    Handler.engine = Engine(args.path)
    if args.parent_pid:
        threading.Thread(target=watch_parent, args=(args.parent_pid,), daemon=True).start()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    version = Handler.engine.run([], "SELECT version()").decode().strip()
    print(f"chdb {version} listening on http://{args.host}:{server.server_port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
