"""Escalation domain: incident escalation chains, rotations and their timers (pure, no Slack)."""
