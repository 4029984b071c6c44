"""proposals: proposals, counters, photos, audit, relayed messages, blocks

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 15:05:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('proposal_counters',
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], name=op.f('fk_proposal_counters_municipality_id_municipalities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('municipality_id', 'year', name=op.f('pk_proposal_counters'))
    )
    op.create_table('proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=24), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.Enum('telegram', 'messenger', name='channel', native_enum=False, length=16), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('place_text', sa.String(length=200), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('anonymous', sa.Boolean(), nullable=False),
    sa.Column('display_name', sa.String(length=128), nullable=True),
    sa.Column('pseudonym', sa.String(length=16), nullable=False),
    sa.Column('status', sa.Enum('new', 'in_review', 'info_requested', 'forwarded', 'accepted', 'rejected', 'implemented', name='proposalstatus', native_enum=False, length=16), nullable=False),
    sa.Column('rejection_reason', sa.String(length=1000), nullable=True),
    sa.Column('text_erased', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status_changed_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('card_chat_id', sa.BigInteger(), nullable=True),
    sa.Column('card_message_id', sa.BigInteger(), nullable=True),
    sa.Column('topic_thread_id', sa.BigInteger(), nullable=True),
    sa.Column('delivered_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], name=op.f('fk_proposals_municipality_id_municipalities')),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_proposals_resident_id_residents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals')),
    sa.UniqueConstraint('reference', name=op.f('uq_proposals_reference'))
    )
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.create_index('ix_proposals_card', ['card_chat_id', 'card_message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_delivered_at'), ['delivered_at'], unique=False)
        batch_op.create_index('ix_proposals_municipality_status', ['municipality_id', 'status'], unique=False)
        batch_op.create_index('ix_proposals_resident_created', ['resident_id', 'created_at'], unique=False)
        batch_op.create_index('ix_proposals_topic', ['card_chat_id', 'topic_thread_id'], unique=False)

    op.create_table('proposal_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.Enum('resident', 'staff', 'system', name='actorkind', native_enum=False, length=16), nullable=False),
    sa.Column('actor_user_id', sa.BigInteger(), nullable=True),
    sa.Column('action', sa.Enum('submitted', 'delivered', 'status_changed', 'to_resident', 'to_moderators', 'author_erased', name='proposalaction', native_enum=False, length=16), nullable=False),
    sa.Column('from_status', sa.Enum('new', 'in_review', 'info_requested', 'forwarded', 'accepted', 'rejected', 'implemented', name='proposalstatus', native_enum=False, length=16), nullable=True),
    sa.Column('to_status', sa.Enum('new', 'in_review', 'info_requested', 'forwarded', 'accepted', 'rejected', 'implemented', name='proposalstatus', native_enum=False, length=16), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_audit_proposal_id_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_audit'))
    )
    with op.batch_alter_table('proposal_audit', schema=None) as batch_op:
        batch_op.create_index('ix_proposal_audit_proposal_at', ['proposal_id', 'at'], unique=False)

    op.create_table('proposal_blocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('blocked_by', sa.BigInteger(), nullable=False),
    sa.Column('blocked_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=True),
    sa.Column('lifted_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lifted_by', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_blocks_proposal_id_proposals'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_proposal_blocks_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_blocks'))
    )
    with op.batch_alter_table('proposal_blocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_blocks_resident_id'), ['resident_id'], unique=False)

    op.create_table('proposal_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.Enum('to_resident', 'to_moderators', name='messagedirection', native_enum=False, length=16), nullable=False),
    sa.Column('moderator_user_id', sa.BigInteger(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('moderators_chat_id', sa.BigInteger(), nullable=True),
    sa.Column('moderators_message_id', sa.BigInteger(), nullable=True),
    sa.Column('resident_message_id', sa.String(length=128), nullable=True),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_messages_proposal_id_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_messages'))
    )
    with op.batch_alter_table('proposal_messages', schema=None) as batch_op:
        batch_op.create_index('ix_proposal_messages_moderators', ['moderators_chat_id', 'moderators_message_id'], unique=False)
        batch_op.create_index('ix_proposal_messages_proposal', ['proposal_id', 'at'], unique=False)

    op.create_table('proposal_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.String(length=512), nullable=False),
    sa.Column('file_unique_id', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_photos_proposal_id_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_photos')),
    sa.UniqueConstraint('proposal_id', 'position', name=op.f('uq_proposal_photos_proposal_id_position'))
    )


def downgrade() -> None:
    op.drop_table('proposal_photos')
    with op.batch_alter_table('proposal_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_proposal_messages_proposal')
        batch_op.drop_index('ix_proposal_messages_moderators')

    op.drop_table('proposal_messages')
    with op.batch_alter_table('proposal_blocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_blocks_resident_id'))

    op.drop_table('proposal_blocks')
    with op.batch_alter_table('proposal_audit', schema=None) as batch_op:
        batch_op.drop_index('ix_proposal_audit_proposal_at')

    op.drop_table('proposal_audit')
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_index('ix_proposals_topic')
        batch_op.drop_index('ix_proposals_resident_created')
        batch_op.drop_index('ix_proposals_municipality_status')
        batch_op.drop_index(batch_op.f('ix_proposals_delivered_at'))
        batch_op.drop_index('ix_proposals_card')

    op.drop_table('proposals')
    op.drop_table('proposal_counters')
