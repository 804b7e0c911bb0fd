"""The ranked table printed at the end of a job."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from pipeline.probe import format_hms


def first_words(text: str, n: int = 12) -> str:
    words = text.split()
    return " ".join(words[:n]) + (" …" if len(words) > n else "")


def moments_table(report: dict[str, Any]) -> Table:
    table = Table(title=f"Best moments — {report.get('title') or report['source']} "
                        f"({format_hms(report['duration'])}, {report['language']})")
    for column, justify in (("#", "right"), ("start–end", "left"), ("score", "right"),
                            ("why", "left"), ("first words", "left")):
        table.add_column(column, justify=justify)
    for clip in report["clips"]:
        table.add_row(
            str(clip["rank"]),
            f"{format_hms(clip['start'])}–{format_hms(clip['end'])}",
            f"{clip['score']:.0f}",
            ", ".join(clip["reasons"]),
            first_words(clip["text"]),
        )
    return table
