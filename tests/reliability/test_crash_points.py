"""SIGKILL at 24 seeded points of a scripted workload (sign-offs opened and approved, incidents
opened and acknowledged, the clock moved so timers come due): after the last restart nothing
that was acknowledged to Slack is lost, nothing is doubled where the outbox can tell, and
every due timer has fired once. The longer, randomly seeded run is tests/soak/crash_points.sh.
"""

from datetime import UTC, datetime

import pytest

from tests.harness.server import SIGNING_SECRET
from tests.harness.signing import SignedSlackClient
from tests.reliability.crashes import CrashRun, kill_points, script, seed_use_cases, verdict
from tests.reliability.workload import PLAYBOOK, bot_settings, follow_bot_clock, knob, report, timeout

# Fixed in CI so a failure can be replayed; CRASH_SEED=<n> replays another run's points.
SEED = int(knob("CRASH_SEED", 20261202))
ROUNDS = int(knob("CRASH_ROUNDS", 12))  # tests/soak/crash_points.sh: more of each
POINTS = int(knob("CRASH_POINTS", 24))
USE_CASES = 3


@pytest.mark.e2e
@timeout(300)  # about 90 s on a quiet 2-core machine; restarts are most of it
def test_sigkill_at_seeded_points_loses_nothing_acknowledged_doubles_nothing_fires_every_timer_once(
        bot_factory, fake_slack, clock_file, db, tmp_path):
    print(f"crash points seed: {SEED} (CRASH_SEED={SEED} replays them)")
    seed_use_cases(db, fake_slack, USE_CASES, now=datetime.now(UTC))
    steps = script(ROUNDS)
    requests = sum(s.kind != "clock" for s in steps)
    points = kill_points(SEED, count=POINTS, acks=requests - 4, calls=10 * ROUNDS)
    follow_bot_clock(fake_slack, clock_file)
    bot = bot_factory(**bot_settings(PLAYBOOK_PATH=str(PLAYBOOK), CLOCK_OFFSET_FILE=str(clock_file)))
    run = CrashRun(bot, fake_slack, db, clock_file, points)
    clients: dict[int, SignedSlackClient] = {}

    def slack() -> SignedSlackClient:  # one keep-alive client per bot run
        if bot.runs not in clients:
            clients[bot.runs] = SignedSlackClient(bot.url, SIGNING_SECRET, fake=fake_slack)
        return clients[bot.runs]

    try:
        outcome = run.run(slack, steps)
        run.settle()
    finally:
        for client in clients.values():
            client.close()
        (tmp_path / "kills.txt").write_text("\n".join(run.outcome.kills) + "\n"
                                            + f"starts: {run.outcome.start_seconds}\n")
    judged = verdict(db, fake_slack, outcome, use_cases=USE_CASES, now=run.bot_now())
    report(tmp_path, "crash_points", {"seed": SEED, "points": POINTS, **judged.figures})

    assert len(outcome.kills) >= 20, outcome.kills
    (tmp_path / "verdict.txt").write_text(judged.describe())
    assert judged.ok, judged.describe()
