"""incidents: incidents, the pages they sent, on-call overrides made from Slack

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('reporter', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('source_permalink', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('affected', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('chain', sa.JSON(), nullable=False),
    sa.Column('roster', sa.JSON(), nullable=False),
    sa.Column('playbook_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('playbook_version', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('channel_name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('announce_channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('summary_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('escalation_run', sa.Integer(), nullable=False),
    sa.Column('acknowledged_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('acknowledged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('resolved_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('resolved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('resolution_summary', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=True),
    sa.Column('postmortem_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('revisit_usecase', sa.Boolean(), nullable=False),
    sa.Column('last_update_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_reminder_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('next_reminder_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('update_snoozed_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('opened_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('state_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel_name')
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_reporter'), ['reporter'], unique=False)
        batch_op.create_index('ix_incident_status', ['status', 'id'], unique=False)

    op.create_table('oncall_override',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rotation', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('start', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('end', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('cancelled', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('oncall_override', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oncall_override_rotation'), ['rotation'], unique=False)

    op.create_table('incident_page',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('run', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('user', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('outbox_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('incident_id', 'run', 'round', 'step', 'recipient', name='uq_incident_page_once')
    )
    with op.batch_alter_table('incident_page', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_page_incident_id'), ['incident_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incident_page', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_page_incident_id'))

    op.drop_table('incident_page')
    with op.batch_alter_table('oncall_override', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oncall_override_rotation'))

    op.drop_table('oncall_override')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_status')
        batch_op.drop_index(batch_op.f('ix_incident_reporter'))

    op.drop_table('incident')
