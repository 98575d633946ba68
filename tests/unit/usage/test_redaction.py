"""redaction: realistic secrets embedded anywhere are replaced and counted, look-alikes are left
alone, excerpts never leak half a secret, and adversarial megabytes stay fast."""

from __future__ import annotations

import base64
import hashlib
import re
import string
import time
from datetime import timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.usage import redaction
from services.usage.redaction import RULES, Redacted, digest, excerpt, redact

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Surrounding text that cannot form PII on its own: no digits, "@", "-", "_", ":", "=" or capitals.
# Nor can it end in "bearer", whose rule would take the secret after it as a token: redacted
# all the same, but counted under bearer_token.
FILLER = st.text(alphabet=string.ascii_lowercase + " ,.;!?", max_size=40).filter(
    lambda t: not t.rstrip(" ,.;!?").endswith("bearer"))
ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"
DIGITS = string.digits


def chars(alphabet: str, size: int, max_size: int | None = None) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=size, max_size=size if max_size is None else max_size)


def marker(rule: str) -> str:
    return f"[REDACTED:{rule}]"


def assert_redacted(prefix: str, secret: str, suffix: str, rule: str, *, kept: str = "") -> None:
    """`secret` between `prefix` and `suffix` becomes `kept` + marker, and nothing else moves."""
    result = redact(f"{prefix} {secret} {suffix}")
    assert secret not in result.text
    assert result.counts.get(rule, 0) >= 1
    assert result.text == f"{prefix} {kept}{marker(rule)} {suffix}"
    assert result.counts == {rule: 1}


def assert_untouched(text: str) -> None:
    assert redact(text) == Redacted(text, {})


# --- generators of realistic secrets ---------------------------------------------------------

def luhn_complete(partial: str) -> str:
    """`partial` with the check digit that makes it pass Luhn."""
    for check in DIGITS:
        candidate = partial + check
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            d = int(ch)
            total += (d * 2 - 9 if d > 4 else d * 2) if i % 2 else d
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


BRANDS = [("4", 16), ("4", 13), ("4", 19), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16),
          ("34", 15), ("37", 15), ("6011", 16), ("65", 16), ("35", 16), ("62", 18), ("36", 14)]


@st.composite
def card_digits(draw) -> str:
    prefix, length = draw(st.sampled_from(BRANDS))
    return luhn_complete(prefix + draw(chars(DIGITS, length - len(prefix) - 1)))


def formatted_card(digits: str, style: str) -> str:
    if style == "plain":
        return digits
    if style == "amex" and len(digits) == 15:
        return f"{digits[:4]} {digits[4:10]} {digits[10:]}"
    sep = "-" if style == "dashes" else " "
    return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))


CARD_STYLES = st.sampled_from(["plain", "spaces", "dashes", "amex"])

# Country: BBAN as (kind, count) runs, n = digit, a = capital letter, c = either.
IBAN_FORMATS = {"DE": "n18", "GB": "a4 n14", "FR": "n10 c11 n2", "NL": "a4 n10", "ES": "n20",
                "IT": "a1 n10 c12", "BE": "n12", "NO": "n11", "CH": "n5 c12", "PL": "n24"}


def iban_checked(country: str, bban: str) -> str:
    rotated = bban + country + "00"
    check = 98 - int("".join(str(int(ch, 36)) for ch in rotated)) % 97
    return f"{country}{check:02d}{bban}"


@st.composite
def iban_compact(draw) -> str:
    country = draw(st.sampled_from(sorted(IBAN_FORMATS)))
    alphabets = {"n": DIGITS, "a": string.ascii_uppercase, "c": string.ascii_uppercase + DIGITS}
    bban = "".join(draw(chars(alphabets[run[0]], int(run[1:]))) for run in IBAN_FORMATS[country].split())
    return iban_checked(country, bban)


def formatted_iban(compact: str, spaced: bool, lower: bool) -> str:
    text = " ".join(compact[i : i + 4] for i in range(0, len(compact), 4)) if spaced else compact
    return text.lower() if lower else text


