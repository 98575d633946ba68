"""What marks a pull request as AI-made, and what does not."""

from __future__ import annotations

import pytest

from services.playbook.schema import Markers
from services.pull_requests.markers import Commit, PullRequest, find, shown

PR = PullRequest(repository="acme/api", number=7, url="https://github.com/acme/api/pull/7",
                 title="Retry billing", head_sha="a" * 40, author_login="octocat", author_id=583231)


def pr(**changes: object) -> PullRequest:
    return PullRequest(**{**PR.__dict__, **changes})


def commit(message: str, **changes: object) -> Commit:
    return Commit(**{"sha": "b" * 40, "message": message, "author_login": "octocat",
                     "author_id": 583231, "author_email": "octocat@github.com", **changes})


@pytest.mark.parametrize("trailer", [
    "Co-authored-by: Claude <noreply@anthropic.com>",
    "Co-Authored-By: Claude Opus 4.5 <noreply@anthropic.com>",
    "co-authored-by: Cursor Agent <cursoragent@cursor.com>",
    "Co-authored-by: Copilot <copilot@github.com>",
    "Co-authored-by: aider (gpt-4o) <aider@aider.chat>",
    "Co-authored-by: devin-ai-integration[bot] <158243242+devin-ai-integration[bot]@users.noreply.github.com>",
])
def test_built_in_trailers_mark_a_commit(trailer: str) -> None:
    found = find(Markers(), PR, [commit(f"Fix retries\n\n{trailer}\n")])
    assert len(found.markers) == 1 and found.markers[0].startswith("commit bbbbbbb: Co-authored-by:")


@pytest.mark.parametrize("message", [
    "Fix the cursor position after paste",
    "Co-authored-by: Claude Monet <claude@monet.example>",  # a person named Claude
    "Co-authored-by: Ada <12345+ada@users.noreply.github.com>",  # a person's private address
    "Mention noreply@anthropic.com in the docs",  # not a trailer line
])
def test_names_and_words_are_not_markers(message: str) -> None:
    assert find(Markers(), PR, [commit(message)]).markers == []


def test_agent_accounts_count_by_id_and_bot_login_but_not_by_a_plain_login() -> None:
    assert find(Markers(), pr(author_login="claude[bot]", author_id=None), []).markers == \
        ["opened by claude[bot]"]
    assert find(Markers(), pr(author_login="Copilot", author_id=198982749), []).markers == \
        ["opened by Copilot"]
    # "Copilot" is matched by its id only: the login alone proves nothing.
    assert find(Markers(), pr(author_login="Copilot", author_id=1), []).markers == []
    assert find(Markers(), PR, [commit("x", author_login="devin-ai-integration[bot]",
                                       author_id=158243242)]).markers == \
        ["commit bbbbbbb by devin-ai-integration[bot]"]


def test_a_team_s_labels_accounts_trailers_and_body_text_count() -> None:
    markers = Markers(accounts=(583231,), trailers=("*@agents.acme.example>",),
                      body=("Drafted by Acme Agent",), labels=("AI-Generated",))
    found = find(markers, pr(labels=("ai-generated", "bug"), body="Drafted by acme agent, checked"),
                 [commit("y\n\nCo-authored-by: Bot <x@agents.acme.example>")])
    assert found.markers == [
        "opened by octocat", "label ai-generated", "description says “Drafted by Acme Agent”",
        "commit bbbbbbb by octocat", "commit bbbbbbb: Co-authored-by: Bot <x@agents.acme.example>"]


def test_built_in_markers_can_be_turned_off() -> None:
    claude = [commit("z\n\nCo-authored-by: Claude <noreply@anthropic.com>")]
    assert find(Markers(built_in=False), pr(body="🤖 Generated with [Claude Code](https://claude.com/claude-code)"),
                claude).markers == []
    found = find(Markers(), pr(body="🤖 Generated with [Claude Code](https://claude.com/claude-code)"), [])
    assert found.markers == ["description says “Generated with [Claude Code]”"]
    assert found.tool == "Claude Code"


def test_many_markers_are_shown_as_the_first_ten_and_a_count() -> None:
    many = [f"m{i}" for i in range(14)]
    assert shown(many) == [*many[:10], "and 4 more"]
    assert shown(many[:3]) == many[:3]
