"""The playbook in a running bot: read by anyone, reloaded by admins, SIGHUP or file change;
an invalid file never replaces the one in force, and governance is told."""

import signal
import shutil

import pytest
from sqlmodel import select

from models.audit import AuditEvent
from tests.e2e.waiting import until
from tests.harness.server import EXAMPLE_PLAYBOOK, SIGNING_SECRET, bot_env, run_cli
from tests.harness.signing import SignedSlackClient

ADMIN = "U04HQ2Z8K1M"
GOVERNANCE = "C05GOV1AIXP"


@pytest.fixture
def playbook_file(tmp_path):
    path = tmp_path / "playbook.yaml"
    shutil.copy(EXAMPLE_PLAYBOOK, path)
    return path


@pytest.fixture
def bot(bot_factory, playbook_file):
    return bot_factory(PLAYBOOK_PATH=str(playbook_file)).start()


def answer(fake, resp, count=1):
    """The ephemeral answer a listener sent to the command's response_url after acking."""
    assert resp.status_code == 200
    return fake.wait_for_responses(count)[-1][1]


def text_of(payload):
    parts = [payload.get("text", "")]
    for block in payload.get("blocks", []):
        if isinstance(block.get("text"), dict):
            parts.append(block["text"]["text"])
        for el in block.get("elements", []) or []:
            parts.append(el.get("text", "") if isinstance(el, dict) else "")
    return "\n".join(parts)


def governance_texts(fake):
    return [m["text"] for m in fake.messages(GOVERNANCE)]


def audit_actions(db):
    with db.session() as s:
        return [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]


def break_it(path):
    text = path.read_text().replace("required: 2", "requierd: 2", 1)
    path.write_text(text.replace("timezone: Europe/Berlin", "timezone: Europe/Berln"))


def test_anyone_reads_the_summary_with_groups_resolved(slack, fake_slack):
    payload = answer(fake_slack, slack.command("/ai-playbook", "", user_id="U0ANYONE"))
    text = text_of(payload)
    assert payload["response_type"] == "ephemeral"
    assert "Fernweh Travel" in text
    assert "Off limits" in text and "protected attributes" in text
    assert "legal (2)" in text  # a Slack user group, resolved through usergroups.users.list
    assert fake_slack.calls_to("usergroups.users.list")


def test_explain_a_kind_and_a_severity(slack, fake_slack):
    launch = text_of(answer(fake_slack, slack.command("/ai-playbook", "explain launch external")))
    assert "launch" in launch and "external" in launch
    sev1 = text_of(answer(fake_slack, slack.command("/ai-playbook", "explain sev1"), count=2))
    assert "sev1" in sev1


def test_non_admin_cannot_reload_and_the_attempt_is_audited(slack, db):
    body = slack.command("/ai-playbook", "reload", user_id="U0NOTADMIN").json()
    assert "Only the playbook's admins may reload it" in body["text"]
    # The denial is written after the ack that tells of it.
    until(lambda: "playbook.denied" in audit_actions(db), timeout=10, what="the denial in the audit log")


def test_invalid_reload_is_refused_old_kept_and_governance_told(slack, fake_slack, db,
                                                                 playbook_file):
    break_it(playbook_file)
    refused = text_of(answer(fake_slack, slack.command("/ai-playbook", "reload", user_id=ADMIN)))
    assert refused.startswith("Refused: the file has 2 problems")
    assert "timezone" in refused and "Europe/Berln" in refused and "requierd" in refused
    fake_slack.wait_for(lambda c: c.method == "chat.postMessage"
                        and c.args.get("channel") == GOVERNANCE)
    [notice] = governance_texts(fake_slack)
    assert "was refused: 2 problems" in notice and "keeps the last valid playbook" in notice
    posted = fake_slack.messages(GOVERNANCE)[0]
    assert "playbook.yaml" in text_of(posted) and "approvals" in text_of(posted)
    # The running bot still answers from the last valid playbook.
    still = text_of(answer(fake_slack, slack.command("/ai-playbook", ""), count=2))
    assert "Fernweh Travel" in still
    assert audit_actions(db).count("playbook.refused") == 1


