"""Turn what a streamer sent (a VOD link or a local file path) into a local media file.

Remote media is fetched with the yt-dlp Python API into the job folder as `source.<ext>`;
`fetch.json` is written beside it (atomically) only after a complete download, so a job
that is run again reuses the file instead of downloading it twice.

With `fetch.analysis_proxy` on, what is fetched is an analysis proxy: the smallest rendition of
at least `fetch.proxy_min_height` plus the best audio. The full-quality rendition is chosen at
the same time (`fetch.render_format`, preferring heights up to `fetch.render_max_height`) and
recorded in the Source, so that pipeline.media.sections later downloads only the chosen moments in
it (`section_info`, `download_section`). When both choices are the same format (a site with one
file), the download is the full-quality file and no proxy.

Links are checked before anything opens them (`links`: no private networks unless
`fetch.allow_private_networks` is on) and before anything is downloaded (`checks`: one video,
not live, within the limits).
"""

from pipeline.media.fetch.links import PrivateNetworkError, check_public, is_url, source_identity
from pipeline.media.fetch.record import RECORD_NAME, SOURCE_STEM
from pipeline.media.fetch.section import download_section, section_info, section_size_estimate
from pipeline.media.fetch.source import describe, fetch
from pipeline.media.fetch.ytdlp import YdlLogger, output_template, proxy_format, quiet_options

__all__ = [
    "RECORD_NAME",
    "SOURCE_STEM",
    "PrivateNetworkError",
    "YdlLogger",
    "check_public",
    "describe",
    "download_section",
    "fetch",
    "is_url",
    "output_template",
    "proxy_format",
    "quiet_options",
    "section_info",
    "section_size_estimate",
    "source_identity",
]
