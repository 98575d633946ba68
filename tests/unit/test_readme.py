"""README stays true: its commands are the ones CI runs, its examples validate, its
configuration table covers every setting."""

import re

import pytest
import yaml

from bot.settings import Settings
from services.playbook import PlaybookError, load_playbook_text
from tests.harness.paths import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def fenced(lang: str, text: str = README) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else None]


def deep_merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def test_ci_runs_exactly_the_readme_test_command():
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    [ci_cmd] = re.findall(r"^TEST_CMD='(.*)'$", ci, flags=re.M)
    marker = README.index("<!-- test-command")
    readme_cmd = fenced("sh")
    after_marker = [c for c in readme_cmd if README.index(c) > marker][0].strip()
    assert after_marker == ci_cmd


def test_quick_start_installs_and_serves():
    run = fenced("sh")[0].strip()
    assert "pip install" in run and run.endswith("countersign serve")


def test_every_setting_is_documented():
    for name in Settings.model_fields:
        assert f"`{name.upper()}`" in README, f"{name.upper()} is missing from README"


YAML_BLOCKS = fenced("yaml", section("The playbook"))


def test_the_readme_has_playbook_examples():
    assert len(YAML_BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(YAML_BLOCKS)))
def test_every_readme_playbook_example_validates(index):
    minimal = yaml.safe_load(YAML_BLOCKS[0])
    document = yaml.safe_load(YAML_BLOCKS[index])
    merged = document if "version" in document else deep_merge(minimal, document)
    try:
        load_playbook_text(yaml.safe_dump(merged, sort_keys=False), f"README example {index}")
    except PlaybookError as error:
        pytest.fail(f"README example {index} does not validate:\n{error}")


def test_the_readme_error_example_is_what_check_prints():
    """The sample message in README is produced by the loader for that mistake."""
    [sample] = re.findall(r"`(playbook\.yaml:\d+: approvals\.copy\.external\.required:.*?)`",
                          README.replace("\n", " "), flags=re.S)
    text = (REPO_ROOT / "playbook.example.yaml").read_text()
    broken = text.replace("required: 2\n      distinct_groups: true        # one from marketing",
                          "required: 3\n      distinct_groups: true        # one from marketing")
    assert broken != text
    with pytest.raises(PlaybookError) as error:
        load_playbook_text(broken, "playbook.yaml")
    messages = [str(i) for i in error.value.issues]
    assert " ".join(sample.split()) in messages, messages


def test_the_readme_offers_snooze_only_where_the_nudge_does():
    # The "due soon" DM has no Snooze (tests/unit/test_registry_blocks.py): a review is put off
    # once it is due. The README must not promise it before.
    nudges = section("Living documentation: use cases and vendors").split("**Revisit nudges.**")[1].split("\n- ")[0]
    heads_up, on_the_day = nudges.split("on the day", 1)
    assert "**Snooze**" not in heads_up and "**Snooze**" in on_the_day


def test_the_redaction_rules_listed_are_the_ones_applied_in_that_order():
    from services.usage import redaction

    text = section("AI usage: what was used, by whom")
    listed = re.findall(r"^\| `([a-z_]+)` \| (.*) \|$", text, flags=re.M)
    assert listed == [(r.name, r.description.replace("|", "/")) for r in redaction.RULES]


def test_the_native_ingest_example_is_a_valid_batch():
    from services.usage import native

    text = section("AI usage: what was used, by whom")
    [body] = re.findall(r"-d '(\{\"events\".*?)'\n", text, flags=re.S)
    kept, problems = native.batch(body.encode())
    assert problems == [] and [o.key for o in kept] == ["native:evt-1"]
