"""Prometheus Alertmanager as a signal: `POST /alertmanager/<secret>` takes its webhook (version 4), and an
alert carrying the configured labels (`vendor="anthropic"`, optionally a `model`) opens, joins and resolves
incidents like a failing probe does. The fingerprint keeps Alertmanager's repeats and retries harmless."""
