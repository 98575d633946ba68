"""This process, as the owner of a claim names it — and whether the process an owner names is
gone, so what it held can be released at once instead of when its lease runs out."""

from __future__ import annotations

import os
import socket
import uuid

HOST = socket.gethostname()[:48]
# The host, the pid and this start of it: a restarted container often runs as the same pid.
ME = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner() -> str:
    """A fresh owner name for one claim, traceable to this process."""
    return f"{ME}:{uuid.uuid4().hex[:12]}"


def gone(owner_name: str) -> bool:
    """True when `owner_name` is a claim of a process on this host that no longer runs.

    Another host's processes cannot be seen from here: their claims are never called gone.
    """
    host, _, rest = owner_name.partition(":")
    pid, _, _ = rest.partition(":")
    if host != HOST or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return not owner_name.startswith(f"{ME}:")  # our pid, but an earlier start of it
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def alive_here(owner_name: str) -> bool:
    """True when `owner_name` is a claim of a process on this host that still runs."""
    host, _, _ = owner_name.partition(":")
    return host == HOST and not gone(owner_name)
