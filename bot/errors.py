"""Why the bot stops for good. Each message is written for the operator reading the logs:
what happened, and what to check. The process then exits non-zero, so that compose or
systemd restarts it and the failure shows."""

from __future__ import annotations

from pipeline.media.errors import ClipFactoryError


class BotStopped(ClipFactoryError):
    user_message = "The bot stopped."


class TokenRefused(BotStopped):
    user_message = ("Telegram refused the bot token: check TELEGRAM_BOT_TOKEN (a token revoked or "
                    "regenerated in @BotFather stops working at once).")


class ApiRefused(BotStopped):
    user_message = ("The Bot API server refused the bot's first call: check TELEGRAM_API_SERVER "
                    "and TELEGRAM_BOT_TOKEN.")


class PollingStopped(BotStopped):
    user_message = ("The bot stopped receiving messages from Telegram on an unexpected error; "
                    "the traceback is above. Restarting it is safe.")


class WorkerStopped(BotStopped):
    user_message = ("The worker inside the bot stopped on an unexpected error; the traceback is "
                    "above. Queued jobs wait until it is restarted, a running one is taken up again.")
