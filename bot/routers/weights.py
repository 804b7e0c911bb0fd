"""/weights: the scoring weights a person's next job will use (learnt from their votes, or
the defaults), and a button that resets learnt ones."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

import storage
from bot.callbacks import WeightsAction
from bot.context import AppContext
from bot.texts import t
from pipeline.jobs import learning_store


def _table(weights: dict[str, float], defaults: dict[str, float] | None) -> str:
    width = max(map(len, weights), default=0)
    lines = []
    for name, value in weights.items():
        line = f"{name:<{width}}  {value:5.2f}"
        if defaults is not None:
            line += f"  ({defaults.get(name, 0.0):.2f})"
        lines.append(line)
    return "\n".join(lines)


async def _view(ctx: AppContext, user_id: int, lang: str) -> tuple[str, InlineKeyboardMarkup | None]:
    user = await storage.get_user(ctx.db, user_id)
    template = (user.settings if user else {}).get("template") or ""
    chosen = await learning_store.weights_for(ctx.db, ctx.settings, user_id, template)
    named = t(lang, "weights_for_template", name=template) if template else ""
    if chosen.source != "learnt":
        have = len(await learning_store.examples(ctx.db, ctx.settings, user_id))
        return t(lang, "weights_default", template=named, table=_table(chosen.weights, None),
                 need=ctx.settings.learning.min_votes, have=have), None
    learnt_for = t(lang, "weights_for_template", name=chosen.learnt_for) if chosen.learnt_for else ""
    table = _table(chosen.weights, learning_store.configured_weights(ctx.settings, chosen.learnt_for))
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=t(lang, "weights_reset"), callback_data=WeightsAction(action="reset").pack())]])
    return t(lang, "weights_learnt", votes=chosen.votes, template=learnt_for, table=table), keyboard


async def weights(message: Message, ctx: AppContext, user_id: int, lang: str) -> None:
    text, keyboard = await _view(ctx, user_id, lang)
    await message.answer(text, reply_markup=keyboard)


async def reset(query: CallbackQuery, ctx: AppContext, user_id: int, lang: str) -> None:
    await learning_store.reset(ctx.db, user_id)
    await query.answer(t(lang, "weights_reset_done"))
    if isinstance(query.message, Message):
        text, keyboard = await _view(ctx, user_id, lang)
        await query.message.edit_text(text, reply_markup=keyboard)


def make_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="weights")
    router.message(Command("weights"))(weights)
    router.callback_query(WeightsAction.filter(F.action == "reset"))(reset)
    return router