@st.composite
def international_phone(draw) -> str:
    country = str(draw(st.integers(1, 999)))
    rest = draw(chars(DIGITS, 7 - len(country), 15 - len(country)))
    sep = draw(st.sampled_from([" ", "-", "."]))
    groups, i = [], 0
    while i < len(rest):
        size = draw(st.integers(2, 4))
        groups.append(rest[i : i + size])
        i += size
    if draw(st.booleans()) and len(groups) > 1:
        groups[0] = f"({groups[0]})"
    return f"+{country}{sep}{sep.join(groups)}"


@st.composite
def national_phone(draw) -> str:
    area, exchange, line = draw(chars(DIGITS, 3)), draw(chars(DIGITS, 3)), draw(chars(DIGITS, 4))
    shape = draw(st.sampled_from(["({}) {}-{}", "({}){}-{}", "{}-{}-{}", "{}.{}.{}", "{} {} {}",
                                  "1-{}-{}-{}", "1 ({}) {}-{}"]))
    return shape.format(area, exchange, line)


KEY_FAMILIES = st.one_of(
    chars(ALNUM, 40, 60).map("sk-".__add__),
    chars(URLSAFE, 60, 160).map("sk-proj-".__add__),
    chars(URLSAFE, 80, 95).map(lambda body: f"sk-ant-api03-{body}AA"),
    chars(ALNUM, 24, 99).map("sk_live_".__add__),
    chars(string.ascii_uppercase + DIGITS, 16).map("AKIA".__add__),
    st.tuples(st.sampled_from(["ghp_", "gho_", "ghs_", "ghu_"]), chars(ALNUM, 36)).map("".join),
    st.tuples(chars(ALNUM, 22), chars(ALNUM, 59)).map(lambda p: f"github_pat_{p[0]}_{p[1]}"),
    st.tuples(st.sampled_from(["xoxb", "xoxp"]), chars(DIGITS, 10, 13), chars(DIGITS, 10, 13),
              chars(ALNUM, 24)).map(lambda p: f"{p[0]}-{p[1]}-{p[2]}-{p[3]}"),
    st.tuples(chars(string.ascii_uppercase + DIGITS, 10), chars(DIGITS, 13), chars("0123456789abcdef", 64))
    .map(lambda p: f"xapp-1-A{p[0]}-{p[1]}-{p[2]}"),
    chars(URLSAFE, 35).map("AIza".__add__),
    chars(URLSAFE, 43).map("cs_".__add__),
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(header: bytes, payload: bytes, signature: bytes) -> str:
    return ".".join([b64url(b'{"alg":"HS256",' + header), b64url(b'{"sub":"' + payload), b64url(signature)])


JWTS = st.builds(jwt, st.binary(min_size=8, max_size=60), st.binary(min_size=8, max_size=200),
                 st.binary(max_size=64))
TOKEN68 = ALNUM + "-._~+/"
BEARER_TOKENS = st.one_of(
    chars(TOKEN68, 24, 120),  # long: a token whatever its letters
    chars(TOKEN68, 7, 22).flatmap(lambda body: st.sampled_from(DIGITS).map(body.__add__)),  # short: with a digit
    JWTS,
)


@st.composite
def pem_block(draw, terminated: bool = True) -> str:
    label = draw(st.sampled_from(["", "RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED "]))
    body = base64.b64encode(draw(st.binary(min_size=1, max_size=400))).decode()
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    block = f"-----BEGIN {label}PRIVATE KEY-----\n{lines}\n"
    return block + f"-----END {label}PRIVATE KEY-----" if terminated else block


EMAILS = st.tuples(
    st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._+-]{0,18}[A-Za-z0-9])?", fullmatch=True),
    st.lists(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True), min_size=1, max_size=3),
    st.from_regex(r"[a-z]{2,6}", fullmatch=True),
).map(lambda p: f"{p[0]}@{'.'.join(p[1])}.{p[2]}")