def test_valid_reload_applies_and_governance_is_told(slack, fake_slack, db, playbook_file):
    playbook_file.write_text(playbook_file.read_text().replace("Fernweh Travel", "Fernweh Reisen"))
    applied = text_of(answer(fake_slack, slack.command("/ai-playbook", "reload", user_id=ADMIN)))
    assert applied.startswith("Reloaded: playbook sha256")
    summary = text_of(answer(fake_slack, slack.command("/ai-playbook", ""), count=2))
    assert "Fernweh Reisen" in summary
    fake_slack.wait_for(lambda c: c.method == "chat.postMessage")
    assert "is now in force" in governance_texts(fake_slack)[0]
    assert "playbook.applied" in audit_actions(db)
    again = text_of(answer(fake_slack, slack.command("/ai-playbook", "reload", user_id=ADMIN),
                           count=3))
    assert "has not changed" in again


def test_sighup_reloads(bot, fake_slack, playbook_file):
    playbook_file.write_text(playbook_file.read_text().replace("Fernweh Travel", "Via SIGHUP"))
    bot.proc.send_signal(signal.SIGHUP)
    fake_slack.wait_for(lambda c: c.method == "chat.postMessage", timeout=10)
    assert "is now in force" in governance_texts(fake_slack)[0]
    assert "(SIGHUP)" in text_of(fake_slack.messages(GOVERNANCE)[0])


def test_file_change_reloads_when_watching(bot_factory, fake_slack, playbook_file):
    bot_factory(PLAYBOOK_PATH=str(playbook_file), PLAYBOOK_WATCH_INTERVAL="0.1").start()
    break_it(playbook_file)
    fake_slack.wait_for(lambda c: c.method == "chat.postMessage", timeout=10)
    assert "was refused" in governance_texts(fake_slack)[0]


def test_two_processes_refusing_one_file_tell_governance_once(bot_factory, fake_slack, db,
                                                              playbook_file):
    first = bot_factory(PLAYBOOK_PATH=str(playbook_file)).start()
    second = bot_factory(PLAYBOOK_PATH=str(playbook_file)).start()
    break_it(playbook_file)
    first.proc.send_signal(signal.SIGHUP)
    second.proc.send_signal(signal.SIGHUP)
    fake_slack._poll(lambda: [a for a in audit_actions(db) if a == "playbook.refused"], 2, 10,
                     "refusals recorded by both processes")
    fake_slack.wait_for(lambda c: c.method == "chat.postMessage")
    with SignedSlackClient(second.url, SIGNING_SECRET, fake=fake_slack) as client:
        client.command("/ai-approve", "help")  # a round trip: give a stray second post time
    assert len(governance_texts(fake_slack)) == 1


def test_an_unresolvable_usergroup_is_reported_not_silently_empty(bot_factory, fake_slack,
                                                                  playbook_file):
    playbook_file.write_text(playbook_file.read_text().replace("S04LGL3R7TW", "S0MISSING1"))
    bot_factory(PLAYBOOK_PATH=str(playbook_file)).start()
    fake_slack.wait_for(lambda c: c.method == "chat.postMessage")
    [notice] = governance_texts(fake_slack)
    assert "`legal` could not be resolved" in notice and "no_such_subteam" in notice


def test_the_bot_refuses_to_start_on_an_invalid_playbook(tmp_path, playbook_file):
    break_it(playbook_file)
    env = bot_env(database_url=f"sqlite:///{tmp_path}/x.db", slack_api_url="http://127.0.0.1:9/api/",
                  PLAYBOOK_PATH=str(playbook_file))
    result = run_cli(["serve"], env, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert "is not a valid playbook" in lines[0]
    assert any("timezone: found 'Europe/Berln'" in line for line in lines[1:])
    assert "Traceback" not in result.stderr


def test_the_bot_refuses_to_start_without_a_playbook(tmp_path):
    env = bot_env(database_url=f"sqlite:///{tmp_path}/x.db", slack_api_url="http://127.0.0.1:9/api/",
                  PLAYBOOK_PATH=str(tmp_path / "nope.yaml"))
    result = run_cli(["serve"], env, tmp_path)
    assert result.returncode == 2
    assert "nope.yaml" in result.stderr and "playbook.example.yaml" in result.stderr
