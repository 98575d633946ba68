"""What a prompt or an answer said, flattened to text from the shapes AI telemetry carries it in.

Readers only need the text to digest and redact it, so every shape becomes one message per
line, `role: text`. Shapes: the GenAI conventions' messages (`[{role, parts: [{type: text,
content}]}]`, as an array or its JSON string), OpenAI's (`[{role, content: str | [{type: text,
text}]}]`), a bare string. A shape not known gives None rather than an error: content is
evidence, not a field the call is refused for.
"""

from __future__ import annotations

import json
from typing import Any

# Deeper than any real message list; stops a hostile one from recursing without end.
_DEPTH = 8


def _part_text(part: Any, depth: int) -> str | None:
    if isinstance(part, str):
        return part
    if not isinstance(part, dict) or depth > _DEPTH:
        return None
    for name in ("content", "text"):
        value = part.get(name)
        if isinstance(value, str):
            return value
        if isinstance(value, list | dict):
            return _text(value, depth + 1)
    if part.get("type") in ("tool_call", "tool_call_response", "function_call"):
        value = part.get("arguments", part.get("response", part.get("result")))
        if value is not None:
            return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return None


def _message_text(message: Any, depth: int) -> str | None:
    if not isinstance(message, dict):
        return _part_text(message, depth)
    body: str | None
    if "parts" in message:
        body = _text(message["parts"], depth + 1, joiner=" ")
    elif "content" in message:
        value = message["content"]
        body = value if isinstance(value, str) else _text(value, depth + 1, joiner=" ")
    elif "message" in message:  # a GenAI choice event: {index, finish_reason, message}
        return _message_text(message["message"], depth + 1)
    else:
        body = _part_text(message, depth)
    if body is None:
        return None
    role = message.get("role")
    return f"{role}: {body}" if isinstance(role, str) and role else body


def _text(value: Any, depth: int, joiner: str = "\n") -> str | None:
    if depth > _DEPTH:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return _message_text(value, depth)
    if isinstance(value, list):
        texts = [t for item in value
                 if (t := (_message_text(item, depth) if joiner == "\n"
                           else _part_text(item, depth))) is not None]
        return joiner.join(texts) if texts else None
    return None


def flatten(value: Any) -> str | None:
    """The text of `value`, one message per line; a JSON string holding messages is read as them."""
    if isinstance(value, str):
        stripped = value.lstrip()
        if stripped[:1] in ("[", "{"):
            try:
                # Unknown JSON is still content: digested and redacted as sent.
                return _text(json.loads(value), 0) or value
            except ValueError:
                return value
        return value
    return _text(value, 0)


def joined(*texts: str | None) -> str | None:
    kept = [t for t in texts if t]
    return "\n".join(kept) if kept else None
