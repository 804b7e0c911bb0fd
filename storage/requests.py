"""Links and uploads waiting for the person to pick a layout (the bot's intake)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage.db import read_tx, utcnow, write_tx
from storage.models import Request, row_to
from storage.tables import requests

Db = Any


async def create_request(db: Db, user_id: int, chat_id: int, source: str, title: str = "",
                         duration: float | None = None, options: dict[str, Any] | None = None, *,
                         now: datetime | None = None) -> Request:
    request_id = secrets.token_urlsafe(6)
    async with write_tx(db) as conn:
        await conn.execute(requests.insert().values(
            id=request_id, user_id=user_id, chat_id=chat_id, source=source, title=title[:500],
            duration=duration, options=dict(options or {}), created_at=utcnow(now)))
        row = (await conn.execute(sa.select(requests).where(requests.c.id == request_id))).mappings().one()
        return row_to(Request, row)


async def get_request(db: Db, request_id: str) -> Request | None:
    async with read_tx(db) as conn:
        row = (await conn.execute(sa.select(requests).where(requests.c.id == request_id))).mappings().first()
        return row_to(Request, row) if row else None


async def open_request(db: Db, user_id: int, chat_id: int, message_id: int | None = None) -> Request | None:
    """A request of this person's in this chat still waiting for its layout: the one whose
    message `message_id` is, else the latest."""
    query = sa.select(requests).where(requests.c.user_id == user_id, requests.c.chat_id == chat_id,
                                      requests.c.job_id.is_(None))
    if message_id is not None:
        query = query.where(requests.c.message_id == message_id)
    async with read_tx(db) as conn:
        row = (await conn.execute(query.order_by(requests.c.created_at.desc()).limit(1))).mappings().first()
        return row_to(Request, row) if row else None


async def update_request(db: Db, request_id: str, **values: Any) -> None:
    """Set message_id, options or job_id of a request."""
    allowed = {"message_id", "options", "job_id"}
    if set(values) - allowed:
        raise ValueError(f"only {sorted(allowed)} can change")
    async with write_tx(db) as conn:
        await conn.execute(requests.update().where(requests.c.id == request_id).values(**values))
