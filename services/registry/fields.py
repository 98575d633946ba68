"""What a use-case or vendor record holds: one list per record type, read by every surface.

Validation, the Slack forms, the record view, the change history and the auditors' export all
walk these lists, so a field added here appears everywhere at once, with one label and one limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from blocks.text import escape
from models.registry import LONG, REVIEW_STATUSES, USECASE_STATUSES
from services.inputs import control_character

TEXT = "text"  # one line
LONG_TEXT = "long"  # multi-line
CHOICE = "choice"
USER = "user"
USERS = "users"
MODELS = "models"  # "provider / model / version / hosting", one per line
LINKS = "links"  # ids of records of the other type
DATE = "date"  # YYYY-MM-DD
URL = "url"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: str
    section: str
    limit: int = LONG
    required: str | None = None  # what is expected, when the field may not be empty
    choices: tuple[tuple[str, str], ...] = ()
    hint: str | None = None
    on_new: bool = True  # shown on the first form (long forms continue in the edit form)

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(value for value, _ in self.choices)

    def choice_label(self, value: str | None) -> str:
        return dict(self.choices).get(value or "", value or "—")


AUDIENCE_CHOICES = (("internal", "Internal — colleagues"), ("external", "External — customers or partners"))
RISK_CHOICES = (("prohibited", "Prohibited"), ("high", "High"), ("limited", "Limited"), ("minimal", "Minimal"))
USECASE_STATUS_CHOICES = tuple((s, s.capitalize()) for s in USECASE_STATUSES)
YES_NO_UNKNOWN = (("no", "No"), ("yes", "Yes"), ("unknown", "Unknown"))
DEPLOYMENT_CHOICES = (("cloud", "Cloud"), ("on_prem", "On-premises"), ("hybrid", "Hybrid"))
INJECTION_CHOICES = (("not_tested", "Not tested"), ("passed", "Tested — resisted"),
                     ("failed", "Tested — vulnerable"), ("partial", "Tested — partly resisted"))
VENDOR_RISK_CHOICES = (("high", "High"), ("medium", "Medium"), ("low", "Low"))
REVIEW_STATUS_CHOICES = tuple(zip(REVIEW_STATUSES, ("Not started", "In review", "Reviewed",
                                                    "Requires follow-up", "Rejected"), strict=True))

USECASE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("title", "Title", TEXT, "About", limit=150, required="name the use case in a few words"),
    FieldSpec("description", "Description", LONG_TEXT, "About", required="say what the AI does here"),
    FieldSpec("owner", "Owner", USER, "About", required="choose who answers for this record"),
    FieldSpec("contributors", "Contributors", USERS, "About"),
    FieldSpec("audience", "Audience", CHOICE, "About", choices=AUDIENCE_CHOICES,
              required="choose internal or external"),
    FieldSpec("purpose", "Purpose and justification", LONG_TEXT, "About",
              required="say why AI is used here and why that is justified"),
    FieldSpec("intended_uses", "Intended uses", LONG_TEXT, "About"),
    FieldSpec("out_of_scope_uses", "Out-of-scope uses", LONG_TEXT, "About"),
    FieldSpec("risk_tier", "Risk tier", CHOICE, "About", choices=RISK_CHOICES,
              required="choose a risk tier"),
    FieldSpec("models", "Models used", MODELS, "Model", limit=2000,
              hint="one per line: provider / model / version / hosting, e.g. "
                   "OpenAI / gpt-4o / 2024-08-06 / vendor cloud"),
    FieldSpec("vendors", "Vendors", LINKS, "Model"),
    FieldSpec("training_data", "Training data: source, and how features are derived from it",
              LONG_TEXT, "Data", on_new=False),
    FieldSpec("features", "Feature derivation", LONG_TEXT, "Data", on_new=False),
    FieldSpec("inference_data", "Inference and test data: source", LONG_TEXT, "Data", on_new=False),
    FieldSpec("predictions", "What the model predicts", LONG_TEXT, "Outputs", on_new=False),
    FieldSpec("output_use", "How its outputs are used", LONG_TEXT, "Outputs", on_new=False),
    FieldSpec("performance", "Performance across classes of data; fairness notes", LONG_TEXT,
              "Outputs", on_new=False),
    FieldSpec("drift", "Drift sensitivity", LONG_TEXT, "Risks", on_new=False),
    FieldSpec("vulnerabilities", "Known vulnerabilities (prompt injection…)", LONG_TEXT, "Risks",
              on_new=False),
    FieldSpec("mitigations", "Mitigations", LONG_TEXT, "Risks", on_new=False),
    FieldSpec("privacy", "Privacy implementation", LONG_TEXT, "Risks", on_new=False),
    FieldSpec("security", "Security implementation", LONG_TEXT, "Risks", on_new=False),
    FieldSpec("oversight", "Human-oversight plan", LONG_TEXT, "Oversight", on_new=False),
    FieldSpec("access_policy", "Who may use it (access policy)", LONG_TEXT, "Oversight",
              on_new=False),
    FieldSpec("consent", "How end users are asked for consent (opt-in)", LONG_TEXT, "Oversight",
              on_new=False),
    FieldSpec("status", "Status", CHOICE, "Review", choices=USECASE_STATUS_CHOICES, on_new=False,
              required="choose a status"),
    FieldSpec("next_review", "Next review date", DATE, "Review", on_new=False,
              hint="leave empty to follow the playbook's revisit cadence"),
)

VENDOR_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("name", "Name", TEXT, "Vendor", limit=150, required="name the vendor"),
    FieldSpec("website", "Website", URL, "Vendor", limit=500),
    FieldSpec("contact", "Contact", TEXT, "Vendor", limit=500),
    FieldSpec("provides", "What it provides", LONG_TEXT, "Vendor",
              required="say what the vendor provides"),
    FieldSpec("use_cases", "Use cases relying on it", LINKS, "Vendor"),
    FieldSpec("data_ownership", "Data ownership", LONG_TEXT, "Data"),
    FieldSpec("trains_on_our_data", "Does our data train their models?", CHOICE, "Data",
              choices=YES_NO_UNKNOWN, required="choose yes, no or unknown"),
    FieldSpec("retention", "Data retention", LONG_TEXT, "Data"),
    FieldSpec("deployment", "Deployment model", CHOICE, "Data", choices=DEPLOYMENT_CHOICES,
              required="choose cloud, on-premises or hybrid"),
    FieldSpec("certifications", "Certifications", LONG_TEXT, "Data"),
    FieldSpec("data_sensitivity", "Data sensitivity handled", LONG_TEXT, "Data"),
    FieldSpec("injection_tested", "Tested against malicious input (prompt injection)", CHOICE,
              "Security", choices=INJECTION_CHOICES, required="choose a test result"),
    FieldSpec("injection_result", "Test details", LONG_TEXT, "Security"),
    FieldSpec("risk_level", "Risk level", CHOICE, "Security", choices=VENDOR_RISK_CHOICES,
              required="choose a risk level"),
    FieldSpec("contingency", "Contingency if the vendor fails", LONG_TEXT, "Security"),
    FieldSpec("review_status", "Review status", CHOICE, "Review", choices=REVIEW_STATUS_CHOICES,
              required="choose a review status"),
    FieldSpec("assignee", "Assignee (keeps the record, prepares the review)", USER, "Review",
              required="choose who keeps this record"),
    FieldSpec("reviewer", "Reviewer (signs the review off; not the assignee)", USER, "Review"),
    FieldSpec("review_result", "Review result", LONG_TEXT, "Review"),
    FieldSpec("next_review", "Next review date", DATE, "Review", on_new=False,
              hint="leave empty to follow the playbook's revisit cadence"),
)

FIELDS = {"usecase": USECASE_FIELDS, "vendor": VENDOR_FIELDS}
BY_NAME = {kind: {f.name: f for f in specs} for kind, specs in FIELDS.items()}

MODELS_MAX = 20
LINKS_MAX = 50
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def parse_models(text: str) -> list[dict[str, str]]:
    """"provider / model / version / hosting" lines → dicts; ValueError names the bad line."""
    models: list[dict[str, str]] = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("/")]
        if len(parts) < 2 or not parts[0] or not parts[1] or len(parts) > 4:
            raise ValueError(
                f"Line {number} (“{escape(line.strip(), 60)}”) is not “provider / model / version / "
                "hosting”: give at least a provider and a model, separated by “/”.")
        parts += [""] * (4 - len(parts))
        models.append(dict(zip(("provider", "model", "version", "hosting"), parts, strict=True)))
    if len(models) > MODELS_MAX:
        raise ValueError(f"{len(models)} models listed; at most {MODELS_MAX}.")
    return models


def format_models(models: list[dict[str, Any]] | None) -> str:
    lines = []
    for m in models or []:
        parts = [m.get("provider", ""), m.get("model", ""), m.get("version", ""), m.get("hosting", "")]
        while parts and not parts[-1]:
            parts.pop()
        lines.append(" / ".join(parts))
    return "\n".join(lines)


def clean(kind: str, raw: dict[str, Any], *, today: date, partial: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """Check and normalise the given fields of a `kind` record.

    Returns (clean values, errors by field). With `partial`, fields not in `raw` are left
    alone; otherwise every required field must be present. Whether users, links and
    permissions are right is the service's business: this only knows shapes.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in FIELDS[kind]:
        if spec.name not in raw:
            if not partial and spec.required and spec.on_new:
                errors[spec.name] = f"{spec.label} is missing: {spec.required}."
            continue
        try:
            values[spec.name] = _clean_one(spec, raw[spec.name], today=today)
        except ValueError as exc:
            errors[spec.name] = str(exc)
    return values, errors


