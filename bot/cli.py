"""`countersign …` / `python -m bot …`: one entry point for every process type."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError

from bot import cli_audit, cli_gate, cli_playbook, cli_registry, cli_token, logs
from bot.settings import Settings, SettingsError, load_settings
from services.playbook import PlaybookError


def _settings(*required: str) -> Settings:
    settings = load_settings()
    settings.require(*required)
    logs.configure(settings.log_level, settings.log_format)
    return settings


def cmd_serve(_: argparse.Namespace) -> int:
    import uvicorn

    from bot.bootstrap import build_services, migrate_if_embedded
    from bot.slack import create_app
    from bot.web import create_web_app

    settings = _settings("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    services = build_services(settings)
    migrate_if_embedded(services)
    slack_app = create_app(settings, services)
    web = create_web_app(services, slack_app, with_clock=settings.clock_in_web)
    uvicorn.run(web, host=settings.host, port=settings.port, log_config=None,
                access_log=False, lifespan="on")
    return 0


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def cmd_socket(_: argparse.Namespace) -> int:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.bootstrap import background, build_services, migrate_if_embedded
    from bot.slack import create_app

    settings = _settings("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    services = build_services(settings)
    migrate_if_embedded(services)

    async def run() -> None:
        app = create_app(settings, services, socket_mode=True)
        handler = AsyncSocketModeHandler(app, settings.secret("SLACK_APP_TOKEN"))
        async with background(services, with_clock=settings.clock_in_web):
            await handler.connect_async()
            try:
                await _until_stopped()
            finally:
                await handler.close_async()

    asyncio.run(run())
    return 0


def cmd_clock(_: argparse.Namespace) -> int:
    from bot.bootstrap import background, build_services, migrate_if_embedded

    settings = _settings("SLACK_BOT_TOKEN")
    services = build_services(settings)
    migrate_if_embedded(services)

    async def run() -> None:
        async with background(services, with_clock=True):
            await _until_stopped()

    asyncio.run(run())
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    from bot import migrate
    from bot.db import make_engine

    settings = _settings()
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    print(f"database is at revision {migrate.current_revision(engine)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="countersign", description="Countersign: AI governance for engineering teams, in Slack.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("serve", help="run the HTTP server (and, embedded, the clock)").set_defaults(
        func=cmd_serve)
    sub.add_parser("socket", help="run over Socket Mode, for local development").set_defaults(
        func=cmd_socket)
    sub.add_parser("clock", help="run the scheduler and outbox dispatcher only").set_defaults(
        func=cmd_clock)
    sub.add_parser("migrate", help="upgrade the database schema to the latest").set_defaults(
        func=cmd_migrate)
    cli_playbook.add_commands(sub)
    cli_gate.add_command(sub)
    cli_registry.add_command(sub)
    cli_audit.add_command(sub)
    cli_token.add_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as exc:
        print(f"countersign: {exc}", file=sys.stderr)
        return 2
    except PlaybookError as exc:
        path = exc.issues[0].file if exc.issues else "the playbook"
        print(f"countersign: PLAYBOOK_PATH: {path} is not a valid playbook; fix it or point "
              "PLAYBOOK_PATH at another (start from playbook.example.yaml):", file=sys.stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        print(f"countersign: cannot use the database at DATABASE_URL: {reason}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
