"""
One object's transfer state (bytes so far, running hash, resume, restart) and sinks.

The download module drives requests and sources; this module reads one
response into the sink and turns aiohttp's exceptions into bundle errors.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from typing import TYPE_CHECKING, BinaryIO, Protocol

import aiohttp
import attrs
from yarl import URL

from .._errors import BundleError
from ._errors import (
    ConnectionFailedError,
    HttpStatusError,
    ObjectTooLargeError,
    TransferTimeoutError,
    TruncatedTransferError,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


logger = logging.getLogger("wfc_container.bundles")

CHUNK_SIZE = 1 << 20
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Statuses after which the next attempt starts again from byte 0.
_RESTART_STATUSES = frozenset({206, 416})
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


@attrs.frozen(kw_only=True)
class DownloadProgress:
    """Bytes of object ``name`` received so far, and its size when known."""

    name: str
    done: int
    total: int | None


class ProgressHook(Protocol):
    """Receives a :class:`DownloadProgress` after each chunk is written."""

    def __call__(self, progress: DownloadProgress, /) -> None:
        """Handle one progress event; it runs on the event loop, so keep it short."""


class Sink(Protocol):
    """Destination of received bytes: memory or a staging file."""

    def write(self, chunk: bytes, /) -> None:
        """Append ``chunk``."""

    def reset(self) -> None:
        """Drop everything written so far."""


class MemorySink:
    """Sink that keeps the bytes in memory, for small objects."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, chunk: bytes) -> None:
        self.data += chunk

    def reset(self) -> None:
        self.data.clear()


class FileSink:
    """Sink that writes to an open binary file, truncating it on reset."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def write(self, chunk: bytes) -> None:
        # Writes go to the page cache; a thread hop per chunk would cost more
        # than the write itself.
        self.stream.write(chunk)

    def reset(self) -> None:
        self.stream.seek(0)
        self.stream.truncate()


@attrs.define(kw_only=True)
class Transfer:
    """Progress of one object from one source, kept across retries and resumes."""

    name: str
    max_bytes: int
    sink: Sink
    progress: ProgressHook | None
    hasher: hashlib._Hash = attrs.field(factory=hashlib.sha256)
    received: int = 0
    total: int | None = None
    resumed: int = 0
    started: bool = False
    redirects: list[URL] = attrs.field(factory=list)

    def restart(self) -> None:
        """Forget the bytes received so far, so the next attempt starts at 0."""
        self.sink.reset()
        self.hasher = hashlib.sha256()
        self.received = 0
        self.total = None

    def retryable(self, exc: BundleError) -> bool:
        """Return whether ``exc`` is transient, so the same source is tried again."""
        if isinstance(exc, HttpStatusError):
            return exc.status in _RETRY_STATUSES or exc.status in _RESTART_STATUSES

        return isinstance(
            exc, TruncatedTransferError | TransferTimeoutError | ConnectionFailedError
        )

    @contextlib.asynccontextmanager
    async def translate_errors(self, url: str) -> AsyncIterator[None]:
        """Turn aiohttp's exceptions inside the block into bundle errors."""
        self.started = False
        try:
            yield
        except BundleError:
            # Already translated; several of them also subclass OSError.
            raise
        except aiohttp.ConnectionTimeoutError as exc:
            raise TransferTimeoutError(url=url, phase="connect", timeout=None) from exc
        except aiohttp.ServerTimeoutError as exc:
            raise TransferTimeoutError(url=url, phase="read", timeout=None) from exc
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError) as exc:
            if not self.started:
                raise ConnectionFailedError(url=url, reason=str(exc)) from exc
            raise TruncatedTransferError(
                url=url, received=self.received, expected=self.total
            ) from exc
        except aiohttp.ClientError as exc:
            raise ConnectionFailedError(
                url=url, reason=str(exc) or type(exc).__name__
            ) from exc
        except OSError as exc:
            raise ConnectionFailedError(
                url=url, reason=exc.strerror or str(exc)
            ) from exc


def _start_full(response: aiohttp.ClientResponse, transfer: Transfer, url: str) -> None:
    if transfer.received:
        logger.warning(
            "bundle.download.restart name=%s url=%s reason=%s",
            transfer.name,
            url,
            "server ignored the range request",
        )
        transfer.restart()
    transfer.total = response.content_length


def _resume(response: aiohttp.ClientResponse, transfer: Transfer, url: str) -> None:
    header = response.headers.get("Content-Range", "")
    match = _CONTENT_RANGE.fullmatch(header)
    offset = transfer.received
    if match is None or int(match[1]) != offset or int(match[2]) + 1 != int(match[3]):
        transfer.restart()
        reason = f"with Content-Range {header!r}, expected 'bytes {offset}-…'"
        raise HttpStatusError(url=url, status=206, reason=reason)

    transfer.total = int(match[3])
    transfer.resumed += 1
    logger.warning(
        "bundle.download.resume name=%s url=%s offset=%s", transfer.name, url, offset
    )


def _check_status(
    response: aiohttp.ClientResponse, transfer: Transfer, url: str
) -> None:
    if response.status == 200:
        _start_full(response, transfer, url)
        return
    if response.status == 206 and transfer.received:
        _resume(response, transfer, url)
        return

    if response.status in _RESTART_STATUSES:
        transfer.restart()
    raise HttpStatusError(url=url, status=response.status, reason=response.reason or "")


async def read_response(response: aiohttp.ClientResponse, transfer: Transfer) -> None:
    """
    Read one response body into the transfer's sink, hashing each chunk.

    :raises HttpStatusError: for any status except 200, and 206 with the
        Content-Range that matches this transfer's Range request.
    :raises ObjectTooLargeError: as soon as the size limit is exceeded.
    :raises TruncatedTransferError: when the body ends before its length.
    """
    url = str(response.url.with_query(None))
    _check_status(response, transfer, url)
    transfer.started = True
    if transfer.total is not None and transfer.total > transfer.max_bytes:
        raise ObjectTooLargeError(
            name=transfer.name, url=url, max_bytes=transfer.max_bytes
        )

    async for chunk in response.content.iter_chunked(CHUNK_SIZE):
        if transfer.received + len(chunk) > transfer.max_bytes:
            raise ObjectTooLargeError(
                name=transfer.name, url=url, max_bytes=transfer.max_bytes
            )
        transfer.sink.write(chunk)
        transfer.hasher.update(chunk)
        transfer.received += len(chunk)
        if transfer.progress is not None:
            transfer.progress(
                DownloadProgress(
                    name=transfer.name, done=transfer.received, total=transfer.total
                )
            )

    if transfer.total is not None and transfer.received < transfer.total:
        raise TruncatedTransferError(
            url=url, received=transfer.received, expected=transfer.total
        )
