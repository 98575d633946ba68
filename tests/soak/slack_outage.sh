#!/usr/bin/env bash
# Slack failing for 60 s (the issue's figure) while sign-offs, pages and nudges are produced:
# the CI test tests/reliability/test_slack_faults.py with a 60-s outage, and the bot on
# production's Web API timeout (10 s, so a hanging Slack costs each call its full timeout) and
# back-off (2 s doubling, capped at 15 s here so recovery is seen within minutes).
#
#   tests/soak/slack_outage.sh [SECONDS] [pytest arguments…]       e.g. -k hang
set -euo pipefail
cd "$(dirname "$0")/../.."

export SLACK_OUTAGE_SECONDS="${1:-60}"
shift || true
export RELIABILITY_BOT_ENV="${RELIABILITY_BOT_ENV:-SLACK_API_TIMEOUT=10,OUTBOX_RETRY_BASE=2,OUTBOX_RETRY_CAP=15}"
export SOAK_TIMEOUT="${SOAK_TIMEOUT:-0}"
export RELIABILITY_FIGURES="${RELIABILITY_FIGURES:-$PWD/soak-figures.jsonl}"

exec .venv/bin/pytest -q -rP -p no:cacheprovider tests/reliability/test_slack_faults.py "$@"
