"""Requests waiting for a layout choice; the chat and status message of a job.

Revision ID: 0002_requests
Revises: 0001_initial
Create Date: 2026-11-22

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0002_requests"
down_revision: Union[str, Sequence[str], None] = "0001_initial"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("chat_id", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("status_message_id", sa.BigInteger, nullable=True))
    op.create_table(
        "requests",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.BigInteger, nullable=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False, server_default=""),
        sa.Column("duration", sa.Float, nullable=True),
        sa.Column("options", JSON, nullable=False),
        sa.Column("job_id", sa.String(16), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_requests"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_requests_user_id_users",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_requests_user_id_created_at", "requests", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_requests_user_id_created_at", table_name="requests")
    op.drop_table("requests")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("status_message_id")
        batch.drop_column("chat_id")
