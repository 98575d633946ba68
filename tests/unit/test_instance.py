"""Whether the process a claim's owner names is gone: only ever said of this host's processes."""

import os
import subprocess
import sys

from bot import instance


def test_a_live_process_of_this_host_is_not_gone():
    assert not instance.gone(instance.owner())
    parent = os.getppid()
    assert not instance.gone(f"{instance.HOST}:{parent}:boot0:claim")


def test_a_process_that_exited_is_gone():
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    assert instance.gone(f"{instance.HOST}:{child.stdout.strip()}:boot0:claim")


def test_an_earlier_start_with_our_pid_is_gone():
    # A restarted container often runs as the same pid as before.
    assert instance.gone(f"{instance.HOST}:{os.getpid()}:earlier0:claim")


def test_another_hosts_claims_are_never_called_gone():
    assert not instance.gone(f"not-{instance.HOST}:1:boot0:claim")
    assert not instance.gone("garbage")
