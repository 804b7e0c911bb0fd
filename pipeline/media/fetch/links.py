"""What a streamer sent, read as a web link or a local file, and the guard that keeps links
out of private networks.

Before yt-dlp or ffprobe opens a link, its host is resolved and the link is refused when any
address is loopback, private, link-local, multicast, unspecified or reserved (IP literals in
any spelling included: getaddrinfo normalises `2130706433` and `0x7f.1` to 127.0.0.1), unless
`fetch.allow_private_networks` is on. A name that does not exist is a bad link
(UnsupportedLinkError); a lookup that fails for another reason is a NetworkError, retried later.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pipeline.media.config import Settings
from pipeline.media.errors import (
    BadInputError,
    CorruptMediaError,
    NetworkError,
    SourceNotFoundError,
    UnsupportedLinkError,
)

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
WEB_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NO_SUCH_NAME = {socket.EAI_NONAME} | (
    {socket.EAI_NODATA} if hasattr(socket, "EAI_NODATA") else set())
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class PrivateNetworkError(UnsupportedLinkError):
    """The link's host is, or resolves to, an address inside a private network."""

    user_message = "This link points inside a private network, which I do not fetch."


def is_url(text: str) -> bool:
    """True for an http(s) URL with a host: the only links `fetch` downloads."""
    return normalise_url(text) is not None


def source_identity(source: str) -> str:
    """A stable string naming the input, for job ids.

    A URL is normalised (scheme and host lower-cased, default port and #fragment dropped);
    a file is its resolved path, size and mtime_ns, so an edited file makes a new job.
    Input that `fetch` would refuse raises the same BadInputError here.
    """
    url = web_url(source)
    if url is not None:
        return url
    path = local_file(source)
    stat = path.stat()
    return f"{path}|{stat.st_size}|{stat.st_mtime_ns}"


def check_public(url: str, settings: Settings) -> None:
    """Refuse a link whose host is, or resolves to, a non-public address.

    Every address the host resolves to must be public: one private answer among public ones
    is refused too. Does nothing when `fetch.allow_private_networks` is on.
    """
    if settings.fetch.allow_private_networks:
        return
    host = url_host(url)
    if not host:
        raise UnsupportedLinkError(detail=f"no host in {url!r}")
    for address in _resolve(host):
        if not is_public(address):
            raise PrivateNetworkError(detail=f"{host} is {address}")


def normalise_url(text: str) -> str | None:
    text = text.strip()
    match = _SCHEME.match(text)
    if not match or match.group(1).lower() not in WEB_SCHEMES or any(c.isspace() for c in text):
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username or parts.password:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def web_url(source: str) -> str | None:
    """The normalised URL for a web link, None for a local path; refuse anything else."""
    if not isinstance(source, str) or not source.strip() or "\x00" in source:
        raise UnsupportedLinkError(detail="empty or unreadable input")
    url = normalise_url(source)
    if url is not None:
        return url
    scheme = _SCHEME.match(source.strip())
    if scheme and len(scheme.group(1)) > 1 and not _exists(source):
        raise UnsupportedLinkError(
            "I can only download http:// and https:// links. Send a link to a stream VOD "
            "or a video file.", detail=f"scheme {scheme.group(1)!r}")
    if "\n" in source or "\r" in source:
        raise UnsupportedLinkError(detail="text with line breaks")
    return None


def _exists(source: str) -> bool:
    try:
        return Path(source.strip()).expanduser().exists()
    except (OSError, ValueError):
        return False


def local_file(source: str) -> Path:
    path = Path(source.strip()).expanduser()
    try:
        resolved = path.resolve()
        exists = resolved.exists()
    except (OSError, RuntimeError) as exc:
        raise SourceNotFoundError(f"I could not open the file {source.strip()}.",
                                  detail=str(exc)) from exc
    if not exists:
        hint = (" If it is a link, send it with https:// in front."
                if _looks_like_host(source) else "")
        raise SourceNotFoundError(f"There is no file at {source.strip()}.{hint}")
    if not resolved.is_file():
        raise BadInputError(f"{source.strip()} is not a video file (it is a folder or a device).")
    if resolved.stat().st_size == 0:
        raise CorruptMediaError(f"The file {resolved.name} is empty (0 bytes).")
    return resolved


def _looks_like_host(text: str) -> bool:
    return re.match(r"^(www\.)?[\w-]+(\.[\w-]+)*\.[a-z]{2,}/", text.strip(), re.I) is not None


def url_host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _resolve(host: str) -> list[str]:
    """Every address `host` resolves to (an IP literal in any spelling resolves to itself)."""
    try:
        answers = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        if exc.errno in _NO_SUCH_NAME:
            raise UnsupportedLinkError(
                f"There is no site at {host}. Check the link for a typo.",
                detail=f"getaddrinfo: {exc}") from None
        raise NetworkError(f"I could not look up the site {host} right now. I will try again.",
                           detail=f"getaddrinfo: {exc}") from None
    except (UnicodeError, ValueError, OSError) as exc:
        raise UnsupportedLinkError(detail=f"host {host!r}: {exc}") from None
    addresses = sorted({str(info[4][0]) for info in answers})
    if not addresses:
        raise UnsupportedLinkError(f"There is no site at {host}. Check the link for a typo.",
                                   detail="getaddrinfo gave no address")
    return addresses


def is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])   # drop an IPv6 zone ("fe80::1%eth0")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 in IPv6 clothing (::ffff:a.b.c.d, DNS64's 64:ff9b::a.b.c.d) is that IPv4 address.
        if ip.ipv4_mapped is not None:
            return is_public(str(ip.ipv4_mapped))
        if ip in _NAT64:
            return is_public(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
        if ip.sixtofour is not None and not is_public(str(ip.sixtofour)):
            return False
        if ip.is_site_local:
            return False
    return ip.is_global and not (ip.is_loopback or ip.is_private or ip.is_link_local
                                 or ip.is_multicast or ip.is_unspecified or ip.is_reserved)
