"""What a reference is, for matching: the same artifact written two ways is one ref.

CI asks the gate about a ref in whatever form it has at hand (a PR URL from the event, a
commit SHA from git), and people paste references with stray whitespace, a trailing slash or
an anchor. `normalize_ref` maps those spellings onto one key; it never guesses beyond that
(paths and queries keep their case, since servers may treat them as case-sensitive).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_SHA = re.compile(r"^[0-9A-Fa-f]{7,40}$")


def normalize_ref(text: str) -> str:
    """The matching key of a reference.

    - surrounding whitespace is dropped;
    - a URL gets a lower-case scheme and host, loses its `#fragment` and a trailing slash
      (query and path otherwise kept as written);
    - a commit SHA (7 to 40 hex digits) is lower-cased;
    - anything else (a launch name, a doc title) is kept as written.
    """
    ref = text.strip()
    if _URL.match(ref):
        return _normalize_url(ref)
    if _SHA.match(ref):
        return ref.lower()
    return ref


def _normalize_url(ref: str) -> str:
    try:
        parts = urlsplit(ref)
    except ValueError:  # e.g. an unbalanced IPv6 bracket: not a URL we can take apart
        return ref
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    netloc = f"{userinfo}{at}{hostport.lower()}"
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), netloc, path, parts.query, ""))
