"""Sign-off requests in Slack: the channel message, its thread notices, DMs and modals.

Every builder takes the plain request view that services/approvals produces and returns a
Web API payload; nothing here decides anything.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    Option,
    SectionBlock,
)

from blocks import values
from blocks.text import clip, escape, link, md, mention

# Action ids, shared with handlers/actions/approvals.py.
APPROVE = "approval_approve"
REJECT = "approval_reject"
CHANGES = "approval_changes"
CANCEL = "approval_cancel"
RESUBMIT = "approval_resubmit"
CHECKLIST = "approval_checklist"

STATUS_WORDS = {
    "pending": ":hourglass_flowing_sand: Waiting for sign-off",
    "approved": ":white_check_mark: *APPROVED*",
    "rejected": ":x: *REJECTED*",
    "changes_requested": ":pencil2: *CHANGES REQUESTED*",
    "cancelled": ":no_entry_sign: *CANCELLED* by the requester",
    "expired": ":alarm_clock: *EXPIRED* — not approved",
}
DECISION_WORDS = {"approve": ":white_check_mark: approved", "reject": ":x: rejected",
                  "request_changes": ":pencil2: requested changes"}
CHECKLIST_OPTIONS_MAX = 10  # Slack's limit per checkboxes element
REASON_SHOWN = 300




def action_value(view: dict[str, Any]) -> str:
    """What a button carries: the request and the revision it was shown at."""
    return f"{view['id']}:{view['revision']}"


def parse_action_value(value: object) -> tuple[int, int]:
    """(request id, revision) from action_value's text; ButtonValueError for anything else."""
    request_id, revision = values.parts(value, 2)
    return values.record_id(request_id), values.number(revision)


def policy_line(view: dict[str, Any]) -> str:
    policy = view["policy"]
    groups = " + ".join(escape(g) for g in policy["approvers"])
    line = f"{policy['required']} of {groups}"
    if policy.get("distinct_groups"):
        line += ", distinct groups"
    if policy.get("high_assurance"):
        line += ", high assurance"
    return line


def _reference(view: dict[str, Any]) -> str:
    ref = view["reference"]
    # A reference is linked only if it is a plain web address; anything else is shown as typed.
    return link(ref, ref, limit=200) if ref.startswith(("http://", "https://")) \
        else f"`{escape(ref, 600)}`"


def _headline(view: dict[str, Any]) -> str:
    """Plain text (the header); `escape` it for mrkdwn and a message's `text`."""
    return clip(f"Sign-off #{view['id']}: {view['kind']} ({view['audience']}) — {view['title']}",
                 150)


def _vote_line(vote: dict[str, Any]) -> str:
    line = f"{mention(vote['user'])} {DECISION_WORDS.get(vote['decision'], escape(vote['decision']))}"
    if vote.get("group"):
        line += f" for *{escape(vote['group'])}*"
    if vote.get("break_glass"):
        line += " :rotating_light: break-glass (own request)"
    line += f" · <!date^{_epoch(vote['at'])}^{{date_short_pretty}} {{time}}|{vote['at']}>"
    if vote.get("reason"):
        line += f"\n> {escape(vote['reason'], REASON_SHOWN)}"
    return line


def _epoch(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso).timestamp())


def _checklist_blocks(view: dict[str, Any], interactive: bool) -> list:
    items = view["policy"].get("checklist") or []
    if not items:
        return []
    confirmed = {c["item"]: c["user"] for c in view.get("checklist_confirmed", [])}
    blocks: list = [SectionBlock(text=md(
        "*Checklist* — an approver confirms each item before the final approval counts:"))]
    if not interactive:
        lines = [f"{':ballot_box_with_check:' if i['id'] in confirmed else ':white_large_square:'} "
                 f"{escape(i['text'])}" + (f" ({mention(confirmed[i['id']])})" if i["id"] in confirmed else "")
                 for i in items]
        blocks.append(SectionBlock(text=md("\n".join(lines))))
        return blocks
    for start in range(0, len(items), CHECKLIST_OPTIONS_MAX):
        chunk = items[start:start + CHECKLIST_OPTIONS_MAX]
        # Slack caps an option's text and description at 75 characters each.
        options = [Option(value=i["id"], text=md(escape(i["text"], 75)),
                          description=(md(f"confirmed by {mention(confirmed[i['id']])}")
                                       if i["id"] in confirmed else None))
                   for i in chunk]
        initial = [o for o, i in zip(options, chunk, strict=True) if i["id"] in confirmed]
        blocks.append(SectionBlock(
            block_id=f"checklist-{start // CHECKLIST_OPTIONS_MAX}",
            text=md(" "),
            accessory=CheckboxesElement(action_id=f"{CHECKLIST}-{start // CHECKLIST_OPTIONS_MAX}",
                                        options=options, initial_options=initial or None)))
    return blocks


def _buttons(view: dict[str, Any]) -> list:
    value = action_value(view)
    if view["status"] == "pending":
        return [ActionsBlock(block_id="decide", elements=[
            ButtonElement(text="Approve", action_id=APPROVE, value=value, style="primary"),
            ButtonElement(text="Reject", action_id=REJECT, value=value, style="danger"),
            ButtonElement(text="Request changes", action_id=CHANGES, value=value),
            ButtonElement(text="Cancel request", action_id=CANCEL, value=value),
        ])]
    if view["status"] == "changes_requested":
        return [ActionsBlock(block_id="revise", elements=[
            ButtonElement(text="Resubmit", action_id=RESUBMIT, value=value, style="primary"),
            ButtonElement(text="Cancel request", action_id=CANCEL, value=value),
        ])]
    return []


