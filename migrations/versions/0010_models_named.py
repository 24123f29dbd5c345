"""the models a vendor incident names, and when our first stream reported an incident

`incident.models`: the models the vendor's title and updates name (`opus-4.5`, `sonnet`; empty when
it names none or speaks of models in general); `incident.unaffected`: it names only models nobody
here uses. Existing incidents name none until the page is read again.
`incident.signalled_at`: when our first stream reported the incident, the start of our lead over the
vendor; for existing incidents our streams saw, their detection time (what the lead was counted from).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 12:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("models", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("unaffected", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("signalled_at", bot.store.types.UTCDateTime(), nullable=True))
    incident = sa.table(
        "incident",
        sa.column("probe_name", sa.String()),
        sa.column("detected_at", bot.store.types.UTCDateTime()),
        sa.column("signalled_at", bot.store.types.UTCDateTime()),
    )
    op.execute(incident.update().where(incident.c.probe_name.is_not(None)).values(signalled_at=incident.c.detected_at))


def downgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_column("signalled_at")
        batch_op.drop_column("unaffected")
        batch_op.drop_column("models")
