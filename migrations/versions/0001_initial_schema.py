"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from core.models.fulltext import FULLTEXT_INDEXES, install


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('imap_cursor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox', sa.String(length=512), nullable=False),
    sa.Column('uidvalidity', sa.Integer(), nullable=False),
    sa.Column('last_uid', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imap_cursor')),
    sa.UniqueConstraint('mailbox', name=op.f('uq_imap_cursor_mailbox'))
    )
    op.create_table('office',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('path', sa.String(length=512), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['office.id'], name=op.f('fk_office_parent_id_office')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_office')),
    sa.UniqueConstraint('code', name=op.f('uq_office_code')),
    sa.UniqueConstraint('email', name=op.f('uq_office_email'))
    )
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_office_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_office_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_office_path'), ['path'], unique=False)
        batch_op.create_index('ix_office_path_prefix', ['path'], unique=False, postgresql_ops={'path': 'varchar_pattern_ops'})

    op.create_table('priority',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('first_response_hours', sa.Integer(), nullable=True),
    sa.Column('resolution_hours', sa.Integer(), nullable=True),
    sa.Column('escalate_on_breach', sa.Boolean(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_priority')),
    sa.UniqueConstraint('name', name=op.f('uq_priority_name'))
    )
    op.create_table('rate_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_event'))
    )
    with op.batch_alter_table('rate_event', schema=None) as batch_op:
        batch_op.create_index('ix_rate_event_key_at', ['key', 'at'], unique=False)

    op.create_table('setting',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_setting'))
    )
    op.create_table('used_stamp',
    sa.Column('nonce', sa.String(length=32), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('nonce', name=op.f('pk_used_stamp'))
    )
    with op.batch_alter_table('used_stamp', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_used_stamp_used_at'), ['used_at'], unique=False)

    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('agent', 'supervisor', 'admin', name='role', native_enum=False, length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('available', sa.Boolean(), nullable=False),
    sa.Column('available_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('max_open', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_app_user_office_id_office')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('email', name=op.f('uq_app_user_email'))
    )
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_app_user_office_id'), ['office_id'], unique=False)

    op.create_table('canned_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_canned_response_office_id_office')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_response'))
    )
    with op.batch_alter_table('canned_response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_canned_response_office_id'), ['office_id'], unique=False)

    op.create_table('category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('default_office_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['default_office_id'], ['office.id'], name=op.f('fk_category_default_office_id_office')),
    sa.ForeignKeyConstraint(['parent_id'], ['category.id'], name=op.f('fk_category_parent_id_category')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_category'))
    )
    op.create_table('password_reset',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_password_reset_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_password_reset_token_hash'))
    )
    with op.batch_alter_table('password_reset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_reset_user_id'), ['user_id'], unique=False)

    op.create_table('ticket',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('status', sa.Enum('open', 'answered', 'on_hold', 'forwarded', 'closed', name='status', native_enum=False, length=16), nullable=False),
    sa.Column('priority_id', sa.Integer(), nullable=True),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('requester_email', sa.String(length=254), nullable=False),
    sa.Column('requester_name', sa.String(length=200), nullable=True),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('token_nonce', sa.String(length=32), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('token_issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('continues_id', sa.Integer(), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_customer_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_response_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sla_warned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sla_breached_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('satisfied', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['app_user.id'], name=op.f('fk_ticket_assignee_id_app_user')),
    sa.ForeignKeyConstraint(['category_id'], ['category.id'], name=op.f('fk_ticket_category_id_category')),
    sa.ForeignKeyConstraint(['continues_id'], ['ticket.id'], name=op.f('fk_ticket_continues_id_ticket')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['ticket.id'], name=op.f('fk_ticket_merged_into_id_ticket')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_ticket_office_id_office')),
    sa.ForeignKeyConstraint(['priority_id'], ['priority.id'], name=op.f('fk_ticket_priority_id_priority')),
    sa.ForeignKeyConstraint(['school_id'], ['office.id'], name=op.f('fk_ticket_school_id_office')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket')),
    sa.UniqueConstraint('ref', name=op.f('uq_ticket_ref')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_ticket_token_hash'))
    )
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_assignee_status', ['assignee_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_ticket_office_status', ['office_id', 'status'], unique=False)
        batch_op.create_index('ix_ticket_office_updated', ['office_id', 'updated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_requester_email'), ['requester_email'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_school_id'), ['school_id'], unique=False)
        batch_op.create_index('ix_ticket_status_changed', ['status', 'status_changed_at'], unique=False)
        batch_op.create_index('ix_ticket_updated_at', ['updated_at'], unique=False)

    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('from_value', sa.String(length=255), nullable=True),
    sa.Column('to_value', sa.String(length=255), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_event_actor_id_app_user')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_event_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('context', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('message_id', sa.String(length=995), nullable=False),
    sa.Column('in_reply_to', sa.String(length=995), nullable=True),
    sa.Column('references', sa.Text(), nullable=True),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', 'bounced', 'suppressed', name='outboxstatus', native_enum=False, length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('bounced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('bounce_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_outbox_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('message_id', name=op.f('uq_outbox_message_id'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_to_address'), ['to_address'], unique=False)

    op.create_table('raw_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('envelope_from', sa.String(length=254), nullable=True),
    sa.Column('envelope_to', sa.Text(), nullable=True),
    sa.Column('message_id', sa.String(length=995), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.Enum('new_ticket', 'appended', 'duplicate', 'auto_reply', 'bounce', 'quarantined', name='outcome', native_enum=False, length=16), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('discarded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_raw_mail_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_raw_mail'))
    )
    with op.batch_alter_table('raw_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_raw_mail_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_raw_mail_outcome'), ['outcome'], unique=False)
        batch_op.create_index(batch_op.f('ix_raw_mail_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_raw_mail_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_raw_mail_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('other_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['other_id'], ['ticket.id'], name=op.f('fk_ticket_link_other_id_ticket')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_ticket_link_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_link'))
    )
    with op.batch_alter_table('ticket_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_link_other_id'), ['other_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_link_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.Enum('in', 'out', 'note', name='direction', native_enum=False, length=16), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('from_address', sa.String(length=254), nullable=True),
    sa.Column('from_name', sa.String(length=200), nullable=True),
    sa.Column('message_id', sa.String(length=995), nullable=True),
    sa.Column('in_reply_to', sa.String(length=995), nullable=True),
    sa.Column('subject', sa.String(length=255), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('full_text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=True),
    sa.Column('auto_reply', sa.Boolean(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('raw_mail_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['app_user.id'], name=op.f('fk_message_author_id_app_user')),
    sa.ForeignKeyConstraint(['raw_mail_id'], ['raw_mail.id'], name=op.f('fk_message_raw_mail_id_raw_mail')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_message_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message'))
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_message_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=127), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_id', sa.String(length=255), nullable=True),
    sa.Column('inline', sa.Boolean(), nullable=False),
    sa.Column('refused_reason', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_attachment_message_id_message')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment'))
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_sha256'), ['sha256'], unique=False)


    # Full-text search: GIN expression indexes on PostgreSQL (the very
    # expressions core/queries/search.py queries), FTS5 tables and triggers on SQLite.
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for index in FULLTEXT_INDEXES:
            index.create(bind)
    install(bind)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_sha256'))
        batch_op.drop_index(batch_op.f('ix_attachment_message_id'))

    op.drop_table('attachment')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_message_message_id'))

    op.drop_table('message')
    with op.batch_alter_table('ticket_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_link_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_ticket_link_other_id'))

    op.drop_table('ticket_link')
    with op.batch_alter_table('raw_mail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_raw_mail_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_raw_mail_sha256'))
        batch_op.drop_index(batch_op.f('ix_raw_mail_received_at'))
        batch_op.drop_index(batch_op.f('ix_raw_mail_outcome'))
        batch_op.drop_index(batch_op.f('ix_raw_mail_message_id'))

    op.drop_table('raw_mail')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_to_address'))
        batch_op.drop_index(batch_op.f('ix_outbox_ticket_id'))
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_event_kind'))

    op.drop_table('event')
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_updated_at')
        batch_op.drop_index('ix_ticket_status_changed')
        batch_op.drop_index(batch_op.f('ix_ticket_school_id'))
        batch_op.drop_index(batch_op.f('ix_ticket_requester_email'))
        batch_op.drop_index('ix_ticket_office_updated')
        batch_op.drop_index('ix_ticket_office_status')
        batch_op.drop_index(batch_op.f('ix_ticket_created_at'))
        batch_op.drop_index('ix_ticket_assignee_status')

    op.drop_table('ticket')
    with op.batch_alter_table('password_reset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_reset_user_id'))

    op.drop_table('password_reset')
    op.drop_table('category')
    with op.batch_alter_table('canned_response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_canned_response_office_id'))

    op.drop_table('canned_response')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_app_user_office_id'))

    op.drop_table('app_user')
    with op.batch_alter_table('used_stamp', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_stamp_used_at'))

    op.drop_table('used_stamp')
    op.drop_table('setting')
    with op.batch_alter_table('rate_event', schema=None) as batch_op:
        batch_op.drop_index('ix_rate_event_key_at')

    op.drop_table('rate_event')
    op.drop_table('priority')
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.drop_index('ix_office_path_prefix', postgresql_ops={'path': 'varchar_pattern_ops'})
        batch_op.drop_index(batch_op.f('ix_office_path'))
        batch_op.drop_index(batch_op.f('ix_office_parent_id'))
        batch_op.drop_index(batch_op.f('ix_office_kind'))

    op.drop_table('office')
    op.drop_table('imap_cursor')
