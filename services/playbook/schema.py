"""The playbook's schema: what a team may write in playbook.yaml, and nothing else.

Every model forbids unknown keys (a misspelt `requried:` must fail loudly, not be ignored) and is
frozen (a loaded playbook is a value; reloading builds a new one). Checks that need two sections at
once (does that group exist?) live in `crossref`, which runs once this schema accepts a document.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from datetime import date, datetime, timedelta
from datetime import tzinfo as TzInfo
from functools import cache
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    StrictBool,
    StrictFloat,
    StrictInt,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .durations import Duration, format_duration
from .issues import invalid
from .schedule import WEEKDAYS, WeeklySchedule


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- identifiers -------------------------------------------------------------------------------

_SLUG = re.compile(r"^[a-z][a-z0-9-]*$")
_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_USERGROUP = re.compile(r"^S[A-Z0-9]{2,}$")
_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,}$")

SLUG_EXPECTED = "a name of lower-case letters, digits and dashes, starting with a letter (like eng-leads)"
USER_EXPECTED = "a Slack user ID like U01ABCDEF (U or W, then capital letters and digits)"
USERGROUP_EXPECTED = "a Slack user group ID like S01ABCDEF (S, then capital letters and digits)"
CHANNEL_EXPECTED = "a Slack channel ID like C01ABCDEF (C or G, then capital letters and digits)"

ChannelRole = Literal["approvals", "governance", "digest", "incidents"]
CHANNEL_ROLES: tuple[str, ...] = ("approvals", "governance", "digest", "incidents")
Audience = Literal["internal", "external"]
AUDIENCES: tuple[str, ...] = ("internal", "external")
RiskTier = Literal["prohibited", "high", "limited", "minimal"]


def _pattern(code: str, pattern: re.Pattern[str], expected: str):
    def check(value: Any) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            invalid(code, expected)
        return value

    return check


Slug = Annotated[str, BeforeValidator(_pattern("name", _SLUG, SLUG_EXPECTED))]
UserId = Annotated[str, BeforeValidator(_pattern("user_id", _USER, USER_EXPECTED))]
UsergroupId = Annotated[str, BeforeValidator(_pattern("usergroup_id", _USERGROUP, USERGROUP_EXPECTED))]
ChannelId = Annotated[str, BeforeValidator(_pattern("channel_id", _CHANNEL, CHANNEL_EXPECTED))]


def _channel_ref(value: Any) -> str:
    if isinstance(value, str) and (value in CHANNEL_ROLES or _CHANNEL.match(value)):
        return value
    invalid("channel_ref", f"a channel role ({', '.join(CHANNEL_ROLES)}) or {CHANNEL_EXPECTED}")


ChannelRef = Annotated[str, BeforeValidator(_channel_ref)]
"""A channel role name (resolved through `channels`) or a literal Slack channel ID."""


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _timezone(value: Any) -> str:
    expected = "an IANA time zone like Europe/Berlin or America/New_York"
    if not isinstance(value, str) or not value:
        invalid("timezone", expected)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(value, _zone_names(), n=1)
        invalid("timezone", expected + (f" (did you mean {close[0]}?)" if close else ""))
    return value


TimeZoneName = Annotated[str, BeforeValidator(_timezone)]


def _version(value: Any) -> int:
    if type(value) is not int or value != 1:
        invalid("version", "1 (the only playbook format this Countersign reads)")
    return value


# --- groups and channels -----------------------------------------------------------------------


class Group(Frozen):
    """Static `members`, or a Slack user group resolved at run time — exactly one of the two."""

    members: tuple[UserId, ...] | None = Field(None, description="Slack user IDs")
    usergroup: UsergroupId | None = Field(None, description="a Slack user group ID, resolved through usergroups.users.list")

    @field_validator("members")
    @classmethod
    def _not_empty(cls, members: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if members is not None and not members:
            invalid("empty_group", "at least one Slack user ID (an empty group can never approve or be paged)")
        return members

    @model_validator(mode="after")
    def _one_source(self) -> Group:
        if (self.members is None) == (self.usergroup is None):
            found = "both members and usergroup" if self.members is not None else "neither members nor usergroup"
            invalid("group_source", "either members: [user IDs] or usergroup: S… (exactly one of the two)", found)
        return self


class Channels(Frozen):
    governance: ChannelId = Field(description="where playbook errors, stale records and exhausted escalations go")
    approvals: ChannelId | None = Field(None, description="where approval requests are posted (default: governance)")
    digest: ChannelId | None = Field(None, description="where the weekly documentation digest goes (default: governance)")
    incidents: ChannelId | None = Field(None, description="where incidents are announced (default: governance)")

    def resolve(self, ref: str | None) -> str | None:
        """A channel ID for a role name or an ID; None for a role this playbook leaves unset."""
        if ref is None:
            return None
        if ref in CHANNEL_ROLES:
            return getattr(self, ref)
        return ref


# --- approvals ---------------------------------------------------------------------------------

STANDARD_CHECKLIST = {
    "privacy-review": "Privacy review completed (personal data, retention, DPIA where needed)",
    "security-review": "Security review completed",
    "prompt-injection-tested": "Tested against prompt injection and jailbreaks",
    "opt-in-consent": "Users opt in and are told they are dealing with AI",
    "docs-updated": "Use-case documentation updated in Countersign",
}


class ChecklistItem(Frozen):
    """Written as a bare id (`privacy-review`) or as `{id, text}`."""

    id: Slug = Field(description="a short name for the item")
    text: str | None = Field(None, description="what the approver confirms")

    @model_validator(mode="before")
    @classmethod
    def _from_id(cls, data: Any) -> Any:
        return {"id": data} if isinstance(data, str) else data

    @property
    def label(self) -> str:
        return self.text or STANDARD_CHECKLIST.get(self.id) or self.id.replace("-", " ").capitalize()


SelfApproval = Literal["never", "break_glass"]


class ApprovalRule(Frozen):
    """Who must sign off one kind of AI-generated artifact (for one audience)."""

    approvers: tuple[str, ...] = Field(description="names of groups whose members may approve")
    required: StrictInt = Field(1, ge=1, description="how many approvals are needed")
    distinct_groups: StrictBool = Field(False, description="each approval must come from a different approver group")
    self_approval: SelfApproval = Field(
        "never", description="never: the requester's approval never counts; break_glass: it counts, flagged and audited"
    )
    checklist: tuple[ChecklistItem, ...] = Field((), description="items every approver confirms")
    remind_after: Duration | None = Field(None, description="remind approvers when a request is still open after this")
    expire_after: Duration | None = Field(None, description="close a request as expired after this")
    high_assurance: StrictBool = Field(
        False, description="approvers confirm each checklist item one by one; break-glass self-approval is refused"
    )
    channel: ChannelRef | None = Field(None, description="where requests are posted: a channel role or ID")
    require_documented_use_case: StrictBool = Field(
        False, description="the request must name an approved, current AI use case from the registry "
        "(otherwise naming a stale or unapproved one only warns)"
    )

    @field_validator("approvers")
    @classmethod
    def _some_approvers(cls, approvers: tuple[str, ...]) -> tuple[str, ...]:
        if not approvers:
            invalid("no_approvers", "at least one approver group")
        return approvers

    @field_validator("checklist")
    @classmethod
    def _unique_items(cls, items: tuple[ChecklistItem, ...]) -> tuple[ChecklistItem, ...]:
        seen: set[str] = set()
        for item in items:
            if item.id in seen:
                invalid("duplicate_item", "each checklist item once", f"'{item.id}' twice")
            seen.add(item.id)
        return items

    @field_validator("expire_after")
    @classmethod
    def _reminder_first(cls, expire: timedelta | None, info: ValidationInfo) -> timedelta | None:
        remind = info.data.get("remind_after")
        if expire is not None and remind is not None and remind >= expire:
            invalid(
                "reminder_after_expiry",
                f"longer than remind_after ({format_duration(remind)}), or the reminder would never be sent",
            )
        return expire

    @field_validator("high_assurance")
    @classmethod
    def _no_break_glass(cls, high: bool, info: ValidationInfo) -> bool:
        if high and info.data.get("self_approval") == "break_glass":
            invalid("break_glass_high_assurance", "false, or self_approval: never (high assurance forbids break-glass self-approval)")
        return high

    @property
    def checklist_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.checklist)


class AudienceRules(Frozen):
    """One rule for internal use, another for customer-facing use; both must be given."""

    internal: ApprovalRule = Field(description="the rule for internal, colleague-facing use")
    external: ApprovalRule = Field(description="the rule for external, customer-facing use")


def _approval_shape(value: Any) -> str | None:
    if isinstance(value, ApprovalRule):
        return "single-policy"
    if isinstance(value, AudienceRules):
        return "per-audience"
    if not isinstance(value, dict):
        return None
    return "per-audience" if {"internal", "external"} & set(value) else "single-policy"


KindApprovals = Annotated[
    Union[Annotated[ApprovalRule, Tag("single-policy")], Annotated[AudienceRules, Tag("per-audience")]],
    Discriminator(
        _approval_shape,
        custom_error_type="playbook.approval_shape",
        custom_error_message="{expected}",
        custom_error_context={"expected": "a rule (approvers:, required:, …) or internal: and external: rules"},
    ),
]

# Tags pydantic puts into error locations; they are not keys of the YAML document.
UNION_TAGS = frozenset({"single-policy", "per-audience", "rotation", "group", "user", "channel"})


class UseStatement(Frozen):
    id: Slug = Field(description="a short stable name, cited in decisions and audit events")
    text: str = Field(description="the sentence shown to people")

    @field_validator("text")
    @classmethod
    def _said(cls, text: str) -> str:
        if not text.strip():
            invalid("empty_text", "a sentence saying what is meant")
        return text


# --- escalation --------------------------------------------------------------------------------


class RotationTarget(Frozen):
    kind: Literal["rotation"] = "rotation"
    name: Slug

    def __str__(self) -> str:
        return f"rotation:{self.name}"


class GroupTarget(Frozen):
    kind: Literal["group"] = "group"
    name: Slug

    def __str__(self) -> str:
        return f"group:{self.name}"


class UserTarget(Frozen):
    kind: Literal["user"] = "user"
    user: UserId

    def __str__(self) -> str:
        return f"user:{self.user}"


class ChannelTarget(Frozen):
    kind: Literal["channel"] = "channel"
    role: ChannelRole

    def __str__(self) -> str:
        return f"channel:{self.role}"


TARGET_EXPECTED = "one of 'rotation:NAME', 'group:NAME', 'user:U…', 'channel:governance'"
_TARGET_FIELD = {"rotation": "name", "group": "name", "user": "user", "channel": "role"}


def _target_from_text(value: Any) -> Any:
    if isinstance(value, str):
        kind, sep, rest = value.partition(":")
        if not sep or kind not in _TARGET_FIELD or not rest:
            invalid("target", TARGET_EXPECTED)
        if kind == "channel" and rest not in CHANNEL_ROLES:
            invalid("target", f"{TARGET_EXPECTED} (a channel target names a role: {', '.join(CHANNEL_ROLES)})")
        return {"kind": kind, _TARGET_FIELD[kind]: rest}
    if isinstance(value, (dict, BaseModel)):
        return value
    invalid("target", TARGET_EXPECTED)


Target = Annotated[
    Union[RotationTarget, GroupTarget, UserTarget, ChannelTarget],
    Field(discriminator="kind"),
    BeforeValidator(_target_from_text),
    PlainSerializer(str, return_type=str, when_used="json"),
]
"""Whom a step pages; written "rotation:ai-primary", held as a typed value."""


class Step(Frozen):
    """Page `notify`, then wait `wait` for an acknowledgement before the next step.

    A step without `wait` waits for an acknowledgement forever, so it may only be the last step of
    a policy that does not repeat (checked in crossref).
    """

    notify: Target = Field(description=TARGET_EXPECTED)
    wait: Duration | None = Field(None, description="how long to wait for an acknowledgement before the next step")


class EscalationPolicy(Frozen):
    steps: tuple[Step, ...] = Field(description="ordered steps, paged one after another until someone acknowledges")
    repeat: StrictInt = Field(0, ge=0, le=10, description="how many more times to run the whole chain (0 to 10)")

    @field_validator("steps")
    @classmethod
    def _some_steps(cls, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        if not steps:
            invalid("no_steps", "at least one step")
        return steps


class Severity(Frozen):
    policy: str = Field(description="the name of an escalation policy")
    description: str | None = Field(None, description="when to use this severity")
    incident_channel: StrictBool = Field(False, description="open a dedicated Slack channel for each incident")
    update_every: Duration | None = Field(None, description="how often the incident lead is asked for a status update")


class Rotation(Frozen):
    """Members take shifts in order, starting with the first at the first handoff on or after `start`."""

    members: tuple[UserId, ...] = Field(description="Slack user IDs, in shift order")
    handoff: WeeklySchedule = Field(description="weekday and local time a shift starts, like 'mon 09:00' ('daily 09:00' for day shifts)")
    shift: Duration = Field(description="shift length: whole weeks for a weekday handoff, whole days for a daily one")
    start: date = Field(date(2024, 1, 1), description="anchor date: the first member's first shift starts at the first handoff on or after it")

    @field_validator("handoff")
    @classmethod
    def _one_weekday(cls, handoff: WeeklySchedule) -> WeeklySchedule:
        if len(handoff.days) != 1 and not handoff.is_daily:
            invalid("handoff", "one weekday and a time like 'mon 09:00', or 'daily 09:00'")
        return handoff

    @field_validator("shift")
    @classmethod
    def _whole_days(cls, shift: timedelta, info: ValidationInfo) -> timedelta:
        handoff: WeeklySchedule | None = info.data.get("handoff")
        if shift % timedelta(days=1):
            invalid("shift", "a whole number of days or weeks (shifts change at a wall-clock handoff time)")
        if handoff is not None and not handoff.is_daily and shift % timedelta(weeks=1):
            day = WEEKDAYS[handoff.days[0]]
            invalid("shift", f"a whole number of weeks, as the handoff is on {day} (use handoff: 'daily {handoff.at:%H:%M}' for shifts in days)")
        return shift

    @property
    def shift_days(self) -> int:
        return self.shift.days


class Override(Frozen):
    """`user` is on call for `rotation` from `start` to `end` (end excluded), whatever the rotation says.

    Naive date-times are wall-clock in the playbook's time zone. When overrides overlap, the one
    listed last wins. Anyone may cover a shift, not only the rotation's members.
    """

    rotation: str = Field(description="the name of a rotation")
    user: UserId = Field(description="the Slack user ID who is on call instead")
    start: datetime = Field(description="when the override begins (playbook time zone unless an offset is given)")
    end: datetime = Field(description="when it ends (excluded)")

    def interval(self, tz: TzInfo) -> tuple[datetime, datetime]:
        return _aware(self.start, tz), _aware(self.end, tz)


def _aware(moment: datetime, tz: TzInfo) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


class Escalation(Frozen):
    severities: dict[Slug, Severity] = Field(default_factory=dict, description="severity name → policy and incident handling")
    policies: dict[Slug, EscalationPolicy] = Field(default_factory=dict, description="policy name → ordered steps")
    rotations: dict[Slug, Rotation] = Field(default_factory=dict, description="rotation name → members and shifts")
    overrides: tuple[Override, ...] = Field((), description="standing overrides of who is on call")


# --- documentation -----------------------------------------------------------------------------


class RiskRevisit(Frozen):
    """Revisit cadence per risk tier; a tier left out uses the section's general cadence."""

    prohibited: Duration | None = None
    high: Duration | None = None
    limited: Duration | None = None
    minimal: Duration | None = None


