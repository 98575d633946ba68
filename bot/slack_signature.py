"""Slack's request signature (v0), checked on the raw bytes before anything reads the body.

slack_sdk's SignatureVerifier does the work (the 5-minute window either way, a constant-time
compare); what it does not do is refuse malformed headers: `int()` of an empty or float
timestamp and `hmac.compare_digest` of a non-ASCII signature raise, and a raised check is a
500. Here every header that is not what Slack sends is an unverifiable request, like a wrong
signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from slack_sdk.signature import SignatureVerifier

# What Slack sends: Unix seconds in ASCII digits (int() also takes " 12", "1_2" and "١٢"),
# and "v0=" with a lowercase hex SHA-256.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class BytesSignatureVerifier(SignatureVerifier):
    """The same check over the body's bytes, as Slack signs them.

    slack_sdk decodes a bytes body as UTF-8 first, so a signed body that is not UTF-8 raises
    instead of verifying; such a body is Slack's or not like any other, and is refused as
    malformed only once we know it is.
    """

    def generate_signature(self, *, timestamp: str, body: str | bytes) -> str | None:
        if timestamp is None:
            return None
        raw = body.encode() if isinstance(body, str) else (body or b"")
        base = b"v0:" + timestamp.encode("ascii") + b":" + raw
        return "v0=" + hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()


def problem(verifier: SignatureVerifier, headers: Mapping[str, str], body: bytes) -> str | None:
    """Why this request cannot be taken as Slack's, or None when it is signed properly."""
    # Slack sends each header once. Twice is ambiguous: this check would read the first, Bolt's
    # own check after it another, so neither could be sure what was verified.
    getlist = getattr(headers, "getlist", None)
    if getlist is not None and any(len(getlist(name)) > 1 for name in
                                   ("x-slack-request-timestamp", "x-slack-signature")):
        return "a signature header is given more than once"
    timestamp = headers.get("x-slack-request-timestamp")
    signature = headers.get("x-slack-signature")
    if not timestamp or not signature:
        return "no signature headers"
    if not _TIMESTAMP.fullmatch(timestamp):
        return "the timestamp is not whole Unix seconds"
    if not _SIGNATURE.fullmatch(signature):
        return "the signature is not a v0 signature"
    try:
        valid = verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
    except (ValueError, TypeError):  # a header slipped past the checks above: still not Slack's
        return "the signature headers are malformed"
    if not valid:
        return "the signature does not match, or the timestamp is more than 5 minutes off"
    return None
