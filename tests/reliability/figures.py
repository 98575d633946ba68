"""The hostile-input figures of a whole run, summed over every test that fuzzed the bot, for the
report the issue asks for (conftest prints them at the end of the session)."""

from __future__ import annotations

from collections import Counter

FIELDS = ("requests fuzzed", "5xx", "tracebacks", "markup leaks", "unanswered",
          "rows written by refused requests", "signature cases", "signature cases not 401",
          "secret sightings")

TOTALS: Counter[str] = Counter()
# One JSON line per reliability test that measured something (workload.report), in run order,
# so CI's output carries every figure of the README's Reliability table, not only with -s.
REPORTS: list[str] = []


def add(figures: dict[str, int]) -> None:
    TOTALS.update(figures)


def reported(line: str) -> None:
    REPORTS.append(line)


def summary() -> str | None:
    if not TOTALS:
        return None
    return " · ".join(f"{name}: {TOTALS[name]}" for name in FIELDS if name in TOTALS)
