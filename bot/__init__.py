"""The Telegram front end (aiogram 3): intake, layout buttons, live status, delivery.

It never imports the ML code: handlers validate, enqueue, and reply. Workers deliver the
clips through `bot.notifier.TelegramNotifier`."""
