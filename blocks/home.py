"""App Home: sign-offs waiting for you (with buttons), your requests, and the commands; for
admins, the week's AI usage and open usage alerts."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.views import View

from blocks import values
from blocks.approvals import (
    APPROVE,
    CHANGES,
    REJECT,
    action_value,
    request_summary_line,
)
from blocks.help import COMMANDS
from blocks.registry import REVIEWED, summary_line
from blocks.text import channel, escape, md, mention
from blocks.usage import home_usage_blocks


def incident_line(item: dict[str, Any]) -> str:
    ack = f"acknowledged by {mention(item['acknowledged_by'])}" if item.get("acknowledged_by") else "*not acknowledged*"
    where = f" · {channel(item['channel'])}" if item.get("channel") else ""
    return f"*#{item['id']}* {escape(item['severity'])} · {escape(item['title'])} · {ack}{where}"

# Block budget (Slack allows 100 in a Home tab): waiting 2 each, every other item 1, plus
# headings, pagers and the footer — at most 1+1+22+13+14+9+9+2+3+2 = 76 with every section full
# (the admins' usage section is 3: a divider, the week, the open alerts).
HOME_WAITING = 10
HOME_MINE = 10
HOME_RECORDS = 10
HOME_VENDORS = 5
HOME_INCIDENTS = 5
HOME_ALERTS = 5
PAGE = "home_page"
PAGED = {"records": HOME_RECORDS, "vendors": HOME_VENDORS, "incidents": HOME_INCIDENTS}  # section → page size


def parse_page_value(value: object) -> tuple[str, int]:
    """(section, offset) from a pager button; ButtonValueError for anything else."""
    section, offset = values.parts(value, 2)
    if section not in PAGED:
        raise values.ButtonValueError(f"{section[:20]!r} is not a paged section")
    return section, values.number(offset, low=0)



def _pager(section: str, offset: int, size: int, total: int) -> list:
    """Previous/next buttons for one section, when it has more than one page."""
    buttons = []
    if offset > 0:
        buttons.append(ButtonElement(text="‹ Previous", action_id=f"{PAGE}_prev_{section}",
                                     value=f"{section}:{max(0, offset - size)}"))
    if offset + size < total:
        buttons.append(ButtonElement(text="Next ›", action_id=f"{PAGE}_next_{section}",
                                     value=f"{section}:{offset + size}"))
    if not buttons:
        return []
    shown = f"{offset + 1}–{min(offset + size, total)} of {total}"
    return [ContextBlock(elements=[md(shown)]),
            ActionsBlock(block_id=f"page-{section}", elements=buttons)]


def _records_section(heading: str, page: dict[str, Any], size: int, section: str, empty: str) -> list:
    blocks: list = [DividerBlock(), SectionBlock(text=md(f"*{heading}* ({page['total']})"))]
    if not page["items"]:
        blocks.append(ContextBlock(elements=[md(empty)]))
    for item in page["items"][:size]:
        blocks.append(SectionBlock(text=md(summary_line(item)[:2900]), accessory=ButtonElement(
            text="Review", action_id=REVIEWED, value=f"{item['kind']}:{item['id']}")))
    return blocks + _pager(section, page["offset"], size, page["total"])


def home_view(*, waiting: list[dict[str, Any]] = (), mine: list[dict[str, Any]] = (),
              notice: str | None = None, records: dict[str, Any] | None = None,
              vendors: dict[str, Any] | None = None, incidents: dict[str, Any] | None = None,
              on_call: list[tuple[str, str | None]] = (), usage: dict[str, Any] | None = None,
              tz: str | None = None) -> dict:
    """The Home tab. `records`/`vendors`/`incidents` are {items, total, offset} pages; `usage`
    (admins only) is {week, alerts} as services/usage/views.py gives them."""
    blocks: list = [HeaderBlock(text="Countersign")]
    if notice:
        # A notice is a service's or handler's mrkdwn sentence: user text in it is escaped there.
        blocks.append(SectionBlock(text=md(f":information_source: {notice[:2900]}")))
    blocks.append(SectionBlock(text=md("*Waiting for your sign-off*")))
    if not waiting:
        blocks.append(ContextBlock(elements=[md("Nothing waits for you.")]))
    for view in list(waiting)[:HOME_WAITING]:
        value = action_value(view)
        blocks.append(SectionBlock(text=md(
            f"{request_summary_line(view)}\nRequested by {mention(view['requester'])} · "
            f"{escape(view['reference'], 200)}")))
        blocks.append(ActionsBlock(block_id=f"home-{view['id']}", elements=[
            ButtonElement(text="Approve", action_id=APPROVE, value=value, style="primary"),
            ButtonElement(text="Reject", action_id=REJECT, value=value, style="danger"),
            ButtonElement(text="Request changes", action_id=CHANGES, value=value),
        ]))
    if len(waiting) > HOME_WAITING:
        blocks.append(ContextBlock(elements=[md("More wait for you: `/ai-approve list`.")]))
    blocks += [DividerBlock(), SectionBlock(text=md("*Your requests*"))]
    if not mine:
        blocks.append(ContextBlock(elements=[md("None open. `/ai-approve` asks for sign-off.")]))
    for view in list(mine)[:HOME_MINE]:
        blocks.append(SectionBlock(text=md(request_summary_line(view))))
    if len(mine) > HOME_MINE:
        blocks.append(ContextBlock(elements=[md("More: `/ai-approve list`.")]))
    if records is not None:
        blocks += _records_section("Your records due for review", records, HOME_RECORDS, "records",
                                   "Nothing you keep is due. `/ai-usecase new` documents a use case.")
    if vendors is not None:
        blocks += _records_section("Vendor reviews you sign off", vendors, HOME_VENDORS, "vendors",
                                   "No vendor review waits for you.")
    if incidents is not None:
        blocks += [DividerBlock(), SectionBlock(text=md(f"*Open AI incidents* ({incidents['total']})"))]
        if not incidents["items"]:
            blocks.append(ContextBlock(elements=[md("None open.")]))
        for item in incidents["items"][:HOME_INCIDENTS]:
            blocks.append(SectionBlock(text=md(incident_line(item)[:2900])))
        blocks += _pager("incidents", incidents["offset"], HOME_INCIDENTS, incidents["total"])
    if usage is not None:
        blocks += home_usage_blocks(usage["week"], usage["alerts"], tz=tz)
    if on_call:
        lines = [f"*{escape(name)}*: " + mention(user) for name, user in on_call]
        blocks += [DividerBlock(), SectionBlock(text=md(("*On call now*\n" + " · ".join(lines))[:2900]))]
    blocks.append(DividerBlock())
    blocks.append(ContextBlock(elements=[md(" · ".join(f"`{c.name}`" for c in COMMANDS)
                                             + " — `help` on any of them explains it.")]))
    return View(type="home", blocks=blocks).to_dict()
