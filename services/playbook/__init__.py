"""The playbook: one YAML file of AI-governance policy, validated, explained and rendered.

Pure domain — no Slack, no database. Load with `load_playbook`; everything else takes the
resulting `Playbook` value.
"""

from .durations import Duration, DurationError, describe_duration, format_duration, parse_duration
from .explain import explain_approval, explain_escalation, summary
from .issues import PlaybookError, PlaybookIssue
from .loader import LoadedPlaybook, load_playbook, load_playbook_text
from .oncall import next_handoffs, on_call, who_is_on_call
from .render import render_markdown
from .schedule import WeeklySchedule
from .schema import ApprovalRule, AudienceRules, Playbook
from .snapshot import (
    ApprovalPolicy,
    EscalationChain,
    PlannedPage,
    UnknownName,
    approval_policy,
    chain_end,
    escalation_chain,
    planned_pages,
)

__all__ = [
    "ApprovalPolicy",
    "ApprovalRule",
    "AudienceRules",
    "Duration",
    "DurationError",
    "EscalationChain",
    "LoadedPlaybook",
    "PlannedPage",
    "Playbook",
    "PlaybookError",
    "PlaybookIssue",
    "UnknownName",
    "WeeklySchedule",
    "approval_policy",
    "chain_end",
    "describe_duration",
    "escalation_chain",
    "explain_approval",
    "explain_escalation",
    "format_duration",
    "load_playbook",
    "load_playbook_text",
    "next_handoffs",
    "on_call",
    "parse_duration",
    "planned_pages",
    "render_markdown",
    "summary",
    "who_is_on_call",
]
