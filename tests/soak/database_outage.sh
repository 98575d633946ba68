#!/usr/bin/env bash
# The database unreachable for 30 s (the issue's figure): the CI tests of
# tests/reliability/test_database_outage.py with a 30-s outage. SQLite by default (the write
# lock held by another process); with TEST_DATABASE_URL set, PostgreSQL behind the cut and the
# partitioned proxy.
#
#   tests/soak/database_outage.sh [SECONDS] [pytest arguments…]
#   TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test tests/soak/database_outage.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

export DB_OUTAGE_SECONDS="${1:-30}"
shift || true
export SOAK_TIMEOUT="${SOAK_TIMEOUT:-0}"
export RELIABILITY_FIGURES="${RELIABILITY_FIGURES:-$PWD/soak-figures.jsonl}"

exec .venv/bin/pytest -q -rP -p no:cacheprovider tests/reliability/test_database_outage.py "$@"
