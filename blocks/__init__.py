"""Block Kit builders: pure functions from state to Slack payloads, one module per surface."""
