"""/stats: jobs, clips and the median time per stage (admins see everyone's), with a chart."""

from __future__ import annotations

import statistics

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Message

import storage
from bot.charts import stage_times
from bot.context import AppContext
from bot.texts import t


async def stats(message: Message, ctx: AppContext, user_id: int, lang: str, is_admin: bool) -> None:
    jobs = await storage.list_jobs(ctx.db, None if is_admin else user_id, limit=1000)
    per_stage: dict[str, list[float]] = {}
    for job in jobs:
        for stage, info in ((job.result or {}).get("stages") or {}).items():
            if not info.get("cached"):
                per_stage.setdefault(stage, []).append(float(info.get("seconds", 0)))
    medians = {k: round(statistics.median(v), 1) for k, v in per_stage.items() if v}
    text = t(lang, "stats", jobs=len(jobs), done=sum(j.status == "done" for j in jobs),
             failed=sum(j.status == "failed" for j in jobs), clips=sum(j.clips for j in jobs),
             stages=", ".join(f"{k} {v}" for k, v in medians.items()) or "—")
    if medians:
        await message.answer_photo(BufferedInputFile(stage_times(medians), "stages.png"), caption=text)
    else:
        await message.answer(text)


def make_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="stats")
    router.message(Command("stats"))(stats)
    return router
