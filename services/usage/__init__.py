"""AI usage as the stacks that make it report it: OpenTelemetry GenAI spans, LiteLLM's logging
callback and the native batch API, each read into one `Observation`, kept with its content
digested and redacted (`keeping`), stored idempotently (`store`)."""
