"""A resident's image or audio on Zalo, fetched from the address in the event with the channel's HTTP client.

Only the content goes to the core (kernel.messages.MediaFile), which decides its type from the bytes; the
download stops past MAX_FILE_BYTES. An address Zalo no longer serves (4xx) gives an empty file, which the core
refuses politely; a network failure or a 5xx is raised, so the event is not acknowledged and comes again.
"""

from __future__ import annotations

import logging

import aiohttp

from kernel.messages import MAX_FILE_BYTES, MediaFile

log = logging.getLogger(__name__)
TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10)


class FetchFailed(Exception):
    """The file could not be fetched this time (network, or Zalo's server failing); worth another try."""


async def fetch(http: aiohttp.ClientSession, url: str, caption: str | None = None) -> MediaFile:
    """The file at `url` (at most MAX_FILE_BYTES read; a larger one is marked too_large), with its caption."""
    try:
        async with http.get(url, timeout=TIMEOUT, allow_redirects=True) as response:
            if response.status >= 500:
                raise FetchFailed(f"HTTP {response.status}")
            if response.status != 200:
                log.info("zalo: a resident's file is gone (HTTP %s)", response.status)
                return MediaFile(caption=caption)
            if (response.content_length or 0) > MAX_FILE_BYTES:
                return MediaFile(too_large=True, caption=caption)
            data = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > MAX_FILE_BYTES:
                    return MediaFile(too_large=True, caption=caption)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise FetchFailed(type(exc).__name__) from exc
    return MediaFile(bytes(data), caption=caption)
