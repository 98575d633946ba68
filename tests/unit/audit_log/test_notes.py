"""Signed notes and checkpoints, checked against the published examples so any C2SP reader agrees
with ours, and against every way a checkpoint can be tampered with."""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit_log.notes import (
    MAX_SIGNATURES,
    Checkpoint,
    NoteError,
    NoteSigner,
    NoteVerifier,
    VerifierKeyError,
    checkpoint_body,
    key_id,
    parse_checkpoint,
    split_note,
    unsigned_note,
)

# golang.org/x/mod/sumdb/note, note.go's package documentation and note_test.go (TestSign,
# TestNewVerifier), github.com/golang/mod at fe2ec04f7c3c3aa6fad97631aafcff6e49e2d1db. Go's
# signer key is "PRIVATE+KEY+PeterNeumann+c74f20a3+" + base64(0x01 || 32-byte seed).
PETER_SKEY_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_TEXT = ("If you think cryptography is the answer to your problem,\n"
              "then you don't know what your problem is.\n")
PETER_NOTE = (PETER_TEXT + "\n"
              "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqf"
              "qdngotpRZb6KE6RyyBwJnAM=\n")
ENOCH_LINE = ("— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGw"
              "nWLox33WWd1RvMc+QQ=\n")

# c2sp.org/signed-note, "Verifier keys / Example" (github.com/C2SP/C2SP signed-note.md at
# 5ba5ee830903e91240fc6f9f3a7a9293d49e69c9).
C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = ("This is an example message.\n\n"
             "— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH"
             "3mFXmRKuwHjG1Yu72IneyaQM=\n")
# c2sp.org/tlog-checkpoint's example (same commit); its key is not published.
C2SP_CHECKPOINT = ("example.com/behind-the-sofa\n20852163\n"
                   "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
                   "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4U"
                   "RYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n")


def peter():
    return NoteSigner("PeterNeumann", Ed25519PrivateKey.from_private_bytes(PETER_SKEY_SEED))


# ---- the published vectors ---------------------------------------------------------------

def test_go_note_vector_signs_byte_for_byte():
    signer = peter()
    assert signer.key_id == bytes.fromhex("c74f20a3")
    assert signer.verifier_key() == PETER_VKEY
    assert signer.sign(PETER_TEXT) == PETER_NOTE  # Ed25519 is deterministic


def test_go_note_vector_verifies_also_with_a_second_unknown_signature():
    verifier = NoteVerifier.from_vkey(PETER_VKEY)
    assert verifier.name == "PeterNeumann" and verifier.key_id.hex() == "c74f20a3"
    assert verifier.verify(PETER_NOTE) == PETER_TEXT
    assert verifier.verify(PETER_NOTE + ENOCH_LINE) == PETER_TEXT
    body, sigs = split_note(PETER_NOTE + ENOCH_LINE)
    assert body == PETER_TEXT and [s.name for s in sigs] == ["PeterNeumann", "EnochRoot"]


def test_c2sp_signed_note_example():
    verifier = NoteVerifier.from_vkey(C2SP_VKEY)
    assert verifier.key_id == key_id("example.com/foo", verifier.public_key_bytes)
    assert verifier.verifier_key() == C2SP_VKEY
    assert verifier.verify(C2SP_NOTE) == "This is an example message.\n"


