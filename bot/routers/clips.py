"""Buttons under a delivered clip: 👍/👎, another layout, longer, shorter, a new title, no
hook. Each vote, and each clip asked for again (kept: counts as a like), refits the person's
weights."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery

import storage
from bot import keyboards
from bot.callbacks import ClipAction, RelayoutPick, Vote
from bot.context import AppContext
from bot.texts import t
from pipeline.jobs import learning_store

EXTEND_S = 10.0


async def vote(query: CallbackQuery, callback_data: Vote, ctx: AppContext, user_id: int, lang: str) -> None:
    clip = await storage.get_clip(ctx.db, callback_data.clip)
    job = await storage.get_job(ctx.db, clip.job_id) if clip else None
    if clip is None or job is None or job.user_id != user_id:
        await query.answer(t(lang, "not_yours"), show_alert=True)
        return
    await storage.add_feedback(ctx.db, clip.id, user_id, callback_data.vote)
    await query.answer(t(lang, "vote_thanks"))
    await learning_store.refit(ctx.db, ctx.settings, user_id, job.options.get("template"))


async def _own_done_job(query: CallbackQuery, ctx: AppContext, user_id: int, lang: str, job_id: str):
    job = await storage.get_job(ctx.db, job_id)
    if job is None or job.user_id != user_id:
        await query.answer(t(lang, "not_yours"), show_alert=True)
        return None
    if job.status != "done":
        await query.answer(t(lang, "expired"), show_alert=True)
        return None
    return job


async def _rerender(query: CallbackQuery, ctx: AppContext, user_id: int, lang: str, job, rank: int,
                    **changes) -> None:
    source_job = job.options.get("rerender_of") or job.id
    options = {k: v for k, v in job.options.items() if k not in ("rank", "extend_s", "retitle")}
    options.update(rerender_of=source_job, rank=rank, **changes)
    chat_id = query.message.chat.id if query.message else job.chat_id
    queued = t(lang, "retitle_queued" if changes.get("retitle") else "rerender_queued", rank=rank)
    status = await query.message.answer(queued) if query.message else None
    await storage.enqueue(ctx.db, user_id, job.source, options, max_attempts=ctx.settings.worker.max_attempts,
                          chat_id=chat_id, status_message_id=status.message_id if status else None)
    await query.answer()
    clip = next((c for c in await storage.clips_for(ctx.db, job.id) if c.rank == rank), None)
    if clip is not None:
        await storage.mark_kept(ctx.db, clip.id, user_id)
        await learning_store.refit(ctx.db, ctx.settings, user_id, job.options.get("template"))


async def clip_action(query: CallbackQuery, callback_data: ClipAction, ctx: AppContext, user_id: int,
                      lang: str) -> None:
    job = await _own_done_job(query, ctx, user_id, lang, callback_data.job)
    if job is None:
        return
    if callback_data.action == "relayout":
        await query.answer()
        names = keyboards.layout_names(list(ctx.settings.layouts), (job.result or {}).get("faces"))
        if query.message is not None:
            await query.message.answer(t(lang, "pick_other_layout", rank=callback_data.rank),
                                       reply_markup=keyboards.relayout(job.id, callback_data.rank, names))
        return
    if callback_data.action == "retitle":
        await _rerender(query, ctx, user_id, lang, job, callback_data.rank, retitle=True)
        return
    if callback_data.action == "nohook":
        await _rerender(query, ctx, user_id, lang, job, callback_data.rank, hook=False)
        return
    delta = EXTEND_S if callback_data.action == "longer" else -EXTEND_S
    await _rerender(query, ctx, user_id, lang, job, callback_data.rank,
                    extend_s=(job.options.get("extend_s") or 0) + delta)


async def relayout(query: CallbackQuery, callback_data: RelayoutPick, ctx: AppContext, user_id: int,
                   lang: str) -> None:
    job = await _own_done_job(query, ctx, user_id, lang, callback_data.job)
    if job is None:
        return
    if callback_data.layout not in ctx.settings.layouts:
        await query.answer(t(lang, "expired"), show_alert=True)
        return
    await _rerender(query, ctx, user_id, lang, job, callback_data.rank, layout=callback_data.layout)


def make_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="clips")
    router.callback_query(Vote.filter(F.vote.in_({1, -1})))(vote)
    actions = {"relayout", "longer", "shorter", "retitle", "nohook"}
    router.callback_query(ClipAction.filter(F.action.in_(actions)))(clip_action)
    router.callback_query(RelayoutPick.filter())(relayout)
    return router
