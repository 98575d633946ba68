"""How long a listener may wait on Slack before its ack, out of Slack's 3 seconds."""

# A Web API call made before the ack (a form's checks, a reported message's link): past this
# the listener goes on without the answer, and the person still gets their ack in time.
LOOKUP_BEFORE_ACK = 1.0
