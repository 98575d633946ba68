"""Live markup a hostile person typed, found in what the bot sent Slack.

Only the text Slack parses for mentions and links counts (tests/harness/markup.parsed_texts):
plain-text objects — headers, buttons, inputs, a form's `errors` — are shown as typed, so
`<!channel>` there pings nobody.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.harness.markup import BROADCASTS, parsed_texts
from tests.harness.server import EXAMPLE_PLAYBOOK

# What the fuzz types into every field. S1 is never a playbook group, so `<!subteam^S1` live
# came from typed text. A bare `<@U1>` may be live: `/ai-oncall <@U1>` names a person, and the
# answer mentions whom it was asked about, built from the checked id. The bot never gives a
# mention a label, nor a link the label "x" (its links show their own URL), so `<@U1|evil>` and
# `<https://evil.example|x>` live can only be what someone typed.
TYPED = ("<!channel>", "<!here>", "<!everyone>", "<!subteam^S1>", "<@U1>", "<@U1|evil>",
         "<https://evil.example|x>", "<!channel|@channel>", "<!here|here>")


def _playbook_usergroups() -> list[str]:
    groups = yaml.safe_load(EXAMPLE_PLAYBOOK.read_text())["groups"]
    return [g["usergroup"] for g in groups.values() if "usergroup" in g]


# `<!subteam^…>` the bot builds itself mentions the playbook's groups; any other was typed.
_OURS = "|".join(re.escape(g) for g in _playbook_usergroups())
LIVE = re.compile("|".join(re.escape(b) for b in BROADCASTS)
                  + rf"|<@U1\||<https://evil\.example\|x>|<!subteam\^(?!(?:{_OURS})[>|])")


def leaks(payload: Any) -> list[str]:
    """The live markup in `payload` (Web API arguments, a response_url post, an ack body),
    each with a little context."""
    found = []
    for text in parsed_texts(payload):
        for match in LIVE.finditer(text):
            found.append(text[max(0, match.start() - 40):match.end() + 40])
    return found
