"""A small HTTP service for tests/http/test_upstream.py, run in its own
process: ``python upstream_server.py`` prints its port, then serves.

- ``/hang...``: answers nothing; notes ``arrived <path>`` and, once the
  client has closed the connection, ``disconnected <path>``.
- ``/_wait?event=E``: answers once event E has happened (long poll).
- anything else: 201 with JSON of what it received (method, path with
  query, headers, body), an ``x-upstream`` header and hop-by-hop ones
  that must not reach the job's result.
"""

from __future__ import annotations

import json
import select
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

events: list[str] = []
changed = threading.Condition()


def note(event: str) -> None:
    with changed:
        events.append(event)
        changed.notify_all()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # keep the test's output quiet
        pass

    def do_GET(self):
        self.answer()

    def do_POST(self):
        self.answer()

    def do_PUT(self):
        self.answer()

    def answer(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        path = urlsplit(self.path).path
        if path == "/_wait":
            wanted = parse_qs(urlsplit(self.path).query)["event"][0]
            with changed:
                changed.wait_for(lambda: wanted in events, timeout=30)
            self.reply(200 if wanted in events else 504, b"")
        elif path.startswith(("/hang", "/up/hang")):
            note(f"arrived {path}")
            # The client's close is the only thing that ends this wait.
            while True:
                select.select([self.connection], [], [], 30)
                if not self.connection.recv(1):
                    note(f"disconnected {path}")
                    return
        else:
            received = {
                "method": self.command,
                "path": self.path,
                "headers": [
                    [name.lower(), value] for name, value in self.headers.items()
                ],
                "body": body.decode("latin-1"),
            }
            self.reply(
                201,
                json.dumps(received).encode(),
                [
                    ("x-upstream", "yes"),
                    ("keep-alive", "timeout=5"),
                    ("x-hop", "1"),
                    ("connection", "x-hop"),
                ],
            )

    def reply(self, status, body, headers=()):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
