"""`countersign token create|list|revoke`, the documented commands, on the bot's database: the
token printed once works against the running bot, the list never shows a hash, a revoked token
is refused from its next request; refusals exit 1, malformed requests 2, each saying why."""

import hashlib
import re

import httpx
from sqlalchemy import select

from models.api_token import ApiToken
from models.audit import AuditEvent
from tests.harness.server import bot_env, run_cli


def token_cli(database_url, tmp_path, *args):  # noqa: ANN001, ANN201
    env = bot_env(database_url=database_url, slack_api_url="http://127.0.0.1:9/api/")
    return run_cli(["token", *args], env, tmp_path)


def test_a_created_token_works_until_it_is_revoked(bot, db, database_url, tmp_path):  # noqa: ANN001
    created = token_cli(database_url, tmp_path, "create", "release-bot", "--scope", "gate,audit")
    assert created.returncode == 0, created.stderr
    [token] = created.stdout.splitlines()
    assert re.fullmatch(r"cs_[A-Za-z0-9_-]{43}", token)
    assert created.stderr.strip() == (
        "Token 'release-bot' created with scope gate,audit. It is shown only now: Countersign keeps "
        "only its SHA-256 hash, so copy it to your secret store.")
    with db.session() as s:
        [stored] = s.scalars(select(ApiToken)).all()
        [event] = s.scalars(select(AuditEvent)).all()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert (event.action, event.entity_id, event.payload) == ("token.created", "release-bot",
                                                              {"scopes": ["gate", "audit"]})
    assert event.actor.startswith("cli:") and stored.created_by == event.actor

    ask = {"headers": {"Authorization": f"Bearer {token}"}, "timeout": 30}
    assert httpx.get(f"{bot.url}/api/v1/gate", params={"ref": "v1.2"}, **ask).status_code == 200
    assert httpx.get(f"{bot.url}/api/v1/audit/events", **ask).status_code == 200

    revoked = token_cli(database_url, tmp_path, "revoke", "release-bot")
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == "Token 'release-bot' revoked: the API refuses it from its next request on."
    assert httpx.get(f"{bot.url}/api/v1/gate", params={"ref": "v1.2"}, **ask).status_code == 401

    again = token_cli(database_url, tmp_path, "revoke", "release-bot")
    assert again.returncode == 1 and again.stdout == ""
    assert re.fullmatch(r"countersign token revoke: the token 'release-bot' was already revoked on "
                        r"\d{4}-\d\d-\d\d \d\d:\d\d UTC\n", again.stderr)


def test_list_shows_name_scopes_dates_and_never_the_hash(db, database_url, tmp_path):  # noqa: ANN001
    empty = token_cli(database_url, tmp_path, "list")
    assert empty.returncode == 0 and empty.stdout == ""
    assert "no tokens yet" in empty.stderr
    first = token_cli(database_url, tmp_path, "create", "siem", "--scope", "audit").stdout.strip()
    token_cli(database_url, tmp_path, "create", "github-ci", "--scope", "gate")
    token_cli(database_url, tmp_path, "revoke", "github-ci")
    listed = token_cli(database_url, tmp_path, "list")
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["NAME", "SCOPES", "CREATED", "(UTC)", "BY", "LAST", "USED", "REVOKED"]
    when = r"\d{4}-\d\d-\d\d \d\d:\d\d"
    assert re.fullmatch(rf"github-ci\s+gate\s+{when}\s+cli:\S+\s+-\s+{when}", rows[0])
    assert re.fullmatch(rf"siem\s+audit\s+{when}\s+cli:\S+\s+-\s+-", rows[1])
    assert len(rows) == 2
    with db.session() as s:
        hashes = s.scalars(select(ApiToken.token_hash)).all()
    assert len(hashes) == 2 and not any(h in listed.stdout or h[:12] in listed.stdout for h in hashes)
    assert first not in listed.stdout


def test_refusals_exit_1_and_malformed_requests_exit_2(db, database_url, tmp_path):  # noqa: ANN001
    assert token_cli(database_url, tmp_path, "create", "ci", "--scope", "gate").returncode == 0
    cases = [
        (("create", "ci", "--scope", "audit"), 1,
         "countersign token create: a token named 'ci' exists already (it is in use): choose another name"),
        (("revoke", "nope"), 1,
         "countersign token revoke: there is no token named 'nope' (`countersign token list` shows them)"),
        (("create", "deploy", "--scope", "gate,admin"), 2,
         "countersign token create: unknown scope 'admin': the scopes are gate, audit, ingest"),
        (("create", "Deploy Bot", "--scope", "gate"), 2,
         "countersign token create: token name 'Deploy Bot' is not valid: use 1 to 64 characters of "
         "a-z, 0-9, '.', '_' and '-' (e.g. github-ci)"),
    ]
    for args, code, message in cases:
        result = token_cli(database_url, tmp_path, *args)
        assert (result.returncode, result.stdout, result.stderr.strip()) == (code, "", message), args
    missing = token_cli(database_url, tmp_path, "create", "deploy")
    assert missing.returncode == 2 and "the following arguments are required: --scope" in missing.stderr
    with db.session() as s:
        assert s.scalars(select(ApiToken.name)).all() == ["ci"]
        assert s.scalars(select(AuditEvent.action)).all() == ["token.created"]


def test_an_unusable_database_is_exit_2_naming_database_url(tmp_path):  # noqa: ANN001
    result = token_cli(f"sqlite:///{tmp_path / 'missing' / 'countersign.db'}", tmp_path, "list")
    assert result.returncode == 2
    assert result.stderr.startswith("countersign: cannot use the database at DATABASE_URL:")
