"""WSGI apps for tests/http/test_wsgi.py: a Flask app whose blocking views
tell the test when they have started (importable by worker processes)."""

from __future__ import annotations

import os
import socket
import threading
import time

from flask import Flask, request

app = Flask(__name__)

#: Released by the test: what the thread-isolation view waits for.
release = threading.Event()


def _tell(path: str) -> None:
    """Send this process's id to the test listening on the socket *path*."""
    with socket.socket(socket.AF_UNIX) as connection:
        connection.connect(path)
        connection.sendall(str(os.getpid()).encode("ascii"))


@app.get("/pid")
def pid():
    return {"pid": os.getpid()}


@app.get("/block")
def block():
    """time.sleep in a loop, for a minute: nothing but a kill stops it early."""
    _tell(request.args["notify"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.05)
    return "finished"


@app.get("/wait")
def wait():
    """Blocks its thread until the test sets :data:`release`."""
    _tell(request.args["notify"])
    release.wait(60)
    return "released"


@app.get("/fail")
def fail():
    raise ValueError("the view failed")


def broken(environ, start_response):
    """A bare WSGI app that raises instead of answering."""
    raise ValueError("the app failed")


def not_an_app(environ):
    return []
