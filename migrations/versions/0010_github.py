"""github app: webhook deliveries kept until worked on, and one check run per pull request head

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


revision: str = '0010'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('github_delivery',
    sa.Column('delivery_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('lease_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.PrimaryKeyConstraint('delivery_id')
    )
    with op.batch_alter_table('github_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_github_delivery_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('pull_request_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('repository', sqlmodel.sql.sqltypes.AutoString(length=140), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('installation_id', sa.Integer(), nullable=False),
    sa.Column('head_sha', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('markers', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('create_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['approval_request.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('repository', 'head_sha', name='uq_pull_request_check_sha')
    )
    with op.batch_alter_table('pull_request_check', schema=None) as batch_op:
        batch_op.create_index('ix_pull_request_check_pull', ['repository', 'number', 'id'], unique=False)
        batch_op.create_index('ix_pull_request_check_request', ['request_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('pull_request_check', schema=None) as batch_op:
        batch_op.drop_index('ix_pull_request_check_request')
        batch_op.drop_index('ix_pull_request_check_pull')

    op.drop_table('pull_request_check')
    with op.batch_alter_table('github_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_github_delivery_due')

    op.drop_table('github_delivery')
