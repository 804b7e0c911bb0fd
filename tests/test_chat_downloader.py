"""Chat logs as chat-downloader (xenova/chat-downloader) writes them: JSON (a list of items, or
one item a line), CSV (the items flattened to `author.name`-style columns) and text
(`m:ss | name: text`). Pre-stream messages (negative times) and the site's own notices are
left out; YouTube emoji become the emoji."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.media.chat.parse import parse_chat, read_chat_file
from pipeline.media.errors import ChatLogError

US = 1_650_000_000_000_000  # a UNIX time in microseconds, as chat-downloader's `timestamp`


def _youtube_author(name: str, channel: str, *badges: str) -> dict[str, Any]:
    author: dict[str, Any] = {
        "id": channel, "name": name,
        "images": [{"id": "source", "url": f"https://yt3.ggpht.com/{channel}=s0"}],
    }
    if badges:
        author["badges"] = [{"title": b, "icon_name": b.split()[0].lower()} for b in badges]
    return author


def _item(t: float | None, time_text: str | None, message: str | None, author: dict[str, Any] | None,
          kind: str = "text_message", **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"action_type": "add_chat_item", "message_id": f"id{t}{message}",
                            "message_type": kind, "timestamp": US + int((t or 0) * 1e6), **extra}
    for key, value in (("time_in_seconds", t), ("time_text", time_text), ("message", message),
                       ("author", author)):
        if value is not None:
            item[key] = value
    return item


YOUTUBE = [
    _item(-42.511, "-0:42", "waiting for the start", _youtube_author("Nightowl", "UCnight")),
    _item(0.0, "0:00", "Welcome to live chat! Remember to guard your privacy: be kind.", None,
          kind="viewer_engagement_message"),
    _item(3.208, "0:03", "привет из Казани", _youtube_author("Лиса", "UCfox")),
    _item(65.9, "1:05", ":face_with_tears_of_joy::face_with_tears_of_joy: he fell off the bridge",
          _youtube_author("Mod Squad", "UCmod", "Member (6 months)", "Moderator"),
          emotes=[{"id": "😂", "name": ":face_with_tears_of_joy:", "is_custom_emoji": False,
                   "shortcuts": [":face_with_tears_of_joy:", ":joy:"],
                   "search_terms": ["face", "tears"], "images": [{"url": "https://x/joy.png"}]}]),
    _item(70.25, "1:10", "tune :_catJam:", _youtube_author("Drummer", "UCdrum"),
          emotes=[{"id": "UCchan/abc123", "name": ":_catJam:", "is_custom_emoji": True,
                   "shortcuts": [":_catJam:"], "images": [{"url": "https://x/cat.png"}]}]),
    _item(754.0, "12:34", "for the snacks", _youtube_author("Donor Person", "UCdonor"),
          kind="paid_message", money={"amount": 5.0, "currency": "USD", "text": "$5.00"}),
    _item(800.5, "13:20", None, _youtube_author("New Member", "UCnew"), kind="membership_item",
          header_secondary_text="Welcome to Members!"),
    _item(3725.0, "1:02:05", "ещё один раунд, пожалуйста", _youtube_author("Лиса", "UCfox")),
]
YOUTUBE_EXPECTED = [
    (3.208, "Лиса", "привет из Казани"),
    (65.9, "Mod Squad", "😂😂 he fell off the bridge"),
    (70.25, "Drummer", "tune _catJam"),
    (754.0, "Donor Person", "for the snacks"),
    (3725.0, "Лиса", "ещё один раунд, пожалуйста"),
]

TWITCH = [
    _item(1234.567, "20:34", "monkaS monkaS that jump",
          {"id": "40123", "name": "pixel_wolf", "display_name": "Pixel_Wolf",
           "badges": [{"title": "Subscriber", "version": 6}], "colour": "#1E90FF"},
          emotes=[{"id": "56", "name": "monkaS", "locations": "0-5,7-12"}]),
    _item(1240.0, "20:40", "Kappa ну ты даёшь", {"id": "40999", "name": "sasha_k", "display_name": "Саша"},
          emotes=[{"id": "25", "name": "Kappa", "locations": "0-4"}]),
]
TWITCH_EXPECTED = [(1234.567, "pixel_wolf", "monkaS monkaS that jump"),
                   (1240.0, "sasha_k", "Kappa ну ты даёшь")]


def _rows(messages: list[Any]) -> list[tuple[float, str, str]]:
    return [(pytest.approx(m.t), m.author, m.text) for m in messages]


def _flat(item: Any, prefix: str = "") -> dict[str, Any]:
    """Flattened as chat-downloader's CSV writer does (utils.flatten_json): dotted paths, list
    items by index."""
    out: dict[str, Any] = {}
    if isinstance(item, dict):
        for key, value in item.items():
            out.update(_flat(value, f"{prefix}{key}."))
    elif isinstance(item, list):
        for i, value in enumerate(item):
            out.update(_flat(value, f"{prefix}{i}."))
    else:
        out[prefix[:-1]] = item
    return out


def _downloader_csv(items: list[dict[str, Any]]) -> str:
    """chat-downloader's CSV: every column any item has, sorted, one row an item."""
    rows = [_flat(i) for i in items]
    columns = sorted({k for row in rows for k in row})
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_json_list_as_chat_downloader_writes_it() -> None:
    # JSONCW: sort_keys, "[" item ", " item "]"; with --indent the same items indented.
    flat = "[" + ", ".join(json.dumps(i, sort_keys=True) for i in YOUTUBE) + "]"
    assert _rows(parse_chat(flat)) == YOUTUBE_EXPECTED
    indented = json.dumps(YOUTUBE, indent=4, sort_keys=True, ensure_ascii=False)
    assert _rows(parse_chat(indented)) == YOUTUBE_EXPECTED
    assert _rows(parse_chat(json.dumps(TWITCH))) == TWITCH_EXPECTED


