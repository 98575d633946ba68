"""The people a registry form names, checked with users.info against FakeSlack over HTTP."""

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from handlers.registry_context import check_people
from tests.harness.fake_slack import FakeSlack, Fault


@pytest.fixture
def fake():
    with FakeSlack() as fake:
        fake.add_user("U0OWN")
        fake.add_user("U0GONE", deleted=True)
        yield fake


def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=fake.base_url)


async def test_people_who_cannot_act_are_named_in_the_form_errors(fake):
    errors = await check_people(client(fake), "usecase", {"owner": "U0GONE", "contributors": ["U0OWN"]})
    assert list(errors) == ["owner"] and "has left the workspace" in errors["owner"]


@pytest.mark.parametrize("answer", [{"ok": True}, {"ok": True, "user": "U0GONE"}, {"ok": True, "user": None}],
                         ids=["no-user", "user-a-string", "user-null"])
async def test_an_answer_without_the_user_lets_the_name_pass(fake, answer):
    fake.inject_always("users.info", Fault.answer(answer))
    assert await check_people(client(fake), "usecase", {"owner": "U0GONE"}) == {}
