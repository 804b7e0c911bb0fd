"""Every callback-data factory in one place. Telegram allows 64 bytes: only short ids travel."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class LayoutPick(CallbackData, prefix="lp"):
    request: str
    layout: str


class OptionPick(CallbackData, prefix="op"):
    request: str
    key: str
    value: str


class CancelJob(CallbackData, prefix="cj"):
    job: str


class Vote(CallbackData, prefix="v"):
    clip: int
    vote: int


class ClipAction(CallbackData, prefix="ca"):
    job: str
    rank: int
    action: str          # relayout | longer | shorter | retitle | nohook


class RelayoutPick(CallbackData, prefix="rl"):
    job: str
    rank: int
    layout: str


class SettingPick(CallbackData, prefix="st"):
    key: str
    value: str


class WeightsAction(CallbackData, prefix="wt"):
    action: str          # reset
