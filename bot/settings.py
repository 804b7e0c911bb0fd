"""Telegram settings, from the environment (TELEGRAM_*). The token never appears in logs."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.media.errors import ConfigError

CLOUD_DOWNLOAD_MB = 20     # what a bot may download from Telegram's cloud Bot API
CLOUD_UPLOAD_MB = 50
LOCAL_SERVER_MB = 2000     # a local telegram-bot-api server raises both


def _ids(text: str) -> frozenset[int]:
    try:
        return frozenset(int(part) for part in text.replace(" ", "").split(",") if part)
    except ValueError as exc:
        raise ConfigError("TELEGRAM_ALLOWED_USERS and TELEGRAM_ADMINS take comma-separated "
                          "numeric Telegram user ids.") from exc


class BotSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    telegram_bot_token: SecretStr = SecretStr("")
    telegram_api_server: str = ""
    telegram_api_local: bool = True   # the custom server runs with --local (large files, local paths)
    telegram_allowed_users: str = ""
    telegram_admins: str = ""
    telegram_max_active_jobs: int = Field(3, ge=1)
    telegram_status_every_s: float = Field(3.0, ge=0.5)
    telegram_request_timeout_s: float = Field(
        60.0, gt=0, description="Seconds before a Bot API request counts as timed out and is sent again.")

    @property
    def allowed_users(self) -> frozenset[int]:
        return _ids(self.telegram_allowed_users)

    @property
    def admins(self) -> frozenset[int]:
        return _ids(self.telegram_admins)

    @property
    def local_server(self) -> bool:
        return bool(self.telegram_api_server) and self.telegram_api_local

    @property
    def download_limit_mb(self) -> int:
        return LOCAL_SERVER_MB if self.local_server else CLOUD_DOWNLOAD_MB

    @property
    def upload_limit_mb(self) -> int:
        return LOCAL_SERVER_MB if self.local_server else CLOUD_UPLOAD_MB

    def may_use(self, user_id: int) -> bool:
        allowed = self.allowed_users
        return not allowed or user_id in allowed or user_id in self.admins

    def require_token(self) -> str:
        token = self.telegram_bot_token.get_secret_value()
        if not token or ":" not in token:
            raise ConfigError("Set TELEGRAM_BOT_TOKEN (from @BotFather) in the environment or .env.")
        return token
