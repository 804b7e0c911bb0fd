"""Is the bot token accepted? Checked once before serving (network trouble is waited out,
a refusal is final), and watched on every Bot API call after that: Telegram answers 401 to
any call once the token is revoked, and aiogram's polling would retry getUpdates forever."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod

from bot.errors import ApiRefused, TokenRefused

log = logging.getLogger(__name__)
MAX_WAIT_S = 60.0


async def check_token(bot: Bot, stop: asyncio.Event) -> None:
    """getMe until it answers (or `stop` is set). Raises TokenRefused on 401, ApiRefused on
    any other refusal (a wrong TELEGRAM_API_SERVER answers 404)."""
    delay = 1.0
    while not stop.is_set():
        try:
            await bot.me()
            return
        except TelegramUnauthorizedError as exc:
            raise TokenRefused(detail=exc.message) from exc
        except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as exc:
            log.warning("Telegram is not reachable (%s: %s); trying again in %.0f s",
                        type(exc).__name__, exc, delay)
        except TelegramAPIError as exc:
            raise ApiRefused(detail=f"{type(exc).__name__}: {exc.message}") from exc
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, MAX_WAIT_S)


class TokenWatch(BaseRequestMiddleware):
    """A request middleware that sets `refused` on the first 401, whatever the call."""

    def __init__(self) -> None:
        self.refused = asyncio.Event()

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Any,
                       method: TelegramMethod[Any]) -> Any:
        try:
            return await make_request(bot, method)
        except TelegramUnauthorizedError:
            self.refused.set()
            raise
