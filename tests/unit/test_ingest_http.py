"""Before an event is read: the bounded admission queue and the body limits, gzip bombs included."""

from __future__ import annotations

import asyncio
import gzip
import zlib

import pytest
from starlette.requests import Request

from bot.ingest_http import Admission, Refused, body


def request(data: bytes, headers: dict[str, str], chunk: int = 4096) -> Request:
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] or [b""]
    sent = iter(pieces)
    read = {"n": 0}

    async def receive() -> dict:
        piece = next(sent, None)
        if piece is None:
            return {"type": "http.disconnect"}
        read["n"] += len(piece)
        return {"type": "http.request", "body": piece, "more_body": read["n"] < len(data)}

    scope = {"type": "http", "method": "POST", "path": "/v1/traces", "query_string": b"",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    request = Request(scope, receive)
    request.state.read = read
    return request


async def test_plain_gzip_and_deflate_bodies_are_read() -> None:
    data = b"x" * 10_000
    assert await body(request(data, {}), 20_000) == data
    assert await body(request(gzip.compress(data), {"Content-Encoding": "gzip"}), 20_000) == data
    assert await body(request(zlib.compress(data), {"Content-Encoding": "deflate"}), 20_000) == data


async def test_over_the_limit_is_413_without_reading_it_all() -> None:
    data = b"x" * 100_000
    declared = request(data, {"Content-Length": str(len(data))})
    with pytest.raises(Refused) as refused:
        await body(declared, 10_000)
    assert refused.value.status == 413 and declared.state.read["n"] == 0
    undeclared = request(data, {})
    with pytest.raises(Refused) as refused:
        await body(undeclared, 10_000)
    assert refused.value.status == 413 and undeclared.state.read["n"] <= 10_000 + 4096


async def test_a_gzip_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)
    assert len(bomb) < 100_000
    with pytest.raises(Refused) as refused:
        await body(request(bomb, {"Content-Encoding": "gzip"}), 1_000_000)
    assert refused.value.status == 413 and "inflated" in refused.value.message


@pytest.mark.parametrize("data, encoding, status", [
    (b"plain", "gzip", 400), (gzip.compress(b"abc")[:-6], "gzip", 400), (b"x", "br", 415),
])
async def test_bad_encodings(data: bytes, encoding: str, status: int) -> None:
    with pytest.raises(Refused) as refused:
        await body(request(data, {"Content-Encoding": encoding}), 1000)
    assert refused.value.status == status


async def test_admission_queues_then_refuses_with_retry_after() -> None:
    admission = Admission(concurrency=1, queue=1)
    release = asyncio.Event()
    working = asyncio.Event()

    async def hold() -> None:
        async with admission.slot():
            working.set()
            await release.wait()

    first = asyncio.create_task(hold())
    await working.wait()
    second = asyncio.create_task(hold())  # waits in the queue
    await asyncio.sleep(0)
    with pytest.raises(Refused) as refused:
        async with admission.slot():
            pass
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "2"
    release.set()
    await asyncio.gather(first, second)
    async with admission.slot():  # room again once the batches are done
        pass
