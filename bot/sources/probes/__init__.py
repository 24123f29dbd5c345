"""Synthetic probes: our own calls to the vendor API, so we see an outage before the vendor says so."""
