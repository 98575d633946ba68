"""Slash-command routing: first word → sub-handler; help and mistakes answered the same way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks.help import BY_NAME, error_message, help_message, not_available_message
from blocks.text import escape, plain

# Slack caps slash-command text well above this; more is a paste, not a command.
MAX_TEXT = 3000

SubHandler = Callable[..., Awaitable[None]]


def first_word(text: str) -> tuple[str, str]:
    word, _, rest = text.strip().partition(" ")
    if word.startswith("<@"):
        return "@", text.strip()
    return word.lower(), rest.strip()


def register_command(
    app: AsyncApp,
    name: str,
    *,
    capability: str,
    subcommands: dict[str, SubHandler] | None = None,
    fallback: Callable[[str, Any], Awaitable[SubHandler | None]] | None = None,
) -> None:
    """Route `name`. Words the catalogue lists but nobody implements yet say so plainly."""
    spec = BY_NAME[name]
    implemented = subcommands or {}

    # Bolt passes only the arguments a listener names, so name all a sub-handler may want.
    async def on_command(ack: Callable[..., Awaitable[None]], command: dict[str, Any],
                         respond: Any, context: Any, client: Any, body: dict[str, Any]) -> None:
        kwargs = {"respond": respond, "context": context, "client": client, "body": body}
        # Slack sends command text as mrkdwn (`&`, `<`, `>` typed as entities); handlers and
        # services take it as the plain text the person typed, escaped again on the way out.
        text = plain(command.get("text") or "")
        if len(text) > MAX_TEXT:
            await ack(**error_message(
                f"That is {len(text)} characters; `{name}` takes at most {MAX_TEXT}."))
            return
        word, rest = first_word(text)
        if word in ("help", "?"):
            await ack(**help_message(name))
            return
        handler = implemented.get(word)
        if handler is None and fallback is not None and word not in implemented:
            handler = await fallback(word, context)
        if handler is not None:
            await handler(ack=ack, command=command, args=rest, word=word, **kwargs)
            return
        if word in spec.words:
            await ack(**not_available_message(name, word if word != "@" else "@user", capability))
            return
        await ack(**help_message(name, error=f"`{escape(word, 40)}` is not something `{name}` understands."))

    app.command(name)(on_command)