class Digest(Frozen):
    cron: WeeklySchedule = Field(description="when to post, like 'mon 09:00' (playbook time zone)")
    channel: ChannelRef | None = Field(None, description="a channel role or ID (default: the digest channel, else governance)")


class Documentation(Frozen):
    usecase_revisit: Duration = Field(timedelta(days=90), description="how often an AI use case record is revisited")
    vendor_revisit: Duration = Field(timedelta(days=180), description="how often an AI vendor record is revisited")
    usecase_revisit_by_risk: RiskRevisit | None = None
    vendor_revisit_by_risk: RiskRevisit | None = None
    stale_grace: Duration = Field(
        timedelta(days=14), description="how long past its revisit date a record may stay before governance is told"
    )
    digest: Digest | None = None
    due_soon: Duration = Field(
        timedelta(days=7), description="how long before its revisit date an owner is told a record is due soon"
    )
    renudge_after: Duration = Field(
        timedelta(days=3), description="first wait before nudging an owner again; each later wait doubles"
    )
    snooze: Duration = Field(timedelta(days=7), description="how long 'Snooze' puts a nudge off")
    max_snoozes: StrictInt = Field(3, ge=0, le=10, description="how many times one review may be snoozed")
    approvers: tuple[str, ...] = Field(
        (), description="groups who may approve or reject use cases (besides the admins)"
    )

    def revisit_after(self, record: Literal["usecase", "vendor"], risk: RiskTier | None = None) -> timedelta:
        by_risk = self.usecase_revisit_by_risk if record == "usecase" else self.vendor_revisit_by_risk
        general = self.usecase_revisit if record == "usecase" else self.vendor_revisit
        specific = getattr(by_risk, risk) if by_risk is not None and risk is not None else None
        return specific or general


