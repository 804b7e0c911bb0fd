"""/queue and /cancel, and the Cancel button under a status message."""

from __future__ import annotations

import contextlib
import html

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

import storage
from bot.callbacks import CancelJob
from bot.context import AppContext
from bot.texts import t

ACTIVE = ("queued", "running")


async def queue(message: Message, ctx: AppContext, user_id: int, lang: str) -> None:
    jobs = await storage.list_jobs(ctx.db, user_id, limit=10, status=ACTIVE)
    if not jobs:
        await message.answer(t(lang, "queue_empty"))
        return
    lines = []
    for job in jobs:
        stage = t(lang, f"stage_{job.stage}") if job.stage else ""
        if job.status == "queued":
            stage = f"#{await storage.queue_position(ctx.db, job.id) or '?'}"
        lines.append(t(lang, "queue_line", id=job.id, status=job.status, stage=stage,
                       percent=round(job.progress * 100), title=html.escape(job.options.get("title", job.source))[:60]))
    await message.answer("\n".join(lines))


async def _cancel(bot: Bot, ctx: AppContext, job_id: str, user_id: int, lang: str) -> bool:
    """Cancel; a queued job is cancelled at once, so its status message is updated here (a
    running one is stopped by its worker, which updates it)."""
    if not await storage.cancel(ctx.db, job_id, user_id):
        return False
    job = await storage.get_job(ctx.db, job_id)
    if job and job.status == "cancelled" and job.chat_id and job.status_message_id:
        with contextlib.suppress(TelegramBadRequest):
            await bot.edit_message_text(t(lang, "cancelled", title=html.escape(job.options.get("title", "video"))),
                                        chat_id=job.chat_id, message_id=job.status_message_id)
    return True


async def cancel(message: Message, command: CommandObject, bot: Bot, ctx: AppContext, user_id: int,
                 lang: str) -> None:
    if command.args:
        job_id = command.args.strip()
    else:
        jobs = await storage.list_jobs(ctx.db, user_id, limit=1, status=ACTIVE)
        job_id = jobs[0].id if jobs else ""
    if not job_id or not await _cancel(bot, ctx, job_id, user_id, lang):
        await message.answer(t(lang, "nothing_to_cancel"))
        return
    await message.answer(t(lang, "cancel_requested"))


async def cancel_button(query: CallbackQuery, callback_data: CancelJob, bot: Bot, ctx: AppContext,
                        user_id: int, lang: str) -> None:
    job = await storage.get_job(ctx.db, callback_data.job)
    if job is None or job.user_id != user_id:
        await query.answer(t(lang, "not_yours"), show_alert=True)
        return
    cancelled = await _cancel(bot, ctx, job.id, user_id, lang)
    await query.answer(t(lang, "cancel_requested") if cancelled else t(lang, "nothing_to_cancel"))


def make_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="jobs")
    router.message(Command("queue"))(queue)
    router.message(Command("cancel"))(cancel)
    router.callback_query(CancelJob.filter())(cancel_button)
    return router
