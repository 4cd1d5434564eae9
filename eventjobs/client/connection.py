"""The client's HTTP transport: one request, one answer, standard library only.

Every request opens its own connection (http or https) and closes it after
the answer: the client makes a handful of requests, at most one a second
while it waits, so keep-alive would save nothing and would bring the
question of what to resend when a kept connection turns out closed (a
resent submission would be a second job).

Every way of not getting an HTTP answer (refused, unknown host, timeout,
TLS failure, connection closed) raises :class:`CannotConnect` with one
sentence naming the URL; nothing else escapes but ``KeyboardInterrupt``.
"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from urllib.parse import urlsplit

import attrs

#: Where ``eventjobs serve`` listens by default (settings.DEFAULT_BIND).
DEFAULT_URL = "http://127.0.0.1:8529"


class CannotConnect(Exception):
    """No HTTP answer from the server; ``str()`` says what happened, with the URL."""


class BadURL(ValueError):
    """``--url`` is not an http(s) URL of a server."""


@attrs.frozen
class Answer:
    """An HTTP answer, read in full."""

    status: int
    headers: Sequence[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The last value of header *name* (case-insensitive), or None."""
        found = None
        for key, value in self.headers:
            if key.lower() == name:
                found = value
        return found

    @property
    def status_line(self) -> str:
        """``410 Gone``: the status and its standard phrase (hypercorn sends
        no reason phrase, so it is not taken from the wire)."""
        try:
            return f"{self.status} {HTTPStatus(self.status).phrase}"
        except ValueError:
            return str(self.status)


def basic_authorization(user: str, password: str) -> str:
    """The ``Authorization`` value for HTTP Basic."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


@attrs.define
class Connection:
    """The server at *url*, with credentials to send on every request.

    Raises:
        BadURL: *url* is not ``http(s)://HOST[:PORT][/PREFIX]`` (credentials,
            a query or a fragment in it are refused: a password does not
            belong on a command line).
    """

    url: str = attrs.field()
    authorization: str | None = None
    #: Seconds to connect and, beyond any wait asked of the server, to answer.
    timeout: float = 30.0
    _scheme: str = attrs.field(init=False)
    _host: str = attrs.field(init=False)
    _port: int | None = attrs.field(init=False)
    _prefix: str = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        example = f"for example {DEFAULT_URL}"
        try:
            parts = urlsplit(self.url)
            port = parts.port
        except ValueError as error:
            raise BadURL(f"{self.url!r} is not a URL ({error}); {example}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadURL(f"{self.url!r} is not an http:// or https:// URL; {example}")
        if parts.username is not None or parts.password is not None:
            raise BadURL(
                "the URL must not hold credentials: pass --user NAME, and the password "
                "in EVENTJOBS_PASSWORD or at the prompt"
            )
        if parts.query or parts.fragment:
            raise BadURL(
                f"{self.url!r}: a server URL has no query or fragment; {example}"
            )
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = port
        self._prefix = parts.path

    def request(
        self,
        method: str,
        target: str,
        *,
        body: bytes | None = None,
        headers: Iterable[tuple[str, str]] = (),
        extra_time: float = 0.0,
    ) -> Answer:
        """Send *method* *target* (a path with its query, below the URL's
        prefix) and read the whole answer.

        *extra_time* lengthens the read timeout for a request the server is
        asked to hold (``x-eventjobs-wait``).

        Raises:
            CannotConnect: no HTTP answer came back.
        """
        connection: http.client.HTTPConnection
        timeout = self.timeout + extra_time
        if self._scheme == "https":
            connection = http.client.HTTPSConnection(
                self._host,
                self._port,
                timeout=timeout,
                context=ssl.create_default_context(),
            )
        else:
            connection = http.client.HTTPConnection(
                self._host, self._port, timeout=timeout
            )
        try:
            connection.putrequest(
                method, self._prefix + target, skip_accept_encoding=True
            )
            sent = [(name.lower(), value) for name, value in headers]
            if self.authorization is not None:
                sent.append(("authorization", self.authorization))
            if body is not None:
                sent.append(("content-length", str(len(body))))
            for name, value in sent:
                connection.putheader(name, value)
            connection.endheaders(body)
            response = connection.getresponse()
            return Answer(response.status, response.getheaders(), response.read())
        except (OSError, http.client.HTTPException) as error:
            raise CannotConnect(self._describe(error)) from None
        finally:
            connection.close()

    def _describe(self, error: BaseException) -> str:
        """One sentence: what went wrong reaching the server, and where."""
        where = f"{self._host}:{self._port or (443 if self._scheme == 'https' else 80)}"
        if isinstance(error, socket.gaierror):
            what = f"host {self._host!r} not found ({error.strerror})"
        elif isinstance(error, ConnectionRefusedError):
            what = f"connection refused at {where}: nothing is listening there"
        elif isinstance(error, TimeoutError):
            what = f"no answer from {where} within {self.timeout:g} s"
        elif isinstance(error, ssl.SSLCertVerificationError):
            what = (
                f"its TLS certificate is not trusted ({error.verify_message}); point "
                "SSL_CERT_FILE at the CA that signed it"
            )
        elif isinstance(error, ssl.SSLError):
            what = f"TLS failed ({error.reason or error}); is it an https server?"
        elif isinstance(error, (http.client.RemoteDisconnected, ConnectionResetError)):
            what = "the server closed the connection without answering"
        elif isinstance(error, http.client.HTTPException):
            what = f"the answer is not HTTP ({type(error).__name__})"
        else:
            what = (
                error.strerror
                if isinstance(error, OSError) and error.strerror
                else str(error)
            )
        return f"cannot connect to {self.url}: {what}"
