"""Slack: incident threads (sink), `/claude` and buttons (platform), the app manifest."""