def request_blocks(view: dict[str, Any], *, interactive: bool = True) -> list:
    """The request as it stands: what, who, policy, checklist, every decision, and buttons."""
    final = view["status"] not in ("pending", "changes_requested")
    facts = [f"*{escape(view['title'])}*", f"Reference: {_reference(view)}",
             f"Requested by {mention(view['requester'])}"]
    if view.get("ai_tool"):
        facts.append(f"Produced with: {escape(view['ai_tool'])}")
    use_case = view.get("use_case")
    if use_case:
        facts.append(f"Use case: {escape(use_case['ref'])} {escape(use_case['title'], 150)}")
        if use_case.get("warning"):
            facts.append(f":warning: {escape(use_case['warning'], 900)}")
    blocks: list = [HeaderBlock(text=_headline(view)),
                    SectionBlock(text=md("\n".join(facts)))]
    if view.get("summary"):
        blocks.append(SectionBlock(text=md(escape(view["summary"], 2900))))
    context = [f"Policy: {policy_line(view)}",
               f"Playbook v{view['playbook_version']} ({escape(view['playbook_hash'])})"]
    if view.get("revision", 1) > 1:
        context.append(f"Revision {view['revision']}"
                       + (f" · {view['dismissed_count']} earlier decision(s) dismissed"
                          if view.get("dismissed_count") else ""))
    if view.get("expires_at") and not final:
        context.append(f"Expires <!date^{_epoch(view['expires_at'])}^{{date_short_pretty}} "
                       f"{{time}}|{view['expires_at']}>")
    blocks.append(ContextBlock(elements=[md(" · ".join(context))]))
    blocks += _checklist_blocks(view, interactive and not final)
    votes = view.get("votes") or []
    if votes:
        blocks.append(DividerBlock())
        blocks += [ContextBlock(elements=[md(_vote_line(v))]) for v in votes]
    status = STATUS_WORDS.get(view["status"], view["status"])
    if view["status"] == "pending":
        status += f" — {view.get('approvals_count', 0)} of {view['policy']['required']} approvals"
    blocks.append(SectionBlock(block_id="status", text=md(status)))
    if interactive:
        blocks += _buttons(view)
    return blocks


def _payload(text: str, blocks: list, **extra: Any) -> dict[str, Any]:
    return {"text": text, "blocks": [b.to_dict() for b in blocks], **extra}


def approval_request(view: dict[str, Any]) -> dict[str, Any]:
    """Template: the request message in its channel (posted, then updated in place)."""
    status = view["status"].replace("_", " ")
    return _payload(f"{escape(_headline(view))} [{status}]", request_blocks(view))


def approval_thread_notice(view: dict[str, Any]) -> dict[str, Any]:
    mentions = " ".join(mention(u) for u in view.get("approvers_to_notify", []))
    text = (f"{mentions or 'Approvers'}: your sign-off is requested ({policy_line(view)}). "
            "Discuss here in the thread; decide with the buttons above.")
    return _payload(text, [SectionBlock(text=md(text))])


def approval_dm(view: dict[str, Any]) -> dict[str, Any]:
    """Template: the same request, with the same buttons, in an approver's DM."""
    text = f"{mention(view['requester'])} asks for your sign-off: {escape(_headline(view))}"
    return _payload(text, [SectionBlock(text=md(text)), *request_blocks(view)])


def approval_reminder(view: dict[str, Any]) -> dict[str, Any]:
    text = (f":bell: Reminder: sign-off #{view['id']} ({escape(view['title'])}) is still waiting "
            f"for you — {view.get('approvals_count', 0)} of {view['policy']['required']} so far.")
    return _payload(text, [SectionBlock(text=md(text)), *request_blocks(view)])


def approval_vote_notice(view: dict[str, Any]) -> dict[str, Any]:
    vote = view["last_vote"]
    text = _vote_line(vote)
    return _payload(text, [SectionBlock(text=md(text))])


def approval_final(view: dict[str, Any]) -> dict[str, Any]:
    text = f"{STATUS_WORDS[view['status']]}: sign-off #{view['id']} ({escape(view['title'])})."
    return _payload(text, [SectionBlock(text=md(text))])


def approval_outcome_dm(view: dict[str, Any]) -> dict[str, Any]:
    text = f"Your sign-off request #{view['id']} ({escape(view['title'])}): {STATUS_WORDS[view['status']]}"
    return _payload(text, [SectionBlock(text=md(text)),
                           *request_blocks(view, interactive=view["status"] == "changes_requested")])


def approval_break_glass(view: dict[str, Any]) -> dict[str, Any]:
    vote = view["last_vote"]
    text = (f":rotating_light: Break-glass: {mention(vote['user'])} approved their own request "
            f"#{view['id']} ({escape(view['title'])}). Reason: {escape(vote.get('reason'), 500)}")
    return _payload(text, [SectionBlock(text=md(text))])


TEMPLATES = {
    "approval_request": approval_request,
    "approval_thread_notice": approval_thread_notice,
    "approval_dm": approval_dm,
    "approval_reminder": approval_reminder,
    "approval_vote_notice": approval_vote_notice,
    "approval_final": approval_final,
    "approval_outcome_dm": approval_outcome_dm,
    "approval_break_glass": approval_break_glass,
}


def request_summary_line(view: dict[str, Any]) -> str:
    status = view["status"].replace("_", " ")
    return (f"#{view['id']} *{escape(view['title'], 80)}* ({escape(view['kind'])}, {escape(view['audience'])}) — "
            f"{status}, {view.get('approvals_count', 0)}/{view['policy']['required']}")
