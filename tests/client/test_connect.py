"""Exit 4, "cannot connect", in each way a server can be out of reach, and
https: a one-line message naming the URL and the fix, never a traceback."""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client.helpers import job
from tests.support import free_port

FIX = "; check --url (or $EVENTJOBS_URL) and that the server is running\n"


def test_nothing_listening(tmp_path: Path):
    url = f"http://127.0.0.1:{free_port()}"
    result = job("list", "pending", url=url)
    assert (result.returncode, result.stdout) == (4, "")
    assert result.stderr == (
        f"eventjobs job list: cannot connect to {url}: connection refused at "
        f"{url.removeprefix('http://')}: nothing is listening there{FIX}"
    )


def test_the_default_url_is_the_local_server():
    """Without --url or $EVENTJOBS_URL: where `eventjobs serve` listens by default."""
    result = job("status", "1")
    assert result.returncode in (3, 4)  # 3 if a server happens to run there
    if result.returncode == 4:
        assert "cannot connect to http://127.0.0.1:8529:" in result.stderr


def test_unknown_host():
    result = job("list", "done", url="http://no-such-host.invalid:8529")
    assert (result.returncode, result.stdout) == (4, "")
    assert result.stderr.startswith(
        "eventjobs job list: cannot connect to http://no-such-host.invalid:8529: "
        "host 'no-such-host.invalid' not found ("
    )
    assert result.stderr.endswith(FIX)


@pytest.fixture
def hanging_up() -> Iterator[str]:
    """A server that accepts connections and closes them without a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.recv(65536)
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()


def test_a_server_that_hangs_up(hanging_up: str):
    result = job("status", "1", url=hanging_up)
    assert result.returncode == 4
    assert result.stderr == (
        f"eventjobs job status: cannot connect to {hanging_up}: the server closed the "
        f"connection without answering{FIX}"
    )


# -- https ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl, from Debian's package)."""
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class _JobList(http.server.BaseHTTPRequestHandler):
    """Answers GET /_api/job/done as eventjobs would: a JSON list of ids."""

    def do_GET(self) -> None:
        listed = self.path in ("/_api/job/done", "/behind/a/proxy/_api/job/done")
        body = json.dumps(["7", "9"] if listed else []).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def https_server(certificate: tuple[Path, Path]) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _JobList)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_https_with_a_trusted_certificate(
    https_server: str, certificate: tuple[Path, Path]
):
    """https works; the CA comes from SSL_CERT_FILE, as for any OpenSSL client."""
    result = job(
        "list", "done", url=https_server, env={"SSL_CERT_FILE": str(certificate[0])}
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "7\n9\n", "")


def test_https_with_an_untrusted_certificate(https_server: str):
    result = job("list", "done", url=https_server)
    assert (result.returncode, result.stdout) == (4, "")
    assert result.stderr.startswith(
        f"eventjobs job list: cannot connect to {https_server}: its TLS certificate is not "
        "trusted (self-signed certificate); point SSL_CERT_FILE at the CA that signed it"
    )


def test_a_url_with_a_path_prefix():
    """A server behind a reverse proxy at a prefix: the API is below it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _JobList)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/behind/a/proxy/"
        result = job("list", "done", url=url)
        assert (result.returncode, result.stdout, result.stderr) == (0, "7\n9\n", "")
    finally:
        server.shutdown()
        server.server_close()
