"""Bad input through the real `clipfactory process` CLI: every case ends with the message a
streamer reads (docs/bad-input.md lists them) and never with a traceback.

Media is generated with ffmpeg (lavfi) and `pipeline.media.sample`; links point at a local HTTP
server, which the private-network guard refuses unless `fetch.allow_private_networks` is on
(CLIPFACTORY_FETCH__ALLOW_PRIVATE_NETWORKS=true below)."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from pipeline.jobs.runner import job_id_for
from pipeline.media.config import load_settings
from pipeline.media.fetch import fetch
from pipeline.media.sample import SampleSpec, make_sample
from tests.helpers import ffmpeg, only_report, run_cli

# Every case goes through `clipfactory process` in a subprocess: left out of `make test-fast`.
pytestmark = [pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg"),
              pytest.mark.slow]

LOCAL = {"CLIPFACTORY_FETCH__ALLOW_PRIVATE_NETWORKS": "true"}
SAFE_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
WEIRD_NAME = "my 😀 stream; rm -rf 'x' \"y\" $(z) `w` & ünï"

SCHEME_MESSAGE = ("I can only download http:// and https:// links. Send a link to a stream VOD "
                  "or a video file.")
PRIVATE_MESSAGE = "This link points inside a private network, which I do not fetch."
DAMAGED_MESSAGE = "This file is damaged or is not a video I can read."


# ---------------------------------------------------------------------------- media


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad")
    make_sample(root / "stream.mp4", SampleSpec(duration=30, hype_at=(10,), width=320, height=180))
    ffmpeg("-i", str(root / "stream.mp4"), "-c", "copy", str(root / "stream_index_at_end.mp4"))
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x180:r=10:d=5", "-f", "lavfi",
           "-i", "sine=frequency=440:d=5", "-c:v", "libx264", "-preset", "ultrafast",
           "-c:a", "aac", "-shortest", str(root / "short.mp4"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=330:d=20", "-c:a", "aac", str(root / "audio_only.m4a"))
    # No speech at all: a moving picture over pink noise and a tone.
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=320x180:r=10:d=30",
           "-f", "lavfi", "-i", "anoisesrc=d=30:c=pink:a=0.05", "-f", "lavfi", "-i", "sine=f=220:d=30",
           "-filter_complex", "[1:a][2:a]amix=inputs=2[a]", "-map", "0:v", "-map", "[a]",
           "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest",
           str(root / "no_speech.mp4"))
    ffmpeg("-i", str(root / "no_speech.mp4"), "-c", "copy", "-movflags", "+faststart",
           str(root / "no_speech_index_first.mp4"))
    whole = (root / "stream_index_at_end.mp4").read_bytes()            # index (moov) at the end
    assert whole.find(b"moov") > len(whole) // 2
    (root / "cut_index_at_end.mp4").write_bytes(whole[:len(whole) // 2])
    fast = (root / "no_speech_index_first.mp4").read_bytes()          # +faststart: index first
    assert fast.find(b"moov") < len(fast) // 2
    (root / "cut_index_at_start.mp4").write_bytes(fast[:len(fast) // 2])
    broken = bytearray((root / "stream.mp4").read_bytes())
    broken[64:64 + 200_000] = bytes((i * 131 + 7) % 256 for i in range(200_000))
    (root / "corrupt.mp4").write_bytes(bytes(broken))
    (root / "empty.mp4").touch()
    (root / "zero.mp4").touch()                                         # served: an empty body
    (root / "page.html").write_text("<html><body><p>Just words, no video.</p></body></html>")
    hls = root / "live"
    hls.mkdir()
    ffmpeg("-i", str(root / "short.mp4"), "-c", "copy", "-f", "hls", "-hls_time", "2",
           str(hls / "index.m3u8"))
    playlist = hls / "index.m3u8"
    playlist.write_text("".join(line for line in playlist.read_text().splitlines(keepends=True)
                                if "ENDLIST" not in line and "PLAYLIST-TYPE" not in line))
    shutil.copy(root / "short.mp4", root / f"{WEIRD_NAME}.mp4")
    return root


class _Forbidden(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_error(403, "Forbidden")

    do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def forbidding_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Forbidden)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def refused(*args: str, env: dict[str, str] | None = None) -> str:
    """Run `clipfactory process` on input it must refuse; its stderr as one line."""
    proc = run_cli("process", *args, "--no-render", env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert not list(Path(args[args.index("--out") + 1]).glob("*/report.json"))
    return " ".join(proc.stderr.split())


def finished(source: str, out: Path) -> dict:
    proc = run_cli("process", source, "--out", str(out), "--no-render")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return only_report(out)


# ---------------------------------------------------------------------------- what was sent


def test_text_without_a_link(tmp_path):
    assert "There is no file at hello there." in refused("hello there", "--out", str(tmp_path))


@pytest.mark.parametrize("text", ["file:///etc/passwd", "data:video/mp4;base64,AAAA",
                                  "gopher://example.com/1", "javascript:alert(1)"],
                         ids=["file", "data", "gopher", "javascript"])
def test_other_schemes(text, tmp_path):
    assert SCHEME_MESSAGE in refused(text, "--out", str(tmp_path))


@pytest.mark.parametrize("url", [
    "{base}/stream.mp4", "http://localhost:{port}/stream.mp4", "http://2130706433:{port}/stream.mp4",
    "http://0x7f.1:{port}/stream.mp4", "http://[::1]:{port}/stream.mp4",
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/vod.mp4", "https://192.168.1.1/vod.mp4",
], ids=["loopback", "localhost", "decimal", "hex", "ipv6-loopback", "link-local-metadata", "rfc1918-10",
        "rfc1918-192-168"])
def test_links_into_private_networks(url, base, tmp_path):
    link = url.format(base=base, port=base.rsplit(":", 1)[1])
    assert PRIVATE_MESSAGE in refused(link, "--out", str(tmp_path))
    assert base.log.entries == [], "refused before any request"


# ---------------------------------------------------------------------------- links


@pytest.mark.parametrize("path, env, message", [
    ("missing.mp4", {}, "This link leads nowhere (the page or file does not exist, or is private)."),
    ("page.html", {}, "I could not find a video at this link. Send a link to a stream VOD or a "
                      "video file."),
    ("live/index.m3u8", {}, "This stream is still live. Send the link again once the VOD is available."),
    ("stream.mp4", {"CLIPFACTORY_LIMITS__MAX_DURATION_S": "20"},
     "This video is 0:00:30 long; the limit is 0:00:20 (h:mm:ss). Send a shorter VOD or cut it first."),
    ("stream.mp4", {"CLIPFACTORY_LIMITS__MAX_FILESIZE_MB": "0.1"},
     "larger than the size limit of 0.1 MB."),
    # yt-dlp cannot tell an empty body from a connection that closed early: a transient error.
    ("zero.mp4", {}, "The video site did not answer. I will try again."),
], ids=["404", "html", "live", "too-long", "too-large", "zero-length"])
def test_bad_links(path, env, message, base, tmp_path):
    out = tmp_path / "out"
    assert message in refused(f"{base}/{path}", "--out", str(out), env={**LOCAL, **env})
    assert not list(out.glob("*/source.*")), "nothing was kept"
    assert base.log.gets(".ts") == []


def test_forbidden_link(tmp_path):
    with forbidding_server() as url:
        text = refused(f"{url}/vod.mp4", "--out", str(tmp_path), env=LOCAL)
    assert ("This video is private or forbidden: the site refused to share it. Make it public "
            "(or unlisted) and send the link again.") in text


# ---------------------------------------------------------------------------- files


@pytest.mark.parametrize("name, message", [
    ("audio_only.m4a", "This file has no picture, only sound. Send a video."),
    ("corrupt.mp4", DAMAGED_MESSAGE),
    ("cut_index_at_end.mp4", DAMAGED_MESSAGE),
    ("empty.mp4", "The file empty.mp4 is empty (0 bytes)."),
    ("short.mp4", "This video is only 5 s long, shorter than the shortest clip (15 s)."),
], ids=["audio-only", "corrupt", "cut-index-at-end", "empty", "too-short"])
def test_bad_files(name, message, media, tmp_path):
    assert message in refused(str(media / name), "--out", str(tmp_path))


def test_local_file_longer_than_the_limit(media, tmp_path):
    text = refused(str(media / "stream.mp4"), "--out", str(tmp_path),
                   env={"CLIPFACTORY_LIMITS__MAX_DURATION_S": "20"})
    assert "This video is 0:00:30 long; the limit is 0:00:20." in text


def test_file_cut_in_half_with_its_index_first_gives_moments_from_what_is_there(media, tmp_path):
    """The index survives, so the file opens: the job finishes on the first half."""
    report = finished(str(media / "cut_index_at_start.mp4"), tmp_path / "out")
    assert report["clips"]
    assert all(c["start"] < 16 for c in report["clips"]), report["clips"]


def test_video_without_speech_still_gets_moments(media, tmp_path):
    report = finished(str(media / "no_speech.mp4"), tmp_path / "out")
    assert report["clips"], "moments come from sound and motion"
    assert report["models"]["emotion"] == "none (no speech)"
    for clip in report["clips"]:
        assert clip["text"] == ""
        assert clip["breakdown"]["semantic"] == 0.0 and clip["breakdown"]["speech_rate"] == 0.0
        assert clip["breakdown"]["loudness"] + clip["breakdown"]["motion"] > 0
        assert clip["reasons"]


# ---------------------------------------------------------------------------- names


def test_emoji_quotes_and_path_characters_in_a_file_name(media, tmp_path):
    folder = tmp_path / "vods 😀; 'a' \"b\""
    folder.mkdir()
    shutil.copy(media / "stream.mp4", folder / f"{WEIRD_NAME}.mp4")
    source = f"{folder}/../{folder.name}/{WEIRD_NAME}.mp4"
    out = tmp_path / "out"

    report = finished(source, out)

    assert report["title"] == WEIRD_NAME
    assert report["clips"]
    assert SAFE_JOB_ID.match(report["job_id"]), report["job_id"]
    assert [p.name for p in out.iterdir()] == [report["job_id"]]
    assert sorted(p.name for p in folder.iterdir()) == [f"{WEIRD_NAME}.mp4"], "nothing written beside it"


def test_emoji_quotes_and_path_characters_in_a_link(media, base, tmp_path):
    url = f"{base}/{quote(WEIRD_NAME)}.mp4"
    settings = load_settings(fetch={"allow_private_networks": True})
    job_id = job_id_for(url)
    job_dir = tmp_path / job_id

    src = fetch(url, job_dir, settings)

    assert SAFE_JOB_ID.match(job_id), job_id
    assert src.title == WEIRD_NAME
    assert src.path == job_dir / "source.mp4"
    assert sorted(p.name for p in job_dir.iterdir()) == ["fetch.json", "source.mp4"]
    assert json.loads((job_dir / "fetch.json").read_text(encoding="utf-8"))["title"] == WEIRD_NAME
    dotted = job_id_for(f"{base}/a/../..%2F..%2Fetc%2F{quote(WEIRD_NAME)}.mp4")
    assert SAFE_JOB_ID.match(dotted) and "/" not in dotted and ".." not in dotted


def test_square_brackets_in_a_path(tmp_path):
    text = refused(str(tmp_path / "clip [/red] [bold].mp4"), "--out", str(tmp_path / "out"))
    assert "clip [/red] [bold].mp4" in text
