"""A service behind ``--upstream``, in plain Python with no eventjobs
import: it stands in for one written in any language (docs/embedding.md).

    python3 upstream_service.py 9000
    eventjobs serve --upstream /reports=http://127.0.0.1:9000

It prints ``listening on http://127.0.0.1:PORT`` once it serves (port 0
picks a free one). ``POST /reports`` with ``{"rows": N}`` answers 201 with
the sum of the first N numbers and the job id eventjobs sent in
``x-eventjobs-job-id``; anything else answers 404. A cancel of the job
closes the connection: a real service would stop its work when it sees
that.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Reports(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path.split("?")[0] != "/reports":
            self.answer(404, {"error": f"no such path {self.path}"})
            return
        try:
            rows = int(json.loads(body or b"{}").get("rows", 10))
        except (ValueError, AttributeError):
            self.answer(400, {"error": 'send {"rows": N} with N a whole number'})
            return
        self.answer(
            201,
            {
                "rows": rows,
                "total": sum(range(rows)),
                "job": self.headers.get("x-eventjobs-job-id"),
            },
        )

    def answer(self, status: int, document: dict[str, object]) -> None:
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    with ThreadingHTTPServer(("127.0.0.1", port), Reports) as server:
        print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
