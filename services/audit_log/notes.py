"""Signed checkpoints in the transparency-log community's text formats, so any tool that reads a
C2SP checkpoint (Go's golang.org/x/mod/sumdb/note among them) can check ours:

* c2sp.org/signed-note: a text ending in a newline, a blank line, then one line per signature,
  `— <key name> <base64(4-byte key ID ‖ signature)>`; the signed message is the text up to and
  including its last newline before that blank line. Ed25519 only (signature type 0x01), key ID
  = SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]; a verifier key is
  `<name>+<hex key ID>+<base64(0x01 ‖ public key)>`.
* c2sp.org/tlog-checkpoint: the text is `<origin>\\n<tree size>\\n<base64 root hash>\\n` and then
  optional extension lines.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
# The spec asks verifiers to accept at least 16 signatures and to bound them; Go's reader stops
# at 100, and so do we.
MAX_SIGNATURES = 100
ROOT_SIZE = 32

_SIZE = re.compile(r"0|[1-9][0-9]*")
_HEX_ID = re.compile(r"[0-9a-fA-F]{8}")


class NoteError(ValueError):
    """A note, checkpoint or verifier key that does not check out. `reason` is one of
    "malformed" (not the format), "unsigned" (no signature by the key we trust) and
    "bad signature" (a signature by that key that does not verify); the message says more."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class VerifierKeyError(NoteError):
    """A verifier key string that is not `<name>+<8 hex digits>+<base64(0x01 ‖ key)>`."""

    def __init__(self, message: str) -> None:
        super().__init__("malformed", message)


def _malformed(message: str) -> NoteError:
    return NoteError("malformed", message)


def valid_key_name(name: object) -> bool:
    """Non-empty, with neither Unicode spaces, plus signs nor control characters."""
    return (isinstance(name, str) and name != "" and "+" not in name
            and not any(c.isspace() or ord(c) < 0x20 or c == "\x7f" for c in name)
            and _encodable(name))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def _check_text(text: str | bytes, what: str) -> str:
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise _malformed(f"the {what} is not valid UTF-8") from None
    if not isinstance(text, str):
        raise _malformed(f"the {what} must be text, not {type(text).__name__}")
    if not _encodable(text):
        raise _malformed(f"the {what} is not valid UTF-8")
    for i, c in enumerate(text):
        if ord(c) < 0x20 and c != "\n":
            line = text.count("\n", 0, i) + 1
            raise _malformed(f"the {what} holds control character U+{ord(c):04X} on line {line}; "
                             "only newlines are allowed")
    return text


def _b64decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# ---- checkpoints ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        return checkpoint_body(self.origin, self.size, self.root, self.extensions)


def checkpoint_body(origin: str, size: int, root: bytes, extensions: tuple[str, ...] | list[str]
                    = ()) -> str:
    """The note text of a checkpoint. Raises ValueError for values it cannot hold."""
    if not isinstance(origin, str) or not origin or "\n" in origin:
        raise ValueError("the origin must be one non-empty line")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError(f"the tree size must be a non-negative integer, not {size!r}")
    if not isinstance(root, (bytes, bytearray)) or len(root) != ROOT_SIZE:
        raise ValueError(f"the root hash must be {ROOT_SIZE} bytes")
    for line in extensions:
        if not isinstance(line, str) or not line or "\n" in line:
            raise ValueError("every extension line must be one non-empty line")
    body = "".join(line + "\n" for line in (origin, str(size), _b64(bytes(root)), *extensions))
    _check_text(body, "checkpoint")
    return body


