"""A stored page gzipped once, served gzipped with each request's own parts in it.

Django's GZipMiddleware compresses a page on every response: for a signed-in page served stored
(apps.core.caching.stored_page) that was about a quarter of the request's time in one process
(a 15.5 KB concept page: 1,233 µs a request, 905 µs without). Here the page's fixed text is
compressed once, when it is stored: each run of it on its own (nothing in it refers back before
it), into raw DEFLATE blocks that end on a byte boundary (a sync flush). A request's own parts
(its CSRF token, the header's counts) go between them as stored blocks, uncompressed, and the
gzip member is closed with the CRC-32 and length of the whole page. One member, ordinary
DEFLATE: every gzip decoder reads it.
A page whose holes cut it into runs too short to compress well alone is left to GZipMiddleware.

The request's own parts are never compressed together with the rest of the page, so their
secrets (the CSRF token) give a compression oracle nothing to measure (BREACH); the header
carries a random-length file name as Django's GZipMiddleware does, for the rest.
"""

from __future__ import annotations

import secrets
import struct
import zlib
from collections.abc import Iterable

_HEADER = bytes([0x1F, 0x8B, 8, 0x08, 0, 0, 0, 0, 0, 0xFF])  # FNAME set; mtime 0; OS unknown
_LAST = b"\x01\x00\x00\xff\xff"  # an empty stored block, marked final
MAX_RANDOM_BYTES = 100  # as django.middleware.gzip.GZipMiddleware.max_random_bytes
_STORED_MAX = 0xFFFF  # a stored block holds at most this many bytes


def runs(texts: list[bytes]) -> list[bytes] | None:
    """Each of ``texts`` :func:`deflated`; None when that comes to more than a quarter more
    than compressing them as one: a page of many holes (a list with a form on each row) breaks
    into runs too short to compress well on their own, and is better compressed whole."""
    each = [deflated(text) for text in texts]
    whole = deflated(b"".join(texts))
    return each if sum(map(len, each)) <= len(whole) * 1.25 else None


def deflated(text: bytes) -> bytes:
    """``text`` as raw DEFLATE blocks that refer to nothing before them, ending on a byte
    boundary with no final block: ready to be followed by any other such run."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(text) + compressor.flush(zlib.Z_SYNC_FLUSH)


def stored(text: bytes) -> bytes:
    """``text`` as stored (uncompressed) DEFLATE blocks, none final."""
    blocks = []
    for start in range(0, len(text), _STORED_MAX):
        chunk = text[start : start + _STORED_MAX]
        blocks += [b"\x00", struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF), chunk]
    return b"".join(blocks)


def member(parts: Iterable[tuple[bytes, bytes]]) -> bytes:
    """One gzip member of ``(text, blocks)`` parts in order, each part's ``blocks`` being its
    ``text`` as :func:`deflated` or :func:`stored` made them."""
    name = b"a" * secrets.randbelow(MAX_RANDOM_BYTES)  # its length is what is random
    body, crc, size = [_HEADER, name, b"\x00"], 0, 0
    for text, blocks in parts:
        body.append(blocks)
        crc, size = zlib.crc32(text, crc), size + len(text)
    body += [_LAST, struct.pack("<II", crc, size & 0xFFFFFFFF)]
    return b"".join(body)
