"""private_metadata parts come back from the client: only the exact shapes we wrote pass."""

import pytest

from handlers import metadata


@pytest.mark.parametrize("text", ["C0123ABC", "G01AB", "D0LONGID42"])
def test_a_channel_id_we_wrote_passes(text: str) -> None:
    assert metadata.channel_id(text) == text


@pytest.mark.parametrize("text", ["C0123ABC\n", " C0123ABC", "U0123ABC", "C" + "A" * 40, "c0123abc"])
def test_anything_else_is_not_a_channel_id(text: str) -> None:
    with pytest.raises(metadata.BadMetadata):
        metadata.channel_id(text)


@pytest.mark.parametrize("text", ["1700000000.000100\n", "1700000000", "1.2.3", "9" * 13 + ".1"])
def test_a_message_ts_is_digits_dot_digits_and_nothing_more(text: str) -> None:
    with pytest.raises(metadata.BadMetadata):
        metadata.message_ts(text)
    assert metadata.message_ts("1700000000.000100") == "1700000000.000100"
