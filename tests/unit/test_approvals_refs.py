"""normalize_ref: the same artifact written two ways is one ref for the gate."""

import pytest

from services.approvals import normalize_ref


@pytest.mark.parametrize(("written", "key"), [
    ("  https://github.com/acme/app/pull/42  ", "https://github.com/acme/app/pull/42"),
    ("HTTPS://GitHub.COM/acme/app/pull/42", "https://github.com/acme/app/pull/42"),
    ("https://github.com/acme/app/pull/42/", "https://github.com/acme/app/pull/42"),
    ("https://github.com/acme/app/pull/42#discussion_r1", "https://github.com/acme/app/pull/42"),
    ("https://github.com/acme/app/pull/42/#top", "https://github.com/acme/app/pull/42"),
    ("https://docs.example.com/Copy/Launch?v=2", "https://docs.example.com/Copy/Launch?v=2"),
    ("https://docs.example.com/a/?v=2", "https://docs.example.com/a?v=2"),
    ("https://User:Pw@Example.COM:8443/x", "https://User:Pw@example.com:8443/x"),
    ("https://example.com/", "https://example.com"),
    ("ABCDEF1", "abcdef1"),
    ("  9F8E7D6C5B4A39281706F5E4D3C2B1A098765432 ", "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"),
    ("abcdef", "abcdef"),  # six hex digits: too short for a SHA, kept as written
    ("ABCDEF", "ABCDEF"),
    ("A" * 41, "A" * 41),  # too long for a SHA
    ("Summer Launch 2026", "Summer Launch 2026"),
    ("  Summer Launch 2026\n", "Summer Launch 2026"),
    ("", ""),
    ("   ", ""),
])
def test_normalize_ref(written, key):
    assert normalize_ref(written) == key


def test_paths_and_queries_keep_their_case():
    assert normalize_ref("https://example.com/Docs/Copy") != normalize_ref("https://example.com/docs/copy")


def test_normalizing_twice_changes_nothing():
    for ref in ("HTTPS://Example.com/a/#b", "ABCDEF1234", "Launch X", "https://[::1]/x/"):
        assert normalize_ref(normalize_ref(ref)) == normalize_ref(ref)


def test_a_url_that_cannot_be_taken_apart_is_only_stripped():
    assert normalize_ref(" https://[::1/x ") == "https://[::1/x"
