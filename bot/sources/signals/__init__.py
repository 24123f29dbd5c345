"""Your own traffic as the signal: `POST /signals/<service>` takes batches of your application's API call
outcomes (raw calls, or counts per model and minute), stores them as per-minute rollups, and feeds them to
the per-model detector as `traffic:<source>:<model>` streams."""
