"""messenger: app accounts per resident, link codes, held notices, seen message ids,
the outbox's channel

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 17:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = sa.Enum('telegram', 'messenger', name='channel', native_enum=False, length=16)


def upgrade() -> None:
    op.create_table('resident_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('channel', CHANNEL, nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('last_inbound_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_resident_accounts_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_accounts')),
    sa.UniqueConstraint('channel', 'external_id', name=op.f('uq_resident_accounts_channel_external_id')),
    sa.UniqueConstraint('resident_id', 'channel', name=op.f('uq_resident_accounts_resident_id_channel'))
    )
    # Every resident so far has one account: the chat they talk from.
    op.execute(
        "INSERT INTO resident_accounts (resident_id, channel, external_id, created_at) "
        "SELECT id, channel, external_id, created_at FROM residents"
    )
    op.create_table('link_codes',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('channel', CHANNEL, nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_link_codes_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_link_codes'))
    )
    with op.batch_alter_table('link_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_codes_resident_id'), ['resident_id'], unique=False)
    op.create_table('held_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('buttons', sa.JSON(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_held_notices_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_held_notices'))
    )
    with op.batch_alter_table('held_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_held_notices_resident_id'), ['resident_id'], unique=False)
    op.create_table('processed_messenger_messages',
    sa.Column('mid', sa.String(length=255), nullable=False),
    sa.Column('processed_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('mid', name=op.f('pk_processed_messenger_messages'))
    )
    with op.batch_alter_table('processed_messenger_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processed_messenger_messages_processed_at'), ['processed_at'], unique=False)
    # The outbox learns which app each row goes to, and two statuses for Messenger's window.
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', CHANNEL, server_default='telegram', nullable=False))
        batch_op.alter_column(
            'status',
            existing_type=sa.Enum('pending', 'sending', 'sent', 'failed', 'blocked', name='outboxstatus', native_enum=False, length=16),
            type_=sa.Enum('pending', 'sending', 'sent', 'failed', 'blocked', 'held', 'skipped', name='outboxstatus', native_enum=False, length=16),
            existing_nullable=False,
        )
        batch_op.create_index('ix_outbox_resident_status', ['resident_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_resident_status')
        batch_op.drop_column('channel')
    op.drop_table('processed_messenger_messages')
    op.drop_table('held_notices')
    op.drop_table('link_codes')
    op.drop_table('resident_accounts')