def parse_checkpoint(body: str | bytes) -> Checkpoint:
    """The checkpoint a note text holds (c2sp.org/tlog-checkpoint), or NoteError("malformed")
    saying which line is wrong."""
    body = _check_text(body, "checkpoint")
    if not body.endswith("\n"):
        raise _malformed("the checkpoint must end with a newline")
    lines = body[:-1].split("\n")
    if len(lines) < 3:
        raise _malformed(f"a checkpoint has at least 3 lines (origin, tree size, root hash); "
                         f"this one has {len(lines)}")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise _malformed("line 1 (the origin) is empty")
    if not _SIZE.fullmatch(size_text):
        raise _malformed("line 2 (the tree size) must be a decimal number without leading "
                         f"zeros, not {size_text[:40]!r}")
    root = _b64decode(root_text)
    if root is None:
        raise _malformed("line 3 (the root hash) is not standard base64")
    if len(root) != ROOT_SIZE:
        raise _malformed(f"line 3 (the root hash) decodes to {len(root)} bytes; a SHA-256 root "
                         f"is {ROOT_SIZE}")
    for i, line in enumerate(extensions, start=4):
        if not line:
            raise _malformed(f"line {i} (an extension line) is empty")
    return Checkpoint(origin=origin, size=int(size_text), root=root, extensions=tuple(extensions))


# ---- notes ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes  # 4 bytes
    signature: bytes

    def line(self) -> str:
        return f"{SIGNATURE_PREFIX}{self.name} {_b64(self.key_id + self.signature)}\n"


def unsigned_note(body: str) -> str:
    """A note nobody signed is just its text: signed-note has no marker for "unsigned", and
    split_note reads such a text back as (body, [])."""
    body = _check_text(body, "note text")
    if not body.endswith("\n"):
        raise _malformed("the note text must end with a newline")
    return body


def split_note(text: str | bytes) -> tuple[str, list[NoteSignature]]:
    """The text and the signature lines of a note, checked for form only (no signature is
    verified). A text with no signature lines comes back as (text, [])."""
    text = _check_text(text, "note")
    if not text.endswith("\n"):
        raise _malformed("a note must end with a newline")
    split = text.rfind("\n\n")
    block = text[split + 2:] if split >= 0 else ""
    block_lines = block[:-1].split("\n") if block else []
    if split < 0 or not any(line.startswith(SIGNATURE_PREFIX) for line in block_lines):
        if any(line.startswith(SIGNATURE_PREFIX) for line in text[:-1].split("\n")):
            raise _malformed("the signature lines must follow a blank line after the text")
        if split >= 0 and not block:
            raise _malformed("the note ends in a blank line with no signature lines after it")
        return text, []
    body = text[:split + 1]
    if len(block_lines) > MAX_SIGNATURES:
        raise _malformed(f"the note has {len(block_lines)} signature lines; at most "
                         f"{MAX_SIGNATURES} are read")
    signatures = []
    for number, line in enumerate(block_lines, start=1):
        where = f"signature line {number}"
        if not line.startswith(SIGNATURE_PREFIX):
            raise _malformed(f"{where} does not start with an em dash and a space")
        name, space, encoded = line[len(SIGNATURE_PREFIX):].partition(" ")
        if not space or not encoded:
            raise _malformed(f"{where} must be '— <key name> <base64 signature>'")
        if not valid_key_name(name):
            raise _malformed(f"{where} has an invalid key name (empty, or holding a space or '+')")
        raw = _b64decode(encoded)
        if raw is None:
            raise _malformed(f"{where}: the signature is not standard base64")
        if len(raw) < 5:
            raise _malformed(f"{where}: the signature is {len(raw)} bytes; a key ID alone is 4")
        signatures.append(NoteSignature(name=name, key_id=raw[:4], signature=raw[4:]))
    return body, signatures


class NoteSigner:
    """Signs note texts with one Ed25519 key under one key name."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not valid_key_name(name):
            raise ValueError("a key name must be non-empty, without spaces or '+' "
                             "(a schema-less URL such as example.com/audit is recommended)")
        if not isinstance(private_key, Ed25519PrivateKey):
            raise TypeError("a note signer needs an Ed25519 private key")
        self._name = name
        self._key = private_key
        self._public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._key_id = key_id(name, self._public)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> bytes:
        return self._key_id

    @property
    def public_key_bytes(self) -> bytes:
        return self._public

    def signature(self, body: str) -> NoteSignature:
        body = unsigned_note(body)
        return NoteSignature(self._name, self._key_id, self._key.sign(body.encode("utf-8")))

    def sign(self, body: str) -> str:
        """The whole signed note: the text, a blank line, this key's signature line."""
        return body + "\n" + self.signature(body).line()

    def verifier_key(self) -> str:
        return _vkey(self._name, self._key_id, self._public)

    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self._name, self._key.public_key())

    def __repr__(self) -> str:
        return f"NoteSigner({self.verifier_key()!r})"


