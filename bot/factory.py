"""Factories for the bot, its dispatcher and the commands menu."""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import BotCommand

from bot.context import AppContext
from bot.middlewares import AccessMiddleware, RetryMiddleware
from bot.routers import choose, clips, errors, intake, jobs, settings, start, stats, weights
from bot.settings import BotSettings

log = logging.getLogger(__name__)

COMMANDS = {
    "en": [("start", "what this bot does"), ("help", "how to use it, limits"), ("queue", "your jobs"),
           ("cancel", "stop your latest job"), ("settings", "your defaults"), ("stats", "your numbers"),
           ("weights", "scoring weights learnt from your votes"), ("watermark", "your handle on your clips")],
    "ru": [("start", "что умеет бот"), ("help", "как пользоваться, ограничения"), ("queue", "ваши задачи"),
           ("cancel", "остановить последнюю задачу"), ("settings", "настройки"), ("stats", "статистика"),
           ("weights", "веса оценки по вашим голосам"), ("watermark", "ваш ник на клипах")],
}


def create_bot(bot_settings: BotSettings) -> Bot:
    server = bot_settings.telegram_api_server
    api = TelegramAPIServer.from_base(server, is_local=bot_settings.local_server) if server else None
    timeout = bot_settings.telegram_request_timeout_s
    session = AiohttpSession(api=api, timeout=timeout) if api else AiohttpSession(timeout=timeout)
    session.middleware(RetryMiddleware())
    return Bot(bot_settings.require_token(), session=session,
               default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True))


def create_dispatcher(ctx: AppContext) -> Dispatcher:
    dp = Dispatcher()
    dp.update.outer_middleware(AccessMiddleware(ctx))
    # intake last: it answers any other text.
    dp.include_routers(start.make_router(), jobs.make_router(), settings.make_router(), stats.make_router(),
                       weights.make_router(), choose.make_router(), clips.make_router(), intake.make_router(),
                       errors.make_router())
    return dp


async def set_commands(bot: Bot) -> None:
    for lang, commands in COMMANDS.items():
        await bot.set_my_commands([BotCommand(command=c, description=d) for c, d in commands],
                                  language_code=None if lang == "en" else lang)


async def offer_commands(bot: Bot) -> None:
    """The commands menu is a nicety: when Telegram will not take it, say so and serve on."""
    try:
        await set_commands(bot)
    except Exception as exc:  # noqa: BLE001 - any failure here must not stop the bot
        log.warning("could not set the commands menu (%s: %s); the bot works without it",
                    type(exc).__name__, exc)
