"""inbound_delivery: the request's body while it is started, to replay it if its holder dies

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inbound_delivery', schema=None) as batch_op:
        batch_op.drop_column('content_type')
        batch_op.drop_column('body')
