"""outbox: index a channel's messages by status and id for the claim's order check

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_channel_order', ['channel', 'status', 'id'], unique=False)
        # Its leading column makes the old single-column index redundant.
        batch_op.drop_index('ix_outbox_message_channel')


def downgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_message_channel', ['channel'], unique=False)
        batch_op.drop_index('ix_outbox_channel_order')