def _vkey(name: str, kid: bytes, public: bytes) -> str:
    return f"{name}+{kid.hex()}+{_b64(bytes([ED25519]) + public)}"


class NoteVerifier:
    """Checks notes for a signature by one Ed25519 key under one key name."""

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        if not valid_key_name(name):
            raise VerifierKeyError("a key name must be non-empty, without spaces or '+'")
        if not isinstance(public_key, Ed25519PublicKey):
            raise TypeError("a note verifier needs an Ed25519 public key")
        self._name = name
        self._key = public_key
        self._public = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._key_id = key_id(name, self._public)

    @classmethod
    def from_vkey(cls, text: str) -> NoteVerifier:
        if not isinstance(text, str):
            raise VerifierKeyError("a verifier key is text: <name>+<key ID>+<base64 key>")
        text = text.strip()
        name, plus1, rest = text.partition("+")
        id_hex, plus2, encoded = rest.partition("+")
        if not plus1 or not plus2:
            raise VerifierKeyError("a verifier key has three parts, <name>+<8 hex digit key ID>+"
                                   "<base64 key>")
        if not valid_key_name(name):
            raise VerifierKeyError("the verifier key's name is empty or holds a space or control "
                                   "character")
        if not _HEX_ID.fullmatch(id_hex):
            raise VerifierKeyError(f"the verifier key's ID must be 8 hex digits, not "
                                   f"{id_hex[:16]!r}")
        raw = _b64decode(encoded)
        if raw is None or not raw:
            raise VerifierKeyError("the verifier key's key part is not standard base64")
        if raw[0] != ED25519:
            raise VerifierKeyError(f"the verifier key is of signature type 0x{raw[0]:02x}; only "
                                   "Ed25519 (0x01) is supported")
        if len(raw) != 33:
            raise VerifierKeyError(f"an Ed25519 verifier key holds 32 key bytes, not "
                                   f"{len(raw) - 1}")
        expected = key_id(name, raw[1:])
        if bytes.fromhex(id_hex) != expected:
            raise VerifierKeyError(f"the verifier key's ID {id_hex.lower()} does not match its "
                                   f"name and key (which give {expected.hex()})")
        try:
            public = Ed25519PublicKey.from_public_bytes(raw[1:])
        except ValueError:
            raise VerifierKeyError("the verifier key's key bytes are not an Ed25519 public "
                                   "key") from None
        return cls(name, public)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> bytes:
        return self._key_id

    @property
    def public_key_bytes(self) -> bytes:
        return self._public

    def verifier_key(self) -> str:
        return _vkey(self._name, self._key_id, self._public)

    def verify(self, note_text: str | bytes) -> str:
        """The note's text if this key signed it. Signatures by other keys are ignored, as the
        spec requires, even when they share this key's name or ID (but not both)."""
        body, signatures = split_note(note_text)
        ours = [s for s in signatures if s.name == self._name and s.key_id == self._key_id]
        if not ours:
            seen = ", ".join(sorted({f"{s.name}+{s.key_id.hex()}" for s in signatures}))
            raise NoteError("unsigned", f"the note has no signature by {self._name}+"
                            f"{self._key_id.hex()}" + (f" (only by {seen})" if seen else ""))
        message = body.encode("utf-8")
        for s in ours:
            try:
                self._key.verify(s.signature, message)
            except InvalidSignature:
                raise NoteError("bad signature", f"the signature by {self._name}+"
                                f"{self._key_id.hex()} does not match the note text") from None
        return body

    def __repr__(self) -> str:
        return f"NoteVerifier({self.verifier_key()!r})"
