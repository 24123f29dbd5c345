"""every stream that saw an incident

An incident records every outcome stream that saw it (a probe's model, the team's traffic on a model,
an alert), with when it first reported it and its last state, in `incident_stream`. Recovery and
the `agree` policy read all of them. Each incident's `probe_name` (until now its only stream) becomes
its first row: failing while the incident is open and the detector's state for that stream says so,
recovered otherwise. `probe_name` stays, as the first stream's key.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 11:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.store.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

incident = sa.table(
    "incident",
    sa.column("id", sa.Integer()),
    sa.column("probe_name", sa.String()),
    sa.column("status", sa.String()),
    sa.column("started_at", bot.store.types.UTCDateTime()),
    sa.column("detected_at", bot.store.types.UTCDateTime()),
    sa.column("updated_at", bot.store.types.UTCDateTime()),
)
probe_state = sa.table("probe_state", sa.column("probe", sa.String()), sa.column("state", sa.JSON()))


def upgrade() -> None:
    table = op.create_table(
        "incident_stream",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("stream", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("probe", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("first_seen", bot.store.types.UTCDateTime(), nullable=False),
        sa.Column("failing_since", bot.store.types.UTCDateTime(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("changed_at", bot.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"]),
        sa.PrimaryKeyConstraint("incident_id", "stream"),
    )
    with op.batch_alter_table("incident_stream", schema=None) as batch_op:
        batch_op.create_index("ix_incident_stream_stream", ["stream"], unique=False)
    assert table is not None
    rows = [_row(i) for i in op.get_bind().execute(sa.select(incident).where(incident.c.probe_name.is_not(None)))]
    if rows:
        open_streams = _open_streams()
        for row in rows:
            row["state"] = "failing" if row.pop("open") and row["stream"] in open_streams else "recovered"
        op.bulk_insert(table, rows)


def _row(i: Any) -> dict[str, Any]:
    key: str = i.probe_name
    seen = i.detected_at or i.started_at
    source, model, probe = _parts(key)
    return {
        "incident_id": i.id,
        "stream": key,
        "source": source,
        "model": model,
        "probe": probe,
        "first_seen": seen,
        "failing_since": seen,
        "changed_at": i.updated_at,
        "open": i.status != "resolved",
    }


def _parts(key: str) -> tuple[str, str | None, str | None]:
    """(source, model, probe) of a stream key: `traffic:<source>:<model>`, `alert:<name>[:<model>]`
    (the model cannot be told from the name: left unknown), `<probe>` or `<probe>:<model>`."""
    if key.startswith("traffic:"):
        return "traffic", key.split(":", 2)[2] if key.count(":") >= 2 else None, None
    if key.startswith("alert:"):
        return "alertmanager", None, None
    probe, _, model = key.partition(":")
    return "probe", model or None, probe


def _open_streams() -> set[str]:
    rows = op.get_bind().execute(sa.select(probe_state.c.probe, probe_state.c.state))
    return {probe for probe, state in rows if isinstance(state, dict) and state.get("open")}


def downgrade() -> None:
    with op.batch_alter_table("incident_stream", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_stream_stream")
    op.drop_table("incident_stream")
