"""C2SP signed notes and tlog checkpoints, checked against the fixed keys and
signatures other implementations are tested with."""

from __future__ import annotations

import base64

import pytest

from eventjobs.merkle import LeafHashes
from eventjobs.signed_note import (
    NoteError,
    Signature,
    Signer,
    Verifier,
    generate_key,
    key_id,
    open_note,
    sign_note,
)
from eventjobs.tlog_checkpoint import Checkpoint, open_checkpoint, sign_checkpoint

# From golang.org/x/mod/sumdb/note, note_test.go (BSD-3-Clause): the keys,
# text and signatures of TestNewSigner, TestSign, TestVerifierList and TestOpen.
PETER_SIGNER = (
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
)
PETER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"


def test_a_signer_key_from_go_gives_its_verifier_key_and_signature():
    signer = Signer.parse(PETER_SIGNER)
    assert (signer.name, signer.key_id) == ("PeterNeumann", 0xC74F20A3)
    assert signer.encode() == PETER_SIGNER
    assert signer.verifier().encode() == PETER
    assert sign_note(TEXT, signer) == TEXT + "\n" + PETER_SIG


def test_verifier_keys_from_go_parse_and_their_ids_hold():
    for text in (PETER, ENOCH):
        verifier = Verifier.parse(text)
        assert verifier.encode() == text
        assert key_id(verifier.name, verifier.public_key) == verifier.key_id


def test_a_note_from_go_opens_with_the_known_key_and_ignores_the_other():
    note = open_note(TEXT + "\n" + PETER_SIG + ENOCH_SIG, [Verifier.parse(PETER)])
    assert note.text == TEXT
    assert [s.name for s in note.signatures] == ["PeterNeumann"]
    assert note.unverified == (
        Signature("EnochRoot", 0xAF0CFE78, ENOCH_SIG.split()[-1]),
    )
    both = open_note(
        (TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode(),
        [Verifier.parse(PETER), Verifier.parse(ENOCH)],
    )
    assert [s.name for s in both.signatures] == ["PeterNeumann", "EnochRoot"]


def test_a_note_without_a_known_signature_is_refused():
    with pytest.raises(
        NoteError,
        match=r"not signed by a known key \(it is signed by PeterNeumann\+c74f20a3",
    ):
        open_note(TEXT + "\n" + PETER_SIG, [Verifier.parse(ENOCH)])


def test_a_changed_signature_or_text_is_refused():
    damaged = TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(
        NoteError, match=r"signature of PeterNeumann\+c74f20a3 does not verify"
    ):
        open_note(damaged, [Verifier.parse(PETER)])
    with pytest.raises(NoteError, match="does not verify"):
        open_note(
            TEXT.replace("answer", "Answer") + "\n" + PETER_SIG, [Verifier.parse(PETER)]
        )


@pytest.mark.parametrize(
    "message",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT
        + "\n"
        + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG * 101,
    ],
)
def test_malformed_notes_are_refused(message):
    """The bad messages of Go's TestOpen."""
    with pytest.raises(NoteError):
        open_note(message, [Verifier.parse(PETER)])


def test_non_utf8_notes_are_refused():
    with pytest.raises(NoteError, match="UTF-8"):
        open_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode(), [Verifier.parse(PETER)])


def test_every_one_character_change_of_a_key_is_refused():
    """As Go's TestNewVerifier / TestNewSigner: each character changed."""
    for key, parse in ((PETER, Verifier.parse), (PETER_SIGNER, Signer.parse)):
        for position in range(len(key)):
            changed = key[:position] + chr(ord(key[position]) + 1) + key[position + 1 :]
            with pytest.raises(NoteError):
                parse(changed)
        for end in range(len(key)):
            with pytest.raises(NoteError):
                parse(key[:end])


def test_keys_of_other_algorithms_or_lengths_are_refused_with_a_reason():
    # Go's TestNewVerifier: a wrong-length key and an unknown algorithm,
    # each with its key hash adjusted.
    with pytest.raises(NoteError, match="Ed25519 key of 36 bytes"):
        Verifier.parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
    with pytest.raises(NoteError, match="algorithm 101"):
        Verifier.parse(
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        )
    with pytest.raises(NoteError, match="signer .private. key"):
        Verifier.parse(PETER_SIGNER)


def test_generated_keys_sign_and_verify():
    signer_text, verifier_text = generate_key("example.com/jobs")
    signer, verifier = Signer.parse(signer_text), Verifier.parse(verifier_text)
    assert signer.verifier() == verifier
    assert signer_text.startswith("PRIVATE+KEY+example.com/jobs+")
    assert verifier_text.startswith(f"example.com/jobs+{verifier.key_id:08x}+")
    assert open_note(sign_note("hello\n", signer), [verifier]).text == "hello\n"
    other = Signer.generate("example.com/jobs")
    with pytest.raises(NoteError):
        open_note(sign_note("hello\n", other), [verifier])


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "must not be empty"),
        ("a+b", "contains '\\+'"),
        ("a b", "contains a space"),
        ("a\u00a0b", "contains a space"),
        ("a\tb", "contains a space"),
        ("a\x01b", "control character"),
    ],
)
def test_bad_key_names_are_refused_with_a_reason(name, message):
    with pytest.raises(NoteError, match=message):
        Signer.generate(name)


def test_a_note_text_must_end_with_a_newline():
    with pytest.raises(NoteError, match="end with a newline"):
        sign_note("abc", Signer.parse(PETER_SIGNER))


# -- checkpoints -----------------------------------------------------------------------

# The example of c2sp.org/tlog-checkpoint (its signature is by a key the
# spec does not publish, so only the body is checked).
SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def test_the_spec_example_checkpoint_body_parses_and_formats_back():
    checkpoint = Checkpoint.parse(SPEC_BODY)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root == base64.b64decode(
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    )
    assert checkpoint.body() == SPEC_BODY


def test_a_signed_checkpoint_of_a_tree_opens_with_its_verifier_key():
    tree = LeafHashes()
    for seq in range(1, 11):
        tree.append(f'{{"seq":{seq}}}'.encode())
    signer = Signer.generate("example.com/journal")
    note = sign_checkpoint(
        Checkpoint("example.com/journal", tree.size, tree.root()), signer
    )
    assert note.startswith(
        f"example.com/journal\n10\n{base64.b64encode(tree.root()).decode()}\n\n— example.com/journal "
    )
    opened = open_checkpoint(note, [signer.verifier()])
    assert (opened.size, opened.root) == (10, tree.root())
    with pytest.raises(NoteError):
        open_checkpoint(note.replace("\n10\n", "\n11\n"), [signer.verifier()])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("example.com/a\n1\n", "an origin line, a tree size line and a root hash line"),
        (
            "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "origin line must not be empty",
        ),
        (
            "o\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "without leading zeros",
        ),
        (
            "o\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            "without leading zeros",
        ),
        ("o\n1\nAAAA\n", "not a 32-byte hash"),
        (
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\nx\n",
            "extension lines must not be empty",
        ),
        ("o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=", "ends with a newline"),
    ],
)
def test_malformed_checkpoint_bodies_are_refused_with_a_reason(body, message):
    with pytest.raises(NoteError, match=message):
        Checkpoint.parse(body)


def test_the_empty_tree_checkpoint():
    checkpoint = Checkpoint.parse(Checkpoint("o", 0, LeafHashes().root()).body())
    assert checkpoint.size == 0
