"""history has no detection time

Incidents recorded as history (the first start's import of the page, after a long downtime, by
backfill) were never seen live, so they have no detection time: `detected_at` becomes nullable, and
the rows earlier versions gave one are cleared. Those are the incidents never announced whose
"detection" came after their resolution — which made "TTR from our detection" negative.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

incident = sa.table(
    "incident",
    sa.column("announced", sa.Boolean()),
    sa.column("detected_at", bot.store.types.UTCDateTime()),
    sa.column("resolved_at", bot.store.types.UTCDateTime()),
    sa.column("updated_at", bot.store.types.UTCDateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.alter_column("detected_at", existing_type=bot.store.types.UTCDateTime(), nullable=True)
    op.execute(
        incident.update()
        .where(
            incident.c.announced == sa.false(),
            incident.c.resolved_at.is_not(None),
            incident.c.detected_at > incident.c.resolved_at,
        )
        .values(detected_at=None)
    )


def downgrade() -> None:
    op.execute(incident.update().where(incident.c.detected_at.is_(None)).values(detected_at=incident.c.updated_at))
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.alter_column("detected_at", existing_type=bot.store.types.UTCDateTime(), nullable=False)
