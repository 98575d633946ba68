"""What the registry says about observed AI use: which models approved use cases document,
each use case's standing, and whether a provider's vendor is reviewed.

Matching an observed model to a registry line ("provider / model / version / hosting"):
- names compare without regard to case, and an observed `openai/gpt-4o` (LiteLLM spells
  models with their provider) is read as `gpt-4o`;
- the observed name equals the line's model, or the model and version joined by `-`, or the
  line's model followed by `-`, `@` or `:` and nothing but version stamps (digits, dots, `v1`,
  `latest`, joined by `-`, `:` or `.`): `gpt-4o` documents `gpt-4o-2024-08-06` and
  `claude-3-5-sonnet@20240620`, but not `gpt-4o-mini`, which is another model;
- when both the line and the event name a provider they must be the same, ignoring case and
  anything not a letter or digit (`OpenAI` is `openai`); a line or event without one matches
  on the model alone.

A provider's vendor is the registry vendor whose name, compared the same way, is the provider
or starts with it (`OpenAI` or `OpenAI Ireland Ltd` for `openai`). Only a provider with vendor
records and none of them reviewed counts as "not reviewed": a provider nobody has recorded as a
vendor is judged by its models' documentation alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from models.registry import APPROVED, PROHIBITED, REVIEWED, UseCase, Vendor

_USE_CASE_REF = re.compile(r"^UC-([0-9]{1,9})$", re.IGNORECASE)
_STAMP = r"(?:v?[0-9][0-9.]*|latest)"
_VERSION_TAIL = re.compile(rf"^{_STAMP}(?:[-:.]{_STAMP})*$")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
# Words in a Privacy field that say "no personal data here" (the whole field, or how it starts).
_NO_PERSONAL_DATA = re.compile(
    r"^\s*(?:(?:none|n/?a|not applicable|nothing)\s*[.!]?\s*$|no personal data\b|no pii\b)",
    re.IGNORECASE)


def squashed(name: str | None) -> str:
    """`name` lower-cased with everything but letters and digits left out: `Azure OpenAI` →
    `azureopenai`."""
    return _NOT_ALNUM.sub("", (name or "").lower())


def _bare_model(model: str) -> str:
    name = model.strip().lower()
    return name.rsplit("/", 1)[-1] if "/" in name else name


def model_matches(line_model: str, line_version: str, observed: str) -> bool:
    documented = line_model.strip().lower()
    if not documented:
        return False
    seen = _bare_model(observed)
    version = line_version.strip().lower()
    if seen == documented or (version and seen == f"{documented}-{version}"):
        return True
    for sep in "-@:":
        if seen.startswith(documented + sep):
            return _VERSION_TAIL.match(seen[len(documented) + 1:]) is not None
    return False


def provider_matches(line_provider: str, observed: str | None) -> bool:
    documented, seen = squashed(line_provider), squashed(observed)
    return not documented or not seen or documented == seen


@dataclass(frozen=True)
class ModelLine:
    provider: str
    model: str
    version: str

    def documents(self, provider: str | None, model: str) -> bool:
        return provider_matches(self.provider, provider) and \
            model_matches(self.model, self.version, model)


@dataclass(frozen=True)
class UseCaseFacts:
    id: int
    ref: str
    title: str
    status: str
    risk_tier: str
    next_review_at: datetime
    privacy: str
    models: tuple[ModelLine, ...]

    def problem(self, now: datetime) -> str | None:
        """Why usage attributed to this use case is not on sound footing, or None."""
        if self.risk_tier == PROHIBITED:
            return "is in the prohibited risk tier"
        if self.status != APPROVED:
            return f"is {self.status}, not approved"
        if self.next_review_at <= now:
            return f"is overdue for review (due {self.next_review_at.date().isoformat()})"
        return None

    @property
    def says_no_personal_data(self) -> bool:
        """Its Privacy implementation is empty or says there is none: the record does not
        account for personal data (the registry has no yes/no field for it)."""
        return not self.privacy.strip() or _NO_PERSONAL_DATA.match(self.privacy) is not None


@dataclass(frozen=True)
class VendorFacts:
    id: int
    ref: str
    name: str
    review_status: str

    def is_provider(self, provider: str | None) -> bool:
        seen = squashed(provider)
        return bool(seen) and squashed(self.name).startswith(seen)


@dataclass(frozen=True)
class Documented:
    """The registry as the rules read it, loaded once per batch."""

    approved: tuple[UseCaseFacts, ...]  # the use cases whose model lines count as documentation
    use_cases: dict[str, UseCaseFacts]  # by ref (upper case), those the batch names
    vendors: tuple[VendorFacts, ...]

    def documenting(self, provider: str | None, model: str) -> list[UseCaseFacts]:
        return [u for u in self.approved if u.risk_tier != PROHIBITED
                and any(line.documents(provider, model) for line in u.models)]

    def unreviewed_vendor(self, provider: str | None) -> list[VendorFacts]:
        """The provider's vendor records when none of them is reviewed; [] otherwise."""
        theirs = [v for v in self.vendors if v.is_provider(provider)]
        if any(v.review_status == REVIEWED for v in theirs):
            return []
        return theirs

    def use_case(self, ref: str) -> UseCaseFacts | None:
        return self.use_cases.get(ref.upper())


def use_case_number(ref: str | None) -> int | None:
    found = _USE_CASE_REF.match(ref or "")
    return int(found.group(1)) if found else None


def _facts(record: UseCase) -> UseCaseFacts:
    lines = tuple(ModelLine(str(m.get("provider") or ""), str(m.get("model") or ""),
                            str(m.get("version") or "")) for m in record.models or [])
    return UseCaseFacts(id=record.id or 0, ref=f"UC-{record.id}", title=record.title,
                        status=record.status, risk_tier=record.risk_tier,
                        next_review_at=record.next_review_at, privacy=record.privacy or "",
                        models=lines)


def load(session: Session, named: Iterable[str]) -> Documented:
    """The approved use cases, the use cases `named` (refs like UC-12) and every vendor."""
    approved = [_facts(u) for u in session.exec(select(UseCase).where(UseCase.status == APPROVED))]
    wanted = {n for n in (use_case_number(ref) for ref in named) if n is not None}
    by_id = {u.id: u for u in approved}
    missing = sorted(n for n in wanted if n not in by_id and n < 2**31)
    if missing:
        for record in session.exec(select(UseCase).where(col(UseCase.id).in_(missing))):
            by_id[record.id] = _facts(record)
    vendors = tuple(VendorFacts(v.id or 0, f"V-{v.id}", v.name, v.review_status)
                    for v in session.exec(select(Vendor)))
    return Documented(approved=tuple(approved),
                      use_cases={u.ref: u for n, u in by_id.items() if n in wanted},
                      vendors=vendors)
