"""Running the bot alone, or the bot and a worker together (the one-machine deployment).

Nothing stops the bot quietly: a failed nicety at start (the commands menu) is a warning;
a refused token, or polling or the in-process worker ending on an error, is logged in
words for the operator and raised as `BotStopped`, so the process exits non-zero and its
supervisor restarts it. Network trouble is waited out, as aiogram's polling does."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

from aiogram.exceptions import TelegramUnauthorizedError

from bot.context import AppContext
from bot.errors import BotStopped, PollingStopped, TokenRefused, WorkerStopped
from bot.factory import create_bot, create_dispatcher, offer_commands
from bot.notifier import TelegramNotifier
from bot.settings import BotSettings
from bot.token import TokenWatch, check_token
from pipeline.media.config import Settings

log = logging.getLogger(__name__)


def _why_stopped(polling: asyncio.Task[Any], worker: asyncio.Task[Any] | None,
                 watch: TokenWatch) -> BotStopped | None:
    """What ended the serving, when it was not a stop request (None then)."""
    if watch.refused.is_set():
        return TokenRefused()
    for task, error in ((polling, PollingStopped), (worker, WorkerStopped)):
        if task is None or not task.done():
            continue
        exc = None if task.cancelled() else task.exception()
        if isinstance(exc, TelegramUnauthorizedError):
            return TokenRefused(detail=exc.message)
        if exc is not None:
            log.error("%s ended on an error", "polling" if task is polling else "the worker",
                      exc_info=(type(exc), exc, exc.__traceback__))
        return error(detail=f"{type(exc).__name__}: {exc}" if exc else "it ended by itself")
    return None


async def run_app(settings: Settings, bot_settings: BotSettings, *, with_worker: bool,
                  stop: asyncio.Event | None = None) -> None:
    """Poll Telegram (and run jobs) until SIGINT/SIGTERM or until `stop` is set. Raises
    BotStopped, after logging why, when it cannot go on."""
    from pipeline.jobs.worker import ensure_dirs, open_database, run_worker

    ensure_dirs(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if settings.observability.metrics_enabled:
        from pipeline.jobs import metrics

        metrics.serve(settings.observability.metrics_host, settings.observability.metrics_port)
    db = await open_database(settings)
    bot = create_bot(bot_settings)
    watch = TokenWatch()
    bot.session.middleware(watch)
    dp = create_dispatcher(AppContext(settings, bot_settings, db))
    tasks: list[asyncio.Task[Any]] = []
    failure: BotStopped | None = None
    try:
        try:
            await check_token(bot, stop)
        except BotStopped as exc:
            failure = exc
            return
        if stop.is_set():  # stopped while Telegram could not be reached
            return
        tasks.append(asyncio.create_task(offer_commands(bot)))
        polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=False))
        tasks.append(polling)
        worker = None
        if with_worker:
            notifier = TelegramNotifier(bot, db, bot_settings)
            worker = asyncio.create_task(run_worker(settings, notifier, db=db, stop=stop,
                                                    resolve_source=notifier.resolve_source))
            tasks.append(worker)
        waits = [asyncio.create_task(stop.wait()), asyncio.create_task(watch.refused.wait())]
        try:
            await asyncio.wait([*waits, polling, *([worker] if worker else [])],
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
        if not stop.is_set():
            failure = _why_stopped(polling, worker, watch)
    finally:
        stop.set()  # the worker gives its job back at the next stage boundary
        with contextlib.suppress(RuntimeError):
            await dp.stop_polling()
        await asyncio.gather(*tasks, return_exceptions=True)
        await bot.session.close()
        await db.dispose()
        if failure is not None:
            log.error("%s", failure)
            raise failure


async def run_delivering_worker(settings: Settings, bot_settings: BotSettings, *, burst: bool,
                                slots: int | None) -> int:
    """A worker on its own host that delivers its clips through the Bot API. A refused token
    is raised (BotStopped) before any job is taken."""
    from pipeline.jobs.worker import ensure_dirs, open_database, run_worker

    ensure_dirs(settings)
    db = await open_database(settings)
    bot = create_bot(bot_settings)
    try:
        try:
            await check_token(bot, asyncio.Event())
        except BotStopped as exc:
            log.error("%s", exc)
            raise
        notifier = TelegramNotifier(bot, db, bot_settings)
        return await run_worker(settings, notifier, db=db, burst=burst, slots=slots,
                                resolve_source=notifier.resolve_source)
    finally:
        await bot.session.close()
        await db.dispose()
