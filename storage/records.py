"""Users, clips, feedback, learnt weights and job events: the records around a job.

Writes that may be repeated (a worker retried, two workers racing after a lost lease,
a person pressing a button twice) are upserts: INSERT ... ON CONFLICT on both dialects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from storage.db import read_tx, utcnow, write_tx
from storage.models import Clip, JobEvent, LearntWeights, User, row_to
from storage.tables import clips, feedback, job_events, jobs, learnt_weights, users

Db = AsyncEngine | async_sessionmaker


def _insert(conn: AsyncConnection, table: sa.Table) -> Any:
    """INSERT with the dialect's ON CONFLICT support."""
    return (postgresql.insert(table) if conn.dialect.name == "postgresql"
            else sqlite.insert(table))


# --- users --------------------------------------------------------------------------

async def ensure_user(db: Db, telegram_id: int | None = None, name: str = "",
                      language: str = "en", *, now: datetime | None = None) -> int:
    """The id of the user with this Telegram id, created on first sight (its name kept
    up to date; its language left as the person chose it). Without a Telegram id, a named
    user (the command line's "cli") is found by name; an unnamed one is new each time."""
    now = utcnow(now)
    values: dict[str, Any] = dict(telegram_id=telegram_id, name=name or "", language=language or "en",
                  settings={}, created_at=now)
    async with write_tx(db) as conn:
        if telegram_id is None:
            if name:
                found = (await conn.execute(sa.select(users.c.id).where(
                    users.c.telegram_id.is_(None), users.c.name == name).limit(1))).scalar()
                if found is not None:
                    return int(found)
            res = await conn.execute(users.insert().values(**values).returning(users.c.id))
            return int(res.scalar_one())
        await conn.execute(_insert(conn, users).values(**values)
                           .on_conflict_do_nothing(index_elements=["telegram_id"]))
        uid = (await conn.execute(
            sa.select(users.c.id).where(users.c.telegram_id == telegram_id))).scalar_one()
        if name:
            await conn.execute(users.update().where(users.c.id == uid, users.c.name != name)
                               .values(name=name))
        return int(uid)


async def get_user(db: Db, user_id: int | None = None, *,
                   telegram_id: int | None = None) -> User | None:
    if (user_id is None) == (telegram_id is None):
        raise ValueError("give exactly one of user_id and telegram_id")
    cond = users.c.id == user_id if user_id is not None else users.c.telegram_id == telegram_id
    async with read_tx(db) as conn:
        row = (await conn.execute(sa.select(users).where(cond))).mappings().first()
    return None if row is None else row_to(User, row)


async def update_user(db: Db, user_id: int, *, name: str | None = None,
                      language: str | None = None,
                      settings: Mapping[str, Any] | None = None) -> bool:
    """Change what is given; `settings` replaces the whole settings mapping."""
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = name
    if language is not None:
        values["language"] = language
    if settings is not None:
        values["settings"] = dict(settings)
    if not values:
        return await get_user(db, user_id) is not None
    async with write_tx(db) as conn:
        res = await conn.execute(users.update().where(users.c.id == user_id).values(**values))
        return res.rowcount == 1


# --- clips --------------------------------------------------------------------------

_CLIP_KEYS = ("rank", "start", "end", "score", "breakdown", "reasons", "text", "file",
              "thumbnail", "telegram_file_id")


def _clip_row(job_id: str, index: int, clip: Mapping[str, Any]) -> dict[str, Any]:
    missing = [k for k in ("start", "end", "score") if clip.get(k) is None]
    if missing:
        raise ValueError(f"clip {index} lacks {missing}")
    row = {k: clip[k] for k in _CLIP_KEYS if k in clip}
    row["job_id"] = job_id
    row["rank"] = int(clip.get("rank") or index)
    row["start"], row["end"], row["score"] = (float(clip[k]) for k in ("start", "end", "score"))
    row["breakdown"] = dict(clip.get("breakdown") or {})
    row["reasons"] = list(clip.get("reasons") or [])
    row["text"] = str(clip.get("text") or "")
    for k in ("file", "thumbnail"):  # str or Path
        row[k] = None if clip.get(k) is None else str(clip[k])
    row.setdefault("telegram_file_id", None)
    return row


