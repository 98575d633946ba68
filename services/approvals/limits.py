"""How long each field of a request may be (Slack's input limits, with room for rendering)."""

TITLE_MAX = 150
REFERENCE_MAX = 500
SUMMARY_MAX = 2000
AI_TOOL_MAX = 100
REASON_MAX = 2000