# --- every family, anywhere in the text ------------------------------------------------------

@SETTINGS
@given(FILLER, EMAILS, FILLER)
def test_emails_are_redacted(prefix, email, suffix):
    assert_redacted(prefix, email, suffix, "email")


@SETTINGS
@given(FILLER, card_digits(), CARD_STYLES, FILLER)
def test_luhn_valid_cards_are_redacted_however_grouped(prefix, digits, style, suffix):
    assert_redacted(prefix, formatted_card(digits, style), suffix, "card")


@SETTINGS
@given(FILLER, iban_compact(), st.booleans(), st.booleans(), FILLER)
def test_valid_ibans_are_redacted_spaced_or_compact(prefix, compact, spaced, lower, suffix):
    assert_redacted(prefix, formatted_iban(compact, spaced, lower), suffix, "iban")


@SETTINGS
@given(FILLER, st.one_of(international_phone(), national_phone()), FILLER)
def test_phone_numbers_are_redacted(prefix, phone, suffix):
    assert_redacted(prefix, phone, suffix, "phone")


@SETTINGS
@given(FILLER, KEY_FAMILIES, FILLER)
def test_api_keys_of_every_family_are_redacted(prefix, key, suffix):
    assert_redacted(prefix, key, suffix, "api_key")


ASSIGNMENT_SHAPES = ["api_key={}", "API_KEY = '{}'", '"apiKey": "{}"', "x-api-key: {}", "OPENAI_API_KEY={}",
                     "client_secret={}", "access_token: {}", "password={}", "secret: {}", "token={}"]


@SETTINGS
@given(FILLER, st.sampled_from(ASSIGNMENT_SHAPES),
       chars(URLSAFE + "./+", 10, 40).flatmap(lambda v: st.permutations(v + "7k").map("".join)), FILLER)
def test_secret_values_assigned_to_key_names_are_redacted(prefix, shape, value, suffix):
    head, tail = shape.split("{}")
    result = redact(f"{prefix} {head}{value}{tail} {suffix}")
    assert value not in result.text
    assert result == Redacted(f"{prefix} {head}{marker('api_key')}{tail} {suffix}", {"api_key": 1})


@SETTINGS
@given(FILLER, st.sampled_from(["Bearer", "bearer", "Authorization: Bearer"]), BEARER_TOKENS, FILLER)
def test_bearer_tokens_are_redacted_keeping_the_word(prefix, word, token, suffix):
    assert_redacted(prefix, f"{word} {token}", suffix, "bearer_token", kept=f"{word} ")


@SETTINGS
@given(FILLER, JWTS, FILLER)
def test_bare_jwts_are_redacted(prefix, jwt, suffix):
    assert_redacted(prefix, jwt, suffix, "bearer_token")


@SETTINGS
@given(FILLER, pem_block(), FILLER)
def test_pem_private_keys_are_redacted(prefix, pem, suffix):
    assert_redacted(prefix, pem, suffix, "private_key")


@SETTINGS
@given(FILLER, pem_block(terminated=False), FILLER)
def test_an_unterminated_private_key_is_redacted_to_the_end(prefix, pem, suffix):
    result = redact(f"{prefix} {pem}{suffix}")
    assert result == Redacted(f"{prefix} {marker('private_key')}", {"private_key": 1})


def test_pgp_private_key_blocks_are_redacted():
    text = "key:\n-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF\n-----END PGP PRIVATE KEY BLOCK-----\nbye"
    assert redact(text) == Redacted(f"key:\n{marker('private_key')}\nbye", {"private_key": 1})


