#!/usr/bin/env bash
# SIGKILL at many more points of a longer workload than CI's 22 of 12 rounds, with a fresh seed
# each run (printed; CRASH_SEED=<seed> replays a run): tests/reliability/test_crash_points.py.
#
#   tests/soak/crash_points.sh [POINTS] [ROUNDS] [pytest arguments…]     default 100 points, 40 rounds
set -euo pipefail
cd "$(dirname "$0")/../.."

export CRASH_POINTS="${1:-100}"
export CRASH_ROUNDS="${2:-40}"
shift 2 || shift $# || true
export CRASH_SEED="${CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
export SOAK_TIMEOUT="${SOAK_TIMEOUT:-0}"
export RELIABILITY_FIGURES="${RELIABILITY_FIGURES:-$PWD/soak-figures.jsonl}"
echo "crash points seed: $CRASH_SEED"

exec .venv/bin/pytest -q -rP -p no:cacheprovider tests/reliability/test_crash_points.py "$@"
