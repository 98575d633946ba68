"""registry: use cases, vendors, their history, digests

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_action_at', ['action', 'at'], unique=False)
    with op.batch_alter_table('approval_vote', schema=None) as batch_op:
        batch_op.create_index('ix_approval_vote_user', ['user', 'request_id'], unique=False)
    op.create_table('digest_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('week', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scope', 'week', name='uq_digest_run_week')
    )
    op.create_table('digest_subscriber',
    sa.Column('user', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('since', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user')
    )
    op.create_table('record_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('field', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('old', sa.JSON(), nullable=False),
    sa.Column('new', sa.JSON(), nullable=False),
    sa.Column('by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('record_change', schema=None) as batch_op:
        batch_op.create_index('ix_record_change_record', ['record_type', 'record_id', 'id'], unique=False)

    op.create_table('use_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('contributors', sa.JSON(), nullable=False),
    sa.Column('audience', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('intended_uses', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('out_of_scope_uses', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('risk_tier', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('models', sa.JSON(), nullable=False),
    sa.Column('training_data', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('features', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('inference_data', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('predictions', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('output_use', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('performance', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('drift', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('vulnerabilities', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('mitigations', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('privacy', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('security', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('oversight', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('access_policy', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('consent', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_reviewed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_reviewed_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('next_review_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('snoozes', sa.Integer(), nullable=False),
    sa.Column('state_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('use_case', schema=None) as batch_op:
        batch_op.create_index('ix_use_case_owner', ['owner', 'next_review_at'], unique=False)
        batch_op.create_index('ix_use_case_status_due', ['status', 'next_review_at'], unique=False)

    op.create_table('vendor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
    sa.Column('website', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('contact', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('provides', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('data_ownership', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('trains_on_our_data', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('retention', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('deployment', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('certifications', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('data_sensitivity', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('injection_tested', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('injection_result', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('risk_level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('contingency', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('review_status', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('assignee', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reviewer', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('review_result', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_reviewed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_reviewed_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('next_review_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('snoozes', sa.Integer(), nullable=False),
    sa.Column('state_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('vendor', schema=None) as batch_op:
        batch_op.create_index('ix_vendor_assignee', ['assignee', 'next_review_at'], unique=False)
        batch_op.create_index('ix_vendor_review_due', ['review_status', 'next_review_at'], unique=False)
        batch_op.create_index('ix_vendor_reviewer', ['reviewer', 'next_review_at'], unique=False)

    op.create_table('use_case_vendor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('use_case_id', sa.Integer(), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['use_case_id'], ['use_case.id'], ),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('use_case_id', 'vendor_id', name='uq_use_case_vendor')
    )
    with op.batch_alter_table('use_case_vendor', schema=None) as batch_op:
        batch_op.create_index('ix_use_case_vendor_vendor', ['vendor_id'], unique=False)

    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('use_case_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('use_case_note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))
        batch_op.create_foreign_key('fk_approval_request_use_case', 'use_case', ['use_case_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('approval_vote', schema=None) as batch_op:
        batch_op.drop_index('ix_approval_vote_user')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_action_at')
    with op.batch_alter_table('approval_request', schema=None) as batch_op:
        # WARNING: constraint name is None; this directive will fail as
        # rendered.  Add a name, or use a naming convention; see
        # https://alembic.sqlalchemy.org/en/latest/naming.html
        batch_op.drop_constraint('fk_approval_request_use_case', type_='foreignkey')
        batch_op.drop_column('use_case_note')
        batch_op.drop_column('use_case_id')

    with op.batch_alter_table('use_case_vendor', schema=None) as batch_op:
        batch_op.drop_index('ix_use_case_vendor_vendor')

    op.drop_table('use_case_vendor')
    with op.batch_alter_table('vendor', schema=None) as batch_op:
        batch_op.drop_index('ix_vendor_reviewer')
        batch_op.drop_index('ix_vendor_review_due')
        batch_op.drop_index('ix_vendor_assignee')

    op.drop_table('vendor')
    with op.batch_alter_table('use_case', schema=None) as batch_op:
        batch_op.drop_index('ix_use_case_status_due')
        batch_op.drop_index('ix_use_case_owner')

    op.drop_table('use_case')
    with op.batch_alter_table('record_change', schema=None) as batch_op:
        batch_op.drop_index('ix_record_change_record')

    op.drop_table('record_change')
    op.drop_table('digest_subscriber')
    op.drop_table('digest_run')
