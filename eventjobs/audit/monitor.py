"""``eventjobs journal monitor URL``: hold a server to the history it showed.

Each round fetches the server's newest checkpoint
(``GET /_eventjobs/checkpoint``), verifies its signature with the verifier
key, and checks that it extends the newest checkpoint this monitor stored
before: same origin, a tree at least as large, and an RFC 9162 consistency
proof (``GET /_eventjobs/consistency``) from the old tree to the new one
that verifies against both roots. Only then is the new checkpoint stored
(``DIR/<size>.txt``). Anything else is an :class:`Alert`: the server
presented a history that does not extend what it showed before (cut,
rolled back, rewritten), or a checkpoint its key did not sign; the stored
checkpoints are left as they were, so every later round alerts too.

This is what an auditor runs on their own machine: the store and the key
are all it trusts. Blocking (``http.client``, through the command-line
client's connection).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import attrs

from ..client.connection import CannotConnect, Connection
from ..merkle import InvalidProof, decode_hash, verify_consistency
from ..signed_note import NoteError, Verifier
from ..tlog_checkpoint import Checkpoint, open_checkpoint

_SUFFIX = ".txt"


class Alert(Exception):
    """The server's history does not extend the one it showed before (or
    its checkpoint is not signed by the key); the message says how."""


class Unreachable(Exception):
    """The server did not give a checkpoint (down, an error answer)."""


@attrs.define
class Monitor:
    """One server watched, its checkpoints kept in *store*."""

    connection: Connection
    verifiers: list[Verifier]
    store: Path

    def stored(self) -> tuple[Checkpoint, str] | None:
        """The newest checkpoint stored, and its note (verified again)."""
        try:
            names = sorted(
                name
                for name in os.listdir(self.store)
                if name.endswith(_SUFFIX) and not name.startswith(".")
            )
        except FileNotFoundError:
            return None
        if not names:
            return None
        note = (self.store / names[-1]).read_text(encoding="utf-8")
        try:
            return open_checkpoint(note, self.verifiers), note
        except NoteError as error:
            raise Alert(
                f"the stored checkpoint {self.store / names[-1]} does not verify with "
                f"the key: {error}"
            ) from None

    def _get(self, target: str) -> bytes:
        try:
            answer = self.connection.request("GET", target)
        except CannotConnect as error:
            raise Unreachable(str(error)) from None
        if answer.status != 200:
            raise Unreachable(
                f"{self.connection.url}{target} answered {answer.status}: "
                f"{answer.body[:200].decode('utf-8', 'replace')}"
            )
        return answer.body

    def check(self) -> str:
        """One round: fetch, verify, compare, store. Returns what it found.

        Raises:
            Alert: the new checkpoint does not extend the stored one.
            Unreachable: no checkpoint could be fetched.
        """
        note = self._get("/_eventjobs/checkpoint").decode("utf-8", "replace")
        try:
            new = open_checkpoint(note, self.verifiers)
        except NoteError as error:
            raise Alert(f"the server's checkpoint does not verify: {error}") from None
        previous = self.stored()
        if previous is not None:
            old = previous[0]
            self._extends(old, new)
            if new.size == old.size:
                return f"ok: still {new.size} records (root {_short(new)})"
        self._keep(new, note)
        if previous is None:
            return (
                f"ok: first checkpoint stored, {new.size} records (root {_short(new)})"
            )
        return (
            f"ok: {new.size} records extend the {previous[0].size} seen before "
            f"(root {_short(new)})"
        )

    def _extends(self, old: Checkpoint, new: Checkpoint) -> None:
        if new.origin != old.origin:
            raise Alert(
                f"the server now shows the journal {new.origin!r}, not {old.origin!r} "
                "it showed before"
            )
        if new.size < old.size:
            raise Alert(
                f"the server's journal shrank from {old.size} to {new.size} records: "
                "it was cut or rolled back"
            )
        if new.size == old.size:
            if new.root != old.root:
                raise Alert(
                    f"the server shows a different root for the same {new.size} records: "
                    "the journal was rewritten"
                )
            return
        body = self._get(f"/_eventjobs/consistency?from={old.size}&to={new.size}")
        try:
            answer = json.loads(body)
            proof = [decode_hash(text) for text in answer["proof"]]
            verify_consistency(old.size, new.size, proof, old.root, new.root)
        except (InvalidProof, ValueError, KeyError, TypeError) as error:
            raise Alert(
                f"the server's {new.size} records do not extend the {old.size} it showed "
                f"before (the consistency proof fails: {error}): the journal was "
                "rewritten, or rolled back and written again"
            ) from None

    def _keep(self, checkpoint: Checkpoint, note: str) -> None:
        self.store.mkdir(parents=True, exist_ok=True)
        path = self.store / f"{checkpoint.size:020d}{_SUFFIX}"
        temporary = self.store / f".{path.name}.new"
        temporary.write_text(note, encoding="utf-8")
        os.replace(temporary, path)


def _short(checkpoint: Checkpoint) -> str:
    return checkpoint.root.hex()[:16]


def make_monitor(
    url: str, verifiers: Iterable[Verifier], store: Path, authorization: str | None
) -> Monitor:
    """A monitor of the server at *url* (raises BadURL for a bad one)."""
    return Monitor(Connection(url, authorization), list(verifiers), store)
