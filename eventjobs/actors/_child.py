"""The main program of a worker process (see :mod:`eventjobs.actors.process_pool`).

Run as a script by path, not as ``-m eventjobs...``, so that starting a worker
does not import eventjobs (and Quart, hypercorn, trio): only the standard
library and whatever the called functions need.

Protocol on stdin/stdout, each frame an 8-byte big-endian length then that
many bytes of pickle:

1. the parent sends its ``sys.path`` (so the worker imports what it can);
2. then, repeatedly, ``(function, args, kwargs)``; the worker answers
   ``("ok", result)``, ``("raised", exception)`` or ``("failed", text)`` when
   the outcome itself cannot be pickled.

End of input ends the worker. It ignores SIGINT (a Ctrl-C at the terminal is
the server's to handle) and keeps SIGTERM's default: cancelling a call kills
the process, whatever the function is doing.
"""

import pickle
import signal
import struct
import sys

_LENGTH = struct.Struct(">Q")


def _read_exactly(stream, size):
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _read_frame(stream):
    header = _read_exactly(stream, _LENGTH.size)
    if header is None:
        return None
    (size,) = _LENGTH.unpack(header)
    return _read_exactly(stream, size)


def _write_frame(stream, payload):
    stream.write(_LENGTH.pack(len(payload)) + payload)
    stream.flush()


def _answer(outcome):
    try:
        return pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:
        kind, value = outcome
        what = "result" if kind == "ok" else f"exception {value!r}"
        text = f"the {what} cannot be pickled ({type(error).__name__}: {error})"
        return pickle.dumps(("failed", text), protocol=pickle.HIGHEST_PROTOCOL)


def main():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    del sys.path[0]  # this script's directory: its modules are not top-level ones
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    # What the called functions print goes to stderr, never into the protocol.
    sys.stdout = sys.stderr
    path = _read_frame(requests)
    if path is None:
        return
    sys.path[:] = pickle.loads(path)
    while True:
        frame = _read_frame(requests)
        if frame is None:
            return
        try:
            function, args, kwargs = pickle.loads(frame)
            outcome = ("ok", function(*args, **kwargs))
        except Exception as error:
            outcome = ("raised", error)
        _write_frame(answers, _answer(outcome))


if __name__ == "__main__":
    main()
