"""Registry messages: a record shown in full, lists, revisit nudges and governance raises.

Records hold up to ~25 fields of 3,000 characters; a message holds 50 blocks of 3,000. A field
too long to show whole says how much is left out and where to read it all — never cut silently.
"""

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

from blocks import values
from blocks.text import clip, escape, md, mention
from blocks.usage import observed_blocks
from services.registry import fields
from services.wallclock import local_iso_day

STILL_ACCURATE = "registry_still_accurate"
UPDATE = "registry_update"
SNOOZE = "registry_snooze"
EDIT = "registry_edit"
REVIEWED = "registry_reviewed"
SHOW_LIMIT = 2700  # characters of one field shown in a message section (label and note fit beside)

LABELS = {"usecase": "use case", "vendor": "vendor"}
DUE_WORDS = {"overdue": ":red_circle: review overdue", "due_soon": ":large_yellow_circle: review due soon",
             "current": ":large_green_circle: current", "retired": ":white_circle: retired"}




def _day(view: dict[str, Any], name: str) -> str:
    """The day of `<name>_at` on the playbook's calendar (`<name>_on`), or "never"."""
    iso = view.get(f"{name}_at")
    return view.get(f"{name}_on") or (iso[:10] if iso else "never")


def _days(count: int) -> str:
    return f"{count} day{'s' if count != 1 else ''}"


def _words(value: str | None) -> str:
    """A stored choice (a status, a review status) as words, for mrkdwn."""
    return escape((value or "—").replace("_", " "))


def summary_line(s: dict[str, Any]) -> str:
    """One line: ref, title, status, risk, owner, when the review is due."""
    due = s["days_to_review"]
    when = (f"due in {due} d" if due > 0 else "due today" if due == 0 else f"{-due} d overdue")
    line = (f"*{s['ref']}* {escape(s['title'], 80)} · {_words(s['status'])} · {escape(s['risk'])} risk · "
            f"{mention(s['owner'])} · {when if s['due_state'] != 'retired' else 'retired'}")
    if s.get("flags"):
        line += " · :warning: " + ", ".join(f"{f['ref']} {_words(f['review_status'])}" for f in s["flags"][:3])
    return line


def _fit_lines(lines: list[str], budget: int = SHOW_LIMIT) -> str:
    """mrkdwn lines (user text in them escaped) that fit `budget`, and how many did not."""
    shown: list[str] = []
    size = 0
    for line in lines:
        line = clip(line, 300)
        if size + len(line) + 1 > budget - 40:
            break
        shown.append(line)
        size += len(line) + 1
    left = len(lines) - len(shown)
    return "\n".join(shown) + (f"\n…and {left} more" if left else "")


def _field_text(spec: fields.FieldSpec, value: Any, kind: str, record_id: int) -> str | None:
    if value in (None, "", []):
        return None
    if spec.kind == fields.USER:
        return mention(value)
    if spec.kind == fields.USERS:
        return ", ".join(mention(u) for u in value)
    if spec.kind == fields.CHOICE:
        return escape(spec.choice_label(value))
    if spec.kind == fields.MODELS:
        return _fit_lines([f"• {escape(line)}" for line in fields.format_models(value).splitlines()])
    if spec.kind == fields.LINKS:
        return _fit_lines([f"• {link['ref']} {escape(link['title'], 80)} ({_words(link['status'])})"
                           for link in value])
    text = str(value)
    shown = _fitting(text, SHOW_LIMIT)
    if shown < len(text):
        return (escape(text[:shown]) + f"… _({len(text) - shown} more characters: `/ai-{kind} edit {record_id}` "
                "or the registry export shows all)_")
    return escape(text)


def _fitting(text: str, budget: int) -> int:
    """How many characters of `text` fit `budget` once escaped."""
    size = 0
    for count, char in enumerate(text):
        size += len(escape(char))
        if size > budget:
            return count
    return len(text)


