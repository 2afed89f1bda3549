"""What a first visit to a page downloads: its HTML, CSS and JavaScript, as sent over the wire."""

from __future__ import annotations

import re
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urljoin

ACCEPT = {"Accept-Encoding": "gzip, br"}
FAR_FUTURE = 365 * 24 * 3600  # a year of max-age: cached until the file's hash changes
ASSET_RE = re.compile(
    r"""<link\b[^>]*\brel=["']stylesheet["'][^>]*\bhref=["']([^"']+)["']"""
    r"""|<link\b[^>]*\bhref=["']([^"']+)["'][^>]*\brel=["']stylesheet["']"""
    r"""|<script\b[^>]*\bsrc=["']([^"']+)["']"""
)


@dataclass
class Download:
    url: str
    bytes: int  # the body as transferred (compressed when the server compressed it)
    encoding: str
    cache_control: str

    @property
    def max_age(self) -> int:
        found = re.search(r"max-age=(\d+)", self.cache_control)
        return int(found.group(1)) if found else 0


@dataclass
class FirstLoad:
    page: Download
    assets: list[Download] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return self.page.bytes + sum(asset.bytes for asset in self.assets)

    @property
    def assets_cached_far_future(self) -> bool:
        return all(asset.max_age >= FAR_FUTURE for asset in self.assets)


def fetch(url: str) -> tuple[Download, bytes]:
    request = urllib.request.Request(url, headers=ACCEPT)
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
        headers = response.headers
    download = Download(
        url=url,
        bytes=len(body),
        encoding=headers.get("Content-Encoding", "identity"),
        cache_control=headers.get("Cache-Control", ""),
    )
    return download, body


def first_load(url: str) -> FirstLoad:
    """The page and every stylesheet and script it links, each fetched once, compressed."""
    page, body = fetch(url)
    html = body.decode("utf-8", errors="replace") if page.encoding == "identity" else ""
    if not html:  # compressed HTML: ask again without compression, only to find the links
        with urllib.request.urlopen(url, timeout=10) as response:
            html = response.read().decode("utf-8", errors="replace")
    links = dict.fromkeys(next(g for g in match if g) for match in ASSET_RE.findall(html))
    return FirstLoad(page=page, assets=[fetch(urljoin(url, link))[0] for link in links])
