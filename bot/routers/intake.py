"""Links (anywhere in a message) and video uploads: check, then offer the layouts."""

from __future__ import annotations

import asyncio
import html
import re
from pathlib import Path

from aiogram import F, Router
from aiogram.types import Message

import storage
from bot import keyboards
from bot.context import AppContext
from bot.texts import t
from pipeline.jobs.retention import check_free_space
from pipeline.media.chat.parse import read_chat_file
from pipeline.media.errors import ChatLogError, ClipFactoryError
from pipeline.media.fetch import describe
from pipeline.media.probe import format_hms

URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".webm", ".flv", ".ts", ".avi", ".m4v")
CHAT_EXTENSIONS = (".json", ".txt", ".log", ".csv")


async def _refused(message: Message, ctx: AppContext, user_id: int, lang: str) -> bool:
    """Too many jobs of this person's, or no disk left: say so and take nothing."""
    if await _too_many(ctx, user_id):
        await message.answer(t(lang, "too_many", n=ctx.bot_settings.telegram_max_active_jobs))
        return True
    try:
        check_free_space(ctx.settings.jobs_dir, ctx.settings.retention)
    except ClipFactoryError as exc:
        await message.answer(html.escape(exc.user_message))
        return True
    return False

PERSONAL_DEFAULTS = ("top_k", "template", "hook", "watermark", "colour")
"""What a person's /settings carry into each new request's options."""


async def _too_many(ctx: AppContext, user_id: int) -> bool:
    active = await storage.list_jobs(ctx.db, user_id, limit=50, status=("queued", "running"))
    return len(active) >= ctx.bot_settings.telegram_max_active_jobs


async def _offer(message: Message, ctx: AppContext, user_id: int, lang: str, source: str, title: str,
                 duration: float | None, reply: Message | None = None) -> None:
    user = await storage.get_user(ctx.db, user_id)
    defaults = {k: v for k, v in (user.settings if user else {}).items() if k in PERSONAL_DEFAULTS}
    request = await storage.create_request(ctx.db, user_id, message.chat.id, source, title, duration, defaults)
    text = t(lang, "pick_layout", title=html.escape(title or "video"),
             duration=f" ({format_hms(duration)})" if duration else "")
    markup = keyboards.layouts(request.id, keyboards.layout_names(list(ctx.settings.layouts), None), lang)
    if reply is not None:
        sent = await reply.edit_text(text, reply_markup=markup)
    else:
        sent = await message.answer(text, reply_markup=markup)
    if isinstance(sent, Message):
        await storage.update_request(ctx.db, request.id, message_id=sent.message_id)


async def link(message: Message, ctx: AppContext, user_id: int, lang: str) -> None:
    if await _refused(message, ctx, user_id, lang):
        return
    found = URL.search(message.text or "")
    if found is None:  # the router's filter matched this text: only an edited message gets here
        return
    url = found.group(0).rstrip(").,!?;")
    checking = await message.answer(t(lang, "checking"))
    try:
        title, duration = await asyncio.to_thread(describe, url, ctx.settings)
    except ClipFactoryError as exc:
        await checking.edit_text(html.escape(exc.user_message))
        return
    await _offer(message, ctx, user_id, lang, url, title, duration, reply=checking)


def _is_video(mime: str | None, name: str | None) -> bool:
    return (mime or "").startswith("video/") or (name or "").lower().endswith(VIDEO_EXTENSIONS)


async def upload(message: Message, ctx: AppContext, user_id: int, lang: str) -> None:
    media = message.video or message.document
    if media is None:
        return
    name = getattr(media, "file_name", None) or "video.mp4"
    if message.document and not _is_video(message.document.mime_type, name):
        await message.answer(t(lang, "not_video"))
        return
    limit = ctx.bot_settings.download_limit_mb
    size_mb = (media.file_size or 0) / 2**20
    if size_mb > limit:
        await message.answer(t(lang, "too_big_upload", size=round(size_mb), limit=limit))
        return
    if await _refused(message, ctx, user_id, lang):
        return
    duration = float(message.video.duration) if message.video and message.video.duration else None
    await _offer(message, ctx, user_id, lang, f"telegram:{media.file_id}", name, duration)


async def chat_log(message: Message, ctx: AppContext, user_id: int, lang: str) -> None:
    """A chat log sent as a reply to, or after, a link still waiting for its layout: saved
    beside the jobs and attached to that request, so the job scores its chat."""
    from storage.requests import open_request

    reply = message.reply_to_message
    request = ((reply and await open_request(ctx.db, user_id, message.chat.id, reply.message_id))
               or await open_request(ctx.db, user_id, message.chat.id))
    if request is None:
        await message.answer(t(lang, "chat_no_request"))
        return
    document = message.document
    if document is None or message.bot is None:
        return
    limit = min(ctx.bot_settings.download_limit_mb, ctx.settings.chat.max_file_mb)
    if (document.file_size or 0) > limit * 2**20:
        await message.answer(t(lang, "chat_too_big", limit=round(limit)))
        return
    suffix = Path(document.file_name or "chat.txt").suffix.lower()
    target = ctx.settings.data_dir / "chat_logs" / f"{request.id}{suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    await message.bot.download(document.file_id, destination=target)
    try:
        messages = await asyncio.to_thread(read_chat_file, target, limit)
    except ChatLogError as exc:
        target.unlink(missing_ok=True)
        await message.answer(html.escape(exc.user_message))
        return
    await storage.update_request(ctx.db, request.id, options={**request.options, "chat": str(target.resolve())})
    await message.answer(t(lang, "chat_attached", count=len(messages), chatters=len({m.author for m in messages}),
                           title=html.escape(request.title or "video")))


def _is_chat_log(message: Message) -> bool:
    return bool(message.document and (message.document.file_name or "").lower().endswith(CHAT_EXTENSIONS))


async def no_link(message: Message, lang: str) -> None:
    await message.answer(t(lang, "no_link"))


def make_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="intake")
    router.message(F.text.regexp(URL, mode="search"))(link)
    router.message(_is_chat_log)(chat_log)
    router.message(F.video | F.document)(upload)
    router.message(F.text)(no_link)
    return router
