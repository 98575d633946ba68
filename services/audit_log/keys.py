"""Where the checkpoint signing key and the verifier keys come from: a setting such as
AUDIT_SIGNING_KEY holds a path to a PEM file, the PEM text, or base64 of the PEM or of the raw
32-byte Ed25519 seed. Messages say what was expected and never repeat the value: it may be the
secret itself, or a secret mistyped."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_der_private_key,
    load_pem_private_key,
    load_pem_public_key,
)

from services.audit_log.notes import NoteError, NoteSigner, NoteVerifier, VerifierKeyError

EXPECTED = ("expected a path to a PEM file holding a PKCS#8 Ed25519 private key, the PEM text "
            "itself, or base64 of that PEM or of a 32-byte Ed25519 seed "
            "(`countersign audit keygen` makes one)")
_PEM = "-----BEGIN"
# A key file is a few hundred bytes; anything much larger is not one.
_MAX_FILE = 64 * 1024


class SigningKeyError(ValueError):
    """The signing key setting is unusable; the message is one line and holds no key material."""


def load_signing_key(value: str, *, name: str) -> NoteSigner:
    if not isinstance(value, str) or not value.strip():
        raise SigningKeyError(f"the audit signing key is empty: {EXPECTED}")
    text = value.strip()
    if text.startswith(_PEM):
        key = _private_from_pem(text.encode("utf-8"), "the PEM text")
    elif (path := _existing_file(text)) is not None:
        key = _private_from_file(path)
    else:
        key = _private_from_base64(text)
    try:
        return NoteSigner(name, key)
    except ValueError as exc:
        raise SigningKeyError(f"the audit key name is unusable: {exc}") from None


def _existing_file(text: str) -> Path | None:
    # A base64 value may look like a relative path ("abc/def"), so only an existing file counts.
    if "\n" in text or len(text) > 4096:
        return None
    try:
        path = Path(text).expanduser()
        return path if path.is_file() else None
    except (OSError, ValueError, RuntimeError):
        return None


def _private_from_file(path: Path) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()[:_MAX_FILE + 1]
    except OSError as exc:
        raise SigningKeyError(f"cannot read the audit signing key file {path}: "
                              f"{exc.strerror or exc}") from None
    if len(data) > _MAX_FILE:
        raise SigningKeyError(f"the audit signing key file {path} is too large to be a key: "
                              f"{EXPECTED}")
    stripped = data.strip()
    if stripped.startswith(_PEM.encode()):
        return _private_from_pem(stripped, f"the file {path}")
    try:
        return _private_from_base64(stripped.decode("ascii"))
    except (UnicodeDecodeError, SigningKeyError):
        raise SigningKeyError(f"the file {path} holds no PEM Ed25519 private key: "
                              f"{EXPECTED}") from None


def _private_from_pem(data: bytes, where: str) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(data, password=None)
    except TypeError:
        raise SigningKeyError(f"{where} is an encrypted PEM key; give it unencrypted "
                              "(keep it secret by the file's permissions or a secret store)"
                              ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise SigningKeyError(f"{where} is not a readable PEM private key: {EXPECTED}") from None
    return _ed25519(key, where)


def _private_from_base64(text: str) -> Ed25519PrivateKey:
    compact = "".join(text.split())
    try:
        raw = base64.b64decode(compact.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise SigningKeyError(f"the audit signing key is no file, PEM text or base64 (if it is "
                              f"a path: there is no such file): {EXPECTED}") from None
    if raw.lstrip().startswith(_PEM.encode()):
        return _private_from_pem(raw.strip(), "the base64-encoded PEM")
    if len(raw) == 32:
        return Ed25519PrivateKey.from_private_bytes(raw)
    try:
        key = load_der_private_key(raw, password=None)
    except (TypeError, ValueError, UnsupportedAlgorithm):
        raise SigningKeyError(f"the base64 value decodes to {len(raw)} bytes, which are neither "
                              f"a PEM key nor a 32-byte seed: {EXPECTED}") from None
    return _ed25519(key, "the base64-encoded DER key")


def _ed25519(key: object, where: str) -> Ed25519PrivateKey:
    if not isinstance(key, Ed25519PrivateKey):
        kind = type(key).__name__.removeprefix("_").replace("PrivateKey", "") or "another"
        raise SigningKeyError(f"{where} holds a key of type {kind}; checkpoints are signed "
                              f"with Ed25519: {EXPECTED}")
    return key


def load_verifier(value: str, *, name: str | None = None) -> NoteVerifier:
    """A verifier from a verifier key (`<name>+<key ID>+<base64 key>`), a file holding one, or a
    PEM public key (then `name`, the key name it signs under, is required). When `name` is given
    with a verifier key, the two must agree."""
    if not isinstance(value, str) or not value.strip():
        raise VerifierKeyError("the verifier key is empty: expected <name>+<key ID>+<base64 key>, "
                               "a file holding one, or a PEM Ed25519 public key")
    text = value.strip()
    if not text.startswith(_PEM) and (path := _existing_file(text)) is not None:
        try:
            text = path.read_bytes()[:_MAX_FILE].decode("utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise VerifierKeyError(f"cannot read a verifier key from {path}: "
                                   f"{getattr(exc, 'strerror', None) or exc}") from None
    if text.startswith(_PEM):
        verifier = _verifier_from_pem(text, name)
    else:
        verifier = NoteVerifier.from_vkey(text)
    if name is not None and verifier.name != name:
        raise VerifierKeyError(f"the verifier key is for {verifier.name!r}, not {name!r}")
    return verifier


def _verifier_from_pem(text: str, name: str | None) -> NoteVerifier:
    if "PRIVATE KEY" in text.split("\n", 1)[0]:
        raise VerifierKeyError("that is a private key; a verifier needs only the public "
                               "verifier key (`countersign audit keygen` prints it)")
    if name is None:
        raise VerifierKeyError("a PEM public key carries no key name; give the name it signs "
                               "under too")
    try:
        key = load_pem_public_key(text.encode("utf-8"))
    except (ValueError, UnsupportedAlgorithm):
        raise VerifierKeyError("the PEM text is not a readable public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise VerifierKeyError("the PEM public key is not an Ed25519 key")
    try:
        return NoteVerifier(name, key)
    except NoteError as exc:
        raise VerifierKeyError(str(exc)) from None


def keygen(name: str) -> tuple[str, str]:
    """A new signing key as PKCS#8 PEM text, and the verifier key to publish."""
    key = Ed25519PrivateKey.generate()
    signer = NoteSigner(name, key)
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode("ascii")
    return pem, signer.verifier_key()
