"""Running the bot alone, or the bot and a worker together (the one-machine deployment)."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from bot.context import AppContext
from bot.factory import create_bot, create_dispatcher, set_commands
from bot.notifier import TelegramNotifier
from bot.settings import BotSettings
from pipeline.media.config import Settings


async def run_app(settings: Settings, bot_settings: BotSettings, *, with_worker: bool,
                  stop: asyncio.Event | None = None) -> None:
    """Poll Telegram (and run jobs) until SIGINT/SIGTERM or until `stop` is set."""
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
    dp = create_dispatcher(AppContext(settings, bot_settings, db))
    tasks = []
    try:
        await set_commands(bot)
        tasks.append(asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=False)))
        if with_worker:
            notifier = TelegramNotifier(bot, db, bot_settings)
            tasks.append(asyncio.create_task(run_worker(settings, notifier, db=db, stop=stop,
                                                        resolve_source=notifier.resolve_source)))
        await stop.wait()
    finally:
        with contextlib.suppress(RuntimeError):
            await dp.stop_polling()
        await asyncio.gather(*tasks, return_exceptions=True)
        await bot.session.close()
        await db.dispose()


async def run_delivering_worker(settings: Settings, bot_settings: BotSettings, *, burst: bool,
                                slots: int | None) -> int:
    """A worker on its own host that delivers its clips through the Bot API."""
    from pipeline.jobs.worker import ensure_dirs, open_database, run_worker

    ensure_dirs(settings)
    db = await open_database(settings)
    bot = create_bot(bot_settings)
    try:
        notifier = TelegramNotifier(bot, db, bot_settings)
        return await run_worker(settings, notifier, db=db, burst=burst, slots=slots,
                                resolve_source=notifier.resolve_source)
    finally:
        await bot.session.close()
        await db.dispose()
