from pathlib import Path

import pytest

from services.playbook import PlaybookError, load_playbook_text

EXAMPLE = Path(__file__).resolve().parents[3] / "playbook.example.yaml"


@pytest.fixture
def example_path() -> Path:
    return EXAMPLE


@pytest.fixture
def issues_of():
    """Load YAML text that must be invalid; return its issues."""

    def load(text: str):
        with pytest.raises(PlaybookError) as caught:
            load_playbook_text(text)
        return caught.value.issues

    return load
