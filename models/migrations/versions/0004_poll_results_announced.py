"""polls: results_announced_at, so the results of a closed poll are handed out once

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 10:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('results_announced_at', models.base.UTCDateTime(timezone=True), nullable=True))
    # Polls closed before this column existed had their results sent (to the organizer) when
    # they closed: mark them, so the bot does not hand them out again.
    polls = sa.table(
        'polls',
        sa.column('status', sa.String()),
        sa.column('closed_at', models.base.UTCDateTime(timezone=True)),
        sa.column('closes_at', models.base.UTCDateTime(timezone=True)),
        sa.column('results_announced_at', models.base.UTCDateTime(timezone=True)),
    )
    op.execute(
        polls.update()
        .where(polls.c.status == 'closed')
        .values(results_announced_at=sa.func.coalesce(polls.c.closed_at, polls.c.closes_at))
    )


def downgrade() -> None:
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.drop_column('results_announced_at')
