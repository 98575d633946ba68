"""Background work logs under a job id of its own, never under the request that caused it.

A sev1 incident's commit wakes the clock from inside the request; when Slack refuses every
post, the outbox dispatcher logs the failures and the pin-summary timer logs that there is
nothing to pin — background lines caused by that request, written after it was answered.
"""

from pathlib import Path

from tests.harness.fake_slack import Fault
from tests.harness.server import SIGNING_SECRET
from tests.harness.signing import SignedSlackClient

PLAYBOOK = Path(__file__).parent / "playbooks" / "incidents.yaml"
REQUEST_FIELDS = {"request_id", "team", "user", "action"}


def test_dispatcher_and_timer_lines_carry_a_job_id_and_nothing_of_the_request(bot_factory, fake_slack,
                                                                             clock_file):
    bot = bot_factory(PLAYBOOK_PATH=str(PLAYBOOK), CLOCK_OFFSET_FILE=str(clock_file)).start()
    fake_slack.inject_always("chat.postMessage", Fault.answer({"ok": False, "error": "never_heard_of_it"}))
    with SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake_slack) as slack:
        resp = slack.command("/ai-incident", "sev1 Prompt injection in support bot", user_id="U0REPORTER")
    assert resp.status_code == 200
    request_id = resp.headers["x-request-id"]

    [access] = bot.wait_for_log(lambda r: r.get("request_id") == request_id and "latency_ms" in r,
                                what="the request's access line")
    assert (access["user"], access["action"]) == ("U0REPORTER", "/ai-incident")
    assert "job" not in access
    delivery = bot.wait_for_log(lambda r: r.get("logger") == "bot.dispatcher"
                                and "failed for good" in r.get("message", ""),
                                timeout=20, what="the dispatcher's failures")
    [pin] = bot.wait_for_log(lambda r: "nothing to pin" in r.get("message", ""), timeout=30,
                             what="the pin-summary timer's warning")

    for record in [*delivery, pin]:
        assert REQUEST_FIELDS.isdisjoint(record), record
    assert {r["job"].split(":")[0] for r in delivery} == {"outbox-dispatcher"}
    assert pin["job"].split(":")[0] == "timer-sweep"
    # Work after the ack keeps the request's fields (it is the request's); no line mixes the two.
    mixed = [r for r in bot.log_records() if "job" in r and not REQUEST_FIELDS.isdisjoint(r)]
    assert mixed == []
