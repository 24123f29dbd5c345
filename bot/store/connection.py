"""How statusbot connects to its database, through SQLAlchemy (`bot.store.db`) or straight through
the driver (`bot.store.reader`): SQLite's wait for a lock, PostgreSQL's connect arguments."""

from __future__ import annotations

BUSY_TIMEOUT_MS = 5000
POSTGRES_CONNECT = {
    "connect_timeout": 5,
    "application_name": "statusbot",
    # a silent network failure is noticed in ~25 s instead of the kernel's two hours
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    # Nothing the bot does takes seconds: a statement or lock wait that long is a stuck server. A
    # transaction left open by a stopped replica (SIGSTOP, a stalled host) may hold the lease row
    # FOR SHARE (a claim's fence) and so hold up a follower's takeover: the server ends it after 5 s
    # idle, half the default lease, where 60 s made a paused leader's failover take a minute.
    "options": "-c statement_timeout=15000 -c lock_timeout=10000 -c idle_in_transaction_session_timeout=5000",
}
