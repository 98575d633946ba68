"""What services/usage/views.py hands the usage builders, at its largest and with hostile names
(anyone holding an ingest token chooses every model, provider, service and user id)."""

from __future__ import annotations

from typing import Any

AT = "2026-12-09T23:30:00+00:00"  # already the 10th in Berlin
HOSTILE_NAME = "<!channel> *bold* <@U999> <https://evil|click> &lt;!here&gt; `x`"


def model(name: str = "gpt-4o-2024-08-06", provider: str | None = "openai", events: int = 12,
          **extra: Any) -> dict[str, Any]:
    return {"model": name, "provider": provider, "events": events, "input_tokens": 1200,
            "output_tokens": 300, "cost_usd": 0.0123, "first_seen": AT, "last_seen": AT, **extra}


def documented(name: str = "gpt-4o", provider: str = "OpenAI", version: str = "2024-08-06",
               observed: list[str] | None = None, events: int = 0) -> dict[str, Any]:
    return {"provider": provider, "model": name, "version": version, "events": events,
            "observed": observed or [], "last_seen": AT if events else None}


def observed(name: str = HOSTILE_NAME, many: int = 1) -> dict[str, Any]:
    """Every list of the observed section filled `many` times over."""
    seen = [model(f"{name}-{i}", name, documented=True) for i in range(many)]
    stray = [model(f"{name}-stray-{i}", name, documented=False) for i in range(many)]
    return {"use_case": "UC-3", "days": 30, "since": AT, "until": AT, "events": 24 * many,
            "models": seen + stray,
            "services": [{"service": f"{name}-svc-{i}", "events": 5, "last_seen": AT} for i in range(many)]
            + [{"service": None, "events": 1, "last_seen": AT}],
            "documented_seen": [documented(name, name, name, [m["model"] for m in seen] * 3, 12)
                                for _ in range(many)],
            "undocumented": stray,
            "not_seen": [documented(f"{name}-old-{i}", name, name) for i in range(many)]}


def summary(name: str = HOSTILE_NAME, events: int = 1234) -> dict[str, Any]:
    return {"since": "2026-12-03T09:00:00+00:00", "until": "2026-12-10T09:00:00+00:00",
            "model": name, "user": name, "use_case": "UC-3", "by_day_through": "2026-06-01",
            "events": events, "input_tokens": 123456, "output_tokens": 7890, "cost_usd": 12.5,
            "people": 7, "services": 3, "models": 40,
            "top_models": [model(f"{name}-{i}", name) for i in range(5)] if events else [],
            "top_people": [{"user": "U0BOB", "events": 9}, {"user": name, "events": 3}] if events else []}


def week(name: str = HOSTILE_NAME, events: int = 99, alerts: int = 4) -> dict[str, Any]:
    return {"since": "2026-12-03T09:00:00+00:00", "until": "2026-12-10T09:00:00+00:00",
            "events": events, "people": 1,
            "top_models": [model(f"{name}-{i}", name) for i in range(5)] if events else [],
            "new_models": [{"model": f"{name}-new-{i}", "provider": name, "events": 2, "first_seen": AT}
                           for i in range(5)] if events else [],
            "new_models_total": 7 if events else 0,
            "alerts": [{"rule": "undocumented_model", "count": alerts - 1}, {"rule": name, "count": 1}]
            if alerts else [],
            "alerts_total": alerts}


def open_alerts(name: str = HOSTILE_NAME, total: int = 12) -> dict[str, Any]:
    items = [{"id": i, "rule": "undocumented_model", "day": "2026-12-09", "summary": name * 20,
              "raised_at": AT} for i in range(min(total, 5))]
    return {"total": total, "items": items}
