"""A fake Slack Web API (plus Socket Mode and response_url) over real loopback HTTP.

The server runs on its own event loop in a background thread, so synchronous test code
and a bot in another process both reach it the way they would reach Slack. Every method
of FakeSlack is synchronous and thread-safe.
"""

import asyncio
import contextlib
import copy
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import WSMsgType, web

from tests.harness.faults import Fault
from tests.harness.loopback import LoopbackServer
from tests.harness.spec import SlackSpec
from tests.harness.workspace import APP_ID, Workspace

__all__ = ["Call", "FakeSlack", "Fault"]

# slack_sdk sends these JSON-encoded inside form and query parameters.
_JSON_ENCODED_ARGS = ("attachments", "blocks", "metadata", "view")
_POLL_INTERVAL = 0.02


@dataclass(frozen=True)
class Call:
    method: str
    args: dict
    token: str | None
    at: float
    fault: str | None = None


class FakeSlack(LoopbackServer):
    THREAD_NAME = "fake-slack"

    def __init__(self, spec_path: str | Path | None = None):
        super().__init__()
        self._spec = SlackSpec(spec_path) if spec_path else None
        self._lock = threading.Lock()
        self._workspace = Workspace()
        self._calls: list[Call] = []
        self._responses: list[tuple[str, dict]] = []
        self._violations: list[str] = []
        self._warnings: list[str] = []
        self._faults: dict[str, deque[Fault]] = {}
        self._always: dict[str, Fault] = {}
        self._socket: web.WebSocketResponse | None = None
        self._socket_connected = threading.Event()
        self._pending_acks: dict[str, asyncio.Future] = {}

    # -- lifecycle -----------------------------------------------------------------------

    def _started(self) -> None:
        self._workspace.socket_url = f"ws://127.0.0.1:{self._port}/socket-mode"

    @property
    def base_url(self) -> str:
        """What the bot gets as SLACK_API_URL; slack_sdk appends the method name."""
        return f"{self._origin}/api/"

    def response_url(self, key: str) -> str:
        return f"{self._origin}/response/{key}"

    @property
    def _origin(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeSlack is not started")
        return f"http://127.0.0.1:{self._port}"

    # -- seeding -------------------------------------------------------------------------

    def add_user(self, user_id: str, name: str | None = None, real_name: str | None = None,
                 tz: str = "Europe/Berlin", is_bot: bool = False, deleted: bool = False,
                 email: str | None = None) -> None:
        name = name or user_id.lower()
        with self._lock:
            self._workspace.add_user(user_id, name=name, real_name=real_name or name.title(), tz=tz,
                                     is_bot=is_bot, deleted=deleted, email=email or f"{name}@example.com")

    def add_usergroup(self, usergroup_id: str, members: list[str]) -> None:
        with self._lock:
            self._workspace.usergroups[usergroup_id] = list(members)

    def add_missing_channel(self, channel_id: str) -> None:
        with self._lock:
            self._workspace.missing_channels.add(channel_id)

    def follow_clock(self, now: Callable[[], float]) -> None:
        """Stamp messages (their ts) by `now()` instead of the wall clock: a test that moves the
        bot's injected clock moves Slack's with it, as if that much time had passed for both,
        so the bot comparing a ts with its own time sees what it would in production."""
        with self._lock:
            self._workspace.now = now

    # -- faults --------------------------------------------------------------------------

    def inject(self, method: str, *faults: Fault) -> None:
        """Play these faults on the next calls to `method`, one per call, in order."""
        with self._lock:
            self._faults.setdefault(method, deque()).extend(faults)

    def inject_always(self, method: str, fault: Fault) -> None:
        """Play `fault` on every call to `method` (after any queued ones) until clear_faults().
        `method="*"`: on every Web API method without a fault of its own (Slack down)."""
        with self._lock:
            self._always[method] = fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._always.clear()

    def release_hangs(self) -> None:
        """Let every call currently held by Fault.hang() answer; later hangs hang again."""
        self._loop.call_soon_threadsafe(self._release_hangs)

    def reset(self) -> None:
        """Forget calls, faults, responses, spec findings and everything the bot created.
        Seeded users, usergroups and missing channels stay."""
        with self._lock:
            self._calls.clear()
            self._responses.clear()
            self._violations.clear()
            self._warnings.clear()
            self._faults.clear()
            self._always.clear()
            self._workspace.reset()

    # -- inspection ----------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    @property
    def responses(self) -> list[tuple[str, dict]]:
        """(key, payload) for every POST to a response_url, oldest first."""
        with self._lock:
            return list(self._responses)

    @property
    def violations(self) -> list[str]:
        with self._lock:
            return list(self._violations)

    @property
    def warnings(self) -> list[str]:
        with self._lock:
            return list(self._warnings)

    def messages(self, channel: str) -> list[dict]:
        """Messages stored in `channel` (a user ID means the DM with that user), oldest first."""
        with self._lock:
            stored = self._workspace.messages.get(self._workspace.resolve_channel(channel), [])
            return copy.deepcopy(stored)

    def view(self, view_id: str) -> dict | None:
        """The view as last opened, pushed, updated or published, if the fake knows it."""
        with self._lock:
            return copy.deepcopy(self._workspace.views.get(view_id))

    def last_opened_view_id(self, callback_id: str | None = None) -> str:
        """The id the fake gave the newest modal the bot opened (optionally of one callback_id),
        as a test needs it to submit that modal."""
        with self._lock:
            views = [v for v in self._workspace.views.values() if v.get("type") == "modal"
                     and callback_id in (None, v.get("callback_id"))]
        if not views:
            raise AssertionError(f"no modal{' ' + callback_id if callback_id else ''} was opened;"
                                 f" calls:\n{self.dump_calls()}")
        return views[-1]["id"]

    def wait_for(self, predicate_or_method: str | Callable[[Call], bool], count: int = 1,
                 timeout: float = 10.0) -> list[Call]:
        """All matching calls once at least `count` are recorded; AssertionError after `timeout`."""
        if isinstance(predicate_or_method, str):
            wanted = f"calls to {predicate_or_method}"

            def matches(call: Call) -> bool:
                return call.method == predicate_or_method
        else:
            wanted, matches = "calls matching the predicate", predicate_or_method
        return self._poll(lambda: [c for c in self.calls if matches(c)], count, timeout, wanted)

    def wait_for_responses(self, count: int = 1, timeout: float = 10.0,
                           key: str | None = None) -> list[tuple[str, dict]]:
        """All response_url posts (for `key`, if given) once at least `count` arrived."""
        wanted = f"response_url posts{f' to {key}' if key else ''}"
        return self._poll(lambda: [r for r in self.responses if key in (None, r[0])], count, timeout, wanted)

    def dump_calls(self) -> str:
        """One line per recorded call, for assertion messages."""
        lines = []
        for call in self.calls:
            args = json.dumps(call.args, default=str)
            fault = f" [fault: {call.fault}]" if call.fault else ""
            lines.append(f"  {call.at:.3f} {call.method} {args[:300]}{fault}")
        return "\n".join(lines) or "  (no calls)"

    def _poll(self, fetch: Callable[[], list], count: int, timeout: float, wanted: str) -> list:
        deadline = time.monotonic() + timeout
        while True:
            found = fetch()
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"expected {count} {wanted} within {timeout}s, got {len(found)}; "
                    f"recorded Web API calls:\n{self.dump_calls()}\nresponse_url posts: {self.responses}"
                )
            time.sleep(_POLL_INTERVAL)

    # -- Socket Mode ---------------------------------------------------------------------

    def socket_connected(self, timeout: float = 10.0) -> None:
        if not self._socket_connected.wait(timeout):
            raise AssertionError(f"no Socket Mode client connected within {timeout}s; calls:\n{self.dump_calls()}")

    def socket_request(self, type: str, payload: dict, timeout: float = 10.0, *,
                       retry_attempt: int | None = None, retry_reason: str | None = None) -> dict:
        """Send an envelope to the connected client and return its whole ack message
        ({"envelope_id": ..., "payload": ...}). retry_attempt/retry_reason mark an Events API
        redelivery, which Bolt turns into X-Slack-Retry-* headers."""
        envelope = {
            "envelope_id": str(uuid.uuid4()),
            "type": type,
            "payload": payload,
            "accepts_response_payload": True,
        }
        if retry_attempt is not None:
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason or "timeout")
        return asyncio.run_coroutine_threadsafe(self._socket_roundtrip(envelope, timeout), self._loop).result()

    # -- server (everything below runs on the server thread) -----------------------------

    async def _start_server(self) -> None:
        # Created here so that they belong to the server's loop.
        self._stopping = asyncio.Event()
        self._hangs_released = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{key}", self._handle_response_url)
        app.router.add_get("/socket-mode", self._handle_socket)
        await self._listen(app)

    async def _shutdown(self) -> None:
        self._stopping.set()
        self._release_hangs()
        if self._socket is not None:
            await self._socket.close()
        await self._runner.cleanup()

    def _release_hangs(self) -> None:
        self._hangs_released.set()
        self._hangs_released = asyncio.Event()

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args, token = await _read_args(request)
        with self._lock:
            fault = self._next_fault(method)
            self._record(Call(method, args, token, time.time(), fault.kind if fault else None))
            # One critical section, so whoever sees the call recorded also sees its effect.
            result = self._workspace.handle(method, args, token) if fault is None or fault.applies else None
        if fault is None:
            return web.json_response(result)
        if fault.kind == "rate_limited":
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                     headers={"Retry-After": str(fault.retry_after)})
        if fault.kind == "server_error":
            return web.json_response({"ok": False, "error": "internal_error"}, status=fault.status)
        if fault.kind == "answer":
            return web.json_response(fault.body, status=fault.status, headers=fault.headers)
        if fault.kind == "drop":
            request.transport.abort()
            return web.Response()  # never written: the connection is gone
        if fault.kind == "slow":
            with contextlib.suppress(TimeoutError):  # stop() cuts the wait short
                await asyncio.wait_for(self._stopping.wait(), fault.seconds)
            if result is None:
                with self._lock:
                    result = self._workspace.handle(method, args, token)
            return web.json_response(result)
        # hang
        await self._hangs_released.wait()
        return web.json_response(result)

    def _next_fault(self, method: str) -> Fault | None:
        queued = self._faults.get(method)
        if queued:
            return queued.popleft()
        return self._always.get(method) or self._always.get("*")

    def _record(self, call: Call) -> None:
        self._calls.append(call)
        if self._spec is not None:
            violations, warnings = self._spec.check(call.method, call.args)
            self._violations.extend(violations)
            self._warnings.extend(warnings)

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        text = await request.text()
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            payload = {"text": text}
        with self._lock:
            self._responses.append((request.match_info["key"], payload))
        return web.Response(text="ok")

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        # autoping answers slack_sdk's ping-pong health checks; a short close timeout keeps
        # stop() quick when the client (a killed or frozen bot) never returns the close frame.
        socket = web.WebSocketResponse(timeout=2.0)
        await socket.prepare(request)
        self._socket = socket
        # slack_sdk ignores hello's content; this is the shape Slack documents.
        await socket.send_json({
            "type": "hello",
            "num_connections": 1,
            "debug_info": {"host": "fake-slack", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": APP_ID},
        })
        self._socket_connected.set()
        try:
            async for frame in socket:
                if frame.type != WSMsgType.TEXT:
                    continue
                ack = json.loads(frame.data)
                waiter = self._pending_acks.get(ack.get("envelope_id"))
                if waiter is not None and not waiter.done():
                    waiter.set_result(ack)
        finally:
            if self._socket is socket:
                self._socket = None
                self._socket_connected.clear()
        return socket

    async def _socket_roundtrip(self, envelope: dict, timeout: float) -> dict:
        if self._socket is None:
            raise AssertionError("no Socket Mode client is connected")
        envelope_id = envelope["envelope_id"]
        self._pending_acks[envelope_id] = asyncio.get_running_loop().create_future()
        try:
            await self._socket.send_json(envelope)
            return await asyncio.wait_for(self._pending_acks[envelope_id], timeout)
        except TimeoutError:
            raise AssertionError(
                f"no ack for {envelope['type']} envelope {envelope_id} within {timeout}s "
                "(Bolt acks only when the listener's response status is 200)"
            ) from None
        finally:
            del self._pending_acks[envelope_id]


async def _read_args(request: web.Request) -> tuple[dict, str | None]:
    """Arguments from query string and body (form or JSON), and the caller's token."""
    args: dict = dict(request.query)
    if request.content_type == "application/json":
        text = await request.text()
        args.update(json.loads(text) if text else {})
    elif request.can_read_body:
        args.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    for name in _JSON_ENCODED_ARGS:
        if isinstance(args.get(name), str):
            with contextlib.suppress(json.JSONDecodeError):
                args[name] = json.loads(args[name])
    token = args.pop("token", None)
    authorization = request.headers.get("Authorization", "")
    if authorization.startswith("Bearer "):
        token = authorization.removeprefix("Bearer ")
    return args, token
