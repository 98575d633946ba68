"""Slow DNS for a bot process under test: put this directory on its PYTHONPATH.

A host name ending in SLOW_DNS_SUFFIX takes SLOW_DNS_SECONDS to fail to resolve, in the
calling thread, as a lookup does when the resolver never answers. aiohttp's default resolver
makes that call on the event loop's default executor, so each pending lookup holds one of its
threads. Each lookup, when it starts, appends its host to SLOW_DNS_LOG, so a test can tell when
the executor is full. Other names resolve as usual.
"""

import os
import socket
import time

_SUFFIX = os.environ.get("SLOW_DNS_SUFFIX", ".slow-dns.test")
_SECONDS = float(os.environ.get("SLOW_DNS_SECONDS", "10"))
_LOG = os.environ.get("SLOW_DNS_LOG")
_real_getaddrinfo = socket.getaddrinfo


def _slow_getaddrinfo(host, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
    name = host.decode() if isinstance(host, bytes) else host
    if isinstance(name, str) and name.endswith(_SUFFIX):
        if _LOG:
            with open(_LOG, "a") as log:
                log.write(name + "\n")
        time.sleep(_SECONDS)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _slow_getaddrinfo
