"""Process configuration, read from the environment and an optional `.env` file.

Tokens are optional at this level because each command needs a different subset
(`migrate` needs none, `socket` needs the app token, `serve` the signing secret);
`require()` turns a missing one into a single actionable line for the operator.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.playbook.durations import EXPECTED, DurationError, parse_duration

# Where an operator finds each secret: the one line printed when it is missing.
HOW_TO_OBTAIN = {
    "SLACK_BOT_TOKEN": "copy the Bot User OAuth Token (xoxb-…) from your Slack app's "
    "OAuth & Permissions page",
    "SLACK_SIGNING_SECRET": "copy it from your Slack app's Basic Information page "
    "(App Credentials → Signing Secret)",
    "SLACK_APP_TOKEN": "create an app-level token (xapp-…) with the connections:write scope "
    "on your Slack app's Basic Information page (App-Level Tokens)",
    "API_TOKENS": "set it to name=token pairs, e.g. API_TOKENS=github=$(openssl rand -hex 32)",
    "GITHUB_APP_ID": "copy the App ID from your GitHub App's General settings page",
    "GITHUB_PRIVATE_KEY": "generate a private key on your GitHub App's General settings page "
    "and give its PEM text or the path of the downloaded .pem file",
    "GITHUB_WEBHOOK_SECRET": "set the same secret as your GitHub App's Webhook secret "
    "(General settings), e.g. $(openssl rand -hex 32)",
}
GITHUB_SETTINGS = ("GITHUB_APP_ID", "GITHUB_PRIVATE_KEY", "GITHUB_WEBHOOK_SECRET")


MIN_API_TOKEN_LENGTH = 16


def parse_api_tokens(text: str) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        name, sep, token = pair.partition("=")
        if not sep or not name.strip() or not token.strip():
            raise ValueError("expected name=token pairs separated by commas")
        if len(token.strip()) < MIN_API_TOKEN_LENGTH:
            raise ValueError(f"the token for {name.strip()} is shorter than "
                             f"{MIN_API_TOKEN_LENGTH} characters")
        tokens[name.strip()] = token.strip()
    return tokens


AUDIT_RETENTION_MIN = timedelta(days=183)
USAGE_RETENTION_MIN = timedelta(days=1)


def _parse_duration_setting(v: object) -> object:
    if isinstance(v, timedelta):
        return v
    try:
        return parse_duration(v)
    except DurationError as error:
        raise ValueError(f"expected {EXPECTED}: {error.reason}") from None


class SettingsError(Exception):
    """A configuration problem an operator can fix; its text is one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    database_url: str = "sqlite:///countersign.db"
    playbook_path: Path = Path("playbook.yaml")
    slack_api_url: str = "https://slack.com/api/"
    port: int = Field(default=3000, ge=1, le=65535)
    host: str = "0.0.0.0"

    # Bearer tokens for /api/v1, as name=token pairs: names say which CI system asked.
    api_tokens: SecretStr | None = None

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "text"] = "auto"

    # Embedded default: the web process also runs the scheduler and dispatcher.
    # Scaled out, the Procfile's web sets this to false and one `clock` leads.
    clock_in_web: bool = True
    slack_api_timeout: float = Field(default=10.0, gt=0)
    outbox_poll_interval: float = Field(default=1.0, gt=0)
    outbox_channel_interval: float = Field(default=1.0, ge=0)
    outbox_retry_base: float = Field(default=2.0, gt=0)
    outbox_retry_cap: float = Field(default=300.0, gt=0)
    outbox_max_attempts: int = Field(default=10, ge=1)
    outbox_lease: float = Field(default=60.0, gt=0)
    timer_sweep_interval: float = Field(default=5.0, gt=0)
    leader_refresh_interval: float = Field(default=5.0, gt=0)
    # On PostgreSQL one clock leads; off, every clock works and only the row claims keep
    # each timer and message single (how the tests prove that they do).
    clock_leader_election: bool = True
    # Reload when the playbook file's content changes; 0 turns watching off (SIGHUP and
    # /ai-playbook reload still work).
    playbook_watch_interval: float = Field(default=10.0, ge=0)
    usergroup_cache_ttl: float = Field(default=600.0, ge=0)
    # For tests and drills only: a file holding seconds to add to the system time.
    clock_offset_file: str | None = None

    # The audit log: an Ed25519 key (PEM file path, PEM text or base64) signs its checkpoints;
    # without one they are written unsigned, and every start-up and verify says so.
    audit_signing_key: SecretStr | None = None
    # The log's name in its checkpoints (C2SP origin line) and the signature's key name.
    audit_log_origin: str = Field(default="countersign/audit", pattern=r"^[^\s+]{1,200}$")
    audit_checkpoint_interval: timedelta = timedelta(hours=1)
    # How often the leading clock seals newly committed events.
    audit_seal_interval: float = Field(default=2.0, gt=0)
    # How often the latest checkpoint is posted to the governance channel, a witness outside
    # the database.
    audit_witness_interval: timedelta = timedelta(days=1)
    # None keeps the log forever; a shorter retention than the EU AI Act's six months is refused.
    audit_retention: timedelta | None = None

    # AI usage ingestion (/v1/traces, /api/v1/ingest/litellm, /api/v1/ai-events): the largest
    # request body taken, before and after gzip, and how many batches are worked on at once;
    # more wait, up to the queue's length, and beyond it the sender is told to retry later.
    ingest_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    ingest_concurrency: int = Field(default=2, ge=1, le=64)
    ingest_queue: int = Field(default=8, ge=0, le=1000)
    # AI usage watching: how often the leading clock counts newly stored events and checks them
    # against the playbook's watch rules, and how long raw events are kept (daily aggregates
    # stay); None keeps them forever.
    usage_watch_interval: float = Field(default=10.0, gt=0)
    usage_retention: timedelta | None = timedelta(days=180)
    # Worker processes that read and store batches, so that work never holds the interpreter
    # lock Slack's acknowledgements need; 0 reads them on the database's threads instead.
    ingest_processes: int = Field(default=1, ge=0, le=16)

    # The GitHub App (pull requests get a check run only a human sign-off turns green): all
    # three or none; GITHUB_API_URL points at GitHub Enterprise Server's /api/v3 (or a fake).
    github_app_id: int | None = Field(default=None, ge=1)
    github_private_key: SecretStr | None = None
    github_webhook_secret: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    github_api_timeout: float = Field(default=10.0, gt=0)

    @field_validator("github_api_url")
    @classmethod
    def _github_url_shape(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as https://api.github.com")
        return v.rstrip("/")

    @field_validator("github_webhook_secret")
    @classmethod
    def _webhook_secret_shape(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < MIN_API_TOKEN_LENGTH:
            raise ValueError(f"shorter than {MIN_API_TOKEN_LENGTH} characters: anyone could guess it")
        return v

    @property
    def github_enabled(self) -> bool:
        return any(getattr(self, name.lower()) is not None for name in GITHUB_SETTINGS)

    def github_private_key_pem(self) -> str:
        """The App's private key as PEM text, read from the file when the setting is a path;
        SettingsError (one line) when it is not an RSA private key."""
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        self.require(*GITHUB_SETTINGS)
        value = self.secret("GITHUB_PRIVATE_KEY").strip()
        if not value.startswith("-----BEGIN"):
            path = Path(value).expanduser()
            try:
                value = path.read_text().strip()
            except OSError as exc:
                raise SettingsError(f"GITHUB_PRIVATE_KEY is not valid: neither PEM text nor a "
                                    f"readable file ({exc.strerror}: {path})") from None
        try:
            key = load_pem_private_key(value.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise SettingsError(f"GITHUB_PRIVATE_KEY is not valid: not a PEM private key ({exc})") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise SettingsError("GITHUB_PRIVATE_KEY is not valid: GitHub App keys are RSA keys")
        return value

    @field_validator("audit_checkpoint_interval", "audit_witness_interval", mode="before")
    @classmethod
    def _duration(cls, v: object) -> object:
        return _parse_duration_setting(v)

    @field_validator("audit_retention", mode="before")
    @classmethod
    def _retention(cls, v: object) -> object:
        if v is None or (isinstance(v, str) and v.strip().lower() in ("", "forever")):
            return None
        retention = _parse_duration_setting(v)
        if retention < AUDIT_RETENTION_MIN:
            raise ValueError(
                f"{v} is shorter than {AUDIT_RETENTION_MIN.days}d: the EU AI Act (Art. 19, "
                "26(6)) asks for at least six months of logs; use forever or 183d or more")
        return retention

    @field_validator("usage_retention", mode="before")
    @classmethod
    def _usage_retention(cls, v: object) -> object:
        if v is None or (isinstance(v, str) and v.strip().lower() in ("", "forever")):
            return None
        retention = _parse_duration_setting(v)
        if retention < USAGE_RETENTION_MIN:
            raise ValueError(f"{v} is shorter than 1d; use forever or a duration of 1d or more")
        return retention

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith("xoxb-"):
            raise ValueError("expected a bot token starting with xoxb-")
        return v

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not v.get_secret_value().startswith("xapp-"):
            raise ValueError("expected an app-level token starting with xapp-")
        return v

    @field_validator("api_tokens")
    @classmethod
    def _api_tokens_shape(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None:
            parse_api_tokens(v.get_secret_value())
        return v

    @property
    def api_token_map(self) -> dict[str, str]:
        """token → name; empty when no tokens are configured (the API then refuses all)."""
        if self.api_tokens is None:
            return {}
        return {token: name for name, token in parse_api_tokens(self.api_tokens.get_secret_value()).items()}

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_shape(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as https://slack.com/api/")
        # slack_sdk joins base_url and method name by plain concatenation.
        return v if v.endswith("/") else v + "/"

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, v: str) -> str:
        if not v.startswith(("sqlite:", "postgresql+psycopg:", "postgresql:")):
            raise ValueError(
                "expected sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB"
            )
        # Bare postgresql:// would pick psycopg2, which is not installed.
        if v.startswith("postgresql://"):
            return "postgresql+psycopg://" + v[len("postgresql://") :]
        return v

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    def require(self, *names: str) -> None:
        """Fail with one line per the first missing setting among `names`."""
        for name in names:
            if getattr(self, name.lower()) is None:
                raise SettingsError(f"{name} is not set: {HOW_TO_OBTAIN[name]}")

    def secret(self, name: str) -> str:
        self.require(name)
        return getattr(self, name.lower()).get_secret_value()


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's report into one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        hint = HOW_TO_OBTAIN.get(name)
        msg = f"{name} is not valid: {err['msg']}"
        raise SettingsError(f"{msg} ({hint})" if hint else msg) from None
