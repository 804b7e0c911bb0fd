"""What handlers get injected: the app settings, the bot settings and the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.settings import BotSettings
from pipeline.media.config import Settings


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    bot_settings: BotSettings
    db: Any
