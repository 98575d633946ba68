"""A loopback TCP proxy a test can cut and restore: put between the bot and PostgreSQL, it makes
the database unreachable for a while without touching the server other tests share.

cut() resets every open connection and refuses new ones (the listening socket closes), as a
database restarting or a firewall rejecting would; cut(blackhole=True) lets nothing through
either way but answers nothing, as a network partition does (what was sent waits, new
connections hang). restore() listens again on the same port and lets everything flow.
It runs on its own event loop in a background thread, like FakeSlack; its methods are
synchronous and thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port: int | None = None
        self.connections = 0  # accepted since start, for a test to see the bot came through
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._flowing: asyncio.Event | None = None  # cleared while blackholed

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> TcpProxy:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._flowing = asyncio.Event()
            self._flowing.set()
            self._loop.run_until_complete(self._listen(0))
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=run, name="tcp-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._flowing.set)  # nothing left held mid-way
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- the fault ----------------------------------------------------------------------

    def cut(self, *, blackhole: bool = False) -> None:
        """Until restore(): reset the open connections and refuse new ones, or (blackhole)
        hold everything without a word."""
        if blackhole:
            self._loop.call_soon_threadsafe(self._flowing.clear)
        else:
            self._call(self._close_all())

    def restore(self) -> None:
        self._call(self._listen(self.port))
        self._loop.call_soon_threadsafe(self._flowing.set)

    # -- on the proxy's loop ------------------------------------------------------------

    def _call(self, coro) -> None:  # noqa: ANN001
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _listen(self, port: int) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", port,
                                                      reuse_address=True)
            self.port = self._server.sockets[0].getsockname()[1]

    async def _close_all(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._open):
            with contextlib.suppress(Exception):
                writer.transport.abort()  # RST, not a polite FIN: the peer learns at once
        self._open.clear()
        if server is not None:
            await server.wait_closed()  # since 3.12 this waits for the connections too

    async def _shutdown(self) -> None:
        await self._close_all()
        # The reset connections' relays end as soon as their sockets report the loss.
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if others:
            await asyncio.wait(others, timeout=2)

    async def _accept(self, client_reader: asyncio.StreamReader,
                      client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await self._flowing.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.transport.abort()
            return
        pair = {client_writer, up_writer}
        self._open |= pair
        try:
            await asyncio.gather(self._pipe(client_reader, up_writer),
                                 self._pipe(up_reader, client_writer))
        finally:
            for writer in pair:
                self._open.discard(writer)
                with contextlib.suppress(Exception):
                    writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()  # pass the half-close on, as the network would
        except (ConnectionError, OSError, RuntimeError):
            writer.transport.abort()