async def record_clips(db: Db, job_id: str, clips_in: Iterable[Mapping[str, Any]]) -> list[Clip]:
    """Store a job's clips; each (job_id, rank) is stored once, whoever calls and however
    often (later calls leave existing ranks as they are). Keys: rank (defaults to the
    1-based position), start, end, score, breakdown, reasons, text, file, thumbnail;
    other keys are ignored. Returns all the job's clips by rank."""
    rows = [_clip_row(job_id, i, c) for i, c in enumerate(clips_in, start=1)]
    async with write_tx(db) as conn:
        if rows:
            await conn.execute(_insert(conn, clips).values(rows)
                               .on_conflict_do_nothing(index_elements=["job_id", "rank"]))
        return await _clips(conn, job_id)


async def _clips(conn: AsyncConnection, job_id: str) -> list[Clip]:
    res = await conn.execute(sa.select(clips).where(clips.c.job_id == job_id)
                             .order_by(clips.c.rank))
    return [row_to(Clip, r) for r in res.mappings()]


async def clips_for(db: Db, job_id: str) -> list[Clip]:
    async with read_tx(db) as conn:
        return await _clips(conn, job_id)


async def get_clip(db: Db, clip_id: int) -> Clip | None:
    async with read_tx(db) as conn:
        row = (await conn.execute(sa.select(clips).where(clips.c.id == clip_id))).mappings().first()
    return None if row is None else row_to(Clip, row)


async def set_clip_file_id(db: Db, clip_id: int, telegram_file_id: str) -> bool:
    """Remember Telegram's file_id of an uploaded clip (re-sending by file_id is free)."""
    async with write_tx(db) as conn:
        res = await conn.execute(clips.update().where(clips.c.id == clip_id)
                                 .values(telegram_file_id=telegram_file_id))
        return res.rowcount == 1


async def mark_delivered(db: Db, clip_id: int, *, now: datetime | None = None) -> bool:
    """Mark a clip delivered; the first delivery time is kept. False if no such clip."""
    now = utcnow(now)
    async with write_tx(db) as conn:
        res = await conn.execute(clips.update().where(clips.c.id == clip_id).values(
            delivered_at=sa.func.coalesce(clips.c.delivered_at, now)))
        return res.rowcount == 1


# --- feedback and events ------------------------------------------------------------

async def add_feedback(db: Db, clip_id: int, user_id: int, vote: int, *,
                       now: datetime | None = None) -> None:
    """A person's vote on a clip; voting again replaces the earlier vote."""
    now = utcnow(now)
    async with write_tx(db) as conn:
        stmt = _insert(conn, feedback).values(clip_id=clip_id, user_id=user_id, vote=int(vote),
                                              created_at=now)
        await conn.execute(stmt.on_conflict_do_update(
            index_elements=["clip_id", "user_id"],
            set_={"vote": stmt.excluded.vote, "created_at": stmt.excluded.created_at}))


async def feedback_for(db: Db, clip_id: int) -> dict[int, int]:
    """{user_id: vote} for a clip (people who only kept it have not voted: left out)."""
    async with read_tx(db) as conn:
        rows = (await conn.execute(sa.select(feedback.c.user_id, feedback.c.vote)
                                   .where(feedback.c.clip_id == clip_id, feedback.c.vote != 0))).all()
    return {int(u): int(v) for u, v in rows}


async def mark_kept(db: Db, clip_id: int, user_id: int, *, now: datetime | None = None) -> None:
    """A person asked for this clip again (another layout, longer, shorter): they keep it.
    Their vote, if any, is left as it is."""
    now = utcnow(now)
    async with write_tx(db) as conn:
        stmt = _insert(conn, feedback).values(clip_id=clip_id, user_id=user_id, vote=0, kept=True,
                                              created_at=now)
        await conn.execute(stmt.on_conflict_do_update(
            index_elements=["clip_id", "user_id"],
            set_={"kept": True, "created_at": stmt.excluded.created_at}))


