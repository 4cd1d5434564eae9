"""Checking a job receipt with nothing but the receipt and the verifier key.

A receipt (``GET /_eventjobs/jobs/{id}/receipt``, ``eventjobs journal
receipt``) is ``{"job", "checkpoint", "tree_size", "records": [{"seq",
"line", "proof"}, ...]}``. It holds when the checkpoint is signed by the
key, its tree size is ``tree_size``, and each record's line, hashed as an
RFC 9162 leaf, leads through its inclusion proof (leaf ``seq - 1``) to the
checkpoint's root; and each line is a record of that job with that seq.
Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ..merkle import InvalidProof, decode_hash, leaf_hash, verify_inclusion
from ..signed_note import NoteError, Verifier
from ..tlog_checkpoint import Checkpoint, open_checkpoint


class BadReceipt(ValueError):
    """The receipt does not hold, or is not one; the message says why."""


def verify_receipt(receipt: Any, verifiers: Iterable[Verifier]) -> Checkpoint:
    """Check *receipt* (its parsed JSON); return its verified checkpoint.

    Raises:
        BadReceipt: naming the first thing that does not hold.
    """
    if not isinstance(receipt, dict) or not {
        "job",
        "checkpoint",
        "tree_size",
        "records",
    } <= set(receipt):
        raise BadReceipt(
            'a receipt is a JSON object with "job", "checkpoint", "tree_size" and "records"'
        )
    note = receipt["checkpoint"]
    if not isinstance(note, str):
        raise BadReceipt("the receipt's \"checkpoint\" is the signed note's text")
    try:
        checkpoint = open_checkpoint(note, verifiers)
    except NoteError as error:
        raise BadReceipt(f"the receipt's checkpoint does not verify: {error}") from None
    if receipt["tree_size"] != checkpoint.size:
        raise BadReceipt(
            f"the receipt says tree_size {receipt['tree_size']!r}, its checkpoint "
            f"{checkpoint.size}"
        )
    records = receipt["records"]
    if not isinstance(records, list) or not records:
        raise BadReceipt('the receipt\'s "records" is a non-empty list')
    job = receipt["job"]
    for number, entry in enumerate(records, start=1):
        if not isinstance(entry, dict) or set(entry) != {"seq", "line", "proof"}:
            raise BadReceipt(
                f'record {number} of the receipt is not {{"seq", "line", "proof"}}'
            )
        seq, line, proof = entry["seq"], entry["line"], entry["proof"]
        if type(seq) is not int or not 1 <= seq <= checkpoint.size:
            raise BadReceipt(
                f"record {number}: seq {seq!r} is not in the checkpoint's "
                f"{checkpoint.size} records"
            )
        if not isinstance(line, str) or not isinstance(proof, list):
            raise BadReceipt(f"record {number} (seq {seq}): line is text, proof a list")
        try:
            data = json.loads(line)
        except ValueError:
            data = None
        if (
            not isinstance(data, dict)
            or data.get("seq") != seq
            or str(data.get("job")) != str(job)
        ):
            raise BadReceipt(
                f"record {number} (seq {seq}): the line is not record {seq} of job {job}"
            )
        try:
            hashes = [decode_hash(text) for text in proof]
            verify_inclusion(
                seq - 1,
                checkpoint.size,
                leaf_hash(line.encode("utf-8")),
                hashes,
                checkpoint.root,
            )
        except (InvalidProof, ValueError) as error:
            raise BadReceipt(
                f"record {number} (seq {seq}) is not proved in the checkpoint's tree: "
                f"{error}"
            ) from None
    return checkpoint
