"""polls and surveys: polls, questions, options, answers, choices, survey progress

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 11:58:25.257782

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('polls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('intro', sa.JSON(), nullable=True),
    sa.Column('thanks', sa.JSON(), nullable=True),
    sa.Column('created_by', sa.BigInteger(), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('scheduled', 'open', 'closed', 'cancelled', name='pollstatus', native_enum=False, length=16), nullable=False),
    sa.Column('results_visibility', sa.Enum('after_answer', 'after_close', 'never', name='resultsvisibility', native_enum=False, length=16), nullable=False),
    sa.Column('opens_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closes_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('opened_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_polls'))
    )
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_polls_created_by'), ['created_by'], unique=False)
        batch_op.create_index('ix_polls_status_closes_at', ['status', 'closes_at'], unique=False)
        batch_op.create_index('ix_polls_status_opens_at', ['status', 'opens_at'], unique=False)

    op.create_table('poll_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.Enum('single', 'multiple', 'scale', 'text', name='questionkind', native_enum=False, length=16), nullable=False),
    sa.Column('skip_if', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_questions_poll_id_polls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_questions')),
    sa.UniqueConstraint('poll_id', 'position', name=op.f('uq_poll_questions_poll_id_position'))
    )
    op.create_table('poll_options',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['poll_questions.id'], name=op.f('fk_poll_options_question_id_poll_questions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_options')),
    sa.UniqueConstraint('question_id', 'position', name=op.f('uq_poll_options_question_id_position'))
    )
    op.create_table('poll_progress',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('municipality_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('draft', sa.JSON(), nullable=True),
    sa.Column('started_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('first_answer_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], name=op.f('fk_poll_progress_municipality_id_municipalities'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_progress_poll_id_polls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_poll_progress_resident_id_residents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_progress')),
    sa.UniqueConstraint('poll_id', 'resident_id', name=op.f('uq_poll_progress_poll_id_resident_id'))
    )
    with op.batch_alter_table('poll_progress', schema=None) as batch_op:
        batch_op.create_index('ix_poll_progress_resident', ['resident_id', 'poll_id'], unique=False)

    op.create_table('poll_answers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('poll_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('municipality_id', sa.Integer(), nullable=True),
    sa.Column('option_id', sa.Integer(), nullable=True),
    sa.Column('scale_value', sa.SmallInteger(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('answered_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('scale_value IS NULL OR (scale_value >= 1 AND scale_value <= 5)', name=op.f('ck_poll_answers_scale_value_range')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], name=op.f('fk_poll_answers_municipality_id_municipalities'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['option_id'], ['poll_options.id'], name=op.f('fk_poll_answers_option_id_poll_options'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['poll_id'], ['polls.id'], name=op.f('fk_poll_answers_poll_id_polls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['poll_questions.id'], name=op.f('fk_poll_answers_question_id_poll_questions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_poll_answers_resident_id_residents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_answers')),
    sa.UniqueConstraint('question_id', 'resident_id', name=op.f('uq_poll_answers_question_id_resident_id'))
    )
    with op.batch_alter_table('poll_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_answers_resident_id'), ['resident_id'], unique=False)
        batch_op.create_index('ix_poll_answers_tally', ['poll_id', 'question_id', 'option_id', 'scale_value'], unique=False)

    op.create_table('poll_answer_choices',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('answer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('option_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['answer_id'], ['poll_answers.id'], name=op.f('fk_poll_answer_choices_answer_id_poll_answers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['option_id'], ['poll_options.id'], name=op.f('fk_poll_answer_choices_option_id_poll_options'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poll_answer_choices')),
    sa.UniqueConstraint('answer_id', 'option_id', name=op.f('uq_poll_answer_choices_answer_id_option_id'))
    )
    with op.batch_alter_table('poll_answer_choices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_poll_answer_choices_option_id'), ['option_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('poll_answer_choices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_poll_answer_choices_option_id'))

    op.drop_table('poll_answer_choices')
    with op.batch_alter_table('poll_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_poll_answers_tally')
        batch_op.drop_index(batch_op.f('ix_poll_answers_resident_id'))

    op.drop_table('poll_answers')
    with op.batch_alter_table('poll_progress', schema=None) as batch_op:
        batch_op.drop_index('ix_poll_progress_resident')

    op.drop_table('poll_progress')
    op.drop_table('poll_options')
    op.drop_table('poll_questions')
    with op.batch_alter_table('polls', schema=None) as batch_op:
        batch_op.drop_index('ix_polls_status_opens_at')
        batch_op.drop_index('ix_polls_status_closes_at')
        batch_op.drop_index(batch_op.f('ix_polls_created_by'))

    op.drop_table('polls')
