"""The signing key comes from a setting in any of the forms operators have at hand, and a bad one
is refused in one line that never repeats it."""

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from services.audit_log.keys import SigningKeyError, keygen, load_signing_key, load_verifier
from services.audit_log.notes import VerifierKeyError

NAME = "countersign.example/audit"


@pytest.fixture(scope="module")
def generated():
    return keygen(NAME)


def _seed(pem):
    return load_pem_private_key(pem.encode(), None).private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def _public_pem(signer):
    return Ed25519PublicKey.from_public_bytes(signer.public_key_bytes).public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def test_keygen_makes_a_pkcs8_pem_and_its_vkey(generated):
    pem, vkey = generated
    assert pem.startswith("-----BEGIN PRIVATE KEY-----\n")
    assert vkey.startswith(NAME + "+")
    signer = load_signing_key(pem, name=NAME)
    assert signer.verifier_key() == vkey
    assert load_verifier(vkey).verify(signer.sign("hello\n")) == "hello\n"
    assert keygen(NAME)[1] != vkey


def test_every_form_of_the_key_loads(generated, tmp_path):
    pem, vkey = generated
    path = tmp_path / "audit.pem"
    path.write_text(pem)
    seed = _seed(pem)
    forms = [
        str(path),
        pem,
        "  " + pem + "\n\n",
        base64.b64encode(pem.encode()).decode(),
        base64.b64encode(seed).decode(),
        base64.b64encode(Ed25519PrivateKey.from_private_bytes(seed).private_bytes(
            Encoding.DER, PrivateFormat.PKCS8, NoEncryption())).decode(),
    ]
    seed_file = tmp_path / "seed.b64"
    seed_file.write_text(base64.b64encode(seed).decode() + "\n")
    forms.append(str(seed_file))
    for value in forms:
        assert load_signing_key(value, name=NAME).verifier_key() == vkey


def _refused(value, *, secret=None, name=NAME):
    with pytest.raises(SigningKeyError) as caught:
        load_signing_key(value, name=name)
    message = str(caught.value)
    assert "\n" not in message
    for part in {secret or value}:
        # No run of the secret long enough to mean anything shows up in the message.
        for i in range(0, max(1, len(part) - 12)):
            assert part[i:i + 12] not in message
    assert caught.value.__cause__ is None
    return message


def test_bad_values_are_refused_in_one_line_without_the_secret(generated, tmp_path):
    pem, _ = generated
    body = "".join(pem.strip().split("\n")[1:-1])
    seed = base64.b64encode(b"\x07" * 32).decode()

    assert "is empty" in _refused("   ")
    assert "no such file" in _refused("/no/such/key.pem")
    assert "no file, PEM text or base64" in _refused("not a key at all!")
    assert "decodes to 31 bytes" in _refused(base64.b64encode(b"\x07" * 31).decode())
    # A PEM with its body mangled.
    broken = pem.replace(body[10:20], "A" * 10)
    assert "not a readable PEM private key" in _refused(broken, secret=body)
    assert "not a readable PEM private key" in _refused(base64.b64encode(
        broken.encode()).decode(), secret=body)
    # A key of another kind.
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    assert "checkpoints are signed with Ed25519" in _refused(ec_pem)
    encrypted = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"pw")).decode()
    assert "encrypted PEM" in _refused(encrypted)
    # A file that holds something else names the file, not its content.
    junk = tmp_path / "junk.pem"
    junk.write_text("hello " + seed + "\n")
    message = _refused(str(junk), secret=seed)
    assert str(junk) in message and "holds no PEM Ed25519 private key" in message
    # The key is fine, the name is not.
    assert "name is unusable" in _refused(pem, secret=body, name="has space")


def test_verifier_from_vkey_file_or_pem(generated, tmp_path):
    pem, vkey = generated
    signer = load_signing_key(pem, name=NAME)
    note = signer.sign("x\n")
    path = tmp_path / "audit.vkey"
    path.write_text(vkey + "\n")
    public_pem = _public_pem(signer)
    for verifier in (load_verifier(vkey), load_verifier(str(path)),
                     load_verifier(public_pem, name=NAME), load_verifier(vkey, name=NAME)):
        assert verifier.verifier_key() == vkey and verifier.verify(note) == "x\n"


@pytest.mark.parametrize("make,message", [
    (lambda pem, vkey: "", "is empty"),
    (lambda pem, vkey: pem, "that is a private key"),
    (lambda pem, vkey: vkey + "x", "not standard base64|holds 32 key bytes"),
    (lambda pem, vkey: "garbage", "three parts"),
])
def test_bad_verifier_keys(generated, make, message):
    with pytest.raises(VerifierKeyError, match=message):
        load_verifier(make(*generated))


def test_verifier_needs_a_name_with_pem_and_the_right_one_with_vkey(generated):
    pem, vkey = generated
    public_pem = _public_pem(load_signing_key(pem, name=NAME))
    with pytest.raises(VerifierKeyError, match="carries no key name"):
        load_verifier(public_pem)
    with pytest.raises(VerifierKeyError, match="is for 'countersign.example/audit', not 'other'"):
        load_verifier(vkey, name="other")
