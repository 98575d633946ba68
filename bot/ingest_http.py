"""What every ingestion route does before reading a single event: admit the request, read its
body within INGEST_MAX_BYTES (before and after inflating it), and refuse encodings it cannot read.

Admission is a bounded queue: INGEST_CONCURRENCY batches are worked on at once and up to
INGEST_QUEUE wait; a request beyond that is told 429 with Retry-After at once, which OTLP
exporters retry (the spec's retryable answers are 429 and 503; the house answers a verified
request with a 4xx, never a 5xx), rather than piling work up behind Slack's acks.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.requests import ClientDisconnect, Request

from bot import metrics

RETRY_AFTER_SECONDS = 2
# What each Content-Encoding takes to inflate (None: nothing). OTLP exporters send gzip; the
# Python SDK can also send deflate (zlib's format).
_WBITS: dict[str, int | None] = {"": None, "identity": None, "gzip": 16 + zlib.MAX_WBITS,
                                 "deflate": zlib.MAX_WBITS}


class Refused(Exception):
    """The request is answered `status` with `message`, before any event is read."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.message = message
        self.headers = headers or {}
        super().__init__(message)


class Admission:
    def __init__(self, concurrency: int, queue: int) -> None:
        self._working = asyncio.Semaphore(concurrency)
        self._limit = concurrency + queue
        self._admitted = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._admitted >= self._limit:
            metrics.INGEST_OVERLOADED.inc()
            raise Refused(429, f"overloaded: {self._admitted} batches in hand; retry after "
                               f"{RETRY_AFTER_SECONDS} s",
                          {"Retry-After": str(RETRY_AFTER_SECONDS)})
        self._admitted += 1
        metrics.INGEST_IN_HAND.set(self._admitted)
        try:
            async with self._working:
                yield
        finally:
            self._admitted -= 1
            metrics.INGEST_IN_HAND.set(self._admitted)


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _too_large(limit: int, what: str) -> Refused:
    return Refused(413, f"the request body {what} is larger than INGEST_MAX_BYTES ({limit} bytes); "
                        "send smaller batches")


async def body(request: Request, limit: int) -> bytes:
    """The body as sent, inflated; Refused(413) past `limit` bytes either way, reading no more
    than `limit` + one chunk of it off the wire."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in _WBITS:
        raise Refused(415, f"Content-Encoding {encoding[:40]!r} is not supported: send gzip, "
                           "deflate or none")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, "as sent")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit, "as sent")
            chunks.append(chunk)
    except ClientDisconnect:
        raise Refused(400, "the client went away before the body was read") from None
    raw = b"".join(chunks)
    if _WBITS[encoding] is None:
        return raw
    inflater = zlib.decompressobj(wbits=_WBITS[encoding])
    try:
        # One byte past the limit says "too large" without inflating a bomb any further.
        out = inflater.decompress(raw, limit + 1)
        if len(out) > limit or inflater.unconsumed_tail:
            raise _too_large(limit, "inflated")
        out += inflater.flush()
    except zlib.error as exc:
        raise Refused(400, f"the body is not valid {encoding}: {exc}") from None
    if not inflater.eof:
        raise Refused(400, f"the {encoding} stream ends early")
    if len(out) > limit:
        raise _too_large(limit, "inflated")
    return out