def _clean_one(spec: FieldSpec, value: Any, *, today: date) -> Any:
    if spec.kind in (TEXT, LONG_TEXT, URL):
        text = value.strip() if isinstance(value, str) else ""
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{spec.label} must be text.")
        if not text and spec.required:
            raise ValueError(f"{spec.label} is missing: {spec.required}.")
        if len(text) > spec.limit:
            raise ValueError(f"{spec.label} is {len(text)} characters long; the limit is {spec.limit}.")
        if problem := control_character(spec.label, text):
            raise ValueError(problem)
        if spec.kind == URL and text and not _URL.match(text):
            raise ValueError(f"{spec.label} must be a web address starting with https:// or http://.")
        return text
    if spec.kind == CHOICE:
        if value in (None, "") and spec.required:
            raise ValueError(f"{spec.label} is missing: {spec.required}.")
        if value not in spec.values:
            raise ValueError(f"“{escape(value, 40)}” is not a choice for {spec.label}; "
                             f"choose one of {', '.join(spec.values)}.")
        return value
    if spec.kind == USER:
        if value in (None, ""):
            if spec.required:
                raise ValueError(f"{spec.label} is missing: {spec.required}.")
            return None
        if not isinstance(value, str) or not re.fullmatch(r"[UW][A-Z0-9]{2,31}", value):
            raise ValueError(f"{spec.label} must be a Slack user.")
        return value
    if spec.kind == USERS:
        users = list(dict.fromkeys(value or []))
        if any(not isinstance(u, str) or not re.fullmatch(r"[UW][A-Z0-9]{2,31}", u) for u in users):
            raise ValueError(f"{spec.label} must be Slack users.")
        if len(users) > 20:
            raise ValueError(f"{len(users)} people chosen for {spec.label}; at most 20.")
        return users
    if spec.kind == MODELS:
        text = value if isinstance(value, str) else ""
        if len(text) > spec.limit:
            raise ValueError(f"{spec.label} is {len(text)} characters long; the limit is {spec.limit}.")
        if problem := control_character(spec.label, text):
            raise ValueError(problem)
        return parse_models(text)
    if spec.kind == LINKS:
        try:
            ids = list(dict.fromkeys(int(v) for v in (value or [])))
        except (TypeError, ValueError):
            raise ValueError(f"{spec.label} must be record numbers.") from None
        if len(ids) > LINKS_MAX:
            raise ValueError(f"{len(ids)} records linked in {spec.label}; at most {LINKS_MAX}.")
        return ids
    if spec.kind == DATE:
        if value in (None, ""):
            return None
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"{spec.label} must be a date like 2027-03-31.") from None
        if day <= today:
            raise ValueError(f"{spec.label} must be after today ({today.isoformat()}).")
        if (day - today).days > 3 * 366:
            raise ValueError(f"{spec.label} is more than three years away; review sooner.")
        return day
    raise AssertionError(spec.kind)
