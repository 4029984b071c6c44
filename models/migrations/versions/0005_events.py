"""events: events, their municipalities and registration questions, registrations, reminders sent

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 10:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('consultation', 'training', 'discussion', 'focus_group', 'study_visit', 'seminar', name='eventkind', native_enum=False, length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('place_address', sa.String(length=300), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('online_url', sa.String(length=512), nullable=True),
    sa.Column('starts_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('registration_deadline', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('per_organization_quota', sa.Integer(), nullable=True),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('published', 'cancelled', name='eventstatus', native_enum=False, length=16), nullable=False),
    sa.Column('reminder_offsets', sa.JSON(), nullable=False),
    sa.Column('offer_hours', sa.Integer(), nullable=False),
    sa.Column('capacity_notified', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_created_by'), ['created_by'], unique=False)
        batch_op.create_index('ix_events_status_starts_at', ['status', 'starts_at'], unique=False)

    op.create_table('event_municipalities',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_municipalities_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], name=op.f('fk_event_municipalities_municipality_id_municipalities')),
    sa.PrimaryKeyConstraint('event_id', 'municipality_id', name=op.f('pk_event_municipalities'))
    )
    with op.batch_alter_table('event_municipalities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_municipalities_municipality_id'), ['municipality_id'], unique=False)

    op.create_table('event_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_questions_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_questions')),
    sa.UniqueConstraint('event_id', 'position', name=op.f('uq_event_questions_event_id_position'))
    )
    op.create_table('event_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('offset_minutes', sa.Integer(), nullable=False),
    sa.Column('sent', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_reminders_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_reminders')),
    sa.UniqueConstraint('event_id', 'offset_minutes', name=op.f('uq_event_reminders_event_id_offset_minutes'))
    )
    op.create_table('event_registrations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('municipality_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('registered', 'waitlisted', 'offered', 'cancelled', 'declined', 'expired', name='registrationstatus', native_enum=False, length=16), nullable=False),
    sa.Column('organization', sa.String(length=200), nullable=True),
    sa.Column('organization_key', sa.String(length=200), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=True),
    sa.Column('share_name', sa.Boolean(), nullable=False),
    sa.Column('display_name', sa.String(length=128), nullable=True),
    sa.Column('checkin_code', sa.String(length=6), nullable=False),
    sa.Column('waitlisted_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('offer_expires_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attended_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('marked_by', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_registrations_event_id_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], name=op.f('fk_event_registrations_municipality_id_municipalities'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_event_registrations_resident_id_residents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_registrations')),
    sa.UniqueConstraint('checkin_code', name=op.f('uq_event_registrations_checkin_code')),
    sa.UniqueConstraint('event_id', 'resident_id', name=op.f('uq_event_registrations_event_id_resident_id'))
    )
    with op.batch_alter_table('event_registrations', schema=None) as batch_op:
        batch_op.create_index('ix_event_registrations_event_status', ['event_id', 'status'], unique=False)
        batch_op.create_index('ix_event_registrations_offers', ['status', 'offer_expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_registrations_resident_id'), ['resident_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('event_registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_registrations_resident_id'))
        batch_op.drop_index('ix_event_registrations_offers')
        batch_op.drop_index('ix_event_registrations_event_status')

    op.drop_table('event_registrations')
    op.drop_table('event_reminders')
    op.drop_table('event_questions')
    with op.batch_alter_table('event_municipalities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_municipalities_municipality_id'))

    op.drop_table('event_municipalities')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_status_starts_at')
        batch_op.drop_index(batch_op.f('ix_events_created_by'))

    op.drop_table('events')
