"""/settings: a person's defaults (layout, number of clips, channel template)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

import storage
from bot.callbacks import SettingPick
from bot.context import AppContext
from bot.keyboards import LAYOUT_LABELS
from bot.texts import t


def _keyboard(ctx: AppContext) -> InlineKeyboardMarkup:
    def pick(label: str, key: str, value: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=label, callback_data=SettingPick(key=key, value=value).pack())

    return InlineKeyboardMarkup(inline_keyboard=[
        [pick(LAYOUT_LABELS.get(n, n), "layout", n) for n in ctx.settings.layouts],
        [pick(f"{n} clips", "top_k", str(n)) for n in (3, 5, 8)],
        [pick(name.replace("_", " ").title(), "template", name) for name in ctx.settings.templates]
        + [pick("No template", "template", "")],
    ])


async def _show(target: Message, ctx: AppContext, user_id: int, lang: str, edit: bool = False) -> None:
    user = await storage.get_user(ctx.db, user_id)
    prefs = user.settings if user else {}
    text = t(lang, "settings", layout=prefs.get("layout", ctx.settings.render.layout),
             top_k=prefs.get("top_k", ctx.settings.scoring.top_k), template=prefs.get("template") or "—")
    if edit:
        await target.edit_text(text, reply_markup=_keyboard(ctx))
    else:
        await target.answer(text, reply_markup=_keyboard(ctx))


async def settings(message: Message, ctx: AppContext, user_id: int, lang: str) -> None:
    await _show(message, ctx, user_id, lang)


async def pick(query: CallbackQuery, callback_data: SettingPick, ctx: AppContext, user_id: int, lang: str) -> None:
    key, value = callback_data.key, callback_data.value
    valid = {"layout": set(ctx.settings.layouts), "top_k": {"3", "5", "8"},
             "template": set(ctx.settings.templates) | {""}}
    if value not in valid.get(key, set()):
        await query.answer(t(lang, "expired"), show_alert=True)
        return
    user = await storage.get_user(ctx.db, user_id)
    prefs = dict(user.settings if user else {})
    prefs[key] = int(value) if key == "top_k" else value
    await storage.update_user(ctx.db, user_id, settings=prefs)
    await query.answer(t(lang, "settings_saved"))
    if isinstance(query.message, Message):
        await _show(query.message, ctx, user_id, lang, edit=True)


def make_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="settings")
    router.message(Command("settings"))(settings)
    router.callback_query(SettingPick.filter())(pick)
    return router
