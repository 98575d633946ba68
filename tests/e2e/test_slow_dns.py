"""A response_url whose host never resolves holds nobody's acknowledgement.

aiohttp resolves host names on the event loop's default executor, a few threads. The
slow_dns harness makes every lookup of a *.slow-dns.test name hold one of those threads for
SLOW_DNS_SECONDS in the bot process, as an unreachable DNS server does. With more such
lookups pending than the executor has threads, a request whose database work queued there
(its retry de-duplication runs before the ack) would wait the full lookup time.
"""

import os
import time

from tests.e2e.waiting import until
from tests.harness.paths import REPO_ROOT
from tests.harness.server import SIGNING_SECRET
from tests.harness.signing import SignedSlackClient

SLOW_DNS_DIR = REPO_ROOT / "tests" / "harness" / "slow_dns"
SLOW_DNS_SECONDS = 15.0
# concurrent.futures' default size, which asyncio's default executor takes.
DEFAULT_EXECUTOR_THREADS = min(32, (getattr(os, "process_cpu_count", os.cpu_count)() or 1) + 4)
SLACK_ACK_WINDOW = 3.0


def timed_command(slack: SignedSlackClient, **kwargs: str) -> float:
    started = time.monotonic()
    resp = slack.command("/ai-oncall", **kwargs)
    elapsed = time.monotonic() - started
    assert resp.status_code == 200, resp.text
    return elapsed


def test_acks_and_database_work_stay_fast_while_response_url_lookups_hang(
        bot_factory, fake_slack, tmp_path):  # noqa: ANN001
    lookups = tmp_path / "dns-lookups"
    lookups.touch()
    bot = bot_factory(PYTHONPATH=str(SLOW_DNS_DIR), SLOW_DNS_SECONDS=str(SLOW_DNS_SECONDS),
                      SLOW_DNS_LOG=str(lookups)).start()
    hanging = DEFAULT_EXECUTOR_THREADS + 2
    with SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake_slack) as slack:
        # Distinct hosts: aiohttp shares one lookup between concurrent requests to one host.
        acks = [timed_command(slack, trigger_id=f"hang-{i}",
                              response_url=f"http://h{i}.slow-dns.test/response/hang-{i}")
                for i in range(hanging)]
        until(lambda: len(lookups.read_text().split()) >= DEFAULT_EXECUTOR_THREADS,
              timeout=SLOW_DNS_SECONDS / 2, what="the default executor full of DNS lookups")
        full_since = time.monotonic()

        probes = [timed_command(slack, trigger_id=f"probe-{i}") for i in range(3)]
        for i in range(3):  # work after the ack (a database read, then respond) is not held either
            fake_slack.wait_for_responses(key=f"probe-{i}", timeout=SLOW_DNS_SECONDS / 3)
        measured_for = time.monotonic() - full_since
    # Measured while the lookups still held every default thread, or the test proved nothing.
    assert measured_for < SLOW_DNS_SECONDS - 2, f"probes took {measured_for:.1f}s"
    assert not fake_slack.responses or all(key.startswith("probe-") for key, _ in fake_slack.responses)
    assert max(acks) < SLACK_ACK_WINDOW, f"acks of the hanging commands: {acks}"
    assert max(probes) < SLACK_ACK_WINDOW, f"acks while DNS hangs: {probes}"
    # The bot would wait for the hung lookups' threads on a clean shutdown; nothing is left to check.
    bot.kill()
