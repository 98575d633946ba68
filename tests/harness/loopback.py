"""A fake of a remote API served on its own event loop in a background thread, so that
synchronous test code and a bot in another process both reach it over real loopback HTTP."""

from __future__ import annotations

import asyncio
import threading
from typing import Self

from aiohttp import web


class LoopbackServer:
    """Subclasses start their server in `_start_server` (on the server's loop, setting
    `_port`) and stop it in `_shutdown`; `_started` runs in the caller's thread once up."""

    THREAD_NAME = "fake-server"

    def __init__(self) -> None:
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        started = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._serve, args=(started, errors),
                                        name=self.THREAD_NAME, daemon=True)
        self._thread.start()
        started.wait()
        if errors:
            raise errors[0]
        self._started()

    def stop(self) -> None:
        if self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _started(self) -> None:
        pass

    async def _listen(self, app: web.Application) -> None:
        """Serve `app` on a free loopback port (in `_start_server`)."""
        # A short shutdown_timeout: slow and hanging handlers are woken by _shutdown anyway.
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def _start_server(self) -> None:
        raise NotImplementedError

    async def _shutdown(self) -> None:
        raise NotImplementedError

    def _serve(self, started: threading.Event, errors: list[BaseException]) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._start_server())
        except BaseException as e:  # reported to start() in the caller's thread
            errors.append(e)
            started.set()
            self._loop.close()
            return
        started.set()
        self._loop.run_forever()
        self._loop.close()
