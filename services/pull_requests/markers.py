"""What marks a pull request as AI-made: its author, its commits' authors and trailers, its
description and its labels — each marker found said in words, for the request and the check.

The built-in markers are those today's AI coding agents leave (their GitHub accounts by numeric
id, which unlike a login is never renamed or reused; their Co-authored-by addresses; the
footers they write). A trailer is easy to strip, so a team's labels and the check run's
"Request sign-off" button count as much as any trailer.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.playbook.schema import Markers

# GitHub accounts of AI coding agents: numeric id → login.
BUILT_IN_ACCOUNTS: dict[int, str] = {
    198982749: "Copilot",  # the Copilot coding agent (copilot-swe-agent[bot] in events)
    167198135: "copilot[bot]",
    209825114: "claude[bot]",
    215619710: "anthropic-claude[bot]",
    208546643: "claude-code-action[bot]",
    158243242: "devin-ai-integration[bot]",
    206951365: "cursor[bot]",
    201670782: "cursoragent[bot]",
    199175422: "chatgpt-codex-connector[bot]",
    215057067: "openai-codex[bot]",
    161369871: "google-labs-jules[bot]",
    176961590: "gemini-code-assist[bot]",
    208079219: "amazon-q-developer[bot]",
}
# Logins ending in [bot] belong to GitHub Apps and cannot be taken by a person, so these are
# safe to match by name too (webhooks name the Copilot agent by this login).
BUILT_IN_BOT_LOGINS = frozenset({"copilot-swe-agent[bot]", *(
    login for login in BUILT_IN_ACCOUNTS.values() if login.endswith("[bot]"))})
# Co-authored-by values, matched whole and in any case. Addresses, not names: "Claude" or
# "Cursor" alone is a person's name or a word in a commit message.
BUILT_IN_TRAILERS = (
    "*<*@anthropic.com>",
    "*<cursoragent@cursor.com>",
    "*<copilot@github.com>",
    "*<*@aider.chat>",
    "*<amp@ampcode.com>",
    "*<codex@openai.com>",
    *(f"*<{account}+*@users.noreply.github.com>" for account in BUILT_IN_ACCOUNTS),
)
# Text agents put in a description or a commit message.
BUILT_IN_TEXT = ("Generated with [Claude Code]", "Replit-Commit-Author: Agent",
                 "Replit-Commit-Author: Assistant")
_TRAILER = re.compile(r"^[ \t]*co-authored-by:[ \t]*(.+?)[ \t]*$", re.IGNORECASE | re.MULTILINE)
_NOREPLY = re.compile(r"^(\d+)\+[^@]+@users\.noreply\.github\.com$", re.IGNORECASE)
MAX_MARKERS = 10  # shown; the rest are counted


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str
    author_login: str | None = None  # the GitHub account the commit is linked to, if any
    author_id: int | None = None
    author_email: str | None = None  # as git recorded it


@dataclass(frozen=True)
class PullRequest:
    repository: str  # owner/name
    number: int
    url: str
    title: str
    head_sha: str
    author_login: str | None
    author_id: int | None
    body: str = ""
    labels: tuple[str, ...] = ()
    draft: bool = False
    additions: int | None = None
    deletions: int | None = None
    changed_files: int | None = None
    merged: bool = False


@dataclass
class Found:
    markers: list[str] = field(default_factory=list)
    tool: str | None = None  # the agent named by the first marker that names one

    def add(self, marker: str, tool: str | None = None) -> None:
        if marker not in self.markers:
            self.markers.append(marker)
        self.tool = self.tool or tool


def find(config: Markers, pr: PullRequest, commits: Sequence[Commit]) -> Found:
    found = Found()
    accounts = {a for a in config.accounts if isinstance(a, int)}
    logins = {a.lower() for a in config.accounts if isinstance(a, str)}
    if config.built_in:
        accounts |= set(BUILT_IN_ACCOUNTS)
        logins |= {login.lower() for login in BUILT_IN_BOT_LOGINS}
    trailers = tuple(config.trailers) + (BUILT_IN_TRAILERS if config.built_in else ())
    texts = tuple(config.body) + (BUILT_IN_TEXT if config.built_in else ())

    def account(login: str | None, account_id: int | None) -> bool:
        return (account_id is not None and account_id in accounts) or \
            (login is not None and login.lower() in logins)

    if account(pr.author_login, pr.author_id):
        found.add(f"opened by {pr.author_login or pr.author_id}", pr.author_login)
    wanted = {label.lower() for label in config.labels}
    for label in pr.labels:
        if label.lower() in wanted:
            found.add(f"label {label}")
    for text in texts:
        if text.lower() in (pr.body or "").lower():
            found.add(f"description says “{text}”", _tool_of(text))
    for commit in commits:
        short = commit.sha[:7]
        if account(commit.author_login, commit.author_id):
            found.add(f"commit {short} by {commit.author_login or commit.author_id}",
                      commit.author_login)
        noreply = _NOREPLY.match(commit.author_email or "")
        if noreply and int(noreply.group(1)) in accounts:
            found.add(f"commit {short} authored as {commit.author_email}")
        for value in _TRAILER.findall(commit.message or ""):
            if any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in trailers):
                found.add(f"commit {short}: Co-authored-by: {value[:120]}", value.split("<")[0].strip())
        for text in texts:
            if text.lower() in (commit.message or "").lower():
                found.add(f"commit {short} says “{text}”", _tool_of(text))
    return found


def _tool_of(text: str) -> str | None:
    return "Claude Code" if "Claude Code" in text else None


def shown(markers: Sequence[str]) -> list[str]:
    """The markers a message shows: the first few, then how many more."""
    if len(markers) <= MAX_MARKERS:
        return list(markers)
    return [*markers[:MAX_MARKERS], f"and {len(markers) - MAX_MARKERS} more"]
