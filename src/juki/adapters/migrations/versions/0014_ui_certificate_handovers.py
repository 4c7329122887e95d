"""The clerk UI's certificate hand-over in the database, so that any worker process can serve it

`ui_certificate_handovers`: one row per confirmation page shown (`token`), for the staff member who saw it. Its
発行 button claims the row once (`state`: pending → busy → done, or failed), so a double click or a second worker
never issues twice; the issued PDF waits here, sealed with the UI key (it may hold a My Number), until its one
fetch or ten minutes, and the result page's facts (`summary`) for half an hour. Rows are working state, not
history: the PDF is cleared on fetch and expired rows are deleted.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 02:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ui_certificate_handovers",
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("staff_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("issuance_number", sa.String(length=20), nullable=True),
        sa.Column("pdf_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("issued_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_ui_certificate_handovers")),
    )
    op.create_index("ix_ui_certificate_handovers_created_at", "ui_certificate_handovers", ["created_at"])
    op.create_index(
        "ix_ui_certificate_handovers_issuance_number", "ui_certificate_handovers", ["issuance_number"]
    )


def downgrade() -> None:
    op.drop_index("ix_ui_certificate_handovers_issuance_number", table_name="ui_certificate_handovers")
    op.drop_index("ix_ui_certificate_handovers_created_at", table_name="ui_certificate_handovers")
    op.drop_table("ui_certificate_handovers")
