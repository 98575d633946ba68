"""Opening a request: validate everything first, then one transaction writes it all."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from sqlmodel import Session

from blocks.text import escape
from models.approval import PENDING, ApprovalRequest
from services import audit
from services.inputs import check_text
from services.playbook.loader import LoadedPlaybook
from services.playbook.schema import AUDIENCES
from services.playbook.snapshot import ApprovalPolicy, approval_policy
from services.registry.crosscheck import use_case_check
from services.registry.errors import RegistryInputError

from . import record
from .errors import ApprovalInputError, PolicyRefusal
from .limits import AI_TOOL_MAX, REFERENCE_MAX, SUMMARY_MAX, TITLE_MAX
from .policy import GroupMembers, approver_users, usergroups
from .refs import normalize_ref
from .views import request_view

# The entity of a refused request: there is no request, and no id, yet.
NEW = "new"


def open_request(
    session: Session,
    *,
    playbook: LoadedPlaybook,
    kind: str,
    audience: str,
    title: str,
    reference: str,
    requester: str,
    now: datetime,
    group_members: GroupMembers,
    ai_tool: str | None = None,
    summary: str = "",
    origin_channel: str | None = None,
    declared_uses: Sequence[str] = (),
    use_case_id: int | None = None,
) -> ApprovalRequest:
    """Open a request for sign-off under the playbook's current rule for (kind, audience).

    Raises ApprovalInputError (nothing written) for an unknown kind or audience, a missing or
    over-long field, or a declared use the playbook puts off limits (its own text is the message).
    A named use case that is not approved or past its review is a warning on the request, or a
    refusal where the rule has `require_documented_use_case`.
    """
    pb = playbook.playbook
    policy, clean = _validate(pb, kind=kind, audience=audience, title=title, reference=reference,
                              ai_tool=ai_tool, summary=summary, declared_uses=declared_uses)
    use_case_note = _use_case_standing(session, policy, use_case_id, now=now, tz=pb.tz)
    request = ApprovalRequest(
        kind=kind, audience=audience, title=clean["title"], reference=clean["reference"],
        ref_key=normalize_ref(clean["reference"]), ai_tool=clean["ai_tool"],
        summary=clean["summary"] or "", requester=requester, origin_channel=origin_channel,
        channel=policy.channel, status=PENDING, revision=1,
        policy=policy.model_dump(mode="json"), playbook_hash=playbook.content_hash,
        playbook_version=playbook.version, created_at=now, updated_at=now,
        use_case_id=use_case_id, use_case_note=use_case_note,
    )
    session.add(request)
    session.flush()  # the id names the outbox keys and the timers
    request.message_key = record.key(request, f"r{request.revision}:post")
    approvers = [u for u in approver_users(policy, group_members) if u != requester]
    record.schedule_lifecycle(session, request, now=now, remind_after=policy.remind_after,
                              expire_after=policy.expire_after, approvers=approvers)
    session.flush()
    record.log(session, request, now=now, actor=requester, action="approval.requested",
               kind=kind, audience=audience, title=request.title, reference=request.reference,
               ref_key=request.ref_key, ai_tool=request.ai_tool, channel=request.channel,
               origin_channel=origin_channel, declared_uses=list(declared_uses),
               use_case_id=use_case_id, use_case_note=use_case_note,
               playbook_hash=playbook.content_hash, playbook_version=playbook.version,
               approvers=approvers)
    view = request_view(session, request)
    record.post(session, request, view, now=now)
    record.thread_reply(session, request, view, suffix="r1:notice", template=record.T_THREAD_NOTICE,
                        extras={"event": "opened", "actor": requester, "approvers_to_notify": approvers,
                                "usergroups_to_notify": usergroups(policy), "note": None}, now=now)
    for user in approvers:
        record.direct(session, request, view, suffix=f"r1:dm:{user}", template=record.T_DM, user=user,
                      extras={"event": "opened", "actor": requester, "note": None}, now=now)
    return request


def refuse_opening(session: Session, *, requester: str, now: datetime, kind: str, audience: str,
                   refusal: PolicyRefusal) -> None:
    """The playbook refused `requester` a request (see PolicyRefusal): the attempt is on the
    record, on `new` as no request exists. In its own transaction, since the refused one rolled
    back."""
    audit.append(session, at=now, actor=requester, action="approval.denied", entity_type=record.ENTITY,
                 entity_id=NEW, payload={"attempted": "request", "code": refusal.code, "reason": refusal.message,
                                         "kind": kind, "audience": audience})


def _use_case_standing(session: Session, policy: ApprovalPolicy, use_case_id: int | None, *,
                       now: datetime, tz: tzinfo) -> str | None:
    """The warning to show about the named use case (None when sound), or a refusal."""
    if use_case_id is None:
        if policy.require_documented_use_case:
            raise PolicyRefusal("use_case", "This kind of sign-off must name the documented AI use case it "
                                            "serves (`/ai-usecase list`; `/ai-usecase new` documents one).",
                                code="use_case_required")
        return None
    try:
        standing = use_case_check(session, use_case_id, now=now, tz=tz)
    except RegistryInputError as exc:
        raise ApprovalInputError("use_case", exc.message) from None
    if policy.require_documented_use_case and not standing["sound"]:
        raise PolicyRefusal("use_case", f"The playbook requires an approved, current use case: "
                                        f"{escape(standing['warning'])}.", code="use_case_not_sound")
    return standing["warning"]


def _validate(pb, *, kind: str, audience: str, title: str, reference: str, ai_tool: str | None,
              summary: str | None, declared_uses: Sequence[str]) -> tuple[ApprovalPolicy, dict]:
    known = list(pb.approvals)
    if kind not in pb.approvals:
        listing = ", ".join(known) if known else "none: the playbook defines no approval kinds"
        raise ApprovalInputError("kind", f"'{escape(kind, 100)}' is not a kind of sign-off in the playbook. "
                                         f"Known kinds: {listing}.")
    if audience not in AUDIENCES:
        raise ApprovalInputError("audience", f"'{escape(audience, 100)}' is not an audience; choose internal or "
                                             "external.")
    off_limits = {use.id: use.text for use in pb.off_limits}
    for use in declared_uses:
        if use in off_limits:
            raise PolicyRefusal("declared_uses", escape(off_limits[use]), code="off_limits")
    allowed = {use.id for use in pb.allowed_uses}
    errors: dict[str, str] = {}
    unknown = [use for use in declared_uses if use not in allowed]
    if unknown:
        listing = ", ".join(sorted(allowed)) or "none"
        errors["declared_uses"] = (f"'{escape(unknown[0], 100)}' is not a use named in the playbook "
                                   f"(allowed uses: {listing}).")
    clean = {
        "title": check_text(errors, "title", "The title", title, TITLE_MAX,
                            required="say in a few words what is being signed off"),
        "reference": check_text(errors, "reference", "The reference", reference, REFERENCE_MAX,
                                required="give the PR URL, commit SHA, document URL or launch name being signed off"),
        "ai_tool": check_text(errors, "ai_tool", "The AI tool", ai_tool, AI_TOOL_MAX),
        "summary": check_text(errors, "summary", "The summary", summary, SUMMARY_MAX),
    }
    if errors:
        raise ApprovalInputError.collect(errors)
    return approval_policy(pb, kind, audience), clean  # type: ignore[arg-type]
