"""The process holding a job's lease: host, pid and start time, so that a worker on the same
host takes back at once a job whose worker process is gone.

Revision ID: 0004_lease_holder
Revises: 0003_learning
Create Date: 2026-12-10

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004_lease_holder"
down_revision: Union[str, Sequence[str], None] = "0003_learning"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("lease_host", sa.String(255), nullable=True))
        batch.add_column(sa.Column("lease_pid", sa.Integer, nullable=True))
        batch.add_column(sa.Column("lease_started", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("lease_started")
        batch.drop_column("lease_pid")
        batch.drop_column("lease_host")