def test_a_prompt_full_of_secrets_counts_each_rule():
    text = ("mail ann@example.org or bob@example.com, card 4111 1111 1111 1111, "
            "iban DE89 3704 0044 0532 0130 00, call +44 20 7946 0958 or (555) 123-4567, "
            "key sk-proj-abcdefghijklmnopqrstuvwx0123, Authorization: Bearer abc.def123ghi, "
            "aws AKIAIOSFODNN7EXAMPLE\n-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----")
    result = redact(text)
    assert result.counts == {"email": 2, "card": 1, "iban": 1, "phone": 2, "api_key": 2,
                             "bearer_token": 1, "private_key": 1}
    assert not re.search(r"[0-9@]", result.text), result.text


def test_a_known_key_after_bearer_is_counted_once_as_the_key():
    assert redact("Bearer sk-abcdefghijklmnopqrstuvwxyz") == Redacted(f"Bearer {marker('api_key')}", {"api_key": 1})


def test_an_iban_running_into_a_word_is_trimmed_to_its_country_length():
    assert redact("BE68 5390 0754 7034 abcd") == Redacted(f"{marker('iban')} abcd", {"iban": 1})


def test_a_real_iban_inside_a_rejected_candidate_is_still_found():
    assert redact("XX12 DE89 3704 0044 0532 0130 00") == Redacted(f"XX12 {marker('iban')}", {"iban": 1})


# --- look-alikes stay as written ---------------------------------------------------------------

@SETTINGS
@given(FILLER, card_digits(), st.integers(1, 9), st.sampled_from(["plain", "spaces", "dashes"]), FILLER)
def test_card_numbers_failing_luhn_are_neither_cards_nor_phones(prefix, digits, shift, style, suffix):
    broken = digits[:-1] + str((int(digits[-1]) + shift) % 10)
    assert_untouched(f"{prefix} {formatted_card(broken, style)} {suffix}")


@SETTINGS
@given(st.sampled_from("01789"), chars(DIGITS, 11, 17), CARD_STYLES)
def test_luhn_valid_numbers_outside_card_issuer_ranges_are_not_cards(first, body, style):
    # Deliberate: ms/us/ns timestamps start with 1 and pass Luhn one time in ten.
    assert_untouched(f"at {formatted_card(luhn_complete(first + body), style)} ok")


@SETTINGS
@given(st.integers(10**9, 2 * 10**9 - 1), st.sampled_from([1, 10**3, 10**6, 10**9]))
def test_unix_timestamps_in_any_unit_are_untouched(seconds, scale):
    assert_untouched(f"ts={seconds * scale} done")


@SETTINGS
@given(FILLER, iban_compact(), st.integers(1, 96), st.booleans(), FILLER)
def test_ibans_with_a_wrong_checksum_are_untouched(prefix, compact, delta, spaced, suffix):
    wrong = f"{compact[:2]}{(int(compact[2:4]) - 2 + delta) % 97 + 2:02d}{compact[4:]}"
    assert wrong != compact
    assert_untouched(f"{prefix} {formatted_iban(wrong, spaced, lower=False)} {suffix}")


@SETTINGS
@given(FILLER, iban_compact(), st.data(), FILLER)
def test_ibans_with_one_mistyped_digit_are_untouched(prefix, compact, data, suffix):
    spots = [i for i, ch in enumerate(compact) if ch.isdigit() and i >= 4]
    i = data.draw(st.sampled_from(spots))
    wrong = compact[:i] + str((int(compact[i]) + data.draw(st.integers(1, 9))) % 10) + compact[i + 1 :]
    assert_untouched(f"{prefix} {formatted_iban(wrong, spaced=True, lower=False)} {suffix}")