# --- AI usage ----------------------------------------------------------------------------------

# The playbook's `usage:` section: how observed AI use is attributed, kept and watched.
#
#     usage:
#       channel: governance              # where alerts go (a role or an ID; default governance)
#       services: {support-bot: UC-12, "copy-*": UC-3}   # service → use case, first match wins
#       people: {alice@acme.example: U01AAA}             # telemetry's user ids → Slack users
#       allow:                           # who may use AI, and what; absent: anyone, anything
#         - groups: [code-reviewers]     # people in these groups …
#           services: ["support-*"]      # … or these services (patterns)
#           models: ["gpt-4o*"]          # which models (patterns; absent: any)
#           providers: [openai]          # which providers (absent: any)
#       content: {default: excerpt, use_cases: {UC-12: digest, UC-3: full}}
#       watch:
#         undocumented_model: true       # a model no approved use case documents, or an unreviewed vendor
#         unapproved_use_case: true      # attributed to a proposed, rejected, retired or overdue one
#         not_allowed: true              # a person or service outside `allow`
#         first_use: true                # a model used for the first time by a service or person
#         volume: {factor: 3, min_events: 20}   # a day over factor × its trailing 14-day daily median
#         personal_data: true            # redaction hits for a use case whose record says it handles none
#
# Patterns are shell-style (`*`, `?`, `[…]`), matched whole and case-sensitively. Every watch rule
# is on unless turned off (`false`), each raising at most one alert per key per day.

