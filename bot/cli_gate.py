"""`countersign gate REF`: ask the running bot whether REF is signed off — for CI.

Exit 0 when approved, 1 when not, 2 when the question could not be answered.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request


def add_command(subparsers: argparse._SubParsersAction) -> None:
    gate = subparsers.add_parser("gate", help="exit 0 if REF is signed off, 1 if not (for CI)")
    gate.add_argument("ref", help="the reference signed off: PR URL, commit SHA, doc URL, launch")
    gate.add_argument("--url", default=os.environ.get("COUNTERSIGN_URL", "http://127.0.0.1:3000"),
                      help="the bot's base URL (default: $COUNTERSIGN_URL or http://127.0.0.1:3000)")
    gate.add_argument("--json", action="store_true", help="print the API's answer as JSON")
    gate.add_argument("--timeout", type=float, default=10.0)
    gate.set_defaults(func=gate_command)


def gate_command(args: argparse.Namespace) -> int:
    token = os.environ.get("COUNTERSIGN_API_TOKEN")
    if not token:
        print("countersign gate: COUNTERSIGN_API_TOKEN is not set: use one of the bot's "
              "API_TOKENS", file=sys.stderr)
        return 2
    url = f"{args.url.rstrip('/')}/api/v1/gate?{urllib.parse.urlencode({'ref': args.ref})}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:  # noqa: S310
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        print(f"countersign gate: {url} answered HTTP {exc.code}: "
              f"{exc.read().decode(errors='replace')[:300]}", file=sys.stderr)
        return 2
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        print(f"countersign gate: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        print(describe(answer))
    return 0 if answer.get("approved") is True else 1


def describe(answer: dict) -> str:
    ref = answer.get("ref")
    if answer.get("approved"):
        who = ", ".join(f"{a['user']}" + (f" ({a['group']})" if a.get("group") else "")
                        for a in answer.get("approved_by", []))
        return (f"APPROVED: {ref} — request #{answer['request_id']} revision "
                f"{answer['revision']}, signed off by {who}, under playbook version "
                f"{answer['playbook_version']} ({answer['playbook_hash']}).")
    if answer.get("status") == "not_requested":
        return f"NOT APPROVED: {ref} — no sign-off was ever requested. Run /ai-approve in Slack."
    return (f"NOT APPROVED: {ref} — request #{answer['request_id']} revision "
            f"{answer['revision']} is {answer['status'].replace('_', ' ')}.")
