import re

import pytest

from services.playbook import load_playbook, render_markdown

SLACK_ID = re.compile(r"\b[UWSCG][A-Z0-9]{8,}\b")


@pytest.fixture
def pb(example_path):
    return load_playbook(example_path).playbook


def test_external_policy_has_every_section_and_no_slack_ids(pb):
    text = render_markdown(pb, "external")
    for heading in ("# How Fernweh Travel — Product Engineering uses AI", "## Allowed uses", "## Off-limits uses", "## Human sign-off", "## AI incidents", "## Documentation and review"):
        assert heading in text
    assert SLACK_ID.findall(text) == []
    for use in pb.off_limits + pb.allowed_uses:
        assert use.text in text
    assert "Questions: ai-governance@fernweh.example" in text


def test_external_policy_shows_customer_facing_rules_by_group_name(pb):
    text = render_markdown(pb, "external")
    assert "### Launch\n\n- Needs 3 approvals, each from a different group: eng-leads, security and legal." in text
    assert "  - Users opt in and are told they are dealing with AI" in text
    assert "- High assurance: each item is confirmed one by one" in text
    assert "### Copy\n\n- Needs 2 approvals, each from a different group: product-marketing and legal." in text
    assert "for colleagues" not in text  # the internal copy and launch rules stay internal
    assert "1. Page the on-call person of the ai-primary rotation; after 5 minutes without acknowledgement, the next step." in text
    assert "- The whole chain runs 2 more times if nobody acknowledges." in text
    assert "- AI use cases: every 90 days (high-risk every 30 days; minimal-risk every 180 days)." in text
    assert "On-call rotations" not in text
    assert "digest" not in text.lower()


def test_internal_policy_names_the_people_and_channels(pb):
    text = render_markdown(pb, "internal")
    assert "### Copy (for colleagues)\n\n- Needs 1 approval from members of eng-leads or product-marketing." in text
    assert "### Launch (for customers)" in text
    assert "  - eng-leads: U02ZB5C7D9E, U03F1G3H5JK, U03L7M9N1PQ, U04R3S5T7VW, U04X9Y1Z3AB" in text
    assert "  - legal: members of Slack user group S04LGL3R7TW" in text
    assert "- Requests are posted in channel C05GOV1AIXP." in text  # launch/external overrides the channel
    assert "- ai-primary: U03KX8D2L4A, U04A2C6V8NC, U04G7J1K3LE, U05S2T4U6VG — 1 week shifts, handing over mon 09:00 (Europe/Berlin)" in text
    assert "posted mon 09:00 (Europe/Berlin) in channel C05DGS3TWKR" in text


def test_audience_must_be_internal_or_external(pb):
    with pytest.raises(ValueError):
        render_markdown(pb, "partners")
