"""/start and /help."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot.context import AppContext
from bot.texts import t


async def start(message: Message, lang: str) -> None:
    await message.answer(t(lang, "start"))


async def help_(message: Message, lang: str, ctx: AppContext) -> None:
    s, b = ctx.settings, ctx.bot_settings
    await message.answer(t(lang, "help", max_hours=round(s.limits.max_duration_s / 3600, 1),
                           download_mb=b.download_limit_mb, upload_mb=min(b.upload_limit_mb, s.render.max_size_mb)))


def make_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="start")
    router.message(CommandStart())(start)
    router.message(Command("help"))(help_)
    return router
