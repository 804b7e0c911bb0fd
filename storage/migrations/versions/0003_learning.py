"""Learning from feedback: "kept" on feedback; weights learnt per user and template.

Revision ID: 0003_learning
Revises: 0002_requests
Create Date: 2026-12-01

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0003_learning"
down_revision: Union[str, Sequence[str], None] = "0002_requests"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("kept", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "learnt_weights",
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("template", sa.String(64), nullable=False, server_default=""),
        sa.Column("weights", JSON, nullable=False),
        sa.Column("votes", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "template", name="pk_learnt_weights"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_learnt_weights_user_id_users",
                                ondelete="CASCADE"),
    )


def downgrade() -> None:
    op.drop_table("learnt_weights")
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("kept")