Keep = Literal["digest", "excerpt", "full"]
_USE_CASE = re.compile(r"^UC-[0-9]{1,6}$")
USE_CASE_EXPECTED = "a use case ID like UC-12"
PATTERN_MAX = 200


def _use_case(value: Any) -> str:
    if not isinstance(value, str) or not _USE_CASE.match(value):
        invalid("use_case_id", USE_CASE_EXPECTED)
    return value


def _name_pattern(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > PATTERN_MAX:
        invalid("pattern", f"a name or a shell-style pattern like support-* (1 to {PATTERN_MAX} "
                           "characters)")
    return value


UseCaseId = Annotated[str, BeforeValidator(_use_case)]
Pattern = Annotated[str, BeforeValidator(_name_pattern)]


def matches(patterns: tuple[str, ...], value: str | None) -> bool:
    return value is not None and any(fnmatch.fnmatchcase(value, p) for p in patterns)


class Grant(Frozen):
    groups: tuple[Slug, ...] = Field((), description="people in these groups")
    services: tuple[Pattern, ...] = Field((), description="services whose name matches (patterns)")
    models: tuple[Pattern, ...] = Field((), description="which models (patterns; absent: any)")
    providers: tuple[Pattern, ...] = Field((), description="which providers (patterns; absent: any)")


class Volume(Frozen):
    factor: StrictFloat | StrictInt = Field(3, gt=1, le=1000,
                                            description="alert when a day exceeds this many times the trailing 14-day daily median")
    min_events: StrictInt = Field(20, ge=1, description="days with fewer events never alert")


def _volume(value: Any) -> Any:
    # `volume: false` turns the rule off, `volume: true` keeps its defaults.
    if value is False:
        return None
    return {} if value is True else value


class Watch(Frozen):
    undocumented_model: StrictBool = True
    unapproved_use_case: StrictBool = True
    not_allowed: StrictBool = True
    first_use: StrictBool = True
    volume: Annotated[Volume | None, BeforeValidator(_volume)] = Field(default_factory=Volume)
    personal_data: StrictBool = True

    def on(self, rule: str) -> bool:
        return getattr(self, rule) not in (False, None)


class Content(Frozen):
    default: Keep = Field("excerpt", description="digest, excerpt or full")
    use_cases: dict[UseCaseId, Keep] = Field(default_factory=dict,
                                             description="use case ID → digest, excerpt or full")


class Usage(Frozen):
    channel: ChannelRef | None = Field(None, description="where usage alerts go (default: governance)")
    services: dict[Pattern, UseCaseId] = Field(default_factory=dict,
                                               description="service name or pattern → use case ID")
    people: dict[Pattern, UserId] = Field(
        default_factory=dict, description="a user id as telemetry sends it → a Slack user ID")
    allow: tuple[Grant, ...] | None = Field(None, description="who may use AI, and which models")
    content: Content = Field(default_factory=Content)
    watch: Watch = Field(default_factory=Watch)

    def use_case_of(self, service: str | None) -> str | None:
        if service is None:
            return None
        for pattern, use_case in self.services.items():
            if fnmatch.fnmatchcase(service, pattern):
                return use_case
        return None

    def keep_for(self, use_case: str | None) -> str:
        return self.content.use_cases.get(use_case, self.content.default) if use_case else \
            self.content.default

    def slack_user(self, user: str | None) -> str | None:
        return self.people.get(user, user) if user is not None else None


# --- pull requests on GitHub -------------------------------------------------------------------

# The playbook's `github:` section: which pull requests the Countersign GitHub App asks sign-off
# for, under which rule, and who their authors are in Slack.
#
#     github:
#       repositories: ["acme/*"]         # which repositories (owner/name patterns; default all)
#       kind: code                       # the approval kind asked for (an `approvals` kind)
#       audience: internal               # its audience (default internal)
#       all_pull_requests: ["acme/assistant"]   # repositories where every PR needs sign-off
#                                        # (true: all of them; default none)
#       markers:                         # what makes a pull request AI-made, beside the built-in
#         accounts: [209825114, "my-agent[bot]"]  # authors: numeric account ids or logins
#         trailers: ["*@agents.acme.example*"]    # Co-authored-by values (patterns, any case)
#         body: ["Drafted by Acme Agent"]         # text in the pull request's description
#         labels: [ai-generated]                  # labels a team adds
#         built_in: true                 # also the markers of today's AI agents (default)
#       dismiss_on_push: true            # a push dismisses approvals of earlier commits (default)
#       drafts_wait: true                # a draft waits for ready-for-review (default)
#       people: {octocat: U01AAA, "583231": U01BBB}   # GitHub logins or account ids → Slack users
#
# A pull request author mapped to a Slack user is the request's requester, so the playbook's
# self-approval rule applies to them; an unmapped author is shown by login.

RepoPattern = Annotated[str, BeforeValidator(_pattern(
    "repository", re.compile(r"^[A-Za-z0-9_.*?\[\]-]+/[A-Za-z0-9_.*?\[\]-]+$|^\*$"),
    "an owner/name pattern like acme/* or acme/api"))]


def _account(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?", value):
        return value
    invalid("account", "a GitHub account: its numeric id (preferred: it never changes) or its login")


Account = Annotated[int | str, BeforeValidator(_account)]


def _person_key(value: Any) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    _account(text if not (isinstance(text, str) and text.isdigit()) else int(text))
    return text


def _all_pull_requests(value: Any) -> Any:
    if value is True:
        return ("*",)
    if value is False:
        return ()
    return value


class Markers(Frozen):
    accounts: tuple[Account, ...] = Field((), description="authors whose pull requests are AI-made")
    trailers: tuple[Pattern, ...] = Field((), description="Co-authored-by values (patterns, any case)")
    body: tuple[Annotated[str, Field(min_length=3, max_length=200)], ...] = Field(
        (), description="text that marks a pull request's description")
    labels: tuple[Annotated[str, Field(min_length=1, max_length=50)], ...] = Field(
        (), description="labels that mark a pull request")
    built_in: StrictBool = Field(True, description="also the markers of today's AI coding agents")


class GitHub(Frozen):
    repositories: tuple[RepoPattern, ...] = Field(("*",), description="owner/name patterns")
    kind: Slug = Field(description="the approval kind pull requests are signed off under")
    audience: Audience = "internal"
    all_pull_requests: Annotated[tuple[RepoPattern, ...], BeforeValidator(_all_pull_requests)] = \
        Field((), description="repositories where every pull request needs sign-off")
    markers: Markers = Field(default_factory=Markers)
    dismiss_on_push: StrictBool = True
    drafts_wait: StrictBool = True
    people: dict[Annotated[str, BeforeValidator(_person_key)], UserId] = Field(
        default_factory=dict, description="GitHub login or account id → Slack user ID")

    def covers(self, repository: str) -> bool:
        return _repo_matches(self.repositories, repository)

    def every_pull_request(self, repository: str) -> bool:
        return _repo_matches(self.all_pull_requests, repository)

    def slack_user(self, account_id: int | None, login: str | None) -> str | None:
        """The author's Slack user: by account id first (a login can be renamed and reused)."""
        if account_id is not None and str(account_id) in self.people:
            return self.people[str(account_id)]
        return self.people.get(login) if login else None


def _repo_matches(patterns: tuple[str, ...], repository: str) -> bool:
    # GitHub treats owner and repository names case-insensitively.
    name = repository.lower()
    return any(p == "*" or fnmatch.fnmatchcase(name, p.lower()) for p in patterns)


# --- the playbook ------------------------------------------------------------------------------


class Playbook(Frozen):
    version: Annotated[int, BeforeValidator(_version)] = Field(description="the playbook format; always 1")
    timezone: TimeZoneName = Field(description="IANA time zone for rotations, handoffs and the digest")
    organization: str | None = Field(None, description="the team or company name used in rendered documents")
    contact: str | None = Field(None, description="who to ask about this policy (shown in rendered documents)")
    admins: tuple[UserId, ...] = Field(description="Slack user IDs who may reload the playbook from Slack")
    groups: dict[Slug, Group] = Field(default_factory=dict)
    channels: Channels = Field(description="Slack channel IDs by role; governance is required")
    approvals: dict[Slug, KindApprovals] = Field(default_factory=dict)
    allowed_uses: tuple[UseStatement, ...] = ()
    off_limits: tuple[UseStatement, ...] = ()
    escalation: Escalation = Field(default_factory=Escalation)
    documentation: Documentation = Field(default_factory=Documentation)
    usage: Usage = Field(default_factory=lambda: Usage())
    github: GitHub | None = Field(None, description="pull requests the GitHub App asks sign-off for")

    @field_validator("admins")
    @classmethod
    def _some_admin(cls, admins: tuple[str, ...]) -> tuple[str, ...]:
        if not admins:
            invalid("no_admins", "at least one Slack user ID (admins may reload the playbook from Slack)")
        return admins

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self.approvals)

    def is_split(self, kind: str) -> bool:
        return isinstance(self.approvals[kind], AudienceRules)

    def approval_rule(self, kind: str, audience: Audience) -> ApprovalRule:
        """The rule for `kind` and `audience`; KeyError for an unknown kind."""
        rules = self.approvals[kind]
        return getattr(rules, audience) if isinstance(rules, AudienceRules) else rules

    def overrides_for(self, rotation: str) -> tuple[Override, ...]:
        return tuple(o for o in self.escalation.overrides if o.rotation == rotation)

    def approval_channel(self, rule: ApprovalRule) -> str:
        """Where requests under `rule` go: its own channel, else approvals, else governance."""
        return self.channels.resolve(rule.channel) or self.channels.approvals or self.channels.governance

    def digest_channel(self) -> str:
        digest = self.documentation.digest
        explicit = self.channels.resolve(digest.channel) if digest is not None else None
        return explicit or self.channels.digest or self.channels.governance
