"""Inline keyboards."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton as Button
from aiogram.types import InlineKeyboardMarkup as Markup

from bot.callbacks import CancelJob, ClipAction, LayoutPick, OptionPick, RelayoutPick, Vote
from bot.texts import t

LAYOUT_LABELS = {"facecam_top": "🎥 Facecam + game", "gameplay": "🎮 Gameplay", "blur_fit": "🖼 Full frame",
                 "talking_head": "🗣 Talking head", "duo": "👥 Duo"}
PAIR_LAYOUTS = {"duo"}     # shown only for a stream where two faces were seen
LENGTHS = {"short": (15, 30), "medium": (20, 45), "long": (30, 60)}


def _rows(buttons: list[Button], per_row: int = 2) -> list[list[Button]]:
    return [buttons[i:i + per_row] for i in range(0, len(buttons), per_row)]


def layouts(request_id: str, names: list[str], lang: str) -> Markup:
    buttons = [Button(text=LAYOUT_LABELS.get(n, n), callback_data=LayoutPick(request=request_id, layout=n).pack())
               for n in names]
    rows = _rows(buttons)
    rows.append([Button(text=t(lang, "options"),
                        callback_data=OptionPick(request=request_id, key="menu", value="").pack())])
    return Markup(inline_keyboard=rows)


def options(request_id: str, lang: str) -> Markup:
    def pick(label: str, key: str, value: str) -> Button:
        return Button(text=label, callback_data=OptionPick(request=request_id, key=key, value=value).pack())

    return Markup(inline_keyboard=[
        [pick(f"{n} clips", "top_k", str(n)) for n in (3, 5, 8)],
        [pick(f"{lo}–{hi} s", "length", name) for name, (lo, hi) in LENGTHS.items()],
        [pick("Subtitles on", "subtitles", "1"), pick("Subtitles off", "subtitles", "0")],
        [pick("Hook on", "hook", "1"), pick("Hook off", "hook", "0")],
        [pick("Auto", "language", "auto"), pick("English", "language", "en"), pick("Русский", "language", "ru")],
        [pick(t(lang, "back"), "back", "")],
    ])


def cancel(job_id: str, lang: str) -> Markup:
    return Markup(inline_keyboard=[[Button(text=t(lang, "cancel"), callback_data=CancelJob(job=job_id).pack())]])


def clip(job_id: str, clip_id: int, rank: int) -> Markup:
    def act(label: str, action: str) -> Button:
        return Button(text=label, callback_data=ClipAction(job=job_id, rank=rank, action=action).pack())

    return Markup(inline_keyboard=[
        [Button(text="👍", callback_data=Vote(clip=clip_id, vote=1).pack()),
         Button(text="👎", callback_data=Vote(clip=clip_id, vote=-1).pack())],
        [act("🔁 Another layout", "relayout"), act("➕ Longer", "longer"), act("➖ Shorter", "shorter")],
        [act("✏️ New title", "retitle"), act("🚫 No hook", "nohook")],
    ])


def layout_names(names: list[str], faces: int | None) -> list[str]:
    """The layouts worth offering: the two-face ones only where the stream has two faces."""
    return [n for n in names if n not in PAIR_LAYOUTS or (faces or 0) >= 2]


def relayout(job_id: str, rank: int, names: list[str]) -> Markup:
    buttons = [Button(text=LAYOUT_LABELS.get(n, n), callback_data=RelayoutPick(job=job_id, rank=rank, layout=n).pack())
               for n in names]
    return Markup(inline_keyboard=_rows(buttons))
