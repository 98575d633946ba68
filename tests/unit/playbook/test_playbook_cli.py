import argparse

import pytest

from bot.cli_playbook import add_commands

BROKEN = """\
version: 1
timezone: Europe/Berlin
admins: [U01ADMIN]
channels: {governance: C01GOV}
approvals:
  code: {approvers: [nobody], required: 0}
  copy: {approvers: [], remind_after: soon}
"""


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="countersign")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_check_valid_prints_summary(example_path, capsys):
    assert run("playbook", "check", str(example_path)) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Playbook v1 — Fernweh Travel")
    assert "on call now:" in out
    assert f"OK: {example_path} (version 1, sha256 " in out
    assert err == ""


def test_check_invalid_lists_every_issue_on_stderr(tmp_path, capsys):
    path = tmp_path / "playbook.yaml"
    path.write_text(BROKEN)
    assert run("playbook", "check", str(path)) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{path}:6: approvals.code.required: found 0, expected at least 1",
        f"{path}:7: approvals.copy.approvers: found an empty list, expected at least one approver group",
        f"{path}:7: approvals.copy.remind_after: found 'soon', expected a duration like 90m, 24h, 7d, 1w or 1h30m (write a number followed by a unit (w, d, h, m or s))",
        f"3 problems in {path}",
    ]


def test_check_defaults_to_playbook_path_from_the_environment(example_path, monkeypatch, capsys):
    monkeypatch.setenv("PLAYBOOK_PATH", str(example_path))
    assert run("playbook", "check") == 0
    monkeypatch.delenv("PLAYBOOK_PATH")
    monkeypatch.chdir(example_path.parent.parent)  # no playbook.yaml here
    assert run("playbook", "check") == 1
    assert "playbook.yaml: found no readable file" in capsys.readouterr().err


def test_explain_kind(example_path, capsys):
    assert run("playbook", "explain", "--kind", "launch", "--audience", "external", str(example_path)) == 0
    out = capsys.readouterr().out
    assert out.startswith("Sign-off for launch (external audience)\nNeeds 3 approvals, each from a different group of: eng-leads, security, legal.\n")
    assert "  legal: members of usergroup S04LGL3R7TW\n" in out
    assert "  - opt-in-consent: " in out


def test_explain_severity_at_a_local_time(example_path, capsys):
    # 08:58 without an offset is Berlin time (CEST, 06:58Z): U03KX8D2L4A is on call until 09:00.
    assert run("playbook", "explain", "--severity", "sev1", "--at", "2026-03-30T08:58", str(example_path)) == 0
    out = capsys.readouterr().out
    assert "    +0m      Mon 30 Mar 2026 08:58 CEST  rotation:ai-primary → U03KX8D2L4A\n" in out
    assert "    +30m     Mon 30 Mar 2026 09:28 CEST  rotation:ai-primary → U04A2C6V8NC\n" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--kind", "deploy"], "no approval kind 'deploy' in the playbook"),
        (["--severity", "sev9"], "no severity 'sev9' in the playbook"),
        (["--severity", "sev1", "--at", "yesterday"], "--at: "),
    ],
)
def test_explain_unknown_names_exit_1(example_path, capsys, argv, message):
    assert run("playbook", "explain", *argv, str(example_path)) == 1
    assert message in capsys.readouterr().err


def test_explain_needs_exactly_one_question(example_path):
    with pytest.raises(SystemExit) as caught:
        run("playbook", "explain", str(example_path))
    assert caught.value.code == 2


def test_render_to_stdout_and_to_a_file(example_path, tmp_path, capsys):
    assert run("playbook", "render", "--audience", "external", str(example_path)) == 0
    assert capsys.readouterr().out.startswith("# How Fernweh Travel")
    target = tmp_path / "AI-POLICY.md"
    assert run("playbook", "render", "--audience", "internal", "--output", str(target), str(example_path)) == 0
    assert "### Copy (for colleagues)" in target.read_text(encoding="utf-8")
    assert capsys.readouterr().out == ""


def test_render_invalid_playbook_exits_1(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(BROKEN)
    assert run("playbook", "render", "--audience", "internal", str(path)) == 1
    assert "approvals.code.required" in capsys.readouterr().err