def test_c2sp_checkpoint_example_parses():
    body, sigs = split_note(C2SP_CHECKPOINT)
    cp = parse_checkpoint(body)
    assert cp == Checkpoint("example.com/behind-the-sofa", 20852163,
                            base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="))
    assert cp.body() == body
    assert sigs[0].name == "example.com/behind-the-sofa" and len(sigs[0].signature) == 64


def test_go_rejects_every_mangled_verifier_key_and_so_do_we():
    # note_test.go TestNewVerifier: every proper substring and every single-byte increment.
    b = PETER_VKEY.encode()
    for i in range(len(b) + 1):
        for j in range(i + 1, len(b) + 1):
            if (i, j) != (0, len(b)):
                with pytest.raises(VerifierKeyError):
                    NoteVerifier.from_vkey(b[i:j].decode())
    for i in range(len(b)):
        mangled = b[:i] + bytes([b[i] + 1]) + b[i + 1:]
        with pytest.raises(VerifierKeyError):
            NoteVerifier.from_vkey(mangled.decode())


@pytest.mark.parametrize("vkey,message", [
    # The two keys of TestNewVerifier with a matching key ID: wrong length, unknown algorithm.
    ("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
     "holds 32 key bytes, not 36"),
    ("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
     "signature type 0x65; only Ed25519"),
    ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
     "ID c74f20a4 does not match its name and key \\(which give c74f20a3\\)"),
    ("PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 hex digits"),
    ("PeterNeumann", "three parts"),
    ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "name"),
    ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", "not standard base64"),
    ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "name is empty"),
])
def test_malformed_verifier_keys_say_why(vkey, message):
    with pytest.raises(VerifierKeyError, match=message) as caught:
        NoteVerifier.from_vkey(vkey)
    assert caught.value.reason == "malformed"


# ---- our checkpoints -------------------------------------------------------------------------

ORIGIN = "countersign.example/audit"
ROOT = bytes(range(32))


@pytest.fixture
def signer():
    return NoteSigner(ORIGIN, Ed25519PrivateKey.generate())


def test_sign_then_verify(signer):
    body = checkpoint_body(ORIGIN, 42, ROOT)
    assert body == f"{ORIGIN}\n42\n{base64.b64encode(ROOT).decode()}\n"
    note = signer.sign(body)
    assert note.startswith(body + "\n— " + ORIGIN + " ")
    verifier = NoteVerifier.from_vkey(signer.verifier_key())
    assert verifier.key_id == signer.key_id and verifier.public_key_bytes == \
        signer.public_key_bytes
    assert verifier.verify(note) == body
    assert verifier.verify(note.encode("utf-8")) == body
    assert parse_checkpoint(verifier.verify(note)) == Checkpoint(ORIGIN, 42, ROOT)
    assert signer.verifier().verifier_key() == signer.verifier_key()


def test_extension_lines_round_trip(signer):
    body = checkpoint_body(ORIGIN, 0, ROOT, ["timestamp 1700000000", "x"])
    cp = parse_checkpoint(signer.verifier().verify(signer.sign(body)))
    assert cp.extensions == ("timestamp 1700000000", "x") and cp.size == 0


def _replace_line(note, number, new):
    lines = note.split("\n")
    lines[number] = new
    return "\n".join(lines)


def _reason(verifier, note):
    with pytest.raises(NoteError) as caught:
        verifier.verify(note)
    return caught.value.reason, str(caught.value)


def test_tampering_gives_the_right_reason(signer):
    verifier = signer.verifier()
    body = checkpoint_body(ORIGIN, 42, ROOT)
    note = signer.sign(body)
    other = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    sig_line = note.split("\n")[4]
    raw = bytearray(base64.b64decode(sig_line.split(" ")[2]))
    raw[10] ^= 1
    flipped = f"— {ORIGIN} {base64.b64encode(bytes(raw)).decode()}"

    assert _reason(verifier, _replace_line(note, 1, "43"))[0] == "bad signature"
    assert _reason(verifier, _replace_line(note, 2, base64.b64encode(ROOT[::-1]).decode()))[0] \
        == "bad signature"
    # The origin is signed text like the rest.
    assert _reason(verifier, _replace_line(note, 0, "evil.example/audit"))[0] == "bad signature"
    assert _reason(verifier, _replace_line(note, 4, flipped))[0] == "bad signature"
    reason, message = _reason(verifier, other.sign(body))
    assert reason == "unsigned" and f"only by {ORIGIN}+{other.key_id.hex()}" in message
    assert _reason(verifier, note.replace(body + "\n", body))[0] == "malformed"
    assert _reason(verifier, body)[0] == "unsigned"
    assert _reason(verifier, unsigned_note(body))[0] == "unsigned"
    # A good signature does not cover a bad one by the same key.
    assert _reason(verifier, note + flipped + "\n")[0] == "bad signature"
    # Cosigned by someone else: still ours, and theirs is ignored.
    assert verifier.verify(note + other.signature(body).line()) == body


