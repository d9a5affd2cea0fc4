"""
Value types and policy of the bundle download: transfer state, URL rules, sinks.

The download module drives sessions, requests and sources; this module keeps
what one transfer knows (bytes so far, running hash, resume and restart) and
the checks that need no I/O.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
from typing import TYPE_CHECKING, BinaryIO, Protocol

import attrs
from yarl import URL

from ._errors import (
    AsyncBackendError,
    ConnectionFailedError,
    HttpStatusError,
    SourceFailure,
    TransferTimeoutError,
    TruncatedTransferError,
    UrlPolicyError,
)

if TYPE_CHECKING:
    import aiohttp

    from .._errors import BundleError

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


def redact_url(url: str | URL) -> str:
    """Return ``url`` without user info and query, for logs and reports."""
    parsed = URL(url) if isinstance(url, str) else url
    if not parsed.is_absolute():
        # A relative URL carries no user info, and yarl refuses to remove it.
        return str(parsed.with_query(None))
    return str(parsed.with_user(None).with_password(None).with_query(None))


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: URL, *, previous: URL | None = None) -> None:
    """
    Check a source or redirect URL against the transport policy.

    :raises UrlPolicyError: for another scheme, http to a non-loopback host,
        user info in the URL, or a redirect from https to http.
    """
    text = redact_url(url)
    if url.scheme not in ("https", "http") or not url.host:
        raise UrlPolicyError(url=text, rule="expected an https URL with a host")
    if url.scheme == "http" and not _is_loopback(url.host):
        raise UrlPolicyError(url=text, rule="plain http is allowed only to loopback")
    if url.user is not None or url.password is not None:
        raise UrlPolicyError(url=text, rule="credentials in URLs are not allowed")
    if previous is not None and previous.scheme == "https" and url.scheme != "https":
        raise UrlPolicyError(url=text, rule="redirect downgrades https to http")


@attrs.frozen(kw_only=True)
class DownloadReport:
    """
    Result of one object's download: source, redirect chain, digest and retries.

    ``url`` is the source URL that delivered it and ``redirects`` every URL
    visited from there, in order, ending with the one that sent the bytes.
    ``failures`` lists the sources rejected before it, with the reason.
    """

    name: str
    url: str
    redirects: tuple[str, ...]
    digest: str
    size: int
    attempts: int
    resumed: int
    failures: tuple[SourceFailure, ...]


def require_asyncio() -> None:
    try:
        import sniffio
    except ModuleNotFoundError:
        # trio depends on sniffio, so without it the loop can only be asyncio.
        return

    backend = sniffio.current_async_library()
    if backend != "asyncio":
        raise AsyncBackendError(backend=backend)


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


def check_status(
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
