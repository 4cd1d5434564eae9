"""``eventjobs journal keygen`` as a user runs it: a key pair in the C2SP
signed-note formats, the signer key readable by its owner only, existing
files never overwritten, bad names refused with one sentence."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from eventjobs.signed_note import Signer, Verifier, open_note, sign_note


def keygen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eventjobs", "journal", "keygen", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        # A permissive umask: the signer key must still be 0600.
        preexec_fn=lambda: os.umask(0o002),
    )


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("eventjobs journal keygen: ")
    return lines[0]


def test_keygen_writes_a_key_pair_that_signs_and_verifies(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    result = keygen(
        "--name", "example.com/jobs", "--out", "keys/checkpoint", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    key_file, pub_file = (
        tmp_path / "keys/checkpoint.key",
        tmp_path / "keys/checkpoint.pub",
    )
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (
        stat.S_IMODE(pub_file.stat().st_mode) & 0o077 != 0o077
    )  # readable by others is fine
    signer_text, verifier_text = key_file.read_text(), pub_file.read_text()
    assert signer_text.startswith(
        "PRIVATE+KEY+example.com/jobs+"
    ) and signer_text.endswith("\n")
    assert verifier_text.startswith("example.com/jobs+")
    assert verifier_text.strip() in result.stdout
    signer, verifier = Signer.parse(signer_text), Verifier.parse(verifier_text)
    assert signer.verifier() == verifier
    assert open_note(
        sign_note(
            "example.com/jobs\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
            signer,
        ),
        [verifier],
    )


@pytest.mark.parametrize("existing", ["ck.key", "ck.pub"])
def test_keygen_never_overwrites_a_file(tmp_path: Path, existing: str) -> None:
    (tmp_path / existing).write_text("precious\n")
    message = one_sentence(keygen("--name", "n", "--out", "ck", cwd=tmp_path))
    assert f"{existing} already exists" in message
    assert (tmp_path / existing).read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [existing]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("", "must not be empty"),
        ("example.com+jobs", "contains '+'"),
        ("my jobs", "contains a space"),
    ],
)
def test_keygen_refuses_a_bad_name(tmp_path: Path, name: str, expected: str) -> None:
    message = one_sentence(keygen("--name", name, "--out", "ck", cwd=tmp_path))
    assert expected in message
    assert list(tmp_path.iterdir()) == []


def test_keygen_into_a_missing_directory_says_so(tmp_path: Path) -> None:
    message = one_sentence(keygen("--name", "n", "--out", "missing/ck", cwd=tmp_path))
    assert "cannot create missing/ck.key: No such file or directory" in message
    assert list(tmp_path.iterdir()) == []
