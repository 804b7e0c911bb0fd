"""The ranked table printed at the end of a job."""

from __future__ import annotations

from typing import Any

from rich.console import JustifyMethod
from rich.markup import escape
from rich.table import Table

from pipeline.media.probe import format_hms


def first_words(text: str, n: int = 12) -> str:
    words = text.split()
    return " ".join(words[:n]) + (" …" if len(words) > n else "")


def moments_table(report: dict[str, Any]) -> Table:
    title = escape(str(report.get("title") or report["source"]))
    table = Table(title=f"Best moments — {title} ({format_hms(report['duration'])}, "
                        f"{report['language'] or 'no speech'})")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("#", "right"), ("start–end", "left"), ("score", "right"), ("why", "left"), ("title", "left"),
        ("first words", "left"))
    for column, justify in columns:
        table.add_column(column, justify=justify)
    for clip in report["clips"]:
        table.add_row(
            str(clip["rank"]),
            f"{format_hms(clip['start'])}–{format_hms(clip['end'])}",
            f"{clip['score']:.0f}",
            escape(", ".join(clip["reasons"])),
            escape((clip.get("post_kit") or {}).get("title", "")),
            escape(first_words(clip["text"])),
        )
    return table
