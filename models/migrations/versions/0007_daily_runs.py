"""daily runs: a marker per daily job and day (the proposals' morning digest)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 15:30:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('daily_runs',
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('ran_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('job', 'day', name=op.f('pk_daily_runs'))
    )


def downgrade() -> None:
    op.drop_table('daily_runs')
