"""pipeline.media.fetch against media generated with ffmpeg and served on 127.0.0.1.

The test server is on loopback, which fetch refuses by default (the private-network guard),
so these tests load their settings with `fetch.allow_private_networks` on; the guard's own
tests at the end turn it off."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from yt_dlp.networking.exceptions import HTTPError
from yt_dlp.utils import DownloadError, ExtractorError, GeoRestrictedError, UserNotLive

from pipeline.media.config import load_settings
from pipeline.media.errors import (
    BadInputError,
    CorruptMediaError,
    LiveStreamError,
    NetworkError,
    SourceNotFoundError,
    TooLargeError,
    TooLongError,
    UnsupportedLinkError,
)
from pipeline.media.fetch import (
    PrivateNetworkError,
    check_public,
    describe,
    fetch,
    is_url,
    source_identity,
)
from pipeline.media.fetch.checks import check_before_download
from pipeline.media.fetch.links import is_public
from pipeline.media.fetch.messages import map_error
from tests.httpserver import ServedDir

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")

DURATION = 8.0
LOCAL = {"allow_private_networks": True}


def local_settings(**overrides):
    """Settings that let fetch reach the test server on 127.0.0.1."""
    return load_settings(fetch=LOCAL, **overrides)


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def _probe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_type",
         "-of", "json", str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def _write_master_playlist(root: Path) -> None:
    """A master playlist with separate video and audio renditions, so yt-dlp merges bv+ba.

    ffmpeg leaves CODECS off the video variant, and yt-dlp will not merge a variant whose
    audio is unknown, so the playlist is rewritten with CODECS.
    """
    hlsm = root / "hlsm"
    hlsm.mkdir()
    _ffmpeg("-i", str(root / "clip.mp4"), "-map", "0:v", "-map", "0:a", "-c", "copy",
            "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
            "-master_pl_name", "master.m3u8", "-var_stream_map", "v:0,agroup:aud a:0,agroup:aud",
            str(hlsm / "stream_%v.m3u8"))
    master = hlsm / "master.m3u8"
    master.write_text(master.read_text().replace(
        "RESOLUTION=320x180,AUDIO", 'RESOLUTION=320x180,CODECS="avc1.640015",AUDIO'))


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
    clip = root / "clip.mp4"
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=320x180:r=25:d={DURATION}",
            "-f", "lavfi", "-i", f"sine=frequency=440:d={DURATION}",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-sc_threshold", "0",
            "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(clip))
    hls = root / "hls"
    hls.mkdir()
    _ffmpeg("-i", str(clip), "-c", "copy", "-f", "hls", "-hls_time", "2",
            "-hls_playlist_type", "vod", str(hls / "index.m3u8"))
    live = root / "live"
    shutil.copytree(hls, live)
    playlist = live / "index.m3u8"
    playlist.write_text("".join(line for line in playlist.read_text().splitlines(keepends=True)
                                if "ENDLIST" not in line and "PLAYLIST-TYPE" not in line))
    _write_master_playlist(root)
    (root / "page.html").write_text("<html><body><p>Just words, no video.</p></body></html>")
    return root


@pytest.fixture
def settings():
    return local_settings()


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []

    def __call__(self, fraction: float, note: str = "") -> None:
        self.calls.append((fraction, note))

    @property
    def fractions(self) -> list[float]:
        return [f for f, _ in self.calls]


def _streams(path: Path) -> set[str]:
    return {s["codec_type"] for s in _probe(path)["streams"]}


def _gets_of_a_full_fetch(base: ServedDir, job_dir: Path) -> int:
    """GETs of clip.mp4 for a whole fetch: looking the link up and reading its header take
    some, the download one more; a test that must not download sees fewer."""
    base.log.clear()
    fetch(f"{base}/clip.mp4", job_dir, local_settings())
    return len(base.log.gets("/clip.mp4"))


def _leftovers(job_dir: Path) -> list[str]:
    return sorted(p.name for p in job_dir.glob("*")) if job_dir.exists() else []


# ---------------------------------------------------------------------------- downloads


def test_direct_mp4_downloads_with_progress(base, tmp_path, settings, capfd):
    progress = Recorder()
    src = fetch(f"{base}/clip.mp4", tmp_path, settings, progress)

    assert capfd.readouterr() == ("", "")
    assert src.is_remote and src.extractor == "Generic" and src.title == "clip"
    assert src.path == tmp_path / "source.mp4" and src.path.is_file()
    assert float(_probe(src.path)["format"]["duration"]) == pytest.approx(DURATION, abs=0.2)
    assert _streams(src.path) == {"video", "audio"}
    assert all(0.0 <= f <= 1.0 for f in progress.fractions)
    assert progress.fractions == sorted(progress.fractions)
    assert progress.fractions[-1] == 1.0
    assert any(0.0 < f < 1.0 for f in progress.fractions)
    assert (tmp_path / "fetch.json").is_file()


def test_hls_playlist_downloads_mp4_with_audio_and_video(base, tmp_path, settings):
    src = fetch(f"{base}/hls/index.m3u8", tmp_path, settings)

    assert src.path.suffix == ".mp4"
    assert _streams(src.path) == {"video", "audio"}
    assert float(_probe(src.path)["format"]["duration"]) == pytest.approx(DURATION, abs=0.3)
    assert len(base.log.gets(".ts")) == 4


def test_separate_video_and_audio_are_merged_to_mp4(base, tmp_path, settings):
    progress = Recorder()
    src = fetch(f"{base}/hlsm/master.m3u8", tmp_path, settings, progress)

    assert src.path == tmp_path / "source.mp4"
    assert _streams(src.path) == {"video", "audio"}
    assert progress.fractions == sorted(progress.fractions) and progress.fractions[-1] == 1.0
    assert _leftovers(tmp_path) == ["fetch.json", "source.mp4"]


def test_second_fetch_reuses_the_download(base, tmp_path, settings):
    url = f"{base}/clip.mp4"
    first = fetch(url, tmp_path, settings)
    base.log.clear()

    progress = Recorder()
    second = fetch(url, tmp_path, settings, progress)

    assert second == first
    assert base.log.entries == []
    assert progress.fractions == [1.0]


def test_record_for_another_link_is_not_reused(base, tmp_path, settings):
    fetch(f"{base}/hls/index.m3u8", tmp_path, settings)
    base.log.clear()

    src = fetch(f"{base}/clip.mp4", tmp_path, settings)

    assert src.title == "clip"
    assert base.log.gets("/clip.mp4")
    assert float(_probe(src.path)["format"]["duration"]) == pytest.approx(DURATION, abs=0.2)


def test_interrupted_download_resumes_with_range(base, media, tmp_path, settings):
    whole = (media / "clip.mp4").read_bytes()
    (tmp_path / "source.mp4.part").write_bytes(whole[:100_000])

    src = fetch(f"{base}/clip.mp4", tmp_path, settings)

    assert src.path.read_bytes() == whole
    assert any(r.range == "bytes=100000-" for r in base.log.gets("/clip.mp4"))


def test_finished_file_without_record_is_kept(base, media, tmp_path, settings):
    """A run that died between the download and writing fetch.json."""
    shutil.copy(media / "clip.mp4", tmp_path / "source.mp4")

    src = fetch(f"{base}/clip.mp4", tmp_path, settings)

    assert src.path == tmp_path / "source.mp4"
    assert (tmp_path / "fetch.json").is_file()
    seen = len(base.log.gets("/clip.mp4"))
    assert seen < _gets_of_a_full_fetch(base, tmp_path / "full")


# ---------------------------------------------------------------------------- refusals


def test_missing_page_is_source_not_found(base, tmp_path, settings, capfd):
    with pytest.raises(SourceNotFoundError) as err:
        fetch(f"{base}/missing.mp4", tmp_path, settings)
    assert "404" in (err.value.detail or "")
    assert capfd.readouterr() == ("", "")


def test_html_page_without_media_is_unsupported(base, tmp_path, settings):
    with pytest.raises(UnsupportedLinkError) as err:
        fetch(f"{base}/page.html", tmp_path, settings)
    assert "Unsupported URL" in (err.value.detail or "")


@pytest.mark.parametrize("text", [
    "ftp://x/y", "file:///etc/passwd", "javascript:alert(1)", "data:video/mp4;base64,AAAA",
    "", "   ", "http://", "https:///nohost", "first line\nsecond line",
])
def test_other_schemes_and_junk_are_unsupported(text, tmp_path, settings):
    with pytest.raises(UnsupportedLinkError):
        fetch(text, tmp_path, settings)
    assert _leftovers(tmp_path) == []


def test_live_stream_is_refused(base, tmp_path, settings):
    with pytest.raises(LiveStreamError):
        fetch(f"{base}/live/index.m3u8", tmp_path, settings)
    assert base.log.gets(".ts") == []


def test_duration_limit_refuses_before_downloading(base, tmp_path):
    settings = local_settings(limits={"max_duration_s": 5})
    progress = Recorder()

    with pytest.raises(TooLongError) as err:
        fetch(f"{base}/clip.mp4", tmp_path, settings, progress)

    assert "0:00:08" in err.value.user_message and "0:00:05" in err.value.user_message
    assert _leftovers(tmp_path) == []
    assert max(progress.fractions) == 0.0
    seen = len(base.log.gets("/clip.mp4"))
    assert seen < _gets_of_a_full_fetch(base, tmp_path / "full")


def test_duration_limit_message_uses_hours_and_minutes(base, tmp_path):
    settings = local_settings(limits={"max_duration_s": 5})
    with pytest.raises(TooLongError) as err:
        fetch(f"{base}/hls/index.m3u8", tmp_path, settings)
    assert "h:mm" in err.value.user_message
    assert base.log.gets(".ts") == []


def test_size_limit_on_direct_file(base, tmp_path):
    settings = local_settings(limits={"max_filesize_mb": 0.1})
    with pytest.raises(TooLargeError):
        fetch(f"{base}/clip.mp4", tmp_path, settings)
    assert _leftovers(tmp_path) == []


def test_size_limit_stops_a_download_that_grows_too_large(base, tmp_path):
    settings = local_settings(limits={"max_filesize_mb": 0.3})
    with pytest.raises(TooLargeError):
        fetch(f"{base}/hls/index.m3u8", tmp_path, settings)
    assert _leftovers(tmp_path) == []


def test_closed_port_is_a_network_error(tmp_path, settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(NetworkError) as err:
        fetch(f"http://127.0.0.1:{port}/clip.mp4", tmp_path, settings)
    assert err.value.transient


# ---------------------------------------------------------------------------- local files


def test_local_file_is_used_in_place(media, tmp_path, settings):
    progress = Recorder()
    src = fetch(str(media / "clip.mp4"), tmp_path, settings, progress)

    assert src.path == (media / "clip.mp4").resolve()
    assert src.title == "clip" and not src.is_remote
    assert src.original == str(media / "clip.mp4")
    assert _leftovers(tmp_path) == []
    assert progress.fractions[-1] == 1.0


def test_missing_local_file(tmp_path, settings):
    with pytest.raises(BadInputError) as err:
        fetch(str(tmp_path / "nope.mp4"), tmp_path, settings)
    assert "nope.mp4" in err.value.user_message


def test_empty_local_file(tmp_path, settings):
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(CorruptMediaError):
        fetch(str(empty), tmp_path / "job", settings)


def test_folder_is_not_a_file(tmp_path, settings):
    with pytest.raises(BadInputError):
        fetch(str(tmp_path), tmp_path / "job", settings)


def test_scheme_less_link_gets_a_hint(tmp_path, settings):
    with pytest.raises(BadInputError) as err:
        fetch("www.twitch.tv/videos/123", tmp_path, settings)
    assert "https://" in err.value.user_message


# ---------------------------------------------------------------------------- helpers


@pytest.mark.parametrize("text, expected", [
    ("https://www.twitch.tv/videos/123", True),
    ("http://127.0.0.1:8000/a.mp4", True),
    ("  HTTPS://Example.COM/x  ", True),
    ("ftp://x/y", False),
    ("file:///etc/passwd", False),
    ("/home/me/vod.mp4", False),
    ("C:\\vods\\vod.mp4", False),
    ("http://", False),
    ("https://exa mple.com/x", False),
])
def test_is_url(text, expected):
    assert is_url(text) is expected


def test_source_identity_normalises_urls():
    a = source_identity("HTTPS://Example.com:443/videos/1?t=5#chat")
    b = source_identity("https://example.com/videos/1?t=5")
    assert a == b == "https://example.com/videos/1?t=5"
    assert source_identity("https://example.com/videos/2") != a


def test_source_identity_of_a_file_follows_its_content(tmp_path):
    path = tmp_path / "vod.mp4"
    path.write_bytes(b"x" * 10)
    first = source_identity(str(path))
    assert first == source_identity(str(path))
    assert str(path.resolve()) in first
    path.write_bytes(b"x" * 11)
    os.utime(path, ns=(1, 1))
    assert source_identity(str(path)) != first


def test_source_identity_refuses_what_fetch_refuses(tmp_path):
    with pytest.raises(UnsupportedLinkError):
        source_identity("ftp://x/y")
    with pytest.raises(BadInputError):
        source_identity(str(tmp_path / "missing.mp4"))


def _wrapped(cause: BaseException) -> DownloadError:
    return DownloadError(f"ERROR: {cause}", exc_info=(type(cause), cause, None))


class _Response:
    def __init__(self, status: int):
        self.status, self.reason, self.headers = status, "x", {}

    def close(self) -> None:
        pass


@pytest.mark.parametrize("status, expected, forbidden", [
    (404, SourceNotFoundError, False),
    (410, SourceNotFoundError, False),
    (403, SourceNotFoundError, True),
    (401, SourceNotFoundError, True),
    (503, NetworkError, False),
    (429, NetworkError, False),
])
def test_http_statuses_map_to_errors(status, expected, forbidden):
    cause = ExtractorError("Unable to download", cause=HTTPError(_Response(status)))
    error = map_error(_wrapped(cause))
    assert type(error) is expected
    assert ("forbidden" in error.user_message) is forbidden
    assert error.detail


@pytest.mark.parametrize("cause, expected", [
    (ExtractorError("Private video. Sign in if you've been granted access", expected=True),
     SourceNotFoundError),
    (ExtractorError("Video unavailable. This video has been removed", expected=True),
     SourceNotFoundError),
    (ExtractorError("This live event will begin in 3 hours", expected=True), LiveStreamError),
    (UserNotLive(video_id="somebody"), UnsupportedLinkError),
    (GeoRestrictedError("not available from your location"), SourceNotFoundError),
    (ExtractorError("[generic] No video formats found!", expected=True), UnsupportedLinkError),
    (ExtractorError("Read timed out. (read timeout=30)"), NetworkError),
])
def test_extractor_messages_map_to_errors(cause, expected):
    error = map_error(_wrapped(cause))
    assert type(error) is expected
    assert error.detail and "please report" not in error.detail


# ---------------------------------------------------------------------------- private networks


PRIVATE_MESSAGE = "This link points inside a private network, which I do not fetch."


def _port(base: ServedDir) -> str:
    return base.rsplit(":", 1)[1]


@pytest.mark.parametrize("host", [
    "127.0.0.1", "localhost", "2130706433", "0x7f.1", "0177.0.0.1", "127.1", "0", "[::1]",
    "[::ffff:127.0.0.1]",
])
def test_loopback_in_any_spelling_is_refused_before_a_request(host, base, tmp_path):
    url = f"http://{host}:{_port(base)}/clip.mp4"
    with pytest.raises(PrivateNetworkError) as err:
        fetch(url, tmp_path, load_settings())
    assert err.value.user_message == PRIVATE_MESSAGE
    assert isinstance(err.value, BadInputError) and not err.value.transient
    with pytest.raises(PrivateNetworkError):
        describe(url, load_settings())
    assert base.log.entries == []
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("address, public", [
    ("10.0.0.5", False), ("172.16.3.4", False), ("192.168.1.1", False), ("169.254.169.254", False),
    ("224.0.0.251", False), ("0.0.0.0", False), ("240.0.0.1", False), ("100.64.0.1", False),
    ("255.255.255.255", False), ("::", False), ("fe80::1%eth0", False), ("fd00::1", False),
    ("fec0::1", False), ("ff02::1", False), ("2002:a00:1::", False), ("64:ff9b::a00:1", False),
    ("8.8.8.8", True), ("2606:4700:4700::1111", True), ("64:ff9b::808:808", True),
    ("::ffff:8.8.8.8", True),
])
def test_address_ranges(address, public):
    assert is_public(address) is public


def test_one_private_answer_among_public_ones_is_refused(monkeypatch):
    answers = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, 0)) for ip in ("8.8.8.8", "10.0.0.7")]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answers)
    with pytest.raises(PrivateNetworkError) as err:
        check_public("https://vods.example.com/v.mp4", load_settings())
    assert "10.0.0.7" in (err.value.detail or "")


def test_public_address_passes_the_guard():
    check_public("http://8.8.8.8/v.mp4", load_settings())       # an IP literal: no DNS needed


def _gaierror(code: int):
    def fail(*args, **kwargs):
        raise socket.gaierror(code, "lookup failed")
    return fail


def test_a_name_that_does_not_exist_is_a_bad_link(monkeypatch, tmp_path):
    monkeypatch.setattr(socket, "getaddrinfo", _gaierror(socket.EAI_NONAME))
    with pytest.raises(UnsupportedLinkError) as err:
        fetch("https://no-such-site.invalid/v.mp4", tmp_path, load_settings())
    assert err.value.user_message == ("There is no site at no-such-site.invalid. "
                                      "Check the link for a typo.")
    assert not err.value.transient


def test_a_lookup_that_fails_for_now_is_a_network_error(monkeypatch, tmp_path):
    monkeypatch.setattr(socket, "getaddrinfo", _gaierror(socket.EAI_AGAIN))
    with pytest.raises(NetworkError) as err:
        describe("https://vods.example.com/v.mp4", load_settings())
    assert err.value.transient and "vods.example.com" in err.value.user_message


def test_media_url_inside_a_private_network_is_refused_before_ffprobe(base):
    """A page (or a redirect) on a public host may hand yt-dlp a media URL on a private one."""
    info = {"url": f"{base}/clip.mp4", "protocol": "http", "ext": "mp4", "title": "clip"}
    with pytest.raises(PrivateNetworkError):
        check_before_download(info, load_settings())
    assert base.log.entries == []
    assert check_before_download(info, local_settings()) == pytest.approx(DURATION, abs=0.2)
    assert base.log.entries, "with the setting on, ffprobe reads the header"


def test_setting_comes_from_the_environment(monkeypatch):
    assert load_settings().fetch.allow_private_networks is False
    monkeypatch.setenv("CLIPFACTORY_FETCH__ALLOW_PRIVATE_NETWORKS", "true")
    assert load_settings().fetch.allow_private_networks is True