def _label(vote: int, kept: bool) -> int | None:
    """1 liked or kept, 0 disliked; an explicit vote wins over keeping (a 👎 clip asked
    for longer is still one the person did not like)."""
    if vote:
        return 1 if vote > 0 else 0
    return 1 if kept else None


async def feedback_examples(db: Db, user_id: int, *, template: str | None = None,
                            since: datetime | None = None,
                            limit: int | None = None) -> list[tuple[dict[str, Any], int]]:
    """A person's votes as learning examples, (clip breakdown, 1 liked or kept / 0 disliked),
    newest first. `template`: only clips of jobs made with that channel template ("" for
    jobs without one; None: all). `since`: only feedback given after that time. `limit`:
    the newest that many."""
    q = (sa.select(clips.c.breakdown, feedback.c.vote, feedback.c.kept, jobs.c.options)
         .select_from(feedback.join(clips, clips.c.id == feedback.c.clip_id)
                      .join(jobs, jobs.c.id == clips.c.job_id))
         .where(feedback.c.user_id == user_id)
         .order_by(feedback.c.created_at.desc(), feedback.c.id.desc()))
    if since is not None:
        q = q.where(feedback.c.created_at > since)
    async with read_tx(db) as conn:
        rows = (await conn.execute(q)).all()
    out: list[tuple[dict[str, Any], int]] = []
    for breakdown, vote, kept, options in rows:
        label = _label(int(vote), bool(kept))
        if label is None:
            continue
        if template is not None and ((options or {}).get("template") or "") != template:
            continue
        out.append((dict(breakdown or {}), label))
        if limit is not None and len(out) >= limit:
            break
    return out


# --- learnt weights -----------------------------------------------------------------

async def save_learnt_weights(db: Db, user_id: int, template: str, weights: Mapping[str, float],
                              votes: int, *, now: datetime | None = None) -> None:
    """Store (replace) the weights learnt for a person, for one channel template or for
    all their jobs (template "")."""
    now = utcnow(now)
    values = dict(user_id=user_id, template=template or "",
                  weights={k: float(v) for k, v in weights.items()}, votes=int(votes), updated_at=now)
    async with write_tx(db) as conn:
        stmt = _insert(conn, learnt_weights).values(**values)
        await conn.execute(stmt.on_conflict_do_update(
            index_elements=["user_id", "template"],
            set_={k: stmt.excluded[k] for k in ("weights", "votes", "updated_at")}))


async def get_learnt_weights(db: Db, user_id: int, template: str = "") -> LearntWeights | None:
    async with read_tx(db) as conn:
        row = (await conn.execute(sa.select(learnt_weights).where(
            learnt_weights.c.user_id == user_id,
            learnt_weights.c.template == (template or "")))).mappings().first()
    return None if row is None else row_to(LearntWeights, row)


async def delete_learnt_weights(db: Db, user_id: int, template: str | None = None) -> int:
    """Forget a person's learnt weights: one template's ("" for all-jobs weights), or every
    one of them (None). Returns how many were deleted."""
    cond = learnt_weights.c.user_id == user_id
    if template is not None:
        cond = sa.and_(cond, learnt_weights.c.template == template)
    async with write_tx(db) as conn:
        return int((await conn.execute(learnt_weights.delete().where(cond))).rowcount or 0)


async def add_event(db: Db, job_id: str, kind: str, data: Mapping[str, Any] | None = None, *,
                    now: datetime | None = None) -> int:
    """Append to a job's event log (stage timings, deliveries, errors); returns its id."""
    now = utcnow(now)
    async with write_tx(db) as conn:
        res = await conn.execute(job_events.insert().values(
            job_id=job_id, at=now, kind=kind, data=dict(data or {})).returning(job_events.c.id))
        return int(res.scalar_one())


async def events_for(db: Db, job_id: str, kind: str | None = None) -> list[JobEvent]:
    q = sa.select(job_events).where(job_events.c.job_id == job_id)
    if kind is not None:
        q = q.where(job_events.c.kind == kind)
    async with read_tx(db) as conn:
        res = await conn.execute(q.order_by(job_events.c.at, job_events.c.id))
        return [row_to(JobEvent, r) for r in res.mappings()]
