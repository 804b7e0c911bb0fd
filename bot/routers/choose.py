"""Layout and option buttons under a request: tapping a layout queues the job, and the
message becomes its live status."""

from __future__ import annotations

import html
from typing import Any

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from pydantic import ValidationError

import storage
from bot import keyboards
from bot.callbacks import LayoutPick, OptionPick
from bot.context import AppContext
from bot.texts import t
from pipeline.media.options import JobOptions


async def _own_request(query: CallbackQuery, ctx: AppContext, user_id: int, lang: str,
                       request_id: str) -> storage.Request | None:
    request = await storage.get_request(ctx.db, request_id)
    if request is None:
        await query.answer(t(lang, "expired"), show_alert=True)
        return None
    if request.user_id != user_id:
        await query.answer(t(lang, "not_yours"), show_alert=True)
        return None
    return request


def _names(ctx: AppContext) -> list[str]:
    """Before the analysis the stream's faces are not known: no two-face layouts yet."""
    return keyboards.layout_names(list(ctx.settings.layouts), None)


async def pick_layout(query: CallbackQuery, callback_data: LayoutPick, ctx: AppContext, user_id: int,
                      lang: str) -> None:
    request = await _own_request(query, ctx, user_id, lang, callback_data.request)
    if request is None:
        return
    if callback_data.layout not in ctx.settings.layouts:
        await query.answer(t(lang, "expired"), show_alert=True)
        return
    try:
        options = JobOptions(**{**request.options, "layout": callback_data.layout, "title": request.title})
    except ValidationError:  # options stored by an older version, or forged
        await query.answer(t(lang, "bad_choice"), show_alert=True)
        return
    job, _ = await storage.enqueue(ctx.db, user_id, request.source, options.to_dict(),
                                   max_attempts=ctx.settings.worker.max_attempts, chat_id=request.chat_id,
                                   status_message_id=query.message.message_id if query.message else None)
    await storage.update_request(ctx.db, request.id, job_id=job.id)
    position = await storage.queue_position(ctx.db, job.id) or 1
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(
            t(lang, "queued", title=html.escape(request.title or "video"), layout=callback_data.layout,
              position=position),
            reply_markup=keyboards.cancel(job.id, lang))


def _apply(options: dict[str, Any], key: str, value: str) -> dict[str, Any]:
    """The options with one choice applied. ValueError when the value is not one offered."""
    if key == "top_k":
        return {**options, "top_k": int(value)}
    if key == "length" and value in keyboards.LENGTHS:
        lo, hi = keyboards.LENGTHS[value]
        return {**options, "min_clip_s": lo, "max_clip_s": hi}
    if key in ("subtitles", "hook") and value in ("0", "1"):
        return {**options, key: value == "1"}
    if key == "language":
        if value == "auto":
            return {k: v for k, v in options.items() if k != "language"}
        return {**options, "language": value}
    return options


async def pick_option(query: CallbackQuery, callback_data: OptionPick, ctx: AppContext, user_id: int,
                      lang: str) -> None:
    request = await _own_request(query, ctx, user_id, lang, callback_data.request)
    if request is None or not isinstance(query.message, Message):
        return
    title = html.escape(request.title or "video")
    if callback_data.key == "back":
        await query.answer()
        await query.message.edit_text(t(lang, "pick_layout", title=title, duration=""),
                                      reply_markup=keyboards.layouts(request.id, _names(ctx), lang))
        return
    try:
        options = _apply(request.options, callback_data.key, callback_data.value)
        JobOptions(**options)  # refuse anything the worker would refuse
    except ValueError:  # pydantic's ValidationError is one too
        await query.answer(t(lang, "bad_choice"), show_alert=True)
        return
    await query.answer()
    await storage.update_request(ctx.db, request.id, options=options)
    s = ctx.settings.scoring
    await query.message.edit_text(
        t(lang, "options_title", title=title, top_k=options.get("top_k", s.top_k),
          length=f"{options.get('min_clip_s', s.min_clip_s):.0f}–{options.get('max_clip_s', s.max_clip_s):.0f} s",
          subs="on" if options.get("subtitles", ctx.settings.render.subtitles) else "off",
          hook="on" if options.get("hook", ctx.settings.brand.hook) else "off",
          language=options.get("language", "auto")),
        reply_markup=keyboards.options(request.id, lang))


def make_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="choose")
    router.callback_query(LayoutPick.filter())(pick_layout)
    keys = {"menu", "top_k", "length", "subtitles", "hook", "language", "back"}
    router.callback_query(OptionPick.filter(F.key.in_(keys)))(pick_option)
    return router
