"""Discord: alerts with a thread per incident (sink), /claude and buttons (platform), webhook-only mode."""
