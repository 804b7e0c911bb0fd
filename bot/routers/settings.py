"""/settings: a person's defaults (layout, number of clips, channel template, the hook line,
the brand colour) and /watermark for the handle drawn on their clips."""

from __future__ import annotations

import html
from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

import storage
from bot.callbacks import SettingPick
from bot.context import AppContext
from bot.keyboards import LAYOUT_LABELS
from bot.texts import t
from pipeline.media.options import BRAND_COLOURS

COLOUR_LABELS = {"yellow": "🟡", "green": "🟢", "pink": "🩷", "cyan": "🔵", "white": "⚪"}
MAX_WATERMARK = 40


def _keyboard(ctx: AppContext) -> InlineKeyboardMarkup:
    def pick(label: str, key: str, value: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=label, callback_data=SettingPick(key=key, value=value).pack())

    return InlineKeyboardMarkup(inline_keyboard=[
        [pick(LAYOUT_LABELS.get(n, n), "layout", n) for n in ctx.settings.layouts],
        [pick(f"{n} clips", "top_k", str(n)) for n in (3, 5, 8)],
        [pick(name.replace("_", " ").title(), "template", name) for name in ctx.settings.templates]
        + [pick("No template", "template", "")],
        [pick("Hook on", "hook", "1"), pick("Hook off", "hook", "0")],
        [pick(COLOUR_LABELS.get(n, n), "colour", n) for n in BRAND_COLOURS] + [pick("Style's", "colour", "")],
    ])


async def _prefs(ctx: AppContext, user_id: int) -> dict[str, Any]:
    user = await storage.get_user(ctx.db, user_id)
    return dict(user.settings if user else {})


async def _show(target: Message, ctx: AppContext, user_id: int, lang: str, edit: bool = False) -> None:
    prefs = await _prefs(ctx, user_id)
    text = t(lang, "settings", layout=prefs.get("layout", ctx.settings.render.layout),
             top_k=prefs.get("top_k", ctx.settings.scoring.top_k), template=prefs.get("template") or "—",
             hook="on" if prefs.get("hook", ctx.settings.brand.hook) else "off",
             colour=prefs.get("colour") or "—",
             watermark=html.escape(prefs.get("watermark") or ctx.settings.brand.watermark_text or "—"))
    if edit:
        await target.edit_text(text, reply_markup=_keyboard(ctx))
    else:
        await target.answer(text, reply_markup=_keyboard(ctx))


async def settings(message: Message, ctx: AppContext, user_id: int, lang: str) -> None:
    await _show(message, ctx, user_id, lang)


async def watermark(message: Message, command: CommandObject, ctx: AppContext, user_id: int, lang: str) -> None:
    text = " ".join((command.args or "").split())
    if not text or len(text) > MAX_WATERMARK:
        await message.answer(t(lang, "watermark_usage"))
        return
    prefs = await _prefs(ctx, user_id)
    prefs["watermark"] = "" if text.lower() in ("off", "none", "-") else text
    await storage.update_user(ctx.db, user_id, settings=prefs)
    await _show(message, ctx, user_id, lang)


def _value(key: str, value: str) -> Any:
    if key == "top_k":
        return int(value)
    if key == "hook":
        return value == "1"
    return value


async def pick(query: CallbackQuery, callback_data: SettingPick, ctx: AppContext, user_id: int, lang: str) -> None:
    key, value = callback_data.key, callback_data.value
    valid = {"layout": set(ctx.settings.layouts), "top_k": {"3", "5", "8"},
             "template": set(ctx.settings.templates) | {""}, "hook": {"0", "1"}, "colour": set(BRAND_COLOURS) | {""}}
    if value not in valid.get(key, set()):
        await query.answer(t(lang, "expired"), show_alert=True)
        return
    prefs = await _prefs(ctx, user_id)
    prefs[key] = _value(key, value)
    await storage.update_user(ctx.db, user_id, settings=prefs)
    await query.answer(t(lang, "settings_saved"))
    if isinstance(query.message, Message):
        await _show(query.message, ctx, user_id, lang, edit=True)


def make_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="settings")
    router.message(Command("settings"))(settings)
    router.message(Command("watermark"))(watermark)
    router.callback_query(SettingPick.filter())(pick)
    return router
