"""Domain services: plain values in and out, one transaction per state change, no Slack."""
