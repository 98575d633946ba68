"""audit log sealing (seq, leaf hash, tree state, checkpoints), API tokens, PostgreSQL guard

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# The guard: an audit event may change once, from unsealed to sealed, and in nothing else; a
# checkpoint only once more, when it is witnessed. Rows leave only through `audit purge`, which
# says so for its own transaction. A database owner can drop these triggers: they stop mistakes
# and the application, not the owner; `audit verify` against witnessed checkpoints stops the owner.
PG_GUARD = """
CREATE FUNCTION countersign_audit_event_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF current_setting('countersign.audit_purge', true) = 'on' AND OLD.seq IS NOT NULL THEN
      RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_event is append-only: DELETE refused (use countersign audit purge)'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF OLD.seq IS NULL AND OLD.leaf_hash IS NULL AND OLD.sealed_at IS NULL
     AND NEW.seq IS NOT NULL AND NEW.leaf_hash IS NOT NULL AND NEW.sealed_at IS NOT NULL
     AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.actor = OLD.actor
     AND NEW.action = OLD.action AND NEW.entity_type = OLD.entity_type
     AND NEW.entity_id = OLD.entity_id
     AND NEW.payload::text IS NOT DISTINCT FROM OLD.payload::text
     AND NEW.request_id IS NOT DISTINCT FROM OLD.request_id THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_event is append-only: only sealing an unsealed event is allowed'
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE FUNCTION countersign_audit_checkpoint_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.witnessed_at IS NULL AND NEW.witnessed_at IS NOT NULL
     AND NEW.id = OLD.id AND NEW.size = OLD.size AND NEW.root_hash = OLD.root_hash
     AND NEW.at = OLD.at AND NEW.note = OLD.note
     AND NEW.key_name IS NOT DISTINCT FROM OLD.key_name
     AND NEW.key_id IS NOT DISTINCT FROM OLD.key_id THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_checkpoint is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE FUNCTION countersign_audit_truncate_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_event_guard BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH ROW EXECUTE FUNCTION countersign_audit_event_guard();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
  FOR EACH STATEMENT EXECUTE FUNCTION countersign_audit_truncate_guard();
CREATE TRIGGER audit_checkpoint_guard BEFORE UPDATE OR DELETE ON audit_checkpoint
  FOR EACH ROW EXECUTE FUNCTION countersign_audit_checkpoint_guard();
CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint
  FOR EACH STATEMENT EXECUTE FUNCTION countersign_audit_truncate_guard();
"""

PG_UNGUARD = """
DROP TRIGGER IF EXISTS audit_checkpoint_no_truncate ON audit_checkpoint;
DROP TRIGGER IF EXISTS audit_checkpoint_guard ON audit_checkpoint;
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event;
DROP TRIGGER IF EXISTS audit_event_guard ON audit_event;
DROP FUNCTION IF EXISTS countersign_audit_truncate_guard();
DROP FUNCTION IF EXISTS countersign_audit_checkpoint_guard();
DROP FUNCTION IF EXISTS countersign_audit_event_guard();
"""


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('leaf_hash', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
        batch_op.add_column(sa.Column('sealed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_index('ix_audit_event_seq', ['seq'], unique=True)
        batch_op.create_index('ix_audit_event_entity', ['entity_type', 'entity_id', 'id'])
    op.create_index('ix_audit_event_unsealed', 'audit_event', ['id'],
                    sqlite_where=sa.text('seq IS NULL'), postgresql_where=sa.text('seq IS NULL'))

    op.create_table(
        'audit_log_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('frontier', sa.JSON(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('sealed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('purged_size', sa.Integer(), nullable=False),
        sa.Column('purged_frontier', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    # The sequencer's one row exists from the start, so two sequencers never race to create it.
    op.execute("INSERT INTO audit_log_state (id, size, frontier, version, purged_size, "
               "purged_frontier) VALUES (1, 0, '[]', 0, 0, '[]')")
    op.create_table(
        'audit_checkpoint',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('root_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('key_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column('witnessed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('size'),
    )
    op.create_table(
        'api_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('scopes', sa.JSON(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('last_used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
        sa.UniqueConstraint('token_hash'),
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_GUARD)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_UNGUARD)
    op.drop_table('api_token')
    op.drop_table('audit_checkpoint')
    op.drop_table('audit_log_state')
    op.drop_index('ix_audit_event_unsealed', table_name='audit_event')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_entity')
        batch_op.drop_index('ix_audit_event_seq')
        batch_op.drop_column('sealed_at')
        batch_op.drop_column('leaf_hash')
        batch_op.drop_column('seq')
