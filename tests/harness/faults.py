"""Failures FakeSlack can play instead of a normal answer, one Web API call at a time."""

from dataclasses import dataclass
from typing import Any, Literal

FaultKind = Literal["rate_limited", "server_error", "slow", "drop", "hang", "answer"]


@dataclass(frozen=True)
class Fault:
    """One injected failure. `applies`: Slack performs the call's side effect before failing
    (the cases a bot cannot tell from the answer it gets, or does not get)."""

    kind: FaultKind
    applies: bool
    status: int = 200
    retry_after: int = 0
    seconds: float = 0.0
    body: Any = None
    headers: Any = None

    @classmethod
    def rate_limited(cls, retry_after: int = 1) -> "Fault":
        """HTTP 429 with Retry-After; nothing happens."""
        return cls("rate_limited", applies=False, status=429, retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 500) -> "Fault":
        """HTTP 5xx; nothing happens."""
        return cls("server_error", applies=False, status=status)

    @classmethod
    def slow(cls, seconds: float, apply: bool = True) -> "Fault":
        """Answer after `seconds`. apply=True: the side effect happens at once, only the answer
        is late (a client that times out has still posted). apply=False: the whole call is late."""
        return cls("slow", applies=apply, seconds=seconds)

    @classmethod
    def drop(cls, apply: bool = False) -> "Fault":
        """Close the TCP connection without any HTTP response (after the side effect if apply)."""
        return cls("drop", applies=apply)

    @classmethod
    def hang(cls) -> "Fault":
        """Apply the side effect, then answer only after FakeSlack.release_hangs() or stop()."""
        return cls("hang", applies=True)

    @classmethod
    def answer(cls, body: Any, *, status: int = 200, headers: dict[str, str] | None = None,
               apply: bool = False) -> "Fault":
        """Answer with `body` (any JSON value) instead of what Slack documents: a missing key,
        a wrong type, ok:false with an error nobody knows. apply=True: the side effect happens."""
        return cls("answer", applies=apply, status=status, body=body, headers=headers)
