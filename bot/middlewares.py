"""Access control for every update, and a Bot API session that waits out flood control."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import TelegramMethod
from aiogram.types import TelegramObject, Update

import storage
from bot.context import AppContext
from bot.texts import lang_of, t

log = logging.getLogger(__name__)


def _sender(update: Update):
    for event in (update.message, update.edited_message, update.callback_query, update.inline_query,
                  update.my_chat_member, update.chosen_inline_result, update.pre_checkout_query,
                  update.shipping_query, update.poll_answer, update.chat_join_request):
        user = getattr(event, "from_user", None) or getattr(event, "user", None)
        if user is not None:
            return user
    return None


class AccessMiddleware(BaseMiddleware):
    """An outer middleware on every update: strangers are refused politely (on messages and
    button presses alike) and nothing else happens; known users get their storage id."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        user = _sender(event)
        if user is None or user.is_bot:
            return None
        lang = lang_of(user.language_code)
        if not self.ctx.bot_settings.may_use(user.id):
            if event.message is not None:
                await event.message.answer(t(lang, "private"))
            elif event.callback_query is not None:
                await event.callback_query.answer(t(lang, "private"), show_alert=True)
            return None
        data["ctx"] = self.ctx
        data["lang"] = lang
        data["user_id"] = await storage.ensure_user(self.ctx.db, telegram_id=user.id,
                                                    name=user.full_name[:200], language=lang)
        data["is_admin"] = user.id in self.ctx.bot_settings.admins
        return await handler(event, data)


class RetryMiddleware(BaseRequestMiddleware):
    """Flood control (429): wait as long as Telegram asks, then send again. Server errors and
    timeouts: retry with backoff. Everything else goes up to the caller."""

    def __init__(self, attempts: int = 5, base_delay: float = 1.0, max_wait: float = 120.0) -> None:
        self.attempts, self.base_delay, self.max_wait = attempts, base_delay, max_wait

    async def __call__(self, make_request: NextRequestMiddlewareType, bot: Any,
                       method: TelegramMethod) -> Any:
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.attempts or exc.retry_after > self.max_wait:
                    raise
                log.warning("flood control on %s: waiting %s s", type(method).__name__, exc.retry_after)
                await asyncio.sleep(exc.retry_after)
            except (TelegramServerError, TelegramNetworkError) as exc:
                if attempt == self.attempts:
                    raise
                delay = self.base_delay * 2 ** (attempt - 1)
                log.warning("Telegram %s on %s, retrying in %.1f s", type(exc).__name__,
                            type(method).__name__, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")
