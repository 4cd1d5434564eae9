"""``serve --access-log`` writes one line per request, also when the client
closes its connection as soon as it has read the response."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

from tests.support import server_process

REQUESTS = 60


def get_and_close(host: str, port: int, path: str) -> bytes:
    """A request that closes its socket the moment the response is read:
    curl's and most one-shot clients' way, which races hypercorn's end of
    the response."""
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(
            f"GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n".encode()
        )
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
            if answer.endswith(b"}"):  # the whole JSON body: close now
                break
        return answer


def test_one_access_line_per_request(tmp_path: Path) -> None:
    with server_process(
        "--journal", str(tmp_path / "journal"), "--access-log"
    ) as server:
        address = urlsplit(server.url)
        assert address.hostname and address.port
        for number in range(REQUESTS):
            answer = get_and_close(
                address.hostname, address.port, f"/_api/version?n={number}"
            )
            assert answer.startswith(b"HTTP/1.1 200"), answer
        assert server.stop() == 0
    lines = [line for line in server.text.splitlines() if "GET /_api/version" in line]
    assert len(lines) == REQUESTS, "\n".join(lines)
    statuses = [re.search(r'" (\S+) (\S+) "', line) for line in lines]
    assert all(s and s.groups() == ("200", "63") for s in statuses), "\n".join(lines)