def test_signature_from_a_key_sharing_our_name_or_id_is_ignored(signer):
    verifier = signer.verifier()
    body = checkpoint_body(ORIGIN, 1, ROOT)
    sig = signer.signature(body)
    renamed = f"— someone.else {base64.b64encode(sig.key_id + sig.signature).decode()}\n"
    other_id = f"— {ORIGIN} {base64.b64encode(b'0000' + sig.signature).decode()}\n"
    for line in (renamed, other_id):
        assert _reason(verifier, body + "\n" + line)[0] == "unsigned"


@pytest.mark.parametrize("note,message", [
    ("no newline at the end", "end with a newline"),
    ("text\n\n", "blank line with no signature lines"),
    ("text\n— name AAAAAAAA\n", "must follow a blank line"),
    ("text\n\n— name AAAAAAAA\nnot a signature\n", "signature line 2 does not start"),
    ("text\n\n— name\n", "'— <key name> <base64 signature>'"),
    ("text\n\n— na+me AAAAAAAA\n", "invalid key name"),
    ("text\n\n— name AAAA*AAA\n", "not standard base64"),
    ("text\n\n— name AAAAAA==\n", "4 bytes; a key ID alone is 4"),
    ("te\txt\n\n— name AAAAAAAA\n", "control character U\\+0009 on line 1"),
    ("text\n\n" + "— name AAAAAAAA\n" * (MAX_SIGNATURES + 1), "at most 100"),
    (b"text\xff\n\n- name AAAAAAAA\n", "not valid UTF-8"),
])
def test_malformed_notes_say_why(note, message):
    with pytest.raises(NoteError, match=message) as caught:
        split_note(note)
    assert caught.value.reason == "malformed"


def test_split_accepts_the_spec_limits():
    # At least 16 signatures must be accepted; the text may hold blank lines of its own.
    body = "a\n\nb\n"
    line = "— name " + base64.b64encode(b"\x00" * 68).decode() + "\n"
    assert split_note(body + "\n" + line * 16)[0] == body
    assert split_note(body) == (body, [])
    assert unsigned_note(body) == body


@pytest.mark.parametrize("body,message", [
    ("origin\n42\n", "at least 3 lines"),
    ("\n42\n" + base64.b64encode(ROOT).decode() + "\n", "line 1 \\(the origin\\) is empty"),
    ("o\n042\n" + base64.b64encode(ROOT).decode() + "\n", "leading zeros"),
    ("o\n-1\n" + base64.b64encode(ROOT).decode() + "\n", "line 2"),
    ("o\n 4\n" + base64.b64encode(ROOT).decode() + "\n", "line 2"),
    ("o\n4\nnot base64!\n", "line 3 \\(the root hash\\) is not standard base64"),
    ("o\n4\n" + base64.b64encode(ROOT[:20]).decode() + "\n", "decodes to 20 bytes"),
    ("o\n4\n" + base64.b64encode(ROOT).decode() + "\n\n", "line 4 \\(an extension line\\)"),
    ("o\n4\n" + base64.b64encode(ROOT).decode(), "end with a newline"),
])
def test_checkpoint_parse_errors_are_precise(body, message):
    with pytest.raises(NoteError, match=message) as caught:
        parse_checkpoint(body)
    assert caught.value.reason == "malformed"


def test_checkpoint_body_refuses_what_it_cannot_hold():
    for args in [("", 1, ROOT), ("a\nb", 1, ROOT), ("o", -1, ROOT), ("o", 1, ROOT[:31]),
                 ("o", True, ROOT)]:
        with pytest.raises(ValueError):
            checkpoint_body(*args)
    with pytest.raises(ValueError):
        checkpoint_body("o", 1, ROOT, [""])


def test_key_names_follow_the_spec():
    key = Ed25519PrivateKey.generate()
    for bad in ("", "a b", "a+b", "a\u00a0b", "a\nb"):
        with pytest.raises(ValueError):
            NoteSigner(bad, key)
    with pytest.raises(ValueError):
        peter().sign("no trailing newline")
