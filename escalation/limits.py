"""How long each field of an incident may be (Slack's input limits, with room for rendering)."""

TITLE_MAX = 150
DESCRIPTION_MAX = 3000
PERMALINK_MAX = 500
AFFECTED_MAX = 200
SUMMARY_MAX = 3000
UPDATE_MAX = 3000
URL_MAX = 500
SNOOZE_MINUTES = (30, 60, 120)
