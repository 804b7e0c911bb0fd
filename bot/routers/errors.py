"""The last word on any update whose handling failed: the person is told, in their language,
that the fault is ours, and the log gets the update id with the traceback."""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent, Update

from bot.texts import lang_of, t

log = logging.getLogger(__name__)


def _where(update: Update) -> tuple[int | None, str | None]:
    """The chat to answer in and the sender's language code."""
    if update.message is not None:
        user = update.message.from_user
        return update.message.chat.id, user.language_code if user else None
    if update.callback_query is not None:
        query = update.callback_query
        chat = query.message.chat.id if query.message is not None else query.from_user.id
        return chat, query.from_user.language_code
    return None, None


async def on_error(event: ErrorEvent, bot: Bot) -> bool:
    update = event.update
    exc = event.exception
    log.error("update %s failed: %s: %s", update.update_id, type(exc).__name__, exc,
              exc_info=(type(exc), exc, exc.__traceback__))
    chat_id, language_code = _where(update)
    text = t(lang_of(language_code), "oops")
    try:
        if update.callback_query is not None:
            # The handler may have answered the button already: then only a message reaches them.
            with contextlib.suppress(TelegramAPIError):
                await update.callback_query.answer(text, show_alert=True)
                return True
        if chat_id is not None:
            await bot.send_message(chat_id, text)
    except Exception as reply_error:  # noqa: BLE001 - the error handler itself must not fail
        log.warning("could not tell update %s's sender about the error: %s", update.update_id, reply_error)
    return True


def make_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="errors")
    router.errors()(on_error)
    return router
