"""One TLS context for every HTTP client the bot makes. httpx builds a new one for each client it is
not given one: each parses the CA bundle again (~1.5 MiB of memory and ~30 ms of CPU a client, for
the same certificates). This is httpx's own default context (certifi's bundle, or SSL_CERT_FILE /
SSL_CERT_DIR when set), built once."""

from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def context() -> ssl.SSLContext:
    return httpx.create_ssl_context()