def test_json_one_item_a_line() -> None:
    lines = "\n".join(json.dumps(i, ensure_ascii=False) for i in TWITCH + YOUTUBE) + "\n{\"trunc"
    assert _rows(parse_chat(lines)) == sorted(TWITCH_EXPECTED + YOUTUBE_EXPECTED)


def test_an_item_with_only_time_text_uses_it() -> None:
    items = [{"message": "late stamp", "time_text": "1:02:03", "author": {"name": "ann"}},
             {"message": "before", "time_text": "-0:05", "author": {"name": "bob"}}]
    assert _rows(parse_chat(json.dumps(items))) == [(3723.0, "ann", "late stamp")]


def test_csv_as_chat_downloader_writes_it(tmp_path: Path) -> None:
    text = _downloader_csv(YOUTUBE + TWITCH)
    header = text.splitlines()[0].split(",")
    assert {"time_in_seconds", "message", "author.name", "emotes.0.name"} <= set(header)
    assert header == sorted(header)
    path = tmp_path / "chat.csv"
    path.write_text("\ufeff" + text, encoding="utf-8")  # as a spreadsheet saves it
    assert _rows(read_chat_file(path, 10)) == sorted(YOUTUBE_EXPECTED + TWITCH_EXPECTED)


@pytest.mark.parametrize("header,rows", [
    ("time_in_seconds;author_name;message", ["12.5;ann;привет всем", "-3;bob;early", "99;carl;ok then"]),
    ("Time,Author Name,Message", ["0:12,ann,привет всем", "-0:03,bob,early", "1:39,carl,ok then"]),
    ("time\tuser\ttext", ["12.5\tann\tпривет всем", "-3\tbob\tearly", "99\tcarl\tok then"]),
])
def test_csv_header_spellings(header: str, rows: list[str]) -> None:
    got = parse_chat("\n".join([header, *rows]) + "\n")
    assert [(m.author, m.text) for m in got] == [("ann", "привет всем"), ("carl", "ok then")]
    assert [m.t for m in got] in ([12.5, 99.0], [12.0, 99.0])


def test_text_as_chat_downloader_writes_it() -> None:
    # Its default format: "{time_text} | ({badges}) *{money}* {author}: {message}".
    log = "\n".join([
        "-0:42 | Nightowl: waiting for the start",
        "0:00 | Welcome to live chat! Remember to guard your privacy and abide by our community guidelines.",
        "0:03 | Лиса: привет из Казани",
        "1:05 | (Member (6 months), Moderator) Mod Squad: 😂😂 he fell: off the bridge",
        "12:34 | *$5.00* Donor Person: for the snacks",
        "20:34 | (Subscriber) pixel_wolf: monkaS monkaS that jump",
        "1:02:05 | Лиса: ещё один раунд, пожалуйста",
        "2021-04-15 12:00:00 | live only: no offset into the video",
    ])
    assert _rows(parse_chat(log)) == [
        (3.0, "Лиса", "привет из Казани"),
        (65.0, "Mod Squad", "😂😂 he fell: off the bridge"),
        (754.0, "Donor Person", "for the snacks"),
        (1234.0, "pixel_wolf", "monkaS monkaS that jump"),
        (3725.0, "Лиса", "ещё один раунд, пожалуйста"),
    ]


def test_only_site_notices_is_no_chat() -> None:
    with pytest.raises(ChatLogError):
        parse_chat(json.dumps([YOUTUBE[1], YOUTUBE[6]]))
