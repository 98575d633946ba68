"""AI usage: events as reported, daily aggregates, first uses and the alerts watch rules raise

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('usage_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('day', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('raised_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rule', 'key', 'day', name='uq_usage_alert')
    )
    with op.batch_alter_table('usage_alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_alert_raised_at'), ['raised_at'], unique=False)

    op.create_table('usage_daily',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('service', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('use_case', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('input_tokens', sa.BigInteger(), nullable=False),
    sa.Column('output_tokens', sa.BigInteger(), nullable=False),
    sa.Column('cost_usd', sa.Float(), nullable=False),
    sa.Column('redaction_hits', sa.Integer(), nullable=False),
    sa.Column('first_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('day', 'service', 'user_id', 'model', 'provider', 'use_case', name='uq_usage_daily')
    )
    with op.batch_alter_table('usage_daily', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_daily_day'), ['day'], unique=False)
        batch_op.create_index('ix_usage_daily_model_day', ['model', 'day'], unique=False)

    op.create_table('usage_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('ingested_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('operation', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('request_model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('service', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('team', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('use_case', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('input_tokens', sa.Integer(), nullable=True),
    sa.Column('output_tokens', sa.Integer(), nullable=True),
    sa.Column('cost_usd', sa.Float(), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('trace_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('span_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('keep', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('input_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('output_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('input_text', sa.Text(), nullable=True),
    sa.Column('output_text', sa.Text(), nullable=True),
    sa.Column('redactions', sa.JSON(), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('watched_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('usage_event', schema=None) as batch_op:
        batch_op.create_index('ix_usage_event_model_at', ['model', 'started_at'], unique=False)
        batch_op.create_index('ix_usage_event_service_at', ['service', 'started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_event_started_at'), ['started_at'], unique=False)
        batch_op.create_index('ix_usage_event_unwatched', ['id'], unique=False, sqlite_where=sa.text('watched_at IS NULL'), postgresql_where=sa.text('watched_at IS NULL'))
        batch_op.create_index('ix_usage_event_use_case_at', ['use_case', 'started_at'], unique=False)
        batch_op.create_index('ix_usage_event_user_at', ['user_id', 'started_at'], unique=False)

    op.create_table('usage_first_seen',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('who', sqlmodel.sql.sqltypes.AutoString(length=210), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('who', 'model', name='uq_usage_first_seen')
    )


def downgrade() -> None:
    op.drop_table('usage_first_seen')
    with op.batch_alter_table('usage_event', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_event_user_at')
        batch_op.drop_index('ix_usage_event_use_case_at')
        batch_op.drop_index('ix_usage_event_unwatched', sqlite_where=sa.text('watched_at IS NULL'), postgresql_where=sa.text('watched_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_usage_event_started_at'))
        batch_op.drop_index('ix_usage_event_service_at')
        batch_op.drop_index('ix_usage_event_model_at')

    op.drop_table('usage_event')
    with op.batch_alter_table('usage_daily', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_daily_model_day')
        batch_op.drop_index(batch_op.f('ix_usage_daily_day'))

    op.drop_table('usage_daily')
    with op.batch_alter_table('usage_alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_alert_raised_at'))

    op.drop_table('usage_alert')
