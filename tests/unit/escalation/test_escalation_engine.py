"""The chain as pure functions: the plan, the next step, and whom a target reaches."""

from datetime import UTC, datetime, timedelta

import pytest

from escalation.engine import FIRST, Position, next_step, plan, resolve_target
from services.playbook import escalation_chain, load_playbook_text
from services.playbook.schema import ChannelTarget, GroupTarget, Override, RotationTarget, UserTarget

PB = load_playbook_text("""
version: 1
timezone: Europe/Berlin
admins: [U0ADMIN]
groups:
  eng-leads: {members: [U0LEAD1, U0LEAD2, U0LEAD1]}
  legal: {usergroup: S0LEGAL}
channels: {governance: C0GOV}
escalation:
  severities:
    sev1: {policy: critical}
    sev3: {policy: forever}
  policies:
    critical:
      steps:
        - {notify: "rotation:ai-primary", wait: 5m}
        - {notify: "rotation:ai-secondary", wait: 10m}
        - {notify: "group:eng-leads", wait: 15m}
      repeat: 2
    forever:
      steps:
        - {notify: "user:U0BOSS", wait: 1h}
        - {notify: "channel:governance"}
  rotations:
    ai-primary: {members: [UA01, UB01], handoff: "mon 09:00", shift: 1w, start: 2026-03-23}
    ai-secondary: {members: [UC01], handoff: "mon 09:00", shift: 1w, start: 2026-03-23}
""").playbook
CRITICAL = escalation_chain(PB, "sev1")
FOREVER = escalation_chain(PB, "sev3")
T0 = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # Mon 09:00 CEST: UB01's shift begins


def test_the_plan_lists_every_page_until_the_chain_runs_out():
    pages = plan(CRITICAL, T0)
    assert [(p.round, p.step, p.at - T0, str(p.target)) for p in pages[:4]] == [
        (1, 1, timedelta(0), "rotation:ai-primary"),
        (1, 2, timedelta(minutes=5), "rotation:ai-secondary"),
        (1, 3, timedelta(minutes=15), "group:eng-leads"),
        (2, 1, timedelta(minutes=30), "rotation:ai-primary"),
    ]
    assert len(pages) == 9 and pages[-1].at == T0 + timedelta(minutes=75)


@pytest.mark.parametrize(
    ("chain", "at", "after"),
    [
        (CRITICAL, (1, 1), Position(1, 2)),
        (CRITICAL, (1, 3), Position(2, 1)),
        (CRITICAL, (2, 3), Position(3, 1)),
        (CRITICAL, (3, 3), None),  # last step of the last round
        (FOREVER, (1, 1), Position(1, 2)),
        (FOREVER, (1, 2), None),  # no wait: waits for ever
    ],
)
def test_next_step(chain, at, after):
    assert next_step(chain, *at) == after
    assert FIRST == Position(1, 1)


def test_a_rotation_reaches_whoever_is_on_call_at_that_moment():
    target = RotationTarget(name="ai-primary")
    assert resolve_target(target, playbook=PB, now=T0 - timedelta(seconds=1)).users == ("UA01",)
    assert resolve_target(target, playbook=PB, now=T0).users == ("UB01",)


def test_given_overrides_replace_the_playbooks_own():
    target = RotationTarget(name="ai-primary")
    cover = Override(rotation="ai-primary", user="UZ01", start=T0, end=T0 + timedelta(hours=1))
    assert resolve_target(target, playbook=PB, now=T0, overrides={"ai-primary": [cover]}).users == ("UZ01",)
    assert resolve_target(target, playbook=PB, now=T0, overrides={"ai-secondary": [cover]}).users == ("UB01",)


def test_groups_users_and_channels():
    leads = resolve_target(GroupTarget(name="eng-leads"), playbook=PB, now=T0)
    assert leads.users == ("U0LEAD1", "U0LEAD2") and not leads.empty
    assert resolve_target(GroupTarget(name="legal"), playbook=PB, now=T0,
                          group_members={"legal": ["U0LAW"]}).users == ("U0LAW",)
    assert resolve_target(UserTarget(user="U0BOSS"), playbook=PB, now=T0).users == ("U0BOSS",)
    channel = resolve_target(ChannelTarget(role="governance"), playbook=PB, now=T0)
    assert (channel.channel, channel.users, channel.empty) == ("C0GOV", (), False)


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (GroupTarget(name="legal"), "the group legal has nobody in it"),
        (RotationTarget(name="gone"), "the rotation gone is not in the playbook"),
        (ChannelTarget(role="incidents"), "no incidents channel is set in the playbook"),
    ],
)
def test_an_empty_target_is_reported_with_the_reason(target, reason):
    reach = resolve_target(target, playbook=PB, now=T0)
    assert reach.empty and reach.reason == reason and reach.target == str(target)
