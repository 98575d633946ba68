"""AI usage as people read it: a use case's observed models beside its documented ones, the
`/ai-audit usage` answer, the digest's and App Home's week (services/usage/views.py's dicts).

Every model, provider, service, telemetry user id and alert summary came from telemetry anyone
holding an ingest token could send: all are escaped. A user is a mention only when the id is a
Slack user id (`mention` checks).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ContextBlock, DividerBlock, HeaderBlock, SectionBlock

from blocks.text import SECTION_LIMIT, clip, escape, md, mention
from services.wallclock import local_iso_day, local_iso_time

LINES = 10  # lines of one list shown before "…and N more"
NAME_SHOWN = 80  # characters of a model, provider or service name, escaped


_PLURALS = {"person": "people"}


def _n(count: int, word: str) -> str:
    return f"{count:,} {word if count == 1 else _PLURALS.get(word, word + 's')}"


def _cost(usd: float) -> str:
    if usd >= 0.01 or usd == 0:
        return f"${usd:,.2f}"
    return f"${usd:.4f}"


def model_label(model: str | None, provider: str | None = None) -> str:
    """mrkdwn: the model, and its provider in brackets when known."""
    name = escape(model, NAME_SHOWN) if model else "_(no model named)_"
    return f"{name} ({escape(provider, NAME_SHOWN)})" if provider else name


def _user(user: str) -> str:
    built = mention(user)
    return built if built.startswith("<@") else escape(user, NAME_SHOWN)


def _list(heading: str, lines: list[str], *, more: int = 0) -> SectionBlock:
    """A heading over at most LINES lines; what is left out is counted, never dropped silently."""
    shown = [clip(line, 300) for line in lines[:LINES]]
    left = len(lines) - len(shown) + more
    text = f"{heading}\n" + "\n".join(shown) + (f"\n…and {left:,} more" if left else "")
    return SectionBlock(text=md(clip(text, SECTION_LIMIT - 10)))


# --- a use case's record: observed beside documented --------------------------------------------


def _documented_label(entry: dict[str, Any]) -> str:
    parts = [entry.get("provider") or "", entry.get("model") or "", entry.get("version") or ""]
    return escape(" / ".join(p for p in parts if p), NAME_SHOWN * 2)


def observed_blocks(observed: dict[str, Any], *, tz: str | None = None) -> list:
    """The "observed in the last N days" section of `/ai-usecase show`: documentation drift at
    a glance — what was seen and documented, seen and not documented, documented and not seen."""
    days = observed.get("days", 30)
    head = f"*Observed in the last {days} days:* {_n(observed['events'], 'AI call')} attributed to {escape(observed['use_case'])}"
    blocks: list = [DividerBlock(), SectionBlock(text=md(head))]

    def seen(item: dict[str, Any]) -> str:
        last = local_iso_day(item["last_seen"], tz) if item.get("last_seen") else "never"
        return f"{_n(item['events'], 'call')}, last {last}"

    if observed["documented_seen"]:
        blocks.append(_list(":white_check_mark: *Documented and seen*", [
            f"• {_documented_label(e)} — seen as "
            + ", ".join(escape(m, NAME_SHOWN) for m in e["observed"][:5])
            + (f" +{len(e['observed']) - 5}" if len(e["observed"]) > 5 else "") + f" · {seen(e)}"
            for e in observed["documented_seen"]]))
    if observed["undocumented"]:
        blocks.append(_list(":warning: *Seen but not documented* (add them to the record, or find out why)", [
            f"• {model_label(m['model'], m['provider'])} · {seen(m)}" for m in observed["undocumented"]]))
    if observed["not_seen"]:
        blocks.append(_list(f":grey_question: *Documented but not seen in {days} days*", [
            f"• {_documented_label(e)}" for e in observed["not_seen"]]))
    if observed["services"]:
        blocks.append(_list("*Services seen*", [
            f"• {escape(s['service'], NAME_SHOWN) if s['service'] else '_(no service named)_'} · {seen(s)}"
            for s in observed["services"]]))
    if not observed["events"] and not observed["not_seen"]:
        blocks.append(ContextBlock(elements=[md(
            "No AI calls were reported for it, and its record documents no model.")]))
    return blocks


# --- /ai-audit usage ----------------------------------------------------------------------------


def _filters(summary: dict[str, Any]) -> str:
    shown = [f"{key}:{summary[field]}" for key, field in
             (("model", "model"), ("user", "user"), ("usecase", "use_case")) if summary.get(field)]
    return escape(" ".join(shown), 500)


def _model_line(rank: int, item: dict[str, Any]) -> str:
    tokens = item["input_tokens"] + item["output_tokens"]
    return (f"{rank}. {model_label(item['model'], item['provider'])} — {_n(item['events'], 'call')} · "
            f"{_n(tokens, 'token')} · {_cost(item['cost_usd'])}")


def summary_message(summary: dict[str, Any], *, tz: str | None = None) -> dict[str, Any]:
    """The ephemeral answer to `/ai-audit usage`: totals, then the top models and people."""
    window = (f"{local_iso_time(summary['since'], tz)} to {local_iso_time(summary['until'], tz)}")
    about = window + (f" · filter `{_filters(summary)}`" if _filters(summary) else "")
    totals = (f"*{_n(summary['events'], 'AI call')}* by *{_n(summary['people'], 'person')}* "
              f"and *{_n(summary['services'], 'service')}* · "
              f"{summary['input_tokens']:,} tokens in, {summary['output_tokens']:,} out · "
              f"{_cost(summary['cost_usd'])} reported cost")
    blocks: list = [HeaderBlock(text="AI usage"), ContextBlock(elements=[md(clip(about, 2900))]),
                    SectionBlock(text=md(totals))]
    if summary["events"]:
        blocks.append(_list("*Top models*", [_model_line(i, m) for i, m in enumerate(summary["top_models"], 1)],
                            more=max(0, summary["models"] - len(summary["top_models"]))))
        if summary["top_people"]:
            blocks.append(_list("*Top people*", [f"{i}. {_user(p['user'])} — {_n(p['events'], 'call')}"
                                                 for i, p in enumerate(summary["top_people"], 1)]))
    else:
        blocks.append(SectionBlock(text=md("No AI calls were reported in this window.")))
    if summary.get("by_day_through"):
        blocks.append(ContextBlock(elements=[md(
            f"Days through {escape(summary['by_day_through'])} are counted from daily totals: raw "
            "events that old have expired (`USAGE_RETENTION`).")]))
    text = f"AI usage, {window}: {_n(summary['events'], 'call')} by {_n(summary['people'], 'person')}"
    return {"response_type": "ephemeral", "text": escape(text),
            "blocks": [b.to_dict() for b in blocks]}


# --- the week: digest and App Home ----------------------------------------------------------------


def _rule(rule: str) -> str:
    return escape(rule.replace("_", " "), 40)


def week_lines(week: dict[str, Any], *, tz: str | None = None) -> list[str]:
    """mrkdwn lines of the week: calls and people, top models, models new this week, alerts."""
    lines = [f"{_n(week['events'], 'AI call')} by {_n(week['people'], 'person')}"]
    if week["top_models"]:
        lines.append("*Top models:* " + " · ".join(
            f"{model_label(m['model'], m['provider'])} {m['events']:,}" for m in week["top_models"]))
    if week["new_models"]:
        more = week["new_models_total"] - len(week["new_models"])
        lines.append("*New this week:* " + " · ".join(
            f"{model_label(m['model'], m['provider'])} (first {local_iso_day(m['first_seen'], tz)})"
            if m.get("first_seen") else model_label(m["model"], m["provider"])
            for m in week["new_models"]) + (f" +{more:,} more" if more > 0 else ""))
    if week["alerts_total"]:
        lines.append(f"*Alerts raised:* {week['alerts_total']:,} — " + " · ".join(
            f"{_rule(a['rule'])} {a['count']:,}" for a in week["alerts"][:8]))
    # At most 5 names a line, each cut to NAME_SHOWN: the lines together stay well inside a section.
    return lines


def digest_usage_blocks(week: dict[str, Any] | None, *, tz: str | None = None) -> list:
    """The digest's "AI usage" section; nothing at all in a week without usage or alerts."""
    if not week or not (week["events"] or week["alerts_total"]):
        return []
    return [DividerBlock(), SectionBlock(text=md(clip(
        ":robot_face: *AI usage this week*\n" + "\n".join(week_lines(week, tz=tz)), SECTION_LIMIT - 10)))]


def home_usage_blocks(week: dict[str, Any], alerts: dict[str, Any], *, tz: str | None = None) -> list:
    """App Home, for admins: the week's usage and the usage alerts still open, newest first."""
    blocks: list = [DividerBlock(), SectionBlock(text=md(clip(
        "*AI usage, last 7 days*\n" + "\n".join(week_lines(week, tz=tz)), SECTION_LIMIT - 10)))]
    if alerts["items"]:
        blocks.append(_list(f"*Open usage alerts* ({alerts['total']:,})", [
            f"• {_rule(a['rule'])} · {escape(a['summary'], 200)} · {escape(a['day'])}" for a in alerts["items"]],
            more=alerts["total"] - len(alerts["items"])))
    else:
        blocks.append(ContextBlock(elements=[md("No usage alert is open.")]))
    return blocks
