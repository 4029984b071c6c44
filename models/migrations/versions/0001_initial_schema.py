"""initial schema: municipalities, residents, roles, runtime

Revision ID: 0001
Revises:
Create Date: 2026-11-26 10:38:28.760232

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('fsm_records',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('state', sa.String(length=255), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_fsm_records'))
    )
    op.create_table('municipalities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=3), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name_lt', sa.String(length=100), nullable=False),
    sa.Column('short_lt', sa.String(length=20), nullable=False),
    sa.Column('name_en', sa.String(length=100), nullable=False),
    sa.Column('short_en', sa.String(length=20), nullable=False),
    sa.Column('partners', sa.Text(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_municipalities')),
    sa.UniqueConstraint('code', name=op.f('uq_municipalities_code'))
    )
    op.create_table('organizers',
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=False),
    sa.Column('granted_by', sa.BigInteger(), nullable=False),
    sa.Column('granted_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('telegram_user_id', name=op.f('pk_organizers'))
    )
    op.create_table('processed_updates',
    sa.Column('bot_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('processed_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('bot_id', 'update_id', name=op.f('pk_processed_updates'))
    )
    with op.batch_alter_table('processed_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processed_updates_processed_at'), ['processed_at'], unique=False)

    op.create_table('moderator_chats',
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('bound_by', sa.BigInteger(), nullable=False),
    sa.Column('bound_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], name=op.f('fk_moderator_chats_municipality_id_municipalities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('municipality_id', name=op.f('pk_moderator_chats')),
    sa.UniqueConstraint('chat_id', name=op.f('uq_moderator_chats_chat_id'))
    )
    op.create_table('moderators',
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('granted_by', sa.BigInteger(), nullable=False),
    sa.Column('granted_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], name=op.f('fk_moderators_municipality_id_municipalities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('telegram_user_id', 'municipality_id', name=op.f('pk_moderators'))
    )
    op.create_table('residents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('telegram', 'messenger', name='channel', native_enum=False, length=16), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=True),
    sa.Column('age_group', sa.Enum('under_18', '18_29', '30_44', '45_64', '65_plus', name='agegroup', native_enum=False, length=16), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=True),
    sa.Column('consented_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('onboarded_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('unreachable_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], name=op.f('fk_residents_municipality_id_municipalities'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_residents')),
    sa.UniqueConstraint('channel', 'external_id', name=op.f('uq_residents_channel_external_id'))
    )
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_residents_municipality_id'), ['municipality_id'], unique=False)

    op.create_table('role_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_telegram_id', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.Enum('grant', 'revoke', 'bind_chat', 'activate', 'deactivate', name='roleaction', native_enum=False, length=16), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=True),
    sa.Column('target_telegram_id', sa.BigInteger(), nullable=True),
    sa.Column('municipality_id', sa.Integer(), nullable=True),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], name=op.f('fk_role_changes_municipality_id_municipalities'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_changes'))
    )
    with op.batch_alter_table('role_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_changes_at'), ['at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('role_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_changes_at'))

    op.drop_table('role_changes')
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_residents_municipality_id'))

    op.drop_table('residents')
    op.drop_table('moderators')
    op.drop_table('moderator_chats')
    with op.batch_alter_table('processed_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processed_updates_processed_at'))

    op.drop_table('processed_updates')
    op.drop_table('organizers')
    op.drop_table('municipalities')
    op.drop_table('fsm_records')