def record_blocks(view: dict[str, Any], *, interactive: bool = True) -> list:
    kind = view["kind"]
    head = [f"*Status:* {_words(view['status'])}", f"*Risk:* {escape(view['risk'])}",
            (f"*Review:* {DUE_WORDS.get(view['due_state'], view['due_state'])}, next "
             f"{_day(view, 'next_review')}"),
            f"*Last reviewed:* {_day(view, 'last_reviewed')}"
            + (f" by {mention(view['last_reviewed_by'])}" if view.get("last_reviewed_by") else "")]
    blocks: list = [HeaderBlock(text=clip(f"{view['ref']} · {view['title']}", 150)),
                    SectionBlock(text=md("\n".join(head)))]
    flags = view.get("flags") or []
    if flags:
        blocks.append(SectionBlock(text=md(":warning: *Relies on vendors not reviewed:*\n" + _fit_lines(
            [f"• {f['ref']} {escape(f['name'], 80)} ({_words(f['review_status'])})" for f in flags]))))
    if view.get("observed") is not None:  # `show` only: what telemetry saw beside what is documented
        blocks += observed_blocks(view["observed"], tz=view.get("timezone"))
    section = None
    empty: list[str] = []
    for spec in fields.FIELDS[kind]:
        if spec.name in ("next_review", "status", "review_status", "title", "name"):
            continue
        text = _field_text(spec, view.get(spec.name), kind, view["id"])
        if text is None:
            empty.append(spec.label)
            continue
        if spec.section != section:
            section = spec.section
            blocks.append(DividerBlock())
        blocks.append(SectionBlock(text=md(f"*{spec.label}*\n{text}")))
    if empty:
        blocks.append(ContextBlock(elements=[md(clip("Not documented yet: " + ", ".join(empty), 2900))]))
    history = view.get("history") or []
    if history:
        lines = [f"{local_iso_day(h['at'], view.get('timezone'))} {mention(h['by'])} changed {escape(h['field'].replace('_', ' '))}"
                 for h in history[:8]]
        blocks.append(ContextBlock(elements=[md(clip("Recent changes: " + " · ".join(lines), 2900))]))
    if interactive and view["due_state"] != "retired":
        value = f"{kind}:{view['id']}"
        blocks.append(ActionsBlock(block_id=f"record-{value}", elements=[
            ButtonElement(text="Edit", action_id=EDIT, value=value),
            ButtonElement(text="Mark reviewed", action_id=REVIEWED, value=value, style="primary"),
        ]))
    return blocks


def record_message(view: dict[str, Any]) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": f"{view['ref']} {escape(view['title'])}",
            "blocks": [b.to_dict() for b in record_blocks(view)]}


def list_message(kind: str, which: str, items: list[dict[str, Any]], total: int, *, offset: int,
                 page_size: int) -> dict[str, Any]:
    label = LABELS[kind]
    title = f"{label.capitalize()}s" + ("" if which == "all" else f" — {which.replace('_', ' ')}")
    lines = [summary_line(s) for s in items]
    blocks: list = [HeaderBlock(text=f"{title} ({total})")]
    if not items:
        blocks.append(SectionBlock(text=md(f"No {label}s here. `/ai-{kind} new` documents one.")))
    for start in range(0, len(lines), 10):
        blocks.append(SectionBlock(text=md(clip("\n".join(lines[start:start + 10]), 2990))))
    if offset + len(items) < total:
        page = offset // page_size + 2
        blocks.append(ContextBlock(elements=[md(
            f"Showing {offset + 1}–{offset + len(items)} of {total}: `/ai-{kind} list {which} {page}` "
            "for the next page.")]))
    return {"response_type": "ephemeral", "text": f"{title}: {total}", "blocks": [b.to_dict() for b in blocks]}