LOOKALIKES = st.one_of(
    st.lists(st.integers(0, 999), min_size=2, max_size=4).map(lambda p: ".".join(map(str, p))),  # versions
    st.lists(st.integers(0, 99), min_size=3, max_size=3).map(lambda p: "v{}.{}.{}-rc.1".format(*p)),
    st.datetimes(timezones=st.one_of(st.none(), st.integers(-23 * 4, 23 * 4).map(
        lambda q: timezone(timedelta(minutes=15 * q))))).flatmap(
        lambda d: st.sampled_from([d.isoformat(), d.isoformat(" "), d.date().isoformat(),
                                   d.time().isoformat(), d.strftime("%H:%M")])),
    st.uuids().flatmap(lambda u: st.sampled_from([str(u), str(u).upper()])),
    st.binary(min_size=20, max_size=20).map(bytes.hex),  # git SHA
    st.binary(min_size=20, max_size=20).flatmap(lambda b: st.integers(7, 12).map(lambda n: b.hex()[:n])),
    st.binary(min_size=32, max_size=32).map(lambda b: hashlib.sha256(b).hexdigest()),
    st.integers(0, 10**6).map(str),  # short numbers
    st.integers(0, 10**12).map(lambda n: f"{n:,}"),
    st.from_regex(r"@[a-z]{1,12}|[a-z]{1,12}@|[a-z]{1,12}@[a-z]{1,12}", fullmatch=True),  # not addresses
    chars(ALNUM, 0, 19).map("sk-".__add__),  # too short for a key
    st.lists(st.from_regex(r"[a-z]{1,23}", fullmatch=True), min_size=1, max_size=4)
    .map(lambda words: "the Bearer " + " ".join(words)),
    st.from_regex(r"\+[0-9]{1,6}|\+0[0-9]{6,12}|\+[1-9][0-9]{15,18}", fullmatch=True),  # no phone shape
)


@SETTINGS
@given(FILLER, LOOKALIKES, FILLER)
def test_look_alikes_are_untouched(prefix, lookalike, suffix):
    assert_untouched(f"{prefix} {lookalike} {suffix}")


@pytest.mark.parametrize("text", [
    "ping @channel and @here", "mail user@ later", "the bearer of bad news", "Bearer bonds, bearer shares",
    "pip install sk-learn", "locale sk-SK", "api_key: required", "token=os.environ['TOKEN']",
    "apiKey: process.env.OPENAI_API_KEY", "password: <your password>", "max_tokens=1024", "1.2.3 and 10.0.0.1",
    "192.168.100.200", "2026-12-04 12:30:45+05:30", "in 3-4 hours", "order 4111111111111112",
    "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", "-----BEGIN CERTIFICATE-----",
    "xoxo-gossip-girl-fans", "GB82 WEST 1234 5698 7654 33", "AKIA is not a key",
])
def test_known_look_alikes_are_untouched(text):
    assert_untouched(text)


# --- excerpts ------------------------------------------------------------------------------------

SECRETS = st.one_of(EMAILS, card_digits(), iban_compact(), international_phone(), KEY_FAMILIES, pem_block())


@SETTINGS
@given(st.lists(st.one_of(FILLER, SECRETS), max_size=8).map(" ".join), st.integers(0, 400))
def test_excerpts_fit_the_limit_and_never_split_a_marker(text, limit):
    cut, counts = excerpt(text, limit)
    whole = redact(text)
    assert len(cut) <= limit
    assert counts == whole.counts
    if len(whole.text) <= limit:
        assert cut == whole.text
        return
    assert cut == "" if limit == 0 else cut.endswith("…")
    kept = cut.removesuffix("…")
    assert whole.text.startswith(kept)
    for m in re.finditer(r"\[REDACTED:[a-z_]+\]", whole.text):
        assert not m.start() < len(kept) < m.end(), (kept, m)


@pytest.mark.parametrize("secret", [
    "john.doe@example.com", "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00", "+44 20 7946 0958",
    "sk-proj-Q9wErTy8uIoP7aSdF6gHjK5lZxCv4bNm", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
    "-----END PRIVATE KEY-----",
])
def test_a_secret_straddling_the_cut_leaks_no_part_of_itself(secret):
    text = f"please look at {secret} and tell me"
    start = text.index(secret)
    pieces = {secret[i : i + 4] for i in range(len(secret) - 3)} - {"    "}
    for limit in range(start, start + len(secret) + 2):
        cut, counts = excerpt(text, limit)
        assert len(cut) <= limit
        assert counts and sum(counts.values()) == 1
        assert not [p for p in pieces if p in cut], (limit, cut)


