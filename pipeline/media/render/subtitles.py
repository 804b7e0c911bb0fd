"""Word-by-word karaoke subtitles as ASS (rendered by libass through ffmpeg).

Words are grouped into short cards of at most two lines; while a card is on screen, one
event per word shows the whole card with the spoken word highlighted. Times are relative to
the clip's start and come straight from the ASR word timestamps."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.media.config import SubtitleStyle
from pipeline.media.models import Word

MAX_LINES = 2
CARD_GAP_S = 0.9          # a pause this long starts a new card
SENTENCE_END = re.compile(r"[.!?…]$")


@dataclass(frozen=True)
class Card:
    words: tuple[Word, ...]
    lines: tuple[tuple[int, ...], ...]   # word indexes per line


def ass_time(seconds: float) -> str:
    cs = max(0, int(round(seconds * 100)))
    return f"{cs // 360000}:{cs // 6000 % 60:02d}:{cs // 100 % 60:02d}.{cs % 100:02d}"


def clean(text: str) -> str:
    return re.sub(r"[{}\\]", "", text).strip()


def _wrap(words: Sequence[str], max_chars: int) -> list[list[int]]:
    lines: list[list[int]] = [[]]
    width = 0
    for i, w in enumerate(words):
        extra = len(w) + (1 if lines[-1] else 0)
        if lines[-1] and width + extra > max_chars:
            lines.append([])
            width, extra = 0, len(w)
        lines[-1].append(i)
        width += extra
    return lines


def cards(words: Sequence[Word], max_chars: int) -> list[Card]:
    """Consecutive words in cards of at most MAX_LINES lines of at most max_chars."""
    out: list[Card] = []
    current: list[Word] = []

    def flush() -> None:
        if current:
            lines = _wrap([clean(w.text) for w in current], max_chars)
            out.append(Card(tuple(current), tuple(tuple(line) for line in lines)))
            current.clear()

    for word in words:
        if not clean(word.text):
            continue
        if current and word.start - current[-1].end > CARD_GAP_S:
            flush()
        trial = [clean(w.text) for w in current] + [clean(word.text)]
        if current and len(_wrap(trial, max_chars)) > MAX_LINES:
            flush()
        current.append(word)
        if SENTENCE_END.search(clean(word.text)):
            flush()
    flush()
    return out


def _header(style: SubtitleStyle, font: str, size: tuple[int, int]) -> str:
    bold = -1 if style.bold else 0
    return "\n".join([
        "[Script Info]", "ScriptType: v4.00+", f"PlayResX: {size[0]}", f"PlayResY: {size[1]}",
        "WrapStyle: 2", "ScaledBorderAndShadow: yes", "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
        "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        f"Style: Default,{font},{style.font_size},{style.primary_colour},{style.highlight_colour},"
        f"{style.outline_colour},{style.back_colour},{bold},0,0,0,100,100,0,0,{style.border_style},"
        f"{style.outline},{style.shadow},5,40,40,40,1",
        "", "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ])


def _card_text(card: Card, lit: int, style: SubtitleStyle) -> str:
    scale = f"\\fscx{style.highlight_scale}\\fscy{style.highlight_scale}" if style.highlight_scale != 100 else ""
    lines = []
    for line in card.lines:
        parts = []
        for i in line:
            word = clean(card.words[i].text)
            word = word.upper() if style.uppercase else word
            parts.append(f"{{\\c{_bgr(style.highlight_colour)}{scale}}}{word}{{\\r}}" if i == lit else word)
        lines.append(" ".join(parts))
    return "\\N".join(lines)


def _bgr(colour: str) -> str:
    """&HAABBGGRR (style form) to &HBBGGRR& (override-tag form)."""
    return f"&H{colour[-6:]}&"


def build_ass(words: Sequence[Word], clip_start: float, clip_end: float, style: SubtitleStyle,
              font: str, size: tuple[int, int], position: tuple[int, int]) -> str:
    """The ASS document for the words spoken inside [clip_start, clip_end]."""
    inside = [w for w in words if w.end > clip_start and w.start < clip_end]
    length = clip_end - clip_start
    events = []
    pos = f"{{\\an5\\pos({position[0]},{position[1]})}}"
    all_cards = cards(inside, style.max_chars_per_line)
    for c_index, card in enumerate(all_cards):
        next_start = all_cards[c_index + 1].words[0].start if c_index + 1 < len(all_cards) else clip_end
        card_end = min(next_start, card.words[-1].end + 0.6)
        for i, word in enumerate(card.words):
            start = max(0.0, word.start - clip_start)
            end = (card.words[i + 1].start if i + 1 < len(card.words) else card_end) - clip_start
            end = min(length, max(end, start + 0.05))
            if start >= length:
                break
            events.append(f"Dialogue: 0,{ass_time(start)},{ass_time(end)},Default,,0,0,0,,"
                          f"{pos}{_card_text(card, i, style)}")
    return _header(style, font, size) + "\n" + "\n".join(events) + "\n"
