#!/usr/bin/env bash
# The hostile-input fuzz with many more examples than CI: the same property tests
# (tests/reliability/test_hostile_*.py), under hypothesis's "nightly" profile — fresh random
# examples every run instead of CI's fixed ones, EXAMPLES per test (default 1000).
#
#   tests/soak/fuzz_nightly.sh [EXAMPLES] [pytest arguments…]
#   TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test tests/soak/fuzz_nightly.sh 5000
#
# A failure prints the request, the bot's answer and its log, and a @reproduce_failure blob that
# replays the example. Figures (requests fuzzed, 5xx, tracebacks, markup leaks, unanswered,
# rows written by refused requests) are printed at the end and appended, one JSON object per
# test, to $RELIABILITY_FIGURES (default ./soak-figures.jsonl, as the other soak scripts).
set -euo pipefail
cd "$(dirname "$0")/../.."

EXAMPLES="${1:-1000}"
shift || true
export HYPOTHESIS_PROFILE=nightly
export HYPOTHESIS_MAX_EXAMPLES="$EXAMPLES"
# Thousands of real requests take longer than a CI test may; 0 lifts pytest-timeout's limit.
export FUZZ_TIMEOUT="${SOAK_TIMEOUT:-0}"
export RELIABILITY_FIGURES="${RELIABILITY_FIGURES:-$PWD/soak-figures.jsonl}"

exec .venv/bin/pytest -q -p no:cacheprovider \
  tests/reliability/test_hostile_commands.py \
  tests/reliability/test_hostile_interactivity.py \
  tests/reliability/test_hostile_events_and_api.py \
  "$@"
