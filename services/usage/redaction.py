"""Redaction of AI usage content before anything of it is kept.

Prompts and completions are kept as a SHA-256 digest plus a short excerpt, and the excerpt is
redacted first: privacy by default. Each finding becomes `[REDACTED:<rule>]` and is counted per
rule; the counts are kept so a reviewer can see that a prompt carried a card number, but what
was redacted is never stored anywhere.

Rules run in order: private keys, then keys and tokens, then IBANs and cards, then e-mail, then
phone numbers, so that a broad rule never eats half of a narrower finding (a card's digits must
not end up as a "phone"). Look-alikes are checked, not guessed: a card must pass Luhn, an IBAN
its country's length and the mod-97 checksum.

Content can be megabytes, so every pattern is compiled once and shaped to do bounded work per
starting position (anchored by look-behinds, bounded repeats, no nested ambiguous quantifiers):
a pattern that backtracks exponentially would turn one prompt into a denial of service.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

Span = tuple[int, int]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    patterns: tuple[re.Pattern[str], ...]
    # The span to redact, or None for a look-alike (a failed checksum); a `secret` group, when
    # the pattern has one, keeps its context readable ("Bearer [REDACTED:bearer_token]").
    accept: Callable[[re.Match[str]], Span | None]


@dataclass(frozen=True)
class Redacted:
    text: str
    counts: dict[str, int]


def _whole(m: re.Match[str]) -> Span:
    return m.span("secret") if "secret" in m.re.groupindex else m.span()


_PRIVATE_KEY = re.compile(
    # An unterminated block still holds key material to its end: a truncated paste is still a key.
    r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
    r".*?(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.S,
)

_KEY_FAMILIES = re.compile(
    r"""(?<![A-Za-z0-9_-])(?:
        sk-[A-Za-z0-9_-]{20,}                     # OpenAI sk-, sk-proj-, sk-svcacct-; Anthropic sk-ant-
      | (?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}  # Stripe secret and restricted keys
      | (?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Za-z])  # AWS access key ids (long-lived, temporary)
      | gh[opsur]_[A-Za-z0-9]{30,}
      | github_pat_[A-Za-z0-9_]{30,}
      | (?:xox[abprs]|xapp)-[0-9][A-Za-z0-9-]{9,}  # Slack: a team or app number always leads
      | AIza[0-9A-Za-z_-]{30,}
      | cs_[A-Za-z0-9_-]{40,}                     # Countersign's own API tokens
    )""",
    re.X,
)

# A secret-named assignment. The value must hold a letter and a digit and be 12+ long, so
# `api_key: required`, `token=os.environ[...]` and `apiKey: process.env.KEY` stay as written.
# It cannot hold "=" or ":" (base64 padding aside), so values never overlap and each character
# is scanned once: "api_key=api_key=…" stays linear.
_VALUE = r"[^\s\"'`,;&<>()\[\]{}=:]"
_ASSIGNED = re.compile(
    r"""(?<![A-Za-z0-9])
    (?:api[_-]?(?:key|secret)|secret[_-]?key|access[_-]?(?:key|token)|auth[_-]?token
      |refresh[_-]?token|client[_-]?secret|private[_-]?key|passw(?:or)?d|secret|token)
    ["']?[ \t]*[:=][ \t]*["']?
    (?P<secret>(?=VALUE{0,200}?[0-9])(?=VALUE{0,200}?[a-z])VALUE{12,}={0,3})""".replace("VALUE", _VALUE),
    re.X | re.I,
)

# "the bearer of bad news": an English word after "bearer" has no digit and is shorter than 24
# characters; a token (opaque or JWT) has a digit or is longer.
_TOKEN68 = r"[A-Za-z0-9._~+/-]"
_BEARER = re.compile(
    rf"(?<![A-Za-z0-9])bearer[ \t]+"
    rf"(?P<secret>(?={_TOKEN68}{{0,200}}?[0-9]|{_TOKEN68}{{24}}){_TOKEN68}{{8,}}=*)",
    re.I,
)
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")

# Paper format (groups of four) or compact; the candidate may run on into a following word,
# which `_iban` trims by the country's length.
_IBAN = re.compile(
    r"(?<![\w.@])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![\w@])", re.I
)
_IBAN_LENGTHS = {
    entry[:2]: int(entry[2:])
    for entry in (
        "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BI27 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 "
        "DJ27 DK18 DO28 EE20 EG29 ES24 FI18 FK18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 "
        "HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 LY25 MC27 "
        "MD24 ME22 MK19 MN20 MR27 MT31 MU30 NI28 NL18 NO15 OM23 PK24 PL28 PS29 PT25 QA29 RO24 "
        "RS22 RU33 SA24 SC31 SD18 SE24 SI19 SK24 SM27 SO23 ST25 SV28 TL23 TN24 TR26 UA29 VA22 "
        "VG24 XK20 YE30"
    ).split()
}


def _iban(m: re.Match[str]) -> Span | None:
    raw = m.group()
    length = _IBAN_LENGTHS.get(raw[:2].upper())
    if length is None:
        return None
    # Spaces fall only between groups, so the IBAN must end where a group does: ending inside
    # one means it runs on into a longer word and is no IBAN at all.
    seen, end = 0, -1
    for group in raw.split(" "):
        seen += len(group)
        end += len(group) + 1
        if seen >= length:
            break
    if seen != length:
        return None
    compact = raw[:end].replace(" ", "").upper()
    rotated = compact[4:] + compact[:4]
    if int("".join(str(int(ch, 36)) for ch in rotated)) % 97 != 1:
        return None
    return m.start(), m.start() + end


# Single spaces or dashes between digits. The look-arounds keep a card from starting or ending
# inside a longer number, an identifier, a UUID, an address or an international phone number.
_CARD = re.compile(
    r"(?<![\w+).@])(?<![\d+] )(?<![\w+.@]-)(?:[0-9][ -]?){12,18}[0-9](?![\w@]|[ -][0-9]|-\w)"
)


# The digit groups of a spaced IBAN whose checksum failed ("GB82 WEST 1234 5698 7654 32").
_IBAN_HEAD = re.compile(r"[A-Z]{2}[0-9]{2}(?: [A-Z0-9]{4})+ \Z", re.I)


def _card(m: re.Match[str]) -> Span | None:
    digits = [int(ch) for ch in m.group() if ch.isdigit()]
    # Issuers of payment cards start 2-6; a leading 1 is what ms/us/ns timestamps look like.
    if not 2 <= digits[0] <= 6 or _IBAN_HEAD.search(m.string, max(0, m.start() - 40), m.start()):
        return None
    total = 0
    for i, d in enumerate(reversed(digits)):
        total += (d * 2 - 9 if d > 4 else d * 2) if i % 2 else d
    return m.span() if total % 10 == 0 else None


_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)

# E.164 (a plus, no leading zero, 7-15 digits) or the North American shapes. Bare digit runs
# are never phones: they are far more often ids, timestamps and amounts.
_PHONE_INTERNATIONAL = re.compile(
    r"(?<![\w+])\+\(?[1-9](?:[ .()-]{0,3}[0-9]){6,14}(?![ .()-]{0,3}[0-9])"
)
_PHONE_NATIONAL = re.compile(
    r"(?<![\w.+/:-])(?:1[ .-]?)?(?:\([0-9]{3}\) ?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}"
    r"(?![\w/:-]|\.[0-9])"
)

RULES: tuple[Rule, ...] = (
    Rule("private_key", "PEM private key blocks (BEGIN … PRIVATE KEY … END); an unterminated "
         "block is redacted to the end of the text", (_PRIVATE_KEY,), _whole),
    Rule("api_key", "API keys: OpenAI/Anthropic sk-…, Stripe sk_/rk_live_…, AWS AKIA/ASIA…, "
         "GitHub ghp_/gho_/ghs_/ghu_/ghr_/github_pat_…, Slack xoxb-/xoxp-/xapp-…, Google AIza…, "
         "Countersign cs_…, and key-like values (12+ characters with a letter and a digit) "
         "assigned to names like api_key, apiKey, token, secret, password",
         (_KEY_FAMILIES, _ASSIGNED), _whole),
    Rule("bearer_token", "Bearer credentials: the token after \"Bearer \" (24+ characters, or 8+ "
         "with a digit), and bare JWTs", (_BEARER, _JWT), _whole),
    Rule("iban", "IBANs, spaced or compact, with a known country's length and a valid ISO 13616 "
         "mod-97 checksum", (_IBAN,), _iban),
    Rule("card", "Payment card numbers: 13–19 digits (spaces or dashes allowed) starting 2–6 and "
         "passing the Luhn check", (_CARD,), _card),
    Rule("email", "E-mail addresses", (_EMAIL,), _whole),
    Rule("phone", "Phone numbers: + and 7–15 digits (spaces, dashes, dots, parentheses allowed), "
         "or the North American (555) 123-4567 / 555-123-4567 / 555.123.4567 forms",
         (_PHONE_INTERNATIONAL, _PHONE_NATIONAL), _whole),
)

_MARKER = re.compile(r"\[REDACTED:[a-z_]+\]")
_MARKER_MAX = max(len(f"[REDACTED:{rule.name}]") for rule in RULES)
ELLIPSIS = "…"


def _apply(rule: Rule, pattern: re.Pattern[str], text: str) -> tuple[str, int]:
    marker = f"[REDACTED:{rule.name}]"
    out: list[str] = []
    last = pos = found = 0
    while (m := pattern.search(text, pos)) is not None:
        span = rule.accept(m)
        if span is None:
            # A look-alike may hide a real finding that starts inside it; each start is tried once.
            pos = m.start() + 1
            continue
        out += (text[last : span[0]], marker)
        last = pos = span[1]
        found += 1
    if not found:
        return text, 0
    out.append(text[last:])
    return "".join(out), found


def _digits(text: str) -> int:
    return sum(map(text.count, "0123456789"))


# What a text must hold for a pattern to have any chance, checked in C before the pattern runs:
# most prompts hold no "@", no "+" and few digits, and a search that cannot match is the
# largest cost of ingesting them. Each is implied by its pattern, so skipping changes nothing.
_NEEDS: dict[re.Pattern[str], Callable[[str], bool]] = {
    _PRIVATE_KEY: lambda t: "PRIVATE KEY" in t,
    _ASSIGNED: lambda t: ":" in t or "=" in t,
    _BEARER: lambda t: "earer" in t or "EARER" in t or "bearer" in t.lower(),
    _JWT: lambda t: "eyJ" in t,
    _CARD: lambda t: _digits(t) >= 13,
    _EMAIL: lambda t: "@" in t,
    _PHONE_INTERNATIONAL: lambda t: "+" in t,
    _PHONE_NATIONAL: lambda t: _digits(t) >= 10,
}


def redact(text: str) -> Redacted:
    """`text` with every finding replaced by `[REDACTED:<rule>]`, and how many each rule found."""
    counts: dict[str, int] = {}
    for rule in RULES:
        for pattern in rule.patterns:
            needs = _NEEDS.get(pattern)
            if needs is not None and not needs(text):
                continue
            text, found = _apply(rule, pattern, text)
            if found:
                counts[rule.name] = counts.get(rule.name, 0) + found
    return Redacted(text, counts)


def excerpt(text: str, limit: int) -> tuple[str, dict[str, int]]:
    """At most `limit` characters of the redacted text, "…"-terminated when cut, and the counts
    for the whole text. Redacting before cutting means a secret straddling the cut is gone, not
    halved."""
    redacted = redact(text)
    return cut(redacted.text, limit), redacted.counts


def cut(redacted: str, limit: int) -> str:
    """At most `limit` characters of text `redact` already returned, "…"-terminated when cut;
    the cut backs off to before a marker rather than splitting it."""
    if limit < 0:
        raise ValueError("limit must not be negative")
    if len(redacted) <= limit:
        return redacted
    if limit == 0:
        return ""
    end = limit - len(ELLIPSIS)
    for m in _MARKER.finditer(redacted, max(0, end - _MARKER_MAX), end + _MARKER_MAX):
        if m.start() < end < m.end():
            end = m.start()
            break
    return redacted[:end] + ELLIPSIS


def digest(text: str) -> str:
    """Lowercase hex SHA-256 of the UTF-8 text. A lone surrogate (JSON allows one) is hashed as
    its code point rather than refused: the digest must exist for every text that can arrive."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
