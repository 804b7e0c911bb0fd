"""Word-by-word karaoke subtitles as ASS (rendered by libass through ffmpeg), with the
channel's brand in the same document: the hook line over the first seconds and a text
watermark.

Words are grouped into short cards of at most two lines; while a card is on screen, one
event per word shows the whole card with the spoken word highlighted. Times are relative to
the clip's start and come straight from the ASR word timestamps. The hook line sits in a band
the layout leaves free of subtitles and facecam, in a box of its own."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.media.config import BrandSettings, SubtitleStyle
from pipeline.media.models import Word

MAX_LINES = 2
HOOK_MAX_LINES = 3
HOOK_BOX_PAD = 16         # pixels of box around the hook's text (its ASS outline, border style 3)
CHAR_WIDTH = 0.56         # a character's mean width as a share of the font size (DejaVu Sans, bold)
LINE_HEIGHT = 1.25
MARK_MARGIN = 0.04        # the watermark's distance from the edges, as a share of the width
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


def _style_line(name: str, font: str, size: int, primary: str, secondary: str, outline_colour: str,
                back: str, bold: bool, border_style: int, outline: float, shadow: float) -> str:
    return (f"Style: {name},{font},{size},{primary},{secondary},{outline_colour},{back},{-1 if bold else 0},"
            f"0,0,0,100,100,0,0,{border_style},{outline},{shadow},5,40,40,40,1")


def _header(styles: list[str], size: tuple[int, int]) -> str:
    return "\n".join([
        "[Script Info]", "ScriptType: v4.00+", f"PlayResX: {size[0]}", f"PlayResY: {size[1]}",
        "WrapStyle: 2", "ScaledBorderAndShadow: yes", "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
        "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding",
        *styles,
        "", "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ])


def branded(style: SubtitleStyle, brand: BrandSettings | None) -> SubtitleStyle:
    """The subtitle style with the brand's colours."""
    if brand is None:
        return style
    update = {k: v for k, v in (("primary_colour", brand.subtitle_colour),
                                ("highlight_colour", brand.highlight_colour)) if v}
    return style.model_copy(update=update) if update else style


def hook_layout(text: str, brand: BrandSettings, width: int, band: tuple[int, int]) -> tuple[int, list[str]]:
    """The hook's font size and lines: wrapped to the width, shrunk until the box fits the band."""
    size = brand.hook_font_size
    while True:
        per_line = max(8, int(width * 0.88 / (size * CHAR_WIDTH)))
        lines = [" ".join(text.split()[i] for i in line) for line in _wrap(text.split(), per_line)]
        height = len(lines) * size * LINE_HEIGHT + 2 * HOOK_BOX_PAD
        if (len(lines) <= HOOK_MAX_LINES and height <= band[1] - band[0]) or size <= 24:
            return size, lines[:HOOK_MAX_LINES]
        size -= 4


def _alpha(colour: str, opacity: float) -> str:
    """An &HAABBGGRR colour made `opacity` opaque (ASS alpha: 00 opaque, FF clear)."""
    return f"&H{round((1 - opacity) * 255):02X}{colour[-6:]}"


def brand_styles(brand: BrandSettings, font: str, size: tuple[int, int], hook_size: int) -> list[str]:
    mark_size = max(12, int(size[1] * brand.watermark_size / 10))
    return [
        _style_line("Hook", brand.hook_font or font, hook_size, brand.hook_colour, brand.hook_colour,
                    brand.hook_box_colour, brand.hook_box_colour, True, 3, HOOK_BOX_PAD, 0),
        _style_line("Mark", font, mark_size, _alpha("&H00FFFFFF", brand.watermark_opacity), "&H00FFFFFF",
                    _alpha("&H00000000", brand.watermark_opacity), "&HFF000000", True, 1, 2, 0),
    ]


def hook_event(lines: list[str], brand: BrandSettings, size: tuple[int, int], band: tuple[int, int],
               length: float) -> str:
    text = "\\N".join(clean(line) for line in lines)
    centre = (band[0] + band[1]) // 2
    return (f"Dialogue: 1,{ass_time(0)},{ass_time(min(length, brand.hook_s))},Hook,,0,0,0,,"
            f"{{\\an5\\pos({size[0] // 2},{centre})}}{text}")


def mark_position(corner: str, size: tuple[int, int]) -> tuple[int, int, int]:
    """ASS alignment and anchor point of a watermark in `corner`."""
    margin = int(size[0] * MARK_MARGIN)
    top, left = corner.startswith("top"), corner.endswith("left")
    align = (7 if left else 9) if top else (1 if left else 3)
    return align, margin if left else size[0] - margin, margin if top else size[1] - margin


def mark_event(text: str, corner: str, size: tuple[int, int], length: float) -> str:
    align, x, y = mark_position(corner, size)
    return f"Dialogue: 2,{ass_time(0)},{ass_time(length)},Mark,,0,0,0,,{{\\an{align}\\pos({x},{y})}}{clean(text)}"


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
              font: str, size: tuple[int, int], position: tuple[int, int], *, subtitles: bool = True,
              brand: BrandSettings | None = None, hook: str = "", hook_band: tuple[int, int] | None = None,
              ) -> str:
    """The ASS document for the words spoken inside [clip_start, clip_end] (none with
    `subtitles` off), the hook line `hook` in `hook_band` (top and bottom pixel rows) when the
    brand shows it, and the brand's text watermark."""
    style = branded(style, brand)
    sub_font = (brand.font if brand and brand.font else font)
    inside = [w for w in words if w.end > clip_start and w.start < clip_end] if subtitles else []
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
    styles = [_style_line("Default", sub_font, style.font_size, style.primary_colour, style.highlight_colour,
                          style.outline_colour, style.back_colour, style.bold, style.border_style,
                          style.outline, style.shadow)]
    if brand is not None:
        hook_size = brand.hook_font_size
        if brand.hook and hook.strip() and hook_band is not None:
            hook_size, lines = hook_layout(clean(hook), brand, size[0], hook_band)
            events.append(hook_event(lines, brand, size, hook_band, length))
        if brand.watermark_text.strip() and not brand.watermark_image:
            events.append(mark_event(brand.watermark_text, brand.watermark_position, size, length))
        styles += brand_styles(brand, font, size, hook_size)
    return _header(styles, size) + "\n" + "\n".join(events) + "\n"