def saved_message(view: dict[str, Any], *, created: bool, changed: list[str] = ()) -> dict[str, Any]:
    kind = view["kind"]
    if created:
        text = (f"{view['ref']} {escape(view['title'])} is on record; its first review is due "
                f"{_day(view, 'next_review')}.")
    else:
        text = (f"{view['ref']} updated: {', '.join(c.replace('_', ' ') for c in changed)}."
                if changed else f"{view['ref']}: nothing changed.")
    blocks: list = [SectionBlock(text=md(text))]
    if created and kind == "usecase":
        blocks.append(ActionsBlock(block_id=f"saved-{view['id']}", elements=[
            ButtonElement(text="Continue documenting", action_id=EDIT, value=f"{kind}:{view['id']}",
                          style="primary")]))
    return {"text": text, "blocks": [b.to_dict() for b in blocks]}


def nudge_value(view: dict[str, Any]) -> str:
    return f"{view['kind']}:{view['id']}:{view['tag']}"


def parse_record_value(value: object) -> tuple[str, int, str]:
    """(kind, id, tag) from a record button's `kind:id` or a nudge's `kind:id:tag` (the tag
    keeps its colons); ButtonValueError for anything else."""
    text = value if isinstance(value, str) else ""
    kind, raw_id, *tag = values.parts(text, 3 if text.count(":") >= 2 else 2, rest=True)
    if kind not in LABELS:
        raise values.ButtonValueError(f"{kind[:20]!r} is not a kind of record")
    return kind, values.record_id(raw_id), tag[0] if tag else ""


def registry_nudge(view: dict[str, Any]) -> dict[str, Any]:
    """A DM to whoever keeps the record: due soon, due, or overdue; with what to do."""
    label = LABELS[view["kind"]]
    due = _day(view, "next_review")
    if view["stage"] == "soon":
        text = f"The {label} {view['ref']} {escape(view['title'])} is due for review on {due}."
    elif view["stage"] == "due":
        text = f"The {label} {view['ref']} {escape(view['title'])} is due for review today ({due})."
    else:
        text = (f"The review of {label} {view['ref']} {escape(view['title'])} is "
                f"{_days(-view['days_to_review'])} overdue (due {due}).")
    lines = [text, "Is it still accurate? Reviewing takes a minute: check the record, then say so."]
    for flag in view.get("flags") or []:
        lines.append(f":warning: It relies on vendor {flag['ref']} {escape(flag['name'])} "
                     f"({_words(flag['review_status'])}).")
    value = nudge_value(view)
    buttons = [ButtonElement(text="Still accurate", action_id=STILL_ACCURATE, value=value, style="primary"),
               ButtonElement(text="Update", action_id=UPDATE, value=value)]
    # Snoozing puts off a review that is due; a "due soon" heads-up has nothing to put off.
    if view["stage"] != "soon" and view.get("snoozes_left", 0) > 0:
        label = f"Snooze {view['snooze_for']}" if view.get("snooze_for") else "Snooze"
        buttons.append(ButtonElement(text=label, action_id=SNOOZE, value=value))
    blocks = [SectionBlock(text=md(clip("\n".join(lines), 2990))),
              ActionsBlock(block_id=f"nudge-{view['kind']}-{view['id']}", elements=buttons)]
    return {"text": text, "blocks": [b.to_dict() for b in blocks]}


def nudge_answer(outcome: str) -> dict[str, Any]:
    """The nudge DM once someone acted on it (replaces the buttons)."""
    return {"replace_original": True, "text": outcome,
            "blocks": [SectionBlock(text=md(clip(outcome, 2990))).to_dict()]}


def registry_raise(view: dict[str, Any]) -> dict[str, Any]:
    label = LABELS[view["kind"]]
    text = (f":rotating_light: The {label} {view['ref']} {escape(view['title'])} is {_days(view['days_overdue'])} past "
            f"its review date ({_day(view, 'next_review')}) and beyond the playbook's grace period. "
            f"Kept by {mention(view['owner'])}; last reviewed {_day(view, 'last_reviewed')}.")
    return {"text": text, "blocks": [SectionBlock(text=md(clip(text, 2990))).to_dict()]}


TEMPLATES = {"registry_nudge": registry_nudge, "registry_raise": registry_raise}