def test_excerpt_counts_what_lies_beyond_the_cut():
    text = "hello " * 50 + "reach me at ann@example.org, card 4111-1111-1111-1111"
    assert excerpt(text, 20) == ("hello hello hello h…", {"email": 1, "card": 1})


def test_excerpt_backs_off_to_before_a_marker_it_would_split():
    assert excerpt("mail ann@example.org now", 10) == ("mail …", {"email": 1})


def test_excerpt_keeps_a_short_text_whole_and_refuses_a_negative_limit():
    assert excerpt("short", 5) == ("short", {})
    assert excerpt("longer", 1) == ("…", {})
    assert excerpt("longer", 0) == ("", {})
    with pytest.raises(ValueError):
        excerpt("x", -1)


# --- digests and the rule table --------------------------------------------------------------

@SETTINGS
@given(st.text())
def test_digest_is_the_sha256_of_the_utf8_text(text):
    assert digest(text) == hashlib.sha256(text.encode("utf-8")).hexdigest() == digest(text)
    assert re.fullmatch(r"[0-9a-f]{64}", digest(text))


def test_digest_tolerates_a_lone_surrogate():
    assert digest("\ud800") == hashlib.sha256(b"\xed\xa0\x80").hexdigest()


def test_rules_run_in_the_documented_order_with_one_line_descriptions():
    assert [rule.name for rule in RULES] == ["private_key", "api_key", "bearer_token", "iban", "card", "email", "phone"]
    assert all(rule.description and "\n" not in rule.description for rule in RULES)


# --- adversarial input ---------------------------------------------------------------------------

SIZE = 2_000_000


@pytest.mark.parametrize("unit", [
    "a@", "a.", "x@b.", "1 ", "1-", "+1 ", "(555) ", "-----BEGIN ", "bearer ", "sk-", "AKIA", "api_key=",
    "token: a1", "DE89 ", "4111111111111112 ", "eyJ", "a@b 1 2 +3 -----BEGIN bearer sk- DE89 eyJ. ",
])
def test_two_megabytes_of_adversarial_text_are_redacted_quickly(unit):
    text = unit * (SIZE // len(unit))
    started = time.perf_counter()
    result = redact(text)
    elapsed = time.perf_counter() - started
    assert elapsed < 5, f"{unit!r}: {elapsed:.1f}s"
    assert len(result.text) <= len(text) + 30 * sum(result.counts.values())


def test_an_unterminated_private_key_before_megabytes_is_one_finding():
    started = time.perf_counter()
    result = redact("-----BEGIN PRIVATE KEY-----\n" + "A" * SIZE)
    assert time.perf_counter() - started < 5
    assert result == Redacted(marker("private_key"), {"private_key": 1})


# Texts made of the characters the rules look for, so near-misses of every rule are common.
_PIECES = st.lists(st.sampled_from([
    "4111 1111 1111 1111", "+44 20 7946 0958", "(555) 123-4567", "a@b.io", "@", "+", ":", "=",
    "Bearer ", "bEaReR ", "eyJhbGciOi", ".eyJzdWIiOi", "token=", "abc123def456ghi", "GB82 WEST ",
    "1234 5698 7654 32", "-----BEGIN RSA PRIVATE KEY-----", "MIIE", "sk-", "x" * 20, " ", "0",
    "7", "-", ".", "(", ")", "Z", "é",
]), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(_PIECES)
def test_the_cheap_prechecks_never_change_what_is_redacted(text):
    expected_text, expected_counts = text, {}
    for rule in redaction.RULES:  # every pattern, no precheck
        for pattern in rule.patterns:
            expected_text, found = redaction._apply(rule, pattern, expected_text)
            if found:
                expected_counts[rule.name] = expected_counts.get(rule.name, 0) + found
    assert redaction.redact(text) == redaction.Redacted(expected_text, expected_counts)
