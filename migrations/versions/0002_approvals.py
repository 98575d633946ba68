"""approvals: requests, votes, checklist confirmations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


revision: str = '0002'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('approval_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('audience', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('ref_key', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('ai_tool', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('requester', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('origin_channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('policy', sa.JSON(), nullable=False),
    sa.Column('playbook_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('playbook_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('reminders_sent', sa.Integer(), nullable=False),
    sa.Column('break_glass', sa.Boolean(), nullable=False),
    sa.Column('state_version', sa.Integer(), nullable=False),
    sa.Column('message_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_request_ref_key'), ['ref_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_approval_request_requester'), ['requester'], unique=False)
        batch_op.create_index('ix_approval_request_status', ['status', 'id'], unique=False)

    op.create_table('approval_checklist',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('item', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['approval_request.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'revision', 'item', name='uq_approval_checklist_item')
    )
    op.create_table('approval_vote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('user', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('group_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('dismissed', sa.Boolean(), nullable=False),
    sa.Column('break_glass', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['approval_request.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'revision', 'user', name='uq_approval_vote_once')
    )


def downgrade() -> None:
    op.drop_table('approval_vote')
    op.drop_table('approval_checklist')
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.drop_index('ix_approval_request_status')
        batch_op.drop_index(batch_op.f('ix_approval_request_requester'))
        batch_op.drop_index(batch_op.f('ix_approval_request_ref_key'))

    op.drop_table('approval_request')
